//! `timed bench --sync`: after the timed phase, a fresh node catches up the bench's chain.
//!
//! The node has a new empty data dir, a new node key and masternode mode off; it dials every
//! bench node over TLS (its `connect` list, the `--connect` path) and syncs through the
//! node's own path: range requests, every commit certificate verified, every block validated
//! with the transaction signatures not in its mempool verified (a fresh node's mempool is
//! empty, and the bench's nodes are idle, so none is skipped). The bench's nodes keep running
//! meanwhile, idle: they still finalize an empty block every `empty_block_interval`, so the
//! target is the bench's tip when the fresh node starts.

use super::devnet::{in_process, Devnet};
use super::BenchArgs;
use crate::consensus::ConsensusParams;
use crate::mempool::MempoolLimits;
use crate::node::devnet::DevnetLayout;
use crate::node::NodeHandle;
use crate::types::SecretKey;
use serde::Serialize;
use std::io::Write as _;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Time allowed to sync, besides [`DEADLINE_PER_BLOCK`] per block.
const DEADLINE: Duration = Duration::from_secs(120);
/// Time allowed per block to sync.
const DEADLINE_PER_BLOCK: Duration = Duration::from_millis(50);
/// Progress line refresh interval.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Figures of the sync phase (in the bench's JSON with `--sync`).
#[derive(Clone, Debug, Serialize)]
pub struct SyncReport {
    /// The bench's tip when the fresh node started: the height it had to reach.
    pub sync_target_height: u64,
    /// The fresh node's height when it got there (the bench fails unless its block at
    /// `sync_target_height` is node0's).
    pub sync_height: u64,
    /// Blocks 1 to `sync_target_height`.
    pub sync_blocks: u64,
    /// Transactions in those blocks, coinbases not counted.
    pub sync_txs: u64,
    /// Seconds from the fresh node's start (storage open, TLS identity, connections) until it
    /// reported `sync_target_height` final (durable).
    pub sync_s: f64,
    /// `sync_txs / sync_s`: transactions replayed per second.
    pub sync_tps: f64,
    /// `sync_blocks / sync_s`.
    pub sync_blocks_per_s: f64,
}

/// Starts the fresh node, waits until it has the bench's tip, checks it holds node0's chain,
/// and stops it (the bench's nodes keep running).
pub(super) async fn run(
    net: &Devnet,
    layout: &DevnetLayout,
    args: &BenchArgs,
) -> Result<SyncReport, String> {
    let progress = !args.json;
    let node0 = &net.nodes[0];
    let target = stored_tip(node0)?;
    let mut spec = in_process(
        layout.node_spec(
            layout.nodes,
            &node0.spec.genesis,
            ConsensusParams::devnet(),
            MempoolLimits::default(),
        ),
        args,
    );
    spec.name = "sync".into();
    spec.data_dir = layout.dir.join("sync");
    spec.node_key = SecretKey::generate();
    spec.masternode = false;
    spec.connect = layout.peers_of(layout.nodes);
    let started = Instant::now();
    let fresh = Devnet::start(vec![spec], net.root.child_token()).await?;
    let result = match wait_for(&fresh, target, started, progress).await {
        Ok(reached) => check_chain(&fresh.nodes[0], node0, target)
            .await
            .map(|txs| report(target, txs, started, reached)),
        Err(e) => Err(e),
    };
    fresh.shutdown().await;
    result
}

/// The highest block in `node`'s storage: its tip, which its snapshot reports up to one
/// publication interval late.
fn stored_tip(node: &NodeHandle) -> Result<u64, String> {
    let mut h = node.height();
    loop {
        match node.storage.certificate(h + 1) {
            Ok(Some(_)) => h += 1,
            Ok(None) => return Ok(h),
            Err(e) => return Err(format!("cannot read {}'s tip: {e}", node.spec.name)),
        }
    }
}

/// When and at which height the fresh node reached the target.
struct Reached {
    at: Instant,
    height: u64,
}

fn report(target: u64, txs: u64, started: Instant, r: Reached) -> SyncReport {
    let sync_s = r.at.saturating_duration_since(started).as_secs_f64();
    let per_s = |n: u64| if sync_s > 0.0 { n as f64 / sync_s } else { 0.0 };
    SyncReport {
        sync_target_height: target,
        sync_height: r.height,
        sync_blocks: target,
        sync_txs: txs,
        sync_s,
        sync_tps: per_s(txs),
        sync_blocks_per_s: per_s(target),
    }
}

/// Follows the fresh node's finalized blocks until one reaches `target`.
async fn wait_for(
    fresh: &Devnet,
    target: u64,
    started: Instant,
    progress: bool,
) -> Result<Reached, String> {
    let node = &fresh.nodes[0];
    let mut finalized = node.finalized.subscribe();
    let deadline = started + DEADLINE + DEADLINE_PER_BLOCK * target.min(u32::MAX as u64) as u32;
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // Only when the notifications cannot tell (a block finalized before the subscription, or
    // missed by a lag): the height, now.
    let by_height = || {
        let height = node.height();
        (height >= target).then(|| Reached {
            at: Instant::now(),
            height,
        })
    };
    if let Some(r) = by_height() {
        return Ok(r);
    }
    loop {
        let ev = tokio::select! {
            _ = fresh.root.cancelled() => return Err("interrupted".into()),
            _ = tokio::time::sleep_until(deadline.into()) => {
                return Err(format!(
                    "the --sync node reached height {} of {target} in {} s; its log tells why (run with TIMECOIN_BENCH_LOG=info,sync=debug)",
                    node.height(),
                    started.elapsed().as_secs()
                ))
            }
            _ = tick.tick() => {
                if progress {
                    eprint!("\rbench: syncing a fresh node: height {} of {target}   ", node.height());
                    let _ = std::io::stderr().flush();
                }
                continue;
            }
            ev = finalized.recv() => ev,
        };
        let reached = match ev {
            Ok(f) => (f.height >= target).then_some(Reached {
                at: f.at,
                height: f.height,
            }),
            Err(broadcast::error::RecvError::Lagged(_)) => by_height(),
            Err(broadcast::error::RecvError::Closed) => {
                return Err("the --sync node stopped before it caught up".into())
            }
        };
        if let Some(r) = reached {
            if progress {
                eprintln!("\rbench: synced a fresh node to height {target}              ");
            }
            return Ok(r);
        }
    }
}

/// Checks that `fresh` holds `bench`'s block at `target` and counts the transactions of
/// blocks 1 to `target` in `fresh`'s storage.
async fn check_chain(fresh: &NodeHandle, bench: &NodeHandle, target: u64) -> Result<u64, String> {
    let (fresh, bench) = (fresh.storage.clone(), bench.storage.clone());
    let counted = tokio::task::spawn_blocking(move || {
        let read = |s: &crate::storage::Storage, h: u64, who: &str| {
            s.block(h)
                .map_err(|e| format!("cannot read block {h} of {who}: {e}"))?
                .ok_or_else(|| format!("{who} has no block {h}"))
        };
        let ours = read(&fresh, target, "the --sync node")?;
        if ours.hash() != read(&bench, target, "node0")?.hash() {
            return Err(format!(
                "the --sync node's block {target} is not node0's: it synced another chain"
            ));
        }
        let mut txs = 0u64;
        for h in 1..=target {
            txs += read(&fresh, h, "the --sync node")?
                .txs
                .len()
                .saturating_sub(1) as u64;
        }
        Ok(txs)
    });
    counted
        .await
        .map_err(|e| format!("counting the synced transactions failed: {e}"))?
}
