//! Consensus timeouts. Each step's timeout grows linearly with the round number so that, after
//! GST, some round is long enough for every honest message to arrive (Alg.1 assumption).

use super::Step;
use std::time::Duration;

/// Per-step base timeouts and their per-round increments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsensusParams {
    /// Base wait for a proposal (timeoutPropose in round 0).
    pub timeout_propose: Duration,
    /// Added to `timeout_propose` per round.
    pub timeout_propose_delta: Duration,
    /// Base wait after 2f+1 prevotes of any value (timeoutPrevote in round 0).
    pub timeout_prevote: Duration,
    /// Added to `timeout_prevote` per round.
    pub timeout_prevote_delta: Duration,
    /// Base wait after 2f+1 precommits of any value (timeoutPrecommit in round 0).
    pub timeout_precommit: Duration,
    /// Added to `timeout_precommit` per round.
    pub timeout_precommit_delta: Duration,
}

impl ConsensusParams {
    /// Short timeouts for a local devnet (all nodes on one machine).
    pub fn devnet() -> Self {
        ConsensusParams {
            timeout_propose: Duration::from_millis(300),
            timeout_propose_delta: Duration::from_millis(100),
            timeout_prevote: Duration::from_millis(100),
            timeout_prevote_delta: Duration::from_millis(50),
            timeout_precommit: Duration::from_millis(100),
            timeout_precommit_delta: Duration::from_millis(50),
        }
    }

    /// Timeouts for a public network.
    pub fn mainnet() -> Self {
        ConsensusParams {
            timeout_propose: Duration::from_secs(3),
            timeout_propose_delta: Duration::from_millis(500),
            timeout_prevote: Duration::from_secs(1),
            timeout_prevote_delta: Duration::from_millis(500),
            timeout_precommit: Duration::from_secs(1),
            timeout_precommit_delta: Duration::from_millis(500),
        }
    }

    /// The timeout of `step` in `round`: base + delta * round (saturating). `Step::Commit` has
    /// no timeout and returns zero.
    pub fn timeout(&self, step: Step, round: u32) -> Duration {
        let (base, delta) = match step {
            Step::Propose => (self.timeout_propose, self.timeout_propose_delta),
            Step::Prevote => (self.timeout_prevote, self.timeout_prevote_delta),
            Step::Precommit => (self.timeout_precommit, self.timeout_precommit_delta),
            Step::Commit => return Duration::ZERO,
        };
        base.saturating_add(delta.saturating_mul(round))
    }
}

impl Default for ConsensusParams {
    /// [`ConsensusParams::mainnet`]: the timeouts of a public network.
    fn default() -> Self {
        Self::mainnet()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_grow_linearly() {
        let p = ConsensusParams::devnet();
        assert_eq!(p.timeout(Step::Propose, 0), Duration::from_millis(300));
        assert_eq!(p.timeout(Step::Propose, 3), Duration::from_millis(600));
        assert_eq!(p.timeout(Step::Prevote, 2), Duration::from_millis(200));
        assert_eq!(p.timeout(Step::Precommit, 1), Duration::from_millis(150));
        assert_eq!(p.timeout(Step::Commit, 9), Duration::ZERO);
        let m = ConsensusParams::mainnet();
        assert_eq!(m.timeout(Step::Propose, 2), Duration::from_secs(4));
        assert!(m.timeout(Step::Prevote, u32::MAX) > Duration::ZERO);
    }
}
