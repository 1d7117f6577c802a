//! `timed`: the TimeCoin node.

fn main() -> std::process::ExitCode {
    timecoin::app::main()
}
