//! The mock's consensus: the running height and round.

use super::*;

pub(super) fn consensus_info(m: &MockBackend) -> ConsensusInfo {
    let v0 = validator_key(0).public();
    let v1 = validator_key(1).public();
    let proposal = Hash([5; 32]);
    ConsensusInfo {
        height: m.tip() + 1,
        round: 0,
        step: crate::consensus::Step::Prevote,
        proposer: Some(v0),
        proposal: Some(proposal),
        locked: None,
        validators: vec![(v0, 1), (v1, 10)],
        prevotes: vec![
            VoteSeen {
                voter: v0,
                block: Some(proposal),
            },
            VoteSeen {
                voter: v1,
                block: None,
            },
        ],
        precommits: vec![],
        round_started_ms: 1_700_000_005_000,
    }
}
