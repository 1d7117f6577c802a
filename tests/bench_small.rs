//! Runs a small `timed bench` end to end (4 masternodes over TLS in one process) and checks that
//! every submitted transaction was finalized and that the figures are sane; then the same with
//! `--sync` (a fresh node catches up the chain) and `--latency-ms` (emulated link delay).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Waits for `child` up to `limit`; kills it when the deadline passes.
fn wait_with_deadline(
    child: &mut std::process::Child,
    limit: Duration,
) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for timed bench") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed bench did not finish within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `timed bench --nodes 4 --txs <txs> --json --base-port <port> <extra>` and returns its
/// JSON report, after checking that every transaction was finalized.
fn run_bench(txs: u32, port: u16, extra: &[&str]) -> serde_json::Value {
    let (txs, port) = (txs.to_string(), port.to_string());
    let mut args = vec![
        "bench",
        "--nodes",
        "4",
        "--txs",
        &txs,
        "--json",
        "--base-port",
        &port,
    ];
    args.extend_from_slice(extra);
    let mut child = Command::new(env!("CARGO_BIN_EXE_timed"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start timed bench");
    // The JSON line is small; reading after exit cannot deadlock on a full pipe.
    let status = wait_with_deadline(&mut child, Duration::from_secs(240));
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        status.success(),
        "timed bench {args:?} failed: {status}\nstdout: {out}\nstderr: {err}"
    );
    let line = out
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("a JSON line");
    let r: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
    assert_eq!(num(&r, "txs_submitted"), txs.parse::<f64>().unwrap(), "{r}");
    assert_eq!(num(&r, "txs_finalized"), num(&r, "txs_submitted"), "{r}");
    r
}

fn num(r: &serde_json::Value, k: &str) -> f64 {
    r[k].as_f64()
        .unwrap_or_else(|| panic!("{k} missing in {r}"))
}

#[test]
fn small_bench_finalizes_every_transaction() {
    let r = run_bench(300, 27410, &[]);
    let num = |k: &str| num(&r, k);
    assert_eq!(num("nodes"), 4.0);
    assert_eq!(num("txs_rejected"), 0.0, "{r}");
    assert!(num("finalized_tps") > 0.0, "{r}");
    assert!(num("duration_s") > 0.0, "{r}");
    let (p50, p99) = (num("finality_ms_p50"), num("finality_ms_p99"));
    assert!(0.0 < p50 && p50 <= p99, "{r}");
    assert!(num("blocks") >= 1.0, "{r}");
    assert!(num("rounds_over_0") >= 0.0, "{r}");
    assert!(num("peak_rss_mb") > 0.0, "{r}");
    assert!(num("verify_bound_tps") > 0.0, "{r}");
    assert!(num("efficiency") > 0.0, "{r}");
    assert_eq!(num("latency_ms"), 0.0, "{r}");
    assert!(
        r.get("sync_tps").is_none(),
        "sync figures without --sync: {r}"
    );
}

#[test]
fn sync_mode_reports_a_fresh_node_catching_up() {
    let r = run_bench(300, 27510, &["--sync"]);
    let num = |k: &str| num(&r, k);
    let target = num("sync_target_height");
    // The funding and the timed phase made blocks; the fresh node reached exactly the tip.
    assert!(target >= num("blocks"), "{r}");
    assert_eq!(num("sync_height"), target, "{r}");
    assert_eq!(num("sync_blocks"), target, "{r}");
    // At least the bench's 300 transfers and the funding split were replayed.
    assert!(num("sync_txs") > 300.0, "{r}");
    assert!(num("sync_s") > 0.0, "{r}");
    assert!(num("sync_blocks_per_s") > 0.0, "{r}");
    let tps = num("sync_txs") / num("sync_s");
    assert!((num("sync_tps") - tps).abs() < 1e-6 * tps.max(1.0), "{r}");
}

#[test]
fn latency_mode_delays_every_message() {
    // Few transactions: undelayed, this bench finalizes in about 25 ms on 2 cores.
    let r = run_bench(20, 27610, &["--latency-ms", "20", "--jitter-ms", "2"]);
    let num = |k: &str| num(&r, k);
    assert_eq!(num("latency_ms"), 20.0, "{r}");
    assert_eq!(num("jitter_ms"), 2.0, "{r}");
    // Proposal, prevotes and precommits each cross a link: at least three one-way delays
    // (fails if the delay model does nothing).
    assert!(num("finality_ms_p50") >= 3.0 * 20.0, "{r}");
    assert!(num("finality_ms_p50") <= num("finality_ms_p99"), "{r}");
}
