//! Maps node snapshots, peers, wallet state and logs into the UI's plain view model.

use crate::consensus::{RoundOutcome, Step};
use crate::node::logging::LogRecord;
use crate::node::snapshot::RoundEnd;
use crate::node::NodeSnapshot;
use crate::p2p::{Direction, PeerInfo};
use crate::types::{Hash, Network, PublicKey};
use std::time::{Instant, SystemTime};
use timecoin_ui as ui;

/// Wallet data already computed by the wallet service.
#[derive(Clone, Debug, Default)]
pub struct WalletSummary {
    /// The wallet view part.
    pub view: ui::WalletView,
}

fn short_key(k: &PublicKey, names: &dyn Fn(&PublicKey) -> Option<String>) -> String {
    names(k).unwrap_or_else(|| k.short())
}

fn vote_state(v: Option<Option<Hash>>) -> ui::VoteState {
    match v {
        None => ui::VoteState::NotVoted,
        Some(None) => ui::VoteState::Nil,
        Some(Some(h)) => ui::VoteState::Value(h.short()),
    }
}

fn step(s: Step) -> ui::ConsensusStep {
    match s {
        Step::Propose => ui::ConsensusStep::Propose,
        Step::Prevote => ui::ConsensusStep::Prevote,
        Step::Precommit => ui::ConsensusStep::Precommit,
        Step::Commit => ui::ConsensusStep::Commit,
    }
}

/// Builds the view model.
pub fn view_model(
    node: &NodeSnapshot,
    peers: &[PeerInfo],
    wallet: &WalletSummary,
    logs: &[LogRecord],
    names: &dyn Fn(&PublicKey) -> Option<String>,
    snapshot_at: Instant,
) -> ui::ViewModel {
    let now = Instant::now();
    let me = node.node_key;
    let last_block_age_secs = node
        .tip_finalized_at
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .map(|d| d.as_secs());
    let sync = if peers.is_empty() {
        ui::SyncState::WaitingForPeers
    } else if node.synced {
        ui::SyncState::Synced
    } else {
        ui::SyncState::Syncing {
            current: node.height,
            target: node.best_peer_height,
        }
    };
    let consensus = match &node.consensus {
        None => ui::ConsensusView {
            height: Some(node.height + 1),
            recent_rounds: recent_rounds(node),
            ..Default::default()
        },
        Some(c) => ui::ConsensusView {
            height: Some(c.height),
            round: Some(c.round),
            step: Some(step(c.step)),
            step_elapsed_ms: node
                .step_since
                .map(|t| now.duration_since(t).as_millis() as u64),
            proposer: Some(short_key(&c.proposer, names)),
            locked: c.locked.map(|(r, h)| (h.short(), r)),
            valid: c.valid.map(|(r, h)| (h.short(), r)),
            validators: c
                .validators
                .iter()
                .map(|v| ui::ValidatorVoteRow {
                    name: short_key(&v.key, names),
                    weight: v.weight,
                    is_proposer: v.key == c.proposer,
                    is_self: v.key == me,
                    prevote: vote_state(v.prevote),
                    precommit: vote_state(v.precommit),
                })
                .collect(),
            recent_rounds: {
                let mut r = recent_rounds(node);
                if let Some(cur) = c.recent_rounds.last() {
                    if matches!(cur.outcome, RoundOutcome::InProgress) {
                        r.push(ui::RoundRecord {
                            height: cur.height,
                            round: cur.round,
                            duration_ms: node
                                .step_since
                                .map(|t| now.duration_since(t).as_millis() as u64),
                            outcome: ui::RoundOutcome::InProgress,
                        });
                    }
                }
                r
            },
        },
    };
    let last_votes: std::collections::HashMap<PublicKey, crate::node::snapshot::LastVote> =
        node.last_votes.iter().copied().collect();
    let masternodes = ui::MasternodesView {
        rows: node
            .masternodes
            .iter()
            .map(|m| {
                let weight = node.validators.weight_of(&m.node_key).unwrap_or(0);
                let status = if m.banned {
                    "banned".to_string()
                } else if m.active_from > node.height + 1 {
                    format!("activates at {}", m.active_from)
                } else if weight > 0 {
                    "active".to_string()
                } else {
                    "relay (no vote)".to_string()
                };
                let lv = last_votes.get(&m.node_key);
                ui::MasternodeRow {
                    id_short: short_key(&m.node_key, names),
                    tier: m.tier.name().to_string(),
                    weight: m.tier.weight(),
                    status,
                    last_vote_height: lv.map(|v| v.height),
                    last_vote_round: lv.map(|v| v.round),
                    payout_address: m.payout.encode(node.network),
                    is_self: m.node_key == me,
                }
            })
            .collect(),
    };
    let peers_view = ui::PeersView {
        rows: peers
            .iter()
            .map(|p| ui::PeerRow {
                id_short: short_key(&p.id, names),
                address: p.addr.to_string(),
                direction: match p.direction {
                    Direction::Inbound => ui::PeerDirection::Inbound,
                    Direction::Outbound => ui::PeerDirection::Outbound,
                },
                latency_ms: p.latency_ms,
                height: p.height,
                bytes_in: p.bytes_in,
                bytes_out: p.bytes_out,
                score: p.score as i64,
                connected_secs: SystemTime::now()
                    .duration_since(p.connected_since)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
            })
            .collect(),
    };
    let m = &node.mempool;
    let mempool = ui::MempoolView {
        count: Some(m.count),
        bytes: Some(m.bytes as u64),
        min_fee_rate: m.min_fee_rate,
        median_fee_rate: m.median_fee_rate,
        max_fee_rate: m.max_fee_rate,
        newest: m
            .newest
            .iter()
            .map(|(id, size, rate, age)| ui::MempoolTxRow {
                txid_short: id.short(),
                size_bytes: *size as u64,
                fee_rate: *rate,
                age_secs: age.as_secs(),
            })
            .collect(),
    };
    ui::ViewModel {
        node: ui::NodeInfo {
            network: Some(node.network.name().to_string()),
            node_id_short: Some(short_key(&me, names)),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
            masternode_status: Some(node.own_status.clone()),
            sync,
            uptime_secs: Some(now.duration_since(node.started).as_secs()),
        },
        overview: ui::OverviewView {
            height: Some(node.height),
            tip_hash_short: Some(node.tip_hash.short()),
            last_finality_ms: node.finality_ms.back().copied(),
            last_block_age_secs,
            tx_per_sec_history: node.tps.iter().copied().collect(),
            finality_ms_history: node.finality_ms.iter().copied().collect(),
            peer_count: Some(peers.len()),
        },
        consensus,
        peers: peers_view,
        mempool,
        masternodes,
        wallet: wallet.view.clone(),
        logs: ui::LogsView {
            lines: logs.iter().map(log_line).collect(),
            dropped: 0,
        },
        node_error: node.error.clone(),
        snapshot_age_ms: Some(now.duration_since(snapshot_at).as_millis() as u64),
    }
}

fn recent_rounds(node: &NodeSnapshot) -> Vec<ui::RoundRecord> {
    node.recent_rounds
        .iter()
        .map(|r| ui::RoundRecord {
            height: r.height,
            round: r.round,
            duration_ms: Some(r.duration_ms),
            outcome: match r.end {
                RoundEnd::Decided | RoundEnd::Synced => ui::RoundOutcome::Committed(String::new()),
                RoundEnd::NextRound => ui::RoundOutcome::TimedOut,
            },
        })
        .collect()
}

fn log_line(r: &LogRecord) -> ui::LogLine {
    let level = match r.level {
        tracing::Level::TRACE => ui::LogLevel::Trace,
        tracing::Level::DEBUG => ui::LogLevel::Debug,
        tracing::Level::INFO => ui::LogLevel::Info,
        tracing::Level::WARN => ui::LogLevel::Warn,
        tracing::Level::ERROR => ui::LogLevel::Error,
    };
    ui::LogLine {
        level,
        target: r.target.clone(),
        message: r.message.clone(),
        time_unix_ms: r.time_ms,
    }
}

/// Display names for devnet masternodes ("node0", ...), else none.
pub fn devnet_names(network: Network, nodes: u32) -> impl Fn(&PublicKey) -> Option<String> {
    let keys: Vec<PublicKey> = if network == Network::Devnet {
        (0..nodes)
            .map(|i| crate::ledger::genesis::devnet_node_key(i).public())
            .collect()
    } else {
        vec![]
    };
    move |k| keys.iter().position(|x| x == k).map(|i| format!("node{i}"))
}
