//! A realistic, fully deterministic view model of a small devnet: used by the
//! snapshot tests, the render-cost example and for trying the UI without a
//! node. Nothing here is random or time dependent.

use crate::format::UNITS_PER_TIME;
use crate::view_model::*;

/// Fixed "now" of the sample, unix seconds (2026-11-18 11:06:40 UTC).
pub const SAMPLE_NOW_UNIX: u64 = 1_795_000_000;

/// A devnet-looking address of the sample wallet (no real key; not a valid
/// bech32m checksum, tests inject a validator that accepts the sample set).
pub const SAMPLE_RECEIVE_ADDRESS: &str = "dtime1qpzry9x8gf2tvdw0s3jn54khce6mua7lxq8c2zs";

/// A sample address as used by the recipient in tests.
pub const SAMPLE_OTHER_ADDRESS: &str = "dtime1q0f3kuhd8x2yzw4pvq6c9n7tj5smr3elga0hy4k";

fn hash(i: u64) -> String {
    // Deterministic pseudo hash: a fixed multiplier, printed as hex.
    format!("{:012x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 16)
}

/// The sample view model: a synced devnet node that is a silver masternode,
/// in round 1 of a height where one masternode is slow to vote.
pub fn sample_view_model() -> ViewModel {
    let names = [
        "mn-alpha",
        "mn-bravo",
        "mn-charlie",
        "mn-delta",
        "mn-echo",
        "mn-foxtrot",
    ];
    let weights = [100u64, 10, 10, 1, 1, 1];
    let block = hash(4242)[..8].to_string();
    let validators = names
        .iter()
        .zip(weights)
        .enumerate()
        .map(|(i, (name, weight))| ValidatorVoteRow {
            name: (*name).to_string(),
            weight,
            is_proposer: i == 1,
            is_self: i == 1,
            prevote: match i {
                4 => VoteState::Nil,
                5 => VoteState::NotVoted,
                _ => VoteState::Value(block.clone()),
            },
            precommit: match i {
                0..=2 => VoteState::Value(block.clone()),
                _ => VoteState::NotVoted,
            },
            prevote_after_ms: (i < 5).then_some(40 + 15 * i as u64),
            precommit_after_ms: (i < 3).then_some(120 + 20 * i as u64),
        })
        .collect();
    // Newest first: 4242 is in round 1 after round 0 timed out; 4238
    // needed a second round after a nil round.
    let recent_rounds = (0..12u64)
        .map(|i| {
            let (height, round, outcome) = match i {
                0 => (4242, 1, RoundOutcome::InProgress),
                1 => (4242, 0, RoundOutcome::TimedOut),
                2..=4 => (
                    4243 - i,
                    0,
                    RoundOutcome::Committed(hash(4243 - i)[..8].to_string()),
                ),
                5 => (
                    4238,
                    1,
                    RoundOutcome::Committed(hash(4238)[..8].to_string()),
                ),
                6 => (4238, 0, RoundOutcome::Nil),
                _ => (
                    4244 - i,
                    0,
                    RoundOutcome::Committed(hash(4244 - i)[..8].to_string()),
                ),
            };
            RoundRecord {
                height,
                round,
                duration_ms: Some(if i == 0 { 420 } else { 300 + (i * 37) % 400 }),
                outcome,
            }
        })
        .collect();
    let peers = (0..9u64)
        .map(|i| PeerRow {
            id_short: hash(100 + i)[..8].to_string(),
            address: format!("127.0.0.1:{}", 24100 + i),
            direction: if i % 3 == 0 {
                PeerDirection::Inbound
            } else {
                PeerDirection::Outbound
            },
            latency_ms: if i == 7 { None } else { Some(2 + i * 3) },
            height: if i == 8 { None } else { Some(4241 - (i % 2)) },
            bytes_in: 1_000_000 + i * 123_457,
            bytes_out: 800_000 + i * 98_765,
            score: if i == 6 { 15 } else { 0 },
            connected_secs: 3_600 + i * 611,
        })
        .collect();
    let newest = (0..14u64)
        .map(|i| MempoolTxRow {
            txid_short: hash(900 + i),
            size_bytes: 226 + (i % 3) * 34,
            fee_rate: 1 + (i * 7) % 12,
            age_secs: i * 2,
        })
        .collect();
    let tiers = [
        "gold", "silver", "silver", "bronze", "bronze", "bronze", "free",
    ];
    let mn_weights = [100, 10, 10, 1, 1, 1, 0];
    let masternodes = tiers
        .iter()
        .zip(mn_weights)
        .enumerate()
        .map(|(i, (tier, weight))| MasternodeRow {
            id_short: names
                .get(i)
                .map_or_else(|| "mn-golf".to_string(), |n| (*n).to_string()),
            tier: (*tier).to_string(),
            weight,
            status: match i {
                5 => "pending (activates at 4,244)".to_string(),
                6 => "relay only".to_string(),
                _ => "active".to_string(),
            },
            standing: match i {
                5 => Standing::Pending,
                6 => Standing::Relay,
                _ => Standing::Voting,
            },
            last_vote_height: if i >= 5 { None } else { Some(4242) },
            last_vote_round: if i >= 5 { None } else { Some(1) },
            payout_address: format!("dtime1q{}payout{:02}xk7w3m", &hash(700 + i as u64), i),
            is_self: i == 1,
        })
        .collect();
    let history = (0..10u64)
        .map(|i| HistoryRow {
            txid_short: hash(500 + i)[..10].to_string(),
            direction: match i % 3 {
                0 => TxDirection::Incoming,
                1 => TxDirection::Outgoing,
                _ => TxDirection::SelfTransfer,
            },
            amount_units: (i + 1) * 12_345_678_900 / 7,
            fee_units: if i % 3 == 0 { None } else { Some(226 + i) },
            status: match i {
                0 => TxStatus::Pending,
                4 => TxStatus::Conflicted,
                _ => TxStatus::Final,
            },
            height: if i == 0 || i == 4 {
                None
            } else {
                Some(4241 - i * 17)
            },
            time_unix: Some(SAMPLE_NOW_UNIX - i * 3_671),
        })
        .collect();
    let logs = (0..60u64)
        .map(|i| LogLine {
            level: match i % 11 {
                3 => LogLevel::Warn,
                7 => LogLevel::Debug,
                10 => LogLevel::Error,
                _ => LogLevel::Info,
            },
            target: ["consensus::round", "p2p::peer", "mempool", "wallet"][(i % 4) as usize]
                .to_string(),
            message: format!(
                "event {i}: height={} round={} peers={}",
                4200 + i / 2,
                i % 2,
                8 + i % 2
            ),
            time_unix_ms: SAMPLE_NOW_UNIX * 1000 - (60 - i) * 731,
        })
        .collect();

    ViewModel {
        node: NodeInfo {
            network: Some("devnet".into()),
            node_id_short: Some(hash(1)[..10].to_string()),
            version: Some("0.1.0".into()),
            masternode_status: Some("active (silver, weight 10)".into()),
            can_register: false,
            sync: SyncState::Synced,
            uptime_secs: Some(3 * 3600 + 25 * 60 + 7),
        },
        overview: OverviewView {
            height: Some(4241),
            tip_hash_short: Some(hash(4241)[..12].to_string()),
            last_finality_ms: Some(612),
            last_block_age_secs: Some(1),
            tx_per_sec_history: (0..120u64)
                .map(|i| 20 + (i * 37 % 29) + if i % 17 == 0 { 40 } else { 0 })
                .collect(),
            finality_ms_history: (0..120u64).map(|i| 350 + (i * 53 % 300)).collect(),
            peer_count: Some(9),
        },
        consensus: ConsensusView {
            height: Some(4242),
            round: Some(1),
            step: Some(ConsensusStep::Precommit),
            step_elapsed_ms: Some(180),
            proposer: Some("mn-bravo".into()),
            locked: Some((block.clone(), 1)),
            valid: Some((block, 1)),
            validators,
            recent_rounds,
            between_heights: None,
        },
        peers: PeersView { rows: peers },
        mempool: MempoolView {
            count: Some(14),
            bytes: Some(14 * 260),
            min_fee_rate: Some(1),
            median_fee_rate: Some(5),
            max_fee_rate: Some(12),
            newest,
        },
        masternodes: MasternodesView { rows: masternodes },
        wallet: WalletView {
            loaded: true,
            name: Some("main".into()),
            locked: false,
            auto_lock_at_unix_ms: Some((SAMPLE_NOW_UNIX + 250) * 1000),
            balance_finalized: 1_234 * UNITS_PER_TIME + 50_000_000,
            balance_pending: 10 * UNITS_PER_TIME,
            addresses: vec![
                AddressRow {
                    address: SAMPLE_RECEIVE_ADDRESS.into(),
                    label: "donations".into(),
                    kind: AddressKind::Receive,
                },
                AddressRow {
                    address: "dtime1qxyv2k8wd6ru5t7mvnsl4h9z0g3cpeafj2q8nyx".into(),
                    label: String::new(),
                    kind: AddressKind::Change,
                },
                AddressRow {
                    address: "dtime1q8a6hn4ckz3w0xmtr5vs29lyj7pgdfe4uu3q5dm".into(),
                    label: "exchange".into(),
                    kind: AddressKind::Receive,
                },
            ],
            history,
            contacts: vec![
                ContactRow {
                    label: "alice".into(),
                    address: SAMPLE_OTHER_ADDRESS.into(),
                },
                ContactRow {
                    label: "bob".into(),
                    address: "dtime1qg6xk9m2fw4hz8ps0c7vj3ldy5nt0rqe8uak4x2".into(),
                },
            ],
            receive_address: Some(SAMPLE_RECEIVE_ADDRESS.into()),
            receive_uri: Some(format!(
                "timecoin:{SAMPLE_RECEIVE_ADDRESS}?amount=12.5&label=donations"
            )),
        },
        logs: LogsView {
            lines: logs,
            dropped: 0,
        },
        node_error: None,
        disconnected: None,
        published_unix_ms: Some(SAMPLE_NOW_UNIX * 1000),
    }
}

/// [`sample_view_model`] of a node that joined late and catches up: 1,200 of 5,000 blocks,
/// 85.3 blocks a second, 45 s left; its key is not registered.
pub fn sample_syncing() -> ViewModel {
    let mut vm = sample_view_model();
    vm.overview.height = Some(1_200);
    vm.node.sync = SyncState::Syncing {
        current: 1_200,
        target: Some(5_000),
        blocks_per_10s: Some(853),
        secs_left: Some(45),
    };
    vm.node.masternode_status = Some("not a masternode".into());
    vm.node.can_register = true;
    vm
}

/// [`sample_view_model`] while the node waits between heights: height 4,242
/// was decided in round 0 0.3 s ago, no transaction waits, the idle interval
/// starts the next height in 0.7 s.
pub fn sample_between_heights() -> ViewModel {
    let mut vm = sample_view_model();
    let c = &mut vm.consensus;
    c.height = Some(4243);
    c.round = None;
    c.step = None;
    c.step_elapsed_ms = None;
    c.proposer = None;
    c.locked = None;
    c.valid = None;
    let block = hash(4242)[..8].to_string();
    for (i, v) in c.validators.iter_mut().enumerate() {
        v.is_proposer = false;
        v.prevote = VoteState::Value(block.clone());
        v.prevote_after_ms = Some(30 + 11 * i as u64);
        if i < 5 {
            v.precommit = VoteState::Value(block.clone());
            v.precommit_after_ms = Some(90 + 13 * i as u64);
        } else {
            v.precommit = VoteState::NotVoted;
            v.precommit_after_ms = None;
        }
    }
    c.recent_rounds
        .retain(|r| r.outcome != RoundOutcome::InProgress);
    c.recent_rounds[0].outcome = RoundOutcome::Committed(block);
    c.between_heights = Some(BetweenHeights {
        decided: Some((4242, 0)),
        synced: false,
        decided_ago_ms: Some(300),
        pending_txs: Some(0),
        next_height_in_ms: Some(700),
    });
    vm
}
