//! Runs a small `timed bench` end to end (4 masternodes over TLS in one process) and checks that
//! every submitted transaction was finalized and that the figures are sane.
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

#[test]
fn small_bench_finalizes_every_transaction() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_timed"))
        .args([
            "bench",
            "--nodes",
            "4",
            "--txs",
            "300",
            "--json",
            "--base-port",
            "27410",
        ])
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
        "timed bench failed: {status}\nstdout: {out}\nstderr: {err}"
    );
    let line = out
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("a JSON line");
    let r: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
    let num = |k: &str| {
        r[k].as_f64()
            .unwrap_or_else(|| panic!("{k} missing in {line}"))
    };
    assert_eq!(num("nodes"), 4.0);
    assert_eq!(num("txs_submitted"), 300.0, "{line}");
    assert_eq!(num("txs_finalized"), 300.0, "{line}");
    assert_eq!(num("txs_rejected"), 0.0, "{line}");
    assert!(num("finalized_tps") > 0.0, "{line}");
    assert!(num("duration_s") > 0.0, "{line}");
    let (p50, p99) = (num("finality_ms_p50"), num("finality_ms_p99"));
    assert!(0.0 < p50 && p50 <= p99, "{line}");
    assert!(num("blocks") >= 1.0, "{line}");
    assert!(num("rounds_over_0") >= 0.0, "{line}");
    assert!(num("peak_rss_mb") > 0.0, "{line}");
    assert!(num("verify_bound_tps") > 0.0, "{line}");
    assert!(num("efficiency") > 0.0, "{line}");
}
