//! The TOML config file into the config struct: an accepted file serializes back to TOML that
//! parses to the same config, and the range check never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use timecoin::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    let show = |c: &Config| toml::to_string(c).expect("an accepted config serializes");
    if let Some(c) = timecoin_fuzz::reparse(text, |t| Config::parse(t, path), show) {
        let _ = c.check();
    }
});
