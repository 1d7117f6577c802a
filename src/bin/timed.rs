//! `timed`: the TimeCoin node.

/// mimalloc instead of glibc malloc: the node allocates and frees many small objects on many
/// threads (transactions, messages, sled nodes), where glibc's per-thread arenas fragmented to
/// twice the resident memory and malloc itself took about 15% of the CPU in `timed bench`.
/// Version 2 (the `v2` feature): it returns freed pages after 10 ms where v3 waits a second,
/// a fifth less peak memory in `timed bench` at the same throughput.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    timecoin::app::main()
}
