//! Load measurement: `getblockcount` from 16 concurrent kept-alive clients against the mock
//! backend for a bounded time; prints requests/second and latency percentiles.
//!
//! `cargo test --release --test it rpc_load -- --ignored --nocapture`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::rpc_common::TestServer;
use serde_json::json;
use std::time::{Duration, Instant};

const CLIENTS: usize = 16;
const RUN: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread")]
#[ignore = "load measurement; run explicitly"]
async fn getblockcount_load() {
    let t = TestServer::start().await;
    // Warm-up.
    assert_eq!(t.ok("getblockcount", json!([])).await, json!(4));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let mut c = t.client();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            while start.elapsed() < RUN {
                let t0 = Instant::now();
                let v = c.call("getblockcount", json!([])).await.unwrap();
                lat.push(t0.elapsed());
                assert_eq!(v, json!(4));
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "rpc_load: {} clients, {} requests in {:.2} s = {:.0} req/s; latency p50 {:?}, p99 {:?}, max {:?}; {} cores",
        CLIENTS,
        all.len(),
        secs,
        all.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        all[all.len() - 1],
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    );
    assert!(all.len() > 100);
}
