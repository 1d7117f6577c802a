//! What the node publishes for the RPC server and the UI through a `watch` channel: owned,
//! cloned data, never a lock on node internals.

use crate::consensus::ConsensusSnapshot;
use crate::ledger::{MasternodeEntry, MasternodeState};
use crate::mempool::MempoolSnapshot;
use crate::types::{Amount, Hash, Network, PublicKey, Tier, ValidatorSet, Vote, VoteKind};
use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

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
    /// Height the round belonged to.
    pub height: u64,
    /// Round number within that height, from 0.
    pub round: u32,
    /// Wall-clock duration.
    pub duration_ms: u64,
    /// How the round ended.
    pub end: RoundEnd,
    /// The block decided in this round (`end == Decided`).
    pub block: Option<Hash>,
}

/// The latest vote seen from a masternode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastVote {
    /// Height of the vote.
    pub height: u64,
    /// Round of the vote within that height.
    pub round: u32,
}

/// When the node published a snapshot, on both clocks: readers age what they show from it
/// (a stalled driver shows as a growing age, not as fresh data stamped on receipt).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    /// Monotonic time of the publication (ages of in-process readers, and the reference for
    /// every other `Instant` in the snapshot).
    pub at: Instant,
    /// Wall-clock time of the publication, ms since the Unix epoch (crosses processes:
    /// `timed attach` ages its data from it).
    pub unix_ms: u64,
}

/// This node's place in the masternode registry, derived where the node publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnMasternode {
    /// Its node key is not registered.
    NotRegistered,
    /// Registered under its node key.
    Registered {
        /// Tier of the registration.
        tier: Tier,
        /// Registry state at the published height.
        state: MasternodeState,
        /// First height it votes in.
        active_from: u64,
        /// `[masternode] enabled`: the node signs votes only then.
        enabled: bool,
    },
}

/// How fast a node that is behind catches up (from the figures of the sync progress line).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CatchUp {
    /// Blocks applied per second, as last measured.
    pub blocks_per_s: f64,
    /// Seconds until the best claimed height at that rate.
    pub secs_left: Option<u64>,
}

/// A snapshot of the node for RPC and UI.
#[derive(Clone, Debug)]
pub struct NodeSnapshot {
    /// Display name from the node's spec, e.g. `node0`.
    pub name: String,
    /// The network this node runs on.
    pub network: Network,
    /// Chain id: hash of the genesis description.
    pub chain_id: Hash,
    /// This node's key.
    pub node_key: PublicKey,
    /// This node's own masternode registration.
    pub own: OwnMasternode,
    /// Height of the last finalized block.
    pub height: u64,
    /// Hash of the block at `height`.
    pub tip_hash: Hash,
    /// Header time of the block at `height`, ms since the Unix epoch.
    pub tip_time_ms: u64,
    /// When the tip was finalized locally.
    pub tip_finalized_at: Option<SystemTime>,
    /// Coins in existence at `height`, in base units.
    pub supply: Amount,
    /// Highest height a peer reported.
    pub best_peer_height: Option<u64>,
    /// At the tip of the best peer (or no peer is ahead).
    pub synced: bool,
    /// While behind: the catch-up rate and the time left (`None` when synced or before the
    /// first measure).
    pub catch_up: Option<CatchUp>,
    /// Consensus state of the current height.
    pub consensus: Option<ConsensusSnapshot>,
    /// When the current step began; `None` while no height runs.
    pub step_since: Option<Instant>,
    /// Recent rounds, newest last.
    pub recent_rounds: VecDeque<RoundTiming>,
    /// Height start to decision of recent heights, newest last.
    pub finality_ms: VecDeque<u64>,
    /// Transactions finalized per second over the last minute, newest last.
    pub tps: VecDeque<u64>,
    /// Count, bytes and fees of the mempool, and the fee rate it accepts now.
    pub mempool: MempoolSnapshot,
    /// Every masternode in the registry at `height` (pending, active, banned).
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
    /// Votes of the running height as they arrived, and of the last decided one.
    pub votes: VoteLog,
    /// An idle node starts the next height this long after the last decision.
    pub empty_block_interval: Duration,
    /// Bumped at every publication: readers tell a new snapshot from one they hold.
    pub seq: u64,
    /// When this snapshot was published.
    pub published: Published,
    /// When the node was made; `uptime` counts from it.
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
            own: OwnMasternode::NotRegistered,
            height: state.height,
            tip_hash: state.tip_hash,
            tip_time_ms: state.tip_time_ms,
            tip_finalized_at: None,
            supply: state.supply,
            best_peer_height: None,
            synced: false,
            catch_up: None,
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
            votes: Default::default(),
            empty_block_interval: spec.empty_block_interval,
            seq: 0,
            // The watch channel's first value: published when the node is made.
            published: Published {
                at: Instant::now(),
                unix_ms: super::io::Clock::unix_ms(&super::io::SystemClock),
            },
            started: Instant::now(),
            error: None,
        }
    }
}

/// A vote as it reached the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VoteArrival {
    /// Node key of the masternode that voted.
    pub voter: PublicKey,
    /// The block voted for, `None` for nil.
    pub block: Option<Hash>,
    /// When the driver accepted it.
    pub at: Instant,
}

/// The votes of one round in arrival order (first vote per voter and step).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundVotes {
    /// Height of the round.
    pub height: u64,
    /// Round number within that height, from 0.
    pub round: u32,
    /// When the round started here (or when its first vote arrived, if that was earlier).
    pub started: Instant,
    /// Prevotes in arrival order, the first per voter.
    pub prevotes: Vec<VoteArrival>,
    /// Precommits in arrival order, the first per voter.
    pub precommits: Vec<VoteArrival>,
}

impl RoundVotes {
    fn new(height: u64, round: u32, started: Instant) -> RoundVotes {
        RoundVotes {
            height,
            round,
            started,
            prevotes: Vec::new(),
            precommits: Vec::new(),
        }
    }

    /// How long after the round started `a` arrived (zero if it came before).
    pub fn after(&self, a: &VoteArrival) -> Duration {
        a.at.saturating_duration_since(self.started)
    }

    /// The prevote and the precommit of `voter`, if seen.
    pub fn of(&self, voter: &PublicKey) -> (Option<&VoteArrival>, Option<&VoteArrival>) {
        (
            self.prevotes.iter().find(|a| a.voter == *voter),
            self.precommits.iter().find(|a| a.voter == *voter),
        )
    }
}

/// The last height that ended here, with the votes of its last round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecidedVotes {
    /// Votes of the round that ended the height.
    pub votes: RoundVotes,
    /// When the height ended here.
    pub at: Instant,
    /// How: decided by these votes, or taken from a peer by sync.
    pub end: RoundEnd,
}

/// Most rounds of one height kept (a byzantine proposer of far rounds cannot grow it).
const VOTE_LOG_ROUNDS: usize = 8;

/// Vote arrival times for the Consensus tab: the driver records each vote it accepts and each
/// round start; the UI shows how long after the round started each masternode voted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VoteLog {
    /// Rounds of the running height, oldest first (at most [`VOTE_LOG_ROUNDS`]).
    pub rounds: VecDeque<RoundVotes>,
    /// The last height decided (or synced) here.
    pub last_decided: Option<DecidedVotes>,
}

impl VoteLog {
    /// The record of `round` of `height`, made if new; `None` when it would be older than
    /// every round kept.
    fn entry(&mut self, height: u64, round: u32, at: Instant) -> Option<&mut RoundVotes> {
        if self.rounds.front().is_some_and(|r| r.height != height) {
            self.rounds.clear();
        }
        let pos = match self.rounds.iter().position(|r| r.round >= round) {
            Some(i) if self.rounds[i].round == round => i,
            Some(i) => {
                self.rounds.insert(i, RoundVotes::new(height, round, at));
                i
            }
            None => {
                self.rounds.push_back(RoundVotes::new(height, round, at));
                self.rounds.len() - 1
            }
        };
        if self.rounds.len() > VOTE_LOG_ROUNDS {
            self.rounds.pop_front();
            return pos.checked_sub(1).map(|p| &mut self.rounds[p]);
        }
        Some(&mut self.rounds[pos])
    }

    /// Round `round` of `height` started at `at`.
    pub fn round_started(&mut self, height: u64, round: u32, at: Instant) {
        if let Some(r) = self.entry(height, round, at) {
            r.started = at;
        }
    }

    /// A vote accepted at `at` (a voter's first vote of that step and round counts).
    pub fn vote(&mut self, v: &Vote, at: Instant) {
        let Some(r) = self.entry(v.height, v.round, at) else {
            return;
        };
        let list = match v.kind {
            VoteKind::Prevote => &mut r.prevotes,
            VoteKind::Precommit => &mut r.precommits,
        };
        if !list.iter().any(|a| a.voter == v.voter) {
            list.push(VoteArrival {
                voter: v.voter,
                block: v.block,
                at,
            });
        }
    }

    /// `height` ended in `round` at `at`: its votes become the last decided height's.
    pub fn decided(&mut self, height: u64, round: u32, end: RoundEnd, at: Instant) {
        let votes = self
            .rounds
            .iter()
            .find(|r| r.height == height && r.round == round)
            .cloned()
            .unwrap_or_else(|| RoundVotes::new(height, round, at));
        self.rounds.retain(|r| r.height > height);
        self.last_decided = Some(DecidedVotes { votes, at, end });
    }

    /// The votes of `round` of the running height, if any arrived.
    pub fn round(&self, height: u64, round: u32) -> Option<&RoundVotes> {
        self.rounds
            .iter()
            .find(|r| r.height == height && r.round == round)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SecretKey;

    fn vote(key: &SecretKey, height: u64, round: u32, kind: VoteKind) -> Vote {
        Vote::new_signed(
            Hash::default(),
            height,
            round,
            kind,
            Some(Hash::default()),
            key,
        )
    }

    #[test]
    fn votes_are_timed_from_the_round_start_and_kept_after_the_decision() {
        let k = SecretKey::generate();
        let t0 = Instant::now();
        let mut log = VoteLog::default();
        log.round_started(5, 0, t0);
        log.vote(
            &vote(&k, 5, 0, VoteKind::Prevote),
            t0 + Duration::from_millis(7),
        );
        log.vote(
            &vote(&k, 5, 0, VoteKind::Prevote),
            t0 + Duration::from_millis(9),
        );
        log.vote(
            &vote(&k, 5, 0, VoteKind::Precommit),
            t0 + Duration::from_millis(12),
        );
        let r = log.round(5, 0).expect("round 0 recorded");
        let (pv, pc) = r.of(&k.public());
        assert_eq!(r.after(pv.expect("prevote")), Duration::from_millis(7));
        assert_eq!(r.after(pc.expect("precommit")), Duration::from_millis(12));
        log.decided(5, 0, RoundEnd::Decided, t0 + Duration::from_millis(13));
        assert!(log.rounds.is_empty());
        let d = log.last_decided.as_ref().expect("decided");
        assert_eq!(d.votes.prevotes.len(), 1);
        assert_eq!(d.votes.height, 5);
    }

    #[test]
    fn rounds_of_one_height_are_bounded_and_a_new_height_resets() {
        let k = SecretKey::generate();
        let t0 = Instant::now();
        let mut log = VoteLog::default();
        for round in (0..40).rev() {
            log.vote(&vote(&k, 9, round, VoteKind::Prevote), t0);
        }
        assert_eq!(log.rounds.len(), VOTE_LOG_ROUNDS);
        log.round_started(10, 0, t0);
        assert_eq!(log.rounds.len(), 1);
    }
}
