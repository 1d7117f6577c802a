//! Consensus methods: the live Tendermint state.

use super::params::Params;
use super::RpcErr;
use crate::consensus::Step;
use crate::rpc::backend::{RpcBackend, VoteSeen};
use serde_json::{json, Value};

pub(super) fn getconsensusinfo(b: &dyn RpcBackend, _p: &Params) -> Result<Value, RpcErr> {
    Ok(consensus_json(b))
}

fn consensus_json(b: &dyn RpcBackend) -> Value {
    let c = b.consensus_info();
    let total: u64 = c.validators.iter().map(|(_, w)| *w).sum();
    let quorum = total.saturating_mul(2) / 3 + 1;
    let vote_of = |votes: &[VoteSeen], k| -> Value {
        match votes.iter().find(|v| v.voter == k) {
            None => Value::Null,
            Some(VoteSeen { block: Some(h), .. }) => json!(h.to_hex()),
            Some(VoteSeen { block: None, .. }) => json!("nil"),
        }
    };
    let tally = |votes: &[VoteSeen]| -> Value {
        let weight_of = |k| {
            c.validators
                .iter()
                .find(|(v, _)| *v == k)
                .map(|(_, w)| *w)
                .unwrap_or(0)
        };
        let w: u64 = votes.iter().map(|v| weight_of(v.voter)).sum();
        let wp: u64 = votes
            .iter()
            .filter(|v| v.block.is_some() && v.block == c.proposal)
            .map(|v| weight_of(v.voter))
            .sum();
        json!({"count": votes.len(), "weight": w, "forproposal": wp, "quorum": wp >= quorum})
    };
    let validators: Vec<Value> = c
        .validators
        .iter()
        .map(|(k, w)| {
            json!({
                "nodekey": k.to_hex(),
                "weight": w,
                "proposer": c.proposer == Some(*k),
                "prevote": vote_of(&c.prevotes, *k),
                "precommit": vote_of(&c.precommits, *k),
            })
        })
        .collect();
    json!({
        "height": c.height,
        "round": c.round,
        "step": step_name(c.step),
        "proposer": c.proposer.map(|k| k.to_hex()),
        "proposal": c.proposal.map(|h| h.to_hex()),
        "lockedround": c.locked.map(|(r, _)| r),
        "lockedblock": c.locked.map(|(_, h)| h.to_hex()),
        "roundstarted": c.round_started_ms,
        "totalweight": total,
        "quorumweight": quorum,
        "validators": validators,
        "prevotes": tally(&c.prevotes),
        "precommits": tally(&c.precommits),
        "committing": c.step == Step::Commit,
    })
}

/// The step as `getconsensusinfo` names it.
fn step_name(s: Step) -> &'static str {
    match s {
        Step::Propose => "propose",
        Step::Prevote => "prevote",
        Step::Precommit => "precommit",
        Step::Commit => "commit",
    }
}
