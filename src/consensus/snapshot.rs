//! A plain, owned view of one height's consensus state for RPC (`getconsensusinfo`) and the
//! TUI's consensus panel. Durations are measured by the driver from the time it sees
//! [`super::Effect::RoundStarted`] and [`super::Effect::StepChanged`].

use super::Step;
use crate::types::{Hash, PublicKey};

/// How a round ended (or that it is still running).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundOutcome {
    /// The round is still running: it is the instance's current round.
    InProgress,
    /// The height was decided with this block in this round.
    Decided(Hash),
    /// timeoutPrecommit expired: moved to the next round.
    TimedOut,
    /// Left for a higher round on f+1 messages of that round (round skip).
    Skipped {
        /// The round jumped to.
        to: u32,
    },
}

/// One past or current round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundRecord {
    /// Height the round belongs to (the snapshot's height).
    pub height: u64,
    /// Round number within the height, from 0.
    pub round: u32,
    /// How the round ended, or [`RoundOutcome::InProgress`].
    pub outcome: RoundOutcome,
}

/// One validator's votes in the current round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidatorVotes {
    /// The validator's node key.
    pub key: PublicKey,
    /// Voting weight (from its tier: 1, 10 or 100).
    pub weight: u64,
    /// `None`: no prevote seen; `Some(None)`: prevote nil; `Some(Some(b))`: prevote for `b`.
    pub prevote: Option<Option<Hash>>,
    /// Same for the precommit.
    pub precommit: Option<Option<Hash>>,
}

/// The consensus state of one height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsensusSnapshot {
    /// Height being decided: one above the committed tip.
    pub height: u64,
    /// Current round within the height, from 0.
    pub round: u32,
    /// Current step of the current round; `Commit` once decided.
    pub step: Step,
    /// Proposer of the current round.
    pub proposer: PublicKey,
    /// Block hash proposed in the current round by its proposer, if seen.
    pub proposal: Option<Hash>,
    /// lockedRound / lockedValue.
    pub locked: Option<(u32, Hash)>,
    /// validRound / validValue.
    pub valid: Option<(u32, Hash)>,
    /// The decision, once made.
    pub decided: Option<(u32, Hash)>,
    /// Total voting weight of the set.
    pub total_weight: u64,
    /// Weight of prevotes seen in the current round.
    pub prevote_weight: u64,
    /// Weight of precommits seen in the current round.
    pub precommit_weight: u64,
    /// Every validator with its votes in the current round, sorted by key.
    pub validators: Vec<ValidatorVotes>,
    /// The most recent rounds of this height, oldest first (bounded).
    pub recent_rounds: Vec<RoundRecord>,
}
