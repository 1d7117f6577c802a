//! Runs a small `timed bench` end to end (4 masternodes over TLS in one process) and checks that
//! every submitted transaction was finalized and that the figures are sane; then the same with
//! `--sync` (a fresh node catches up the chain), `--latency-ms` (emulated link delay) and
//! `--rate` (an open-loop load).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{empty_config, ports, timed};
use std::io::Read;
use std::process::Stdio;
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

/// Transactions the test submits.
const TXS: u64 = 300;
/// Masternodes of the bench devnet.
const NODES: u64 = 4;

/// Runs `timed bench --nodes 4 --txs <txs> --json <extra>` in a port range of its own with an
/// empty config; returns the JSON line and the process's wall time in seconds.
fn run_bench(txs: u64, extra: &[&str]) -> (String, f64) {
    let ports = ports::range(10 * NODES as u16 + 10);
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut child = timed()
        .arg("--config")
        .arg(empty_config(dir.path()))
        .args([
            "bench",
            "--nodes",
            &NODES.to_string(),
            "--txs",
            &txs.to_string(),
        ])
        .args(["--json", "--base-port", &ports.base().to_string()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start timed bench");
    // The JSON line is small; reading after exit cannot deadlock on a full pipe.
    let status = wait_with_deadline(&mut child, Duration::from_secs(240));
    let wall_s = started.elapsed().as_secs_f64();
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
        "timed bench failed: {status}\nstdout: {out}\nstderr: {err}"
    );
    let line = out
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("a JSON line")
        .to_string();
    println!("{line}");
    (line, wall_s)
}

fn num(r: &serde_json::Value, k: &str) -> f64 {
    r[k].as_f64()
        .unwrap_or_else(|| panic!("{k} missing in {r}"))
}

#[test]
fn small_bench_finalizes_every_transaction() {
    let (line, wall_s) = run_bench(TXS, &[]);
    check_report(&line, wall_s);
    let r: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(num(&r, "latency_ms"), 0.0, "{r}");
    assert!(
        r.get("sync_tps").is_none(),
        "sync figures without --sync: {r}"
    );
}

#[test]
fn sync_mode_reports_a_fresh_node_catching_up() {
    let (line, wall_s) = run_bench(TXS, &["--sync"]);
    check_report(&line, wall_s);
    let r: serde_json::Value = serde_json::from_str(&line).unwrap();
    let num = |k: &str| num(&r, k);
    let target = num("sync_target_height");
    // The funding and the timed phase made blocks; the fresh node reached exactly the tip.
    assert!(target >= num("blocks"), "{r}");
    assert_eq!(num("sync_height"), target, "{r}");
    assert_eq!(num("sync_blocks"), target, "{r}");
    // At least the bench's transfers and the funding split were replayed.
    assert!(num("sync_txs") > TXS as f64, "{r}");
    assert!(num("sync_s") > 0.0 && num("sync_s") < wall_s, "{r}");
    assert!(num("sync_blocks_per_s") > 0.0, "{r}");
    let tps = num("sync_txs") / num("sync_s");
    assert!((num("sync_tps") - tps).abs() < 1e-6 * tps.max(1.0), "{r}");
}

#[test]
fn latency_mode_delays_every_message() {
    // Few transactions: undelayed, this bench finalizes in about 25 ms on 2 cores.
    let (line, _) = run_bench(20, &["--latency-ms", "20", "--jitter-ms", "2"]);
    let r: serde_json::Value = serde_json::from_str(&line).unwrap();
    let num = |k: &str| num(&r, k);
    assert_eq!(num("latency_ms"), 20.0, "{r}");
    assert_eq!(num("jitter_ms"), 2.0, "{r}");
    assert_eq!(num("txs_finalized"), 20.0, "{r}");
    // Proposal, prevotes and precommits each cross a link: at least three one-way delays
    // (fails if the delay model does nothing).
    assert!(num("finality_ms_p50") >= 3.0 * 20.0, "{r}");
    assert!(num("finality_ms_p50") <= num("finality_ms_p99"), "{r}");
}

#[test]
fn rate_mode_submits_on_schedule() {
    // 400 transactions at 400 tx/s: the last batch is due 0.98 s after the first. Unpaced,
    // this bench finalizes them in well under half that.
    let (line, _) = run_bench(400, &["--rate", "400"]);
    let r: serde_json::Value = serde_json::from_str(&line).unwrap();
    let num = |k: &str| num(&r, k);
    assert_eq!(num("rate"), 400.0, "{r}");
    assert_eq!(
        num("batch"),
        8.0,
        "{r}: 400 tx/s in 50 submissions a second"
    );
    assert_eq!(num("txs_finalized"), 400.0, "{r}");
    assert!(num("duration_s") >= 0.98, "{r}");
    assert!(num("finalized_tps") <= 400.0 * 1.05, "{r}");
}

/// The figures of a `timed bench --nodes 4 --txs 300 --json` report that ran `wall_s` seconds
/// (the whole process): each bounded by what such a run can do, not only "positive".
fn check_report(line: &str, wall_s: f64) {
    let r: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
    let num = |k: &str| {
        r[k].as_f64()
            .unwrap_or_else(|| panic!("{k} missing in {line}"))
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0);
    assert_eq!(num("nodes"), NODES as f64, "{line}");
    assert_eq!(num("txs_requested"), TXS as f64, "{line}");
    assert_eq!(num("txs_submitted"), TXS as f64, "{line}");
    assert_eq!(num("txs_finalized"), num("txs_submitted"), "{line}");
    assert_eq!(num("txs_rejected"), 0.0, "{line}");
    assert_eq!(num("lagged"), 0.0, "{line}");

    // The timed phase lies inside the process's run, and throughput is what it says.
    let duration = num("duration_s");
    assert!(
        0.0 < duration && duration < wall_s,
        "duration_s vs wall {wall_s} s: {line}"
    );
    let tps = num("finalized_tps");
    assert!(close(tps, num("txs_finalized") / duration), "tps: {line}");

    // Latencies: ordered, and none longer than the phase (first submission to last finality).
    let (p50, p90, p99, max) = (
        num("finality_ms_p50"),
        num("finality_ms_p90"),
        num("finality_ms_p99"),
        num("finality_ms_max"),
    );
    assert!(
        0.0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= max && max <= duration * 1000.0 + 1.0,
        "latencies: {line}"
    );

    // Blocks: at least one carried the transactions, no block carried more than were sent,
    // and blocks without them are empty blocks, at most one per second (the devnet's empty
    // block interval) of the phase.
    let (blocks, with_txs) = (num("blocks"), num("blocks_with_txs"));
    assert!(1.0 <= with_txs && with_txs <= blocks, "blocks: {line}");
    assert!(with_txs <= TXS as f64, "blocks: {line}");
    assert!(
        blocks - with_txs <= duration.ceil() + 1.0,
        "empty blocks: {line}"
    );
    let most = num("max_block_txs");
    assert!(1.0 <= most && most <= TXS as f64, "max_block_txs: {line}");

    // An unloaded tiny run decides nearly every height in round 0: at most one round change per
    // node and block in all.
    assert!(
        num("rounds_over_0") <= NODES as f64 * blocks,
        "rounds_over_0: {line}"
    );
    assert!(num("blocks_round_over_0") <= blocks, "{line}");

    // The whole process (4 nodes, 300 transactions) fits in a few hundred MiB.
    let rss = num("peak_rss_mb");
    assert!(10.0 < rss && rss < 2048.0, "peak_rss_mb: {line}");
    let bound = num("verify_bound_tps");
    assert!(
        close(bound, num("verify_rate") / NODES as f64) && bound > 0.0,
        "{line}"
    );
    assert!(close(num("efficiency"), tps / bound), "efficiency: {line}");
}

/// A report from a real run of this test, and mutations of it that [`check_report`] must reject:
/// each check can fail.
#[test]
fn implausible_reports_are_rejected() {
    let good = serde_json::json!({
        "nodes": 4, "txs_requested": 300, "txs_submitted": 300, "txs_finalized": 300,
        "txs_rejected": 0, "lagged": 0, "duration_s": 2.0, "finalized_tps": 150.0,
        "finality_ms_p50": 400.0, "finality_ms_p90": 600.0, "finality_ms_p99": 700.0,
        "finality_ms_max": 800.0, "blocks": 4, "blocks_with_txs": 3, "max_block_txs": 150,
        "rounds_over_0": 0, "blocks_round_over_0": 0, "peak_rss_mb": 80.0,
        "verify_rate": 40000.0, "verify_bound_tps": 10000.0, "efficiency": 0.015,
    });
    check_report(&good.to_string(), 5.0);
    let bad: [(&str, serde_json::Value); 14] = [
        ("txs_finalized", 299.into()),
        ("txs_rejected", 1.into()),
        ("duration_s", 6.0.into()),
        ("finalized_tps", 300.0.into()),
        ("finality_ms_p50", 650.0.into()),
        ("finality_ms_max", 2500.0.into()),
        ("blocks", 0.into()),
        ("blocks", 40.into()),
        ("blocks_with_txs", 0.into()),
        ("max_block_txs", 301.into()),
        ("rounds_over_0", 17.into()),
        ("peak_rss_mb", 0.0.into()),
        ("verify_bound_tps", 1.0.into()),
        ("efficiency", 1.5.into()),
    ];
    for (k, v) in bad {
        let mut r = good.clone();
        r[k] = v.clone();
        let line = r.to_string();
        let failed = std::panic::catch_unwind(|| check_report(&line, 5.0)).is_err();
        assert!(failed, "{k} = {v} passed the checks");
    }
}
