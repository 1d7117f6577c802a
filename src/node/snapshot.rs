//! What the node publishes for the RPC server and the UI through a `watch` channel: owned,
//! cloned data, never a lock on node internals.

use crate::consensus::ConsensusSnapshot;
use crate::ledger::MasternodeEntry;
use crate::mempool::MempoolSnapshot;
use crate::types::{Amount, Hash, Network, PublicKey, ValidatorSet};
use std::collections::VecDeque;
use std::time::{Instant, SystemTime};

/// How a round ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundEnd {
    /// The height was decided in this round.
    Decided,
    /// Moved to the next round (timeout or round skip).
    NextRound,
    /// Left because the block arrived by sync.
    Synced,
}

/// Timing of one finished round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundTiming {
    /// Height.
    pub height: u64,
    /// Round.
    pub round: u32,
    /// Wall-clock duration.
    pub duration_ms: u64,
    /// Outcome.
    pub end: RoundEnd,
}

/// The latest vote seen from a masternode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastVote {
    /// Height.
    pub height: u64,
    /// Round.
    pub round: u32,
}

/// A snapshot of the node for RPC and UI.
#[derive(Clone, Debug)]
pub struct NodeSnapshot {
    /// Node name.
    pub name: String,
    /// Network.
    pub network: Network,
    /// Chain id.
    pub chain_id: Hash,
    /// This node's key.
    pub node_key: PublicKey,
    /// Whether this node votes (masternode in the active set).
    pub own_status: String,
    /// Finalized height.
    pub height: u64,
    /// Tip hash.
    pub tip_hash: Hash,
    /// Tip block time.
    pub tip_time_ms: u64,
    /// When the tip was finalized locally.
    pub tip_finalized_at: Option<SystemTime>,
    /// Total supply.
    pub supply: Amount,
    /// Highest height a peer reported.
    pub best_peer_height: Option<u64>,
    /// At the tip of the best peer (or no peer is ahead).
    pub synced: bool,
    /// Consensus state of the current height.
    pub consensus: Option<ConsensusSnapshot>,
    /// When the current step began.
    pub step_since: Option<Instant>,
    /// Recent rounds, newest last.
    pub recent_rounds: VecDeque<RoundTiming>,
    /// Height start to decision of recent heights, newest last.
    pub finality_ms: VecDeque<u64>,
    /// Transactions finalized per second over the last minute, newest last.
    pub tps: VecDeque<u64>,
    /// Mempool summary.
    pub mempool: MempoolSnapshot,
    /// Registered masternodes.
    pub masternodes: Vec<MasternodeEntry>,
    /// Validator set of the next height.
    pub validators: ValidatorSet,
    /// Latest vote seen per masternode key.
    pub last_votes: Vec<(PublicKey, LastVote)>,
    /// Blocks finalized since start.
    pub blocks_finalized: u64,
    /// Transactions finalized since start (coinbases excluded).
    pub txs_finalized: u64,
    /// Rounds above 0 since start.
    pub rounds_over_0: u64,
    /// Process start.
    pub started: Instant,
    /// A fatal node error, shown to the user.
    pub error: Option<String>,
}

impl NodeSnapshot {
    /// The snapshot of a node about to start on `state`: nothing decided, nothing known of
    /// peers yet.
    pub fn initial(spec: &super::NodeSpec, state: &crate::ledger::LedgerState) -> NodeSnapshot {
        NodeSnapshot {
            name: spec.name.clone(),
            network: spec.network,
            chain_id: spec.genesis.params.chain_id,
            node_key: spec.node_key.public(),
            own_status: String::new(),
            height: state.height,
            tip_hash: state.tip_hash,
            tip_time_ms: state.tip_time_ms,
            tip_finalized_at: None,
            supply: state.supply,
            best_peer_height: None,
            synced: false,
            consensus: None,
            step_since: None,
            recent_rounds: VecDeque::new(),
            finality_ms: VecDeque::new(),
            tps: VecDeque::new(),
            mempool: Default::default(),
            masternodes: vec![],
            validators: Default::default(),
            last_votes: vec![],
            blocks_finalized: 0,
            txs_finalized: 0,
            rounds_over_0: 0,
            started: Instant::now(),
            error: None,
        }
    }
}
