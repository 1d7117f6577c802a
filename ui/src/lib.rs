pub fn placeholder_init() {}
