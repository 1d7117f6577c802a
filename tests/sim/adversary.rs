//! Byzantine behaviour. A byzantine masternode runs the node's own driver (so it builds real,
//! valid blocks and follows the chain) and the adversary rewrites what that driver sends,
//! signing with the node's key past its double-sign guard. Rogues are non-member peers with no
//! driver that inject crafted messages.

use super::io::Out;
use super::Sim;
use rand::Rng;
use std::collections::HashMap;
use timecoin::p2p::Message;
use timecoin::types::{Block, Evidence, Hash, Proposal, SecretKey, Vote, VoteKind};

/// How a masternode behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behavior {
    Honest,
    /// Sends nothing at all (no own messages, no relays).
    Silent,
    /// For each own proposal, a second valid block signed too: one to each half of the honest
    /// nodes; each own vote for a block also signed for the other one (or nil) to the other half.
    /// Byzantine equivocators collude: they vote the twin of a block to the second half.
    Equivocator,
    /// Own proposals re-signed with a `pol_round` that no polka backs.
    LyingPolRound,
    /// Own proposals carry a block that fails validation under the signed hash.
    InvalidBlocks,
    /// Own messages go to one honest node only (relays pass).
    Withholder,
    /// Restarts with its signer state and own-message log wiped (crashes are in the config).
    Amnesiac,
    /// Behaves, and with each own precommit also signs [`FLOOD_VOTES`] prevotes for the next
    /// height, one per far round (from 1,000, so never beside its real votes), for blocks nobody
    /// proposed: valid member votes that honest nodes buffer until that height starts, so only
    /// the buffer's bounds limit what they hold.
    FutureFlooder,
}

/// Next-height votes a [`Behavior::FutureFlooder`] signs per own precommit.
pub const FLOOD_VOTES: u32 = 96;

/// Non-member peers' attacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rogue {
    /// Votes of strangers for this height and the next, and evidence against a stranger.
    Strangers,
    /// Claims a far greater height and never serves a block.
    StatusLiar,
    /// Replays heard messages, 1,000 copies of one, and votes of another chain.
    Replayer,
}

/// What colluding equivocators share: the twin of each block one of them proposed.
#[derive(Default)]
pub struct Colluders {
    twins: HashMap<Hash, Hash>,
}

/// The two halves of the honest masternodes an equivocator splits.
fn halves(sim: &Sim) -> (Vec<usize>, Vec<usize>) {
    let honest = sim.honest_members();
    let mid = honest.len().div_ceil(2);
    (honest[..mid].to_vec(), honest[mid..].to_vec())
}

fn send_to(sim: &Sim, to: &[usize], msg: &Message, out: &mut Vec<Out>) {
    for &i in to {
        out.push(Out::Send(sim.nodes[i].id, msg.clone()));
    }
}

/// Rewrites what byzantine node `i`'s driver sends.
pub(super) fn transform(sim: &mut Sim, i: usize, outs: Vec<Out>) -> Vec<Out> {
    let behavior = sim.nodes[i].behavior;
    if behavior == Behavior::Honest || behavior == Behavior::Amnesiac {
        return outs;
    }
    if behavior == Behavior::Silent {
        return vec![];
    }
    let key = sim.nodes[i].key.clone();
    let me = key.public();
    let chain = sim.genesis.params.chain_id;
    let mut result = Vec::new();
    for o in outs {
        let msg = match &o {
            Out::Broadcast(m, _) | Out::Send(_, m) => m,
        };
        let own = match msg {
            Message::Vote(v) => v.voter == me,
            Message::Proposal { proposal, .. } => proposal.proposer == me,
            _ => false,
        };
        if !own {
            // Colluders send their own twins to each half: relaying them would heal the split.
            let colluder = match msg {
                Message::Vote(v) => byzantine_key(sim, &v.voter),
                Message::Proposal { proposal, .. } => byzantine_key(sim, &proposal.proposer),
                _ => false,
            };
            if !(behavior == Behavior::Equivocator && colluder) {
                result.push(o);
            }
            continue;
        }
        match (behavior, msg.clone()) {
            (Behavior::Withholder, m) => {
                let first = sim.honest_members().first().copied();
                send_to(sim, first.as_slice(), &m, &mut result);
            }
            (Behavior::Equivocator, Message::Proposal { proposal, block }) => {
                let mut twin: Block = block.clone();
                twin.header.time_ms += 1 + sim.rng.gen_range(0..1_000);
                let twin_hash = twin.hash();
                sim.colluders.twins.insert(proposal.block_hash, twin_hash);
                sim.colluders.twins.insert(twin_hash, proposal.block_hash);
                let p2 = Proposal::new_signed(
                    chain,
                    proposal.height,
                    proposal.round,
                    proposal.pol_round,
                    twin_hash,
                    &key,
                );
                let (a, b) = halves(sim);
                send_to(sim, &a, &Message::Proposal { proposal, block }, &mut result);
                send_to(
                    sim,
                    &b,
                    &Message::Proposal {
                        proposal: p2,
                        block: twin,
                    },
                    &mut result,
                );
                send_to(sim, &byzantine(sim, i), msg, &mut result);
            }
            (Behavior::Equivocator, Message::Vote(v)) => {
                let other = v.block.and_then(|b| sim.colluders.twins.get(&b).copied());
                let v2 = Vote::new_signed(chain, v.height, v.round, v.kind, other, &key);
                let (a, b) = halves(sim);
                send_to(sim, &a, &Message::Vote(v), &mut result);
                send_to(sim, &b, &Message::Vote(v2), &mut result);
                send_to(sim, &byzantine(sim, i), msg, &mut result);
            }
            (Behavior::LyingPolRound, Message::Proposal { proposal, block }) => {
                let lie = Some(proposal.round.saturating_sub(1));
                let p = Proposal::new_signed(
                    chain,
                    proposal.height,
                    proposal.round,
                    lie,
                    proposal.block_hash,
                    &key,
                );
                result.push(Out::Broadcast(
                    Message::Proposal { proposal: p, block },
                    None,
                ));
            }
            (
                Behavior::InvalidBlocks,
                Message::Proposal {
                    proposal,
                    mut block,
                },
            ) => {
                // The coinbase pays itself more than the block allows; the header (and so the
                // signed hash) is unchanged, so the block fails its merkle and reward checks.
                if let Some(out) = block.txs.first_mut().and_then(|c| c.outputs.first_mut()) {
                    out.amount.0 += 1;
                }
                result.push(Out::Broadcast(Message::Proposal { proposal, block }, None));
            }
            (Behavior::FutureFlooder, Message::Vote(v)) if v.kind == VoteKind::Precommit => {
                let salt: u8 = sim.rng.gen();
                for round in 0..FLOOD_VOTES {
                    let junk = Some(Hash([salt ^ round as u8; 32]));
                    let f = Vote::new_signed(
                        chain,
                        v.height + 1,
                        1_000 + round,
                        VoteKind::Prevote,
                        junk,
                        &key,
                    );
                    result.push(Out::Broadcast(Message::Vote(f), None));
                }
                result.push(o);
            }
            _ => result.push(o),
        }
    }
    result
}

fn byzantine_key(sim: &Sim, key: &timecoin::types::PublicKey) -> bool {
    (0..sim.members()).any(|j| !sim.out.honest[j] && sim.nodes[j].id == *key)
}

/// The other byzantine masternodes (colluders get the original).
fn byzantine(sim: &Sim, i: usize) -> Vec<usize> {
    (0..sim.members())
        .filter(|j| *j != i && !sim.out.honest[*j])
        .collect()
}

/// The messages rogue `r` sends now, with their destinations.
pub(super) fn attack(sim: &mut Sim, r: usize) -> Vec<(usize, Message)> {
    let Some(kind) = sim.nodes[r].rogue else {
        return vec![];
    };
    let chain = sim.genesis.params.chain_id;
    let h = (0..sim.members())
        .filter_map(|i| sim.nodes[i].driver.as_ref().map(|d| d.committed().0))
        .max()
        .unwrap_or(0)
        + 1;
    let members: Vec<usize> = (0..sim.members()).collect();
    let mut msgs = vec![];
    match kind {
        Rogue::Strangers => {
            let salt: u64 = sim.rng.gen();
            for (k, height) in [(1u64, h), (2, h + 1)] {
                let stranger = SecretKey::from_seed(&seed_of(salt, k));
                for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                    let v =
                        Vote::new_signed(chain, height, 0, kind, Some(Hash([7; 32])), &stranger);
                    msgs.push(Message::Vote(v));
                }
            }
            // A junk proposal: a heard block under a stranger's signature, and a member's
            // heard proposal beside a block other than the one it signed.
            let heard = &sim.nodes[r].heard;
            if let Some(Message::Proposal { proposal, block }) = heard
                .iter()
                .rev()
                .find(|m| matches!(m, Message::Proposal { .. }))
            {
                let stranger = SecretKey::from_seed(&seed_of(salt, 5));
                let junk =
                    Proposal::new_signed(chain, h, proposal.round, None, block.hash(), &stranger);
                msgs.push(Message::Proposal {
                    proposal: junk,
                    block: block.clone(),
                });
                let mut other = block.clone();
                other.header.time_ms += 1;
                msgs.push(Message::Proposal {
                    proposal: proposal.clone(),
                    block: other,
                });
            }
            let stranger = SecretKey::from_seed(&seed_of(salt, 3));
            let a = Vote::new_signed(
                chain,
                h,
                0,
                VoteKind::Prevote,
                Some(Hash([1; 32])),
                &stranger,
            );
            let b = Vote::new_signed(
                chain,
                h,
                0,
                VoteKind::Prevote,
                Some(Hash([2; 32])),
                &stranger,
            );
            msgs.push(Message::Evidence(Evidence::from_pair(a, b)));
        }
        Rogue::StatusLiar => {
            msgs.push(Message::Status {
                height: h + 1_000,
                tip: Hash([9; 32]),
            });
        }
        Rogue::Replayer => {
            let heard = &sim.nodes[r].heard;
            if !heard.is_empty() {
                for _ in 0..8 {
                    let m = heard[sim.rng.gen_range(0..heard.len())].clone();
                    msgs.push(m);
                }
                if let Some(v) = heard.iter().find(|m| matches!(m, Message::Vote(_))) {
                    for _ in 0..1_000 {
                        msgs.push(v.clone());
                    }
                }
            }
            let foreign = SecretKey::from_seed(&seed_of(sim.rng.gen(), 4));
            let v = Vote::new_signed(Hash([3; 32]), h, 0, VoteKind::Prevote, None, &foreign);
            msgs.push(Message::Vote(v));
        }
    }
    members
        .iter()
        .flat_map(|m| msgs.iter().map(move |msg| (*m, msg.clone())))
        .collect()
}

fn seed_of(salt: u64, k: u64) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&salt.to_le_bytes());
    s[8..16].copy_from_slice(&k.to_le_bytes());
    s[31] = 0xAD;
    s
}
