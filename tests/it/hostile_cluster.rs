//! Four `timed` processes on loopback under a minute of attacks by a stranger connected to
//! every node (issue 12's "Show"): the network keeps finalizing, no honest node bans another,
//! and each node's memory afterwards is back near where it started.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::adversary::Adversary;
use crate::common::*;
use std::time::{Duration, Instant};
use timecoin::ledger::genesis::devnet_node_key;

const ALL: [u32; 4] = [0, 1, 2, 3];
const ATTACK: Duration = Duration::from_secs(60);
/// Every node must finalize at least one block in every window of this length.
const WINDOW: Duration = Duration::from_secs(10);

#[test]
fn four_processes_keep_finalizing_through_a_minute_of_attacks() {
    let mut c = Cluster::init("hostile", 4);
    c.start_all();
    c.wait_height(&ALL, 3, Duration::from_secs(90));
    let rss_before: Vec<u64> = ALL.iter().map(|i| c.rss_kib(*i).1).collect();
    let chain_id = c.genesis.params.chain_id;
    let addrs: Vec<_> = ALL.iter().map(|i| c.p2p_addr(*i)).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    let mut window_start = (Instant::now(), ALL.map(|i| c.height(i)));
    let mut reconnects = 0u32;
    let mut rounds = 0u64;
    rt.block_on(async {
        let mut adv = Vec::new();
        for a in &addrs {
            adv.push(Adversary::connect(*a, chain_id).await);
        }
        let mut salt = 0u64;
        while start.elapsed() < ATTACK {
            for (k, a) in adv.iter_mut().enumerate() {
                if a.closed() {
                    // Banned or dropped: come back under a new throwaway key.
                    *a = Adversary::connect(addrs[k], chain_id).await;
                    reconnects += 1;
                }
                let tip = a.node_height();
                a.barrage(tip, salt).await;
            }
            salt += 1;
            rounds += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            if window_start.0.elapsed() >= WINDOW {
                let now = ALL.map(|i| c.height(i));
                for (i, (now, then)) in now.iter().zip(window_start.1).enumerate() {
                    assert!(
                        *now > then,
                        "node{i} finalized nothing in {WINDOW:?} of attacks (height {})\n{}",
                        now,
                        c.tails(30)
                    );
                }
                window_start = (Instant::now(), now);
            }
        }
    });
    drop(rt);
    eprintln!("attack rounds: {rounds}, reconnects: {reconnects}");
    // No honest node banned another (all share 127.0.0.1, so bans name the node key).
    let honest: Vec<String> = ALL
        .iter()
        .map(|i| devnet_node_key(*i).public().short())
        .collect();
    for i in ALL {
        let log = c.log(i);
        for line in log.lines().filter(|l| l.contains("banning")) {
            for h in &honest {
                assert!(
                    !line.contains(h.as_str()),
                    "node{i} banned an honest node: {line}"
                );
            }
        }
    }
    // Memory settles back within 20% of where it started (plus 8 MiB of slack for
    // allocator caches on a small idle process).
    let h = c.max_height(&ALL);
    c.wait_height(&ALL, h + 2, Duration::from_secs(30));
    for (k, i) in ALL.iter().enumerate() {
        let (_, rss) = c.rss_kib(*i);
        let limit = rss_before[k] + rss_before[k] / 5 + 8 * 1024;
        assert!(
            rss <= limit,
            "node{i}: RSS {rss} KiB after the attacks, {} KiB before",
            rss_before[k]
        );
        eprintln!("node{i}: RSS {} KiB before, {rss} KiB after", rss_before[k]);
    }
    c.term_all();
    c.assert_no_fork();
}
