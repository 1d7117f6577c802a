//! What every integration test binary shares so that two runs of the suite side by side (two
//! clones on one machine) cannot collide: port ranges reserved across processes, and the
//! `timed` / `time-cli` binaries started with a clean environment and an explicit config.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod ports;
pub mod rerun;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `timed` binary under test.
pub const TIMED: &str = env!("CARGO_BIN_EXE_timed");
/// The `time-cli` binary under test.
pub const TIME_CLI: &str = env!("CARGO_BIN_EXE_time-cli");

/// Variables starting with this are removed from every spawned binary's environment: they are
/// config overrides and credentials, and a developer's or CI's would change what a test runs.
pub const CLEARED_PREFIX: &str = "TIMECOIN_";
/// Also removed: `RUST_LOG` would change what the node logs, which tests read; `NO_COLOR`
/// would turn the UI's default theme into mono, which the tmux tests tell apart.
pub const CLEARED_VARS: [&str; 2] = ["RUST_LOG", "NO_COLOR"];

fn cleared(name: &str) -> bool {
    name.starts_with(CLEARED_PREFIX) || CLEARED_VARS.contains(&name)
}

/// `program` without the caller's [`CLEARED_PREFIX`] and [`CLEARED_VARS`] variables.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(program);
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(cleared) {
            c.env_remove(k);
        }
    }
    c
}

/// The same cleaning as a shell prefix, for commands a shell starts (e.g. in a tmux session,
/// which gets the tmux server's environment, not the test's): `<prefix> exec timed ...`.
pub fn clean_env_shell() -> String {
    format!(
        "unset $(env | sed -n 's/^\\({CLEARED_PREFIX}[A-Za-z0-9_]*\\)=.*/\\1/p') {};",
        CLEARED_VARS.join(" ")
    )
}

/// `timed` with a clean environment. The caller passes `--config` (a test's own file, or
/// [`empty_config`]); without one `timed` would read ./config.toml, the repository's.
pub fn timed() -> Command {
    clean_command(TIMED)
}

/// `time-cli` with a clean environment.
pub fn time_cli() -> Command {
    clean_command(TIME_CLI)
}

/// An empty config file in `dir` (every key at its default), for `timed --config`.
pub fn empty_config(dir: &Path) -> PathBuf {
    let p = dir.join("empty-config.toml");
    std::fs::write(&p, "").unwrap();
    p
}

/// A transfer of one devnet faucet output (`prev`, worth `value` base units, paying faucet
/// address 0) to `to`, signed with the faucet key; the fee is its size at 2 units per byte.
pub fn faucet_transfer(
    prev: timecoin::types::OutPoint,
    value: u64,
    to: timecoin::types::Address,
    chain_id: &timecoin::types::Hash,
) -> timecoin::types::Transaction {
    use timecoin::types::{Amount, Transaction, TxOut};
    let key = timecoin::wallet::devnet_faucet_key(0);
    let out = TxOut {
        amount: Amount(value),
        address: to,
    };
    let mut tx = Transaction::unsigned_transfer([prev], key.public(), vec![out]);
    let fee = tx.size() as u64 * 2;
    tx.outputs[0].amount = Amount(value - fee);
    tx.sign_inputs(chain_id, &[&key], None);
    tx
}
