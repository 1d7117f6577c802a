//! The in-process devnet as a user runs it, across restarts: coins sent to a new address are
//! still there after a SIGKILL (the state is the last snapshot plus the stored blocks replayed)
//! and after a clean `stop` (the state snapshot written at shutdown), and the devnet faucet
//! wallet, rebuilt from its mnemonic at every start, finds its new and change addresses again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{empty_config, ports, time_cli, timed};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(60);

/// The devnet process; killed when dropped, so a failing test leaves nothing running.
struct Devnet(Child);

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the devnet as a user gets it (4 masternodes and a full node, node4, holding the faucet
/// wallet) on `base` + 10 i + {0, 1, 2}, with an empty config.
fn start(dir: &Path, base: u16) -> Devnet {
    let log = std::fs::File::create(dir.join("stdout.log")).unwrap();
    let child = timed()
        .arg("--config")
        .arg(empty_config(dir))
        .args(["devnet", "--headless", "--nodes", "4", "--base-port"])
        .arg(base.to_string())
        .arg("--datadir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    Devnet(child)
}

/// Calls the wallet node's RPC (node4, port `base` + 41) through `time-cli`; the parsed result,
/// or the error text.
fn cli(dir: &Path, base: u16, args: &[&str]) -> Result<Value, String> {
    let out = time_cli()
        .arg("--datadir")
        .arg(dir.join("node4"))
        .arg("--rpc-url")
        .arg(format!("http://127.0.0.1:{}", base + 41))
        .args(args)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).or_else(|_| Ok(Value::String(text.trim().to_string())))
}

fn wait_for<T>(what: &str, dir: &Path, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > DEADLINE {
            let log = std::fs::read_to_string(dir.join("stdout.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            panic!("timed out waiting for {what}; output:\n{}", tail.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn height(dir: &Path, base: u16) -> Option<u64> {
    cli(dir, base, &["getblockcount"]).ok()?.as_u64()
}

/// The wallet's finalized balance, and the finalized outputs paying `addr`; `None` while a
/// payment is pending.
fn wallet_view(dir: &Path, base: u16, addr: &str) -> Option<(f64, Vec<Value>)> {
    let unspent = cli(dir, base, &["listunspent"]).ok()?;
    let balances = cli(dir, base, &["getbalances"]).ok()?;
    if balances["mine"]["untrusted_pending"].as_f64()? != 0.0 {
        return None;
    }
    let trusted = balances["mine"]["trusted"].as_f64()?;
    let to_addr = unspent
        .as_array()?
        .iter()
        .filter(|u| u["address"] == addr && u["confirmations"].as_u64() >= Some(1))
        .cloned()
        .collect();
    Some((trusted, to_addr))
}

fn wait_exit(node: &mut Devnet, dir: &Path) -> std::process::ExitStatus {
    wait_for("the devnet to exit", dir, || node.0.try_wait().unwrap())
}

#[test]
fn coins_survive_sigkill_and_clean_stop() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let ports = ports::range(50);
    let base = ports.base();
    let mut node = start(dir, base);
    wait_for("the first block", dir, || {
        height(dir, base).filter(|h| *h >= 1)
    });

    let addr = cli(dir, base, &["getnewaddress"]).unwrap();
    let addr = addr.as_str().unwrap().to_string();
    cli(dir, base, &["sendtoaddress", &addr, "2.5"]).unwrap();
    let (before, outs) = wait_for("the payment to be final", dir, || {
        wallet_view(dir, base, &addr).filter(|(_, outs)| !outs.is_empty())
    });
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0]["amount"].as_f64(), Some(2.5));
    let h_before = height(dir, base).unwrap();

    // SIGKILL: no snapshot at the tip, the blocks since the genesis snapshot are replayed.
    node.0.kill().unwrap();
    node.0.wait().unwrap();
    let mut node = start(dir, base);
    let h = wait_for("RPC after the SIGKILL", dir, || height(dir, base));
    assert!(h >= h_before, "height went back from {h_before} to {h}");
    let (after, outs) = wait_for("the wallet view", dir, || wallet_view(dir, base, &addr));
    assert_eq!(after, before, "finalized balance after a SIGKILL");
    assert_eq!(outs.len(), 1, "the payment to the new address");

    // Clean stop: the state is snapshotted at shutdown and nothing is replayed.
    cli(dir, base, &["stop"]).unwrap();
    assert!(wait_exit(&mut node, dir).success());
    let h_stopped = {
        let mut node = start(dir, base);
        let h = wait_for("RPC after the stop", dir, || height(dir, base));
        let (again, outs) = wait_for("the wallet view", dir, || wallet_view(dir, base, &addr));
        assert_eq!(again, before, "finalized balance after a clean stop");
        assert_eq!(outs.len(), 1);
        cli(dir, base, &["stop"]).unwrap();
        assert!(wait_exit(&mut node, dir).success());
        h
    };
    assert!(h_stopped >= h);
}
