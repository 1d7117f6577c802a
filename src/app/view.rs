//! Maps node snapshots, peers, wallet state and logs into the UI's plain view model.

use crate::consensus::Step;
use crate::ledger::{MasternodeEntry, MasternodeState};
use crate::node::logging::LogRecord;
use crate::node::snapshot::{CatchUp, OwnMasternode, RoundEnd, RoundVotes, VoteArrival};
use crate::node::NodeSnapshot;
use crate::p2p::{Direction, PeerInfo};
use crate::types::{Hash, Network, PublicKey};
use std::time::{Duration, Instant, UNIX_EPOCH};
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

/// The sync state shown: derived from the node's own figures, never re-measured here.
fn sync_state(node: &NodeSnapshot, peers: &[PeerInfo]) -> ui::SyncState {
    if peers.is_empty() {
        ui::SyncState::WaitingForPeers
    } else if node.synced {
        ui::SyncState::Synced
    } else {
        let rate = node
            .catch_up
            .map(|CatchUp { blocks_per_s, .. }| blocks_per_s);
        ui::SyncState::Syncing {
            current: node.height,
            target: node.best_peer_height,
            // Whole tenths of a block per second (the view model is `Eq`).
            blocks_per_10s: rate.map(|r| (r * 10.0).round() as u64),
            secs_left: node.catch_up.and_then(|c| c.secs_left),
        }
    }
}

/// This node's masternode status in words (Overview and header).
fn own_status(own: OwnMasternode) -> String {
    match own {
        OwnMasternode::NotRegistered => "not a masternode".into(),
        OwnMasternode::Registered {
            state: MasternodeState::Banned,
            ..
        } => "banned (equivocation)".into(),
        OwnMasternode::Registered {
            state: MasternodeState::Pending,
            active_from,
            ..
        } => format!("registered, active from height {active_from}"),
        OwnMasternode::Registered {
            tier,
            enabled: true,
            ..
        } => format!("active {} masternode", tier.name()),
        OwnMasternode::Registered { .. } => {
            "registered, but masternode mode is off ([masternode] enabled)".into()
        }
    }
}

/// A member's standing and its words in the Masternodes tab: the registry state, and for an
/// active member whether it votes (weight in the next validator set).
fn member_status(m: &MasternodeEntry, node: &NodeSnapshot) -> (ui::Standing, String) {
    match m.state_at(node.height) {
        MasternodeState::Banned => (ui::Standing::Banned, "banned".into()),
        MasternodeState::Pending => (
            ui::Standing::Pending,
            format!("activates at {}", m.active_from),
        ),
        MasternodeState::Active if node.validators.weight_of(&m.node_key).unwrap_or(0) > 0 => {
            (ui::Standing::Voting, "active".into())
        }
        MasternodeState::Active => (ui::Standing::Relay, "relay (no vote)".into()),
    }
}

/// Builds the view model of `node` as it was when published: every age and countdown in it
/// is measured at `node.published`, so building it twice from one snapshot gives one view
/// (the UI ages it from `published_unix_ms` with its own clock).
pub fn view_model(
    node: &NodeSnapshot,
    peers: &[PeerInfo],
    wallet: &WalletSummary,
    logs: &[LogRecord],
    names: &dyn Fn(&PublicKey) -> Option<String>,
) -> ui::ViewModel {
    let now = node.published.at;
    let wall_now = UNIX_EPOCH + Duration::from_millis(node.published.unix_ms);
    let me = node.node_key;
    let last_block_age_secs = node
        .tip_finalized_at
        .and_then(|t| wall_now.duration_since(t).ok())
        .map(|d| d.as_secs());
    let sync = sync_state(node, peers);
    let consensus = consensus_view(node, names, now);
    let last_votes: std::collections::HashMap<PublicKey, crate::node::snapshot::LastVote> =
        node.last_votes.iter().copied().collect();
    let masternodes = ui::MasternodesView {
        rows: node
            .masternodes
            .iter()
            .map(|m| {
                let (standing, status) = member_status(m, node);
                let lv = last_votes.get(&m.node_key);
                ui::MasternodeRow {
                    id_short: short_key(&m.node_key, names),
                    tier: m.tier.name().to_string(),
                    weight: m.tier.weight(),
                    status,
                    standing,
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
                connected_secs: wall_now
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
            masternode_status: Some(own_status(node.own)),
            can_register: node.own == OwnMasternode::NotRegistered,
            sync,
            uptime_secs: Some(now.saturating_duration_since(node.started).as_secs()),
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
        disconnected: None,
        published_unix_ms: Some(node.published.unix_ms),
    }
}

/// Recent rounds, newest first: the running round (if any) above the finished ones.
fn recent_rounds(node: &NodeSnapshot, now: Instant) -> Vec<ui::RoundRecord> {
    let mut out = Vec::with_capacity(node.recent_rounds.len() + 1);
    if let Some(c) = &node.consensus {
        let started = node
            .votes
            .round(c.height, c.round)
            .map(|r| r.started)
            .or(node.step_since);
        out.push(ui::RoundRecord {
            height: c.height,
            round: c.round,
            duration_ms: started.map(|t| ms(now.saturating_duration_since(t))),
            outcome: ui::RoundOutcome::InProgress,
        });
    }
    out.extend(node.recent_rounds.iter().rev().map(|r| ui::RoundRecord {
        height: r.height,
        round: r.round,
        duration_ms: Some(r.duration_ms),
        outcome: match r.end {
            RoundEnd::Decided => {
                ui::RoundOutcome::Committed(r.block.map(|h| h.short()).unwrap_or_default())
            }
            RoundEnd::Synced => ui::RoundOutcome::Committed("(synced)".into()),
            RoundEnd::NextRound => ui::RoundOutcome::TimedOut,
        },
    }));
    out
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One masternode's row: its votes in `round` (when any arrived) with their delays.
fn vote_row(
    key: &PublicKey,
    weight: u64,
    proposer: Option<&PublicKey>,
    me: &PublicKey,
    round: Option<&RoundVotes>,
    names: &dyn Fn(&PublicKey) -> Option<String>,
) -> ui::ValidatorVoteRow {
    let (pv, pc) = round.map(|r| r.of(key)).unwrap_or((None, None));
    let after = |a: Option<&VoteArrival>| a.and_then(|a| round.map(|r| ms(r.after(a))));
    let seen = |a: Option<&VoteArrival>| vote_state(a.map(|a| a.block));
    ui::ValidatorVoteRow {
        name: short_key(key, names),
        weight,
        is_proposer: proposer == Some(key),
        is_self: key == me,
        prevote: seen(pv),
        precommit: seen(pc),
        prevote_after_ms: after(pv),
        precommit_after_ms: after(pc),
    }
}

/// The Consensus tab: the running height, or the last decided one and when the next starts.
fn consensus_view(
    node: &NodeSnapshot,
    names: &dyn Fn(&PublicKey) -> Option<String>,
    now: Instant,
) -> ui::ConsensusView {
    let me = node.node_key;
    let recent_rounds = recent_rounds(node, now);
    let Some(c) = &node.consensus else {
        let decided = node.votes.last_decided.as_ref();
        let round = decided.map(|d| &d.votes);
        let validators = node
            .validators
            .validators()
            .iter()
            .map(|v| vote_row(&v.key, v.weight, None, &me, round, names))
            .collect();
        let since = decided.map(|d| now.saturating_duration_since(d.at));
        let pending = node.mempool.count;
        return ui::ConsensusView {
            height: Some(node.height + 1),
            validators,
            recent_rounds,
            between_heights: Some(ui::BetweenHeights {
                decided: decided.map(|d| (d.votes.height, d.votes.round)),
                synced: decided.is_some_and(|d| d.end == RoundEnd::Synced),
                decided_ago_ms: since.map(ms),
                pending_txs: Some(pending),
                next_height_in_ms: since
                    .map(|s| ms(node.empty_block_interval.saturating_sub(s)))
                    .filter(|_| pending == 0),
            }),
            ..Default::default()
        };
    };
    let round = node.votes.round(c.height, c.round);
    // Votes shown are the core's (what counts); their arrival times are the driver's log.
    let validators = c
        .validators
        .iter()
        .map(|v| {
            let mut row = vote_row(&v.key, v.weight, Some(&c.proposer), &me, round, names);
            row.prevote = vote_state(v.prevote);
            row.precommit = vote_state(v.precommit);
            if v.prevote.is_none() {
                row.prevote_after_ms = None;
            }
            if v.precommit.is_none() {
                row.precommit_after_ms = None;
            }
            row
        })
        .collect();
    ui::ConsensusView {
        height: Some(c.height),
        round: Some(c.round),
        step: Some(step(c.step)),
        step_elapsed_ms: node
            .step_since
            .map(|t| ms(now.saturating_duration_since(t))),
        proposer: Some(short_key(&c.proposer, names)),
        locked: c.locked.map(|(r, h)| (h.short(), r)),
        valid: c.valid.map(|(r, h)| (h.short(), r)),
        validators,
        recent_rounds,
        between_heights: None,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::ConsensusParams;
    use crate::mempool::MempoolLimits;
    use crate::node::devnet::DevnetLayout;
    use crate::node::snapshot::Published;
    use crate::types::Tier;

    /// A four-masternode devnet (nothing is written: the dir is never used).
    fn layout() -> DevnetLayout {
        DevnetLayout {
            nodes: 4,
            base_port: 1,
            dir: std::env::temp_dir().join("timecoin-view-test-unused"),
        }
    }

    /// The snapshot of devnet node 0 before anything happened, published at `unix_ms`.
    fn snapshot(unix_ms: u64) -> NodeSnapshot {
        let layout = layout();
        let genesis = layout.genesis();
        let spec = layout.node_spec(
            0,
            &genesis,
            ConsensusParams::devnet(),
            MempoolLimits::default(),
        );
        let mut s = NodeSnapshot::initial(&spec, &genesis.state());
        s.published = Published {
            at: Instant::now(),
            unix_ms,
        };
        s
    }

    fn build(s: &NodeSnapshot, peers: &[PeerInfo]) -> ui::ViewModel {
        view_model(s, peers, &WalletSummary::default(), &[], &|_| None)
    }

    fn a_peer() -> PeerInfo {
        PeerInfo {
            id: crate::ledger::genesis::devnet_node_key(1).public(),
            conn_id: 1,
            addr: "127.0.0.1:1".parse().expect("literal address"),
            direction: Direction::Outbound,
            latency_ms: None,
            height: Some(5_000),
            bytes_in: 0,
            bytes_out: 0,
            msgs_in: 0,
            msgs_out: 0,
            score: 0,
            connected_since: UNIX_EPOCH,
        }
    }

    #[test]
    fn sync_progress_is_the_nodes_figures() {
        let mut s = snapshot(1_000);
        s.height = 1_200;
        s.best_peer_height = Some(5_000);
        s.synced = false;
        s.catch_up = Some(CatchUp {
            blocks_per_s: 85.26,
            secs_left: Some(45),
        });
        let vm = build(&s, &[a_peer()]);
        assert_eq!(
            vm.node.sync,
            ui::SyncState::Syncing {
                current: 1_200,
                target: Some(5_000),
                blocks_per_10s: Some(853),
                secs_left: Some(45),
            }
        );
        // Before the node measured a rate: height and target only, never a made-up rate.
        s.catch_up = None;
        assert!(matches!(
            build(&s, &[a_peer()]).node.sync,
            ui::SyncState::Syncing {
                blocks_per_10s: None,
                secs_left: None,
                ..
            }
        ));
        s.synced = true;
        assert_eq!(build(&s, &[a_peer()]).node.sync, ui::SyncState::Synced);
        assert_eq!(build(&s, &[]).node.sync, ui::SyncState::WaitingForPeers);
    }

    #[test]
    fn the_view_is_as_of_publication_not_of_building() {
        // Published in 2001: a figure measured with today's clock would be decades off.
        let mut s = snapshot(1_000_000_000_000);
        s.started = s.published.at - Duration::from_secs(3);
        let a = build(&s, &[a_peer()]);
        assert_eq!(a.published_unix_ms, Some(1_000_000_000_000));
        assert_eq!(a.node.uptime_secs, Some(3));
        // The peer connected at the epoch: its age is measured at publication.
        assert_eq!(a.peers.rows[0].connected_secs, 1_000_000_000);
        assert_eq!(a, build(&s, &[a_peer()]), "one snapshot, one view");
    }

    #[test]
    fn own_status_says_what_to_do_and_is_derived_from_the_registry_state() {
        let mut s = snapshot(0);
        let vm = build(&s, &[]);
        assert!(vm.node.can_register);
        assert_eq!(
            vm.node.masternode_status.as_deref(),
            Some("not a masternode")
        );
        for (state, enabled, text) in [
            (
                MasternodeState::Pending,
                true,
                "registered, active from height 12",
            ),
            (MasternodeState::Active, true, "active silver masternode"),
            (
                MasternodeState::Active,
                false,
                "registered, but masternode mode is off ([masternode] enabled)",
            ),
            (MasternodeState::Banned, true, "banned (equivocation)"),
        ] {
            s.own = OwnMasternode::Registered {
                tier: Tier::Silver,
                state,
                active_from: 12,
                enabled,
            };
            let vm = build(&s, &[]);
            assert!(!vm.node.can_register);
            assert_eq!(vm.node.masternode_status.as_deref(), Some(text));
        }
    }

    #[test]
    fn member_standing_comes_from_the_registry_rule() {
        let mut s = snapshot(0);
        let state = layout().genesis().state();
        s.masternodes = state.masternodes().cloned().collect();
        s.validators = state.next_validator_set();
        s.masternodes[1].banned = true;
        s.masternodes[2].active_from = s.height + 5;
        let rows = build(&s, &[]).masternodes.rows;
        let standings: Vec<ui::Standing> = rows.iter().map(|r| r.standing).collect();
        assert_eq!(
            standings,
            [
                ui::Standing::Voting,
                ui::Standing::Banned,
                ui::Standing::Pending,
                ui::Standing::Voting
            ]
        );
        assert_eq!(rows[2].status, format!("activates at {}", s.height + 5));
    }

    /// The register popup's tier table mirrors the ledger's (the UI crate cannot import it).
    #[test]
    fn the_uis_tier_table_is_the_ledgers() {
        let ledger: Vec<(&str, u64, u64)> = [Tier::Bronze, Tier::Silver, Tier::Gold]
            .iter()
            .map(|t| {
                (
                    t.name(),
                    t.collateral().0 / crate::types::Amount::from_time(1).0,
                    t.weight(),
                )
            })
            .collect();
        assert_eq!(ledger, ui::REGISTER_TIERS.to_vec());
    }
}
