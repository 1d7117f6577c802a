//! RPC and metrics servers of a node, and the task that keeps its Prometheus metrics current.

use super::node_reader::NodeReader;
use super::rpc_backend::NodeRpc;
use super::wallet_service::WalletHandle;
use crate::metrics::{HealthSnapshot, HealthSource, Metrics};
use crate::node::logging::LogRing;
use crate::node::NodeHandle;
use crate::p2p::Direction;
use crate::rpc::{RpcAuth, RpcLimits};
use crate::types::PublicKey;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

struct NodeHealth(NodeHandle);

impl HealthSource for NodeHealth {
    fn health(&self) -> HealthSnapshot {
        let peers = self.0.with_peers(<[_]>::len);
        self.0.with_snapshot(|s| HealthSnapshot {
            height: s.height,
            peers,
            last_block_age_secs: s
                .tip_finalized_at
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .map(|d| d.as_secs()),
            synced: s.synced,
        })
    }
}

/// Starts the RPC server (cookie or user/password auth) and the metrics server configured for
/// `node`; `stop` is what the RPC `stop` method cancels. Returns their tasks.
pub async fn start(
    node: &NodeHandle,
    wallet: Option<WalletHandle>,
    feed: Option<(LogRing, u32)>,
    stop: CancellationToken,
) -> Result<Vec<JoinHandle<()>>, String> {
    let mut tasks = Vec::new();
    let shutdown = node.shutdown.clone();
    if let Some(bind) = node.spec.rpc_bind {
        let (auth, guard) = match &node.spec.rpc_user {
            Some((u, p)) => (
                RpcAuth::user_password(u, &secrecy::SecretString::from(p.clone())),
                None,
            ),
            None => {
                let (a, g) = RpcAuth::cookie(&node.spec.data_dir).map_err(|e| e.to_string())?;
                (a, Some(g))
            }
        };
        let mut rpc = NodeRpc::new(
            node.clone(),
            tokio::runtime::Handle::current(),
            wallet,
            stop,
        );
        if let Some((logs, devnet_nodes)) = feed {
            rpc = rpc.with_feed(logs, devnet_nodes);
        }
        let backend = Arc::new(rpc);
        let limits = RpcLimits {
            allow_public: node.spec.rpc_allow_public,
            ..RpcLimits::default()
        };
        let (_addr, task) = crate::rpc::start(bind, auth, backend, limits, shutdown.clone())
            .await
            .map_err(|e| e.to_string())?;
        // The cookie file lives as long as the server: removed at clean shutdown.
        tasks.push(tokio::spawn(async move {
            let _ = task.await;
            drop(guard);
        }));
    }
    if let Some(bind) = node.spec.metrics_bind {
        let (metrics, registry) = Metrics::new();
        let health = Arc::new(NodeHealth(node.clone()));
        let (_addr, task) = crate::metrics::start(bind, registry, health, shutdown.clone())
            .await
            .map_err(|e| e.to_string())?;
        tasks.push(task);
        tasks.push(tokio::spawn(update_metrics(
            node.clone(),
            metrics,
            shutdown,
        )));
    }
    Ok(tasks)
}

/// A ban as the metrics tell them apart: address, prefix, node key, expiry.
type BanKey = (std::net::IpAddr, u8, Option<PublicKey>, SystemTime);

/// Keeps the metrics current from the node's snapshots and finalized blocks.
async fn update_metrics(node: NodeHandle, m: Metrics, shutdown: CancellationToken) {
    let mut finalized = node.finalized.subscribe();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_blocks = 0u64;
    let mut last_txs = 0u64;
    // Per connected peer, its byte counters at the last tick: the counters grow by the
    // difference (a peer's bytes after the last tick before it disconnects are not counted).
    let mut traffic: HashMap<PublicKey, (u64, u64)> = HashMap::new();
    // The bans in force at the last tick; one that was not there was issued since. Those in
    // force at start (persisted from an earlier run) are not counted as issued.
    let mut bans_seen: Option<HashSet<BanKey>> = None;
    // The mempool's cumulative verdicts by reason at the last tick.
    let mut rejected_seen: HashMap<&'static str, u64> = HashMap::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            f = finalized.recv() => {
                if let Ok(f) = f {
                    m.rounds_per_height.observe(f64::from(f.round + 1));
                    m.storage_flush.observe(f.commit.as_secs_f64());
                }
                continue;
            }
            _ = tick.tick() => {}
        }
        node.with_snapshot(|s| {
            m.height.set(s.height as i64);
            let new_blocks = s.blocks_finalized.saturating_sub(last_blocks);
            m.blocks_finalized.inc_by(new_blocks);
            m.txs_finalized
                .inc_by(s.txs_finalized.saturating_sub(last_txs));
            // One latency sample per block finalized since the last tick (not the last one again).
            for ms in s.finality_ms.iter().rev().take(new_blocks as usize) {
                m.finality_latency.observe(*ms as f64 / 1000.0);
            }
            last_blocks = s.blocks_finalized;
            last_txs = s.txs_finalized;
            for (reason, n) in &s.mempool.rejected {
                let seen = rejected_seen.insert(reason, *n).unwrap_or(0);
                m.reject(reason, n.saturating_sub(seen));
            }
            if let Some(c) = &s.consensus {
                m.round.set(c.round as i64);
                m.step.set(c.step as i64);
            }
            m.mempool_txs.set(s.mempool.count as i64);
            m.mempool_bytes.set(s.mempool.bytes as i64);
            m.synced.set(i64::from(s.synced));
            m.sync_target_height
                .set(s.best_peer_height.unwrap_or(s.height) as i64);
        });
        node.with_peers(|peers| {
            let inbound = peers
                .iter()
                .filter(|p| p.direction == Direction::Inbound)
                .count();
            m.set_peers(inbound, peers.len() - inbound);
            let mut now_traffic = HashMap::with_capacity(peers.len());
            for p in peers {
                let (last_in, last_out) = traffic.get(&p.id).copied().unwrap_or((0, 0));
                m.bytes_in.inc_by(p.bytes_in.saturating_sub(last_in));
                m.bytes_out.inc_by(p.bytes_out.saturating_sub(last_out));
                now_traffic.insert(p.id, (p.bytes_in, p.bytes_out));
            }
            traffic = now_traffic;
        });
        let bans = node.p2p.bans();
        m.banned.set(bans.len() as i64);
        let keys: HashSet<BanKey> = bans
            .iter()
            .map(|b| (b.ip, b.prefix, b.node, b.until))
            .collect();
        if let Some(seen) = &bans_seen {
            m.bans.inc_by(keys.difference(seen).count() as u64);
        }
        bans_seen = Some(keys);
    }
}
