//! Tendermint BFT consensus among masternodes (Buchman, Kwon, Milosevic 2018, "The latest
//! gossip on BFT consensus", Algorithm 1).
//!
//! The core is a pure state machine for one height: [`Tendermint::handle`] takes an [`Input`]
//! (a verified proposal or vote, a timeout, the driver's block for a proposal) and returns
//! [`Effect`]s (build or cast a proposal, cast a vote, schedule a timeout, decide, report
//! evidence, UI events). It performs no I/O, reads no clock and draws no randomness, so it runs
//! unchanged in the node and in the deterministic simulation (`tests/consensus_sim.rs`).
//!
//! Signing is the driver's job: before signing a [`Effect::CastVote`] or
//! [`Effect::CastProposal`] it asks a [`DoubleSignGuard`], persists the returned
//! [`SignerState`] and writes the signed message to its WAL, then broadcasts it and feeds it
//! back as an input. After a crash the driver rebuilds the instance with
//! [`Tendermint::restore`] from the WAL's own messages (see there).
//!
//! Driver contract in short: feed every verified proposal (with the block's validity; feed it
//! again with `valid: true` once a missing block arrives) and vote of this height, deliver the
//! scheduled timeouts of this height, answer `BuildProposal` with `ProposalValue`, and after
//! `Decide` commit the block with its certificate and create the instance for the next height
//! with the validator set that results from the committed chain.

mod params;
mod proposer;
mod signer;
mod snapshot;
mod state_machine;
mod vote_keeper;

pub use params::ConsensusParams;
pub use proposer::proposer;
pub use signer::{DoubleSignGuard, GuardError, LastSigned, SignStep, SignerState};
pub use snapshot::{ConsensusSnapshot, RoundOutcome, RoundRecord, ValidatorVotes};
pub use state_machine::{Effect, Input, Tendermint, FUTURE_ROUNDS, MAX_PROPOSALS_PER_ROUND};
pub use vote_keeper::{AddVote, VoteKeeper, MAX_CONFLICTS};

/// The steps of a round; `Commit` once the height is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// Waiting for the round's proposal.
    Propose,
    /// Prevoted; waiting for 2f+1 prevotes.
    Prevote,
    /// Precommitted; waiting for 2f+1 precommits.
    Precommit,
    /// Decided: 2f+1 precommits for one block; timeouts that fire later are ignored.
    Commit,
}

impl Step {
    /// Lowercase name (RPC `getconsensusinfo`, logs).
    pub fn name(self) -> &'static str {
        match self {
            Step::Propose => "propose",
            Step::Prevote => "prevote",
            Step::Precommit => "precommit",
            Step::Commit => "commit",
        }
    }
}

#[cfg(test)]
mod tests;
