//! State-machine tests: the Algorithm 1 rules on hand-fed inputs, restart from own messages,
//! and random input sequences that must never panic.

use super::*;
use crate::types::{
    Domain, Hash, Proposal, PublicKey, SecretKey, Validator, ValidatorSet, Vote, VoteKind,
};
use proptest::prelude::*;

fn chain() -> Hash {
    Hash::of(Domain::ChainId, b"test")
}

fn keys(n: u8) -> Vec<SecretKey> {
    (1..=n).map(|i| SecretKey::from_seed(&[i; 32])).collect()
}

fn set_of(ks: &[SecretKey]) -> ValidatorSet {
    ValidatorSet::new(
        ks.iter()
            .map(|k| Validator {
                key: k.public(),
                weight: 1,
            })
            .collect(),
    )
}

fn block(x: u8) -> Hash {
    Hash::of(Domain::BlockHeader, &[x])
}

fn key_of<'a>(ks: &'a [SecretKey], pk: &PublicKey) -> &'a SecretKey {
    ks.iter().find(|k| k.public() == *pk).unwrap()
}

fn vote(k: &SecretKey, h: u64, r: u32, kind: VoteKind, b: Option<Hash>) -> Input {
    Input::Vote(Vote::new_signed(chain(), h, r, kind, b, k))
}

/// An instance for validator `me` (index into `ks`) at height 1, started.
fn instance(ks: &[SecretKey], me: usize) -> (Tendermint, Vec<Effect>) {
    let mut t = Tendermint::new(
        chain(),
        1,
        set_of(ks),
        Some(ks[me].public()),
        ConsensusParams::devnet(),
    );
    let e = t.start();
    (t, e)
}

fn proposal_input(ks: &[SecretKey], t: &Tendermint, r: u32, b: Hash, vr: Option<u32>) -> Input {
    let p = proposer(t.validators(), t.height(), r);
    Input::Proposal {
        proposal: Proposal::new_signed(chain(), t.height(), r, vr, b, key_of(ks, &p)),
        valid: true,
    }
}

fn has_vote(e: &[Effect], kind: VoteKind, b: Option<Hash>) -> bool {
    e.iter()
        .any(|x| matches!(x, Effect::CastVote { kind: k, block, .. } if *k == kind && *block == b))
}

/// Index of a validator that does not propose round 0 at height 1.
fn non_proposer(ks: &[SecretKey]) -> usize {
    let set = set_of(ks);
    let p = proposer(&set, 1, 0);
    ks.iter().position(|k| k.public() != p).unwrap()
}

/// Four validators and the started instance of one that does not propose height 1, round 0:
/// the keys, its index among them, the instance and the effects of its start.
fn non_proposer_instance() -> (Vec<SecretKey>, usize, Tendermint, Vec<Effect>) {
    let ks = keys(4);
    let me = non_proposer(&ks);
    let (t, e) = instance(&ks, me);
    (ks, me, t, e)
}

#[test]
fn happy_path_decides_with_valid_certificate() {
    let (ks, _, mut t, e) = non_proposer_instance();
    assert!(e
        .iter()
        .any(|x| matches!(x, Effect::RoundStarted { round: 0, .. })));
    assert!(e.iter().any(|x| matches!(
        x,
        Effect::ScheduleTimeout {
            step: Step::Propose,
            round: 0,
            ..
        }
    )));
    let b = block(1);
    let e = t.handle(proposal_input(&ks, &t, 0, b, None));
    assert!(has_vote(&e, VoteKind::Prevote, Some(b)));
    assert_eq!(t.step(), Step::Prevote);
    for k in &ks[..3] {
        t.handle(vote(k, 1, 0, VoteKind::Prevote, Some(b)));
    }
    assert_eq!(t.step(), Step::Precommit);
    assert_eq!(t.locked(), Some((0, b)));
    assert_eq!(t.valid(), Some((0, b)));
    let mut decided = None;
    for k in &ks[..3] {
        for x in t.handle(vote(k, 1, 0, VoteKind::Precommit, Some(b))) {
            if let Effect::Decide { certificate, .. } = x {
                decided = Some(certificate);
            }
        }
    }
    let cert = decided.expect("decided");
    assert!(cert.verify(&chain(), 1, &b, t.validators()).is_ok());
    assert_eq!(t.decided(), Some((0, b)));
    assert_eq!(t.step(), Step::Commit);
    let snap = t.snapshot();
    assert_eq!(snap.decided, Some((0, b)));
    assert_eq!(
        snap.recent_rounds.last().map(|r| r.outcome),
        Some(RoundOutcome::Decided(b))
    );
}

#[test]
fn snapshot_shows_current_round_votes() {
    let (ks, _, mut t, _) = non_proposer_instance();
    let b = block(4);
    t.handle(proposal_input(&ks, &t, 0, b, None));
    t.handle(vote(&ks[0], 1, 0, VoteKind::Prevote, Some(b)));
    t.handle(vote(&ks[1], 1, 0, VoteKind::Prevote, None));
    t.handle(vote(&ks[2], 1, 0, VoteKind::Precommit, None));
    let s = t.snapshot();
    assert_eq!((s.height, s.round, s.step), (1, 0, Step::Prevote));
    assert_eq!(s.proposer, proposer(t.validators(), 1, 0));
    assert_eq!(s.proposal, Some(b));
    assert_eq!(s.total_weight, 4);
    assert_eq!(s.validators.len(), 4);
    let row = |k: &SecretKey| *s.validators.iter().find(|v| v.key == k.public()).unwrap();
    assert_eq!(row(&ks[0]).prevote, Some(Some(b)));
    assert_eq!(row(&ks[1]).prevote, Some(None));
    assert_eq!(row(&ks[2]).prevote, None);
    assert_eq!(row(&ks[2]).precommit, Some(None));
    assert_eq!(s.prevote_weight, 2);
    assert_eq!(s.precommit_weight, 1);
    assert_eq!(
        s.recent_rounds,
        vec![RoundRecord {
            height: 1,
            round: 0,
            outcome: RoundOutcome::InProgress
        }]
    );
}

#[test]
fn proposer_builds_then_casts() {
    let ks = keys(4);
    let set = set_of(&ks);
    let p = proposer(&set, 1, 0);
    let me = ks.iter().position(|k| k.public() == p).unwrap();
    let (mut t, e) = instance(&ks, me);
    assert!(e.contains(&Effect::BuildProposal {
        height: 1,
        round: 0
    }));
    let e = t.handle(Input::ProposalValue {
        round: 0,
        block_hash: block(9),
    });
    assert_eq!(
        e,
        vec![Effect::CastProposal {
            height: 1,
            round: 0,
            block_hash: block(9),
            pol_round: None
        }]
    );
    // A second answer is ignored.
    assert!(t
        .handle(Input::ProposalValue {
            round: 0,
            block_hash: block(8)
        })
        .is_empty());
}

#[test]
fn timeouts_lead_to_nil_votes_and_next_round() {
    let (ks, _, mut t, _) = non_proposer_instance();
    let e = t.handle(Input::Timeout {
        round: 0,
        step: Step::Propose,
    });
    assert!(has_vote(&e, VoteKind::Prevote, None));
    // 2f+1 prevotes for nil: precommit nil (L44).
    let mut e = Vec::new();
    for k in &ks[..3] {
        e.extend(t.handle(vote(k, 1, 0, VoteKind::Prevote, None)));
    }
    assert!(has_vote(&e, VoteKind::Precommit, None));
    assert!(e.iter().any(|x| matches!(
        x,
        Effect::ScheduleTimeout {
            step: Step::Prevote,
            ..
        }
    )));
    let mut e = Vec::new();
    for k in &ks[..3] {
        e.extend(t.handle(vote(k, 1, 0, VoteKind::Precommit, None)));
    }
    assert!(e.iter().any(|x| matches!(
        x,
        Effect::ScheduleTimeout {
            step: Step::Precommit,
            ..
        }
    )));
    // A stale timeout does nothing; the current one starts round 1.
    assert!(t
        .handle(Input::Timeout {
            round: 5,
            step: Step::Precommit
        })
        .is_empty());
    t.handle(Input::Timeout {
        round: 0,
        step: Step::Precommit,
    });
    assert_eq!((t.round(), t.step()), (1, Step::Propose));
    assert_eq!(
        t.snapshot().recent_rounds[0].outcome,
        RoundOutcome::TimedOut
    );
}

#[test]
fn round_skip_on_one_third_and_future_messages_count() {
    let (ks, me, mut t, _) = non_proposer_instance();
    let others: Vec<&SecretKey> = ks
        .iter()
        .filter(|k| k.public() != ks[me].public())
        .collect();
    t.handle(vote(others[0], 1, 3, VoteKind::Prevote, None));
    assert_eq!(t.round(), 0);
    t.handle(vote(others[1], 1, 3, VoteKind::Precommit, None));
    assert_eq!(t.round(), 3, "f+1 of round 3 makes us skip");
    // Far-future messages are dropped.
    t.handle(vote(
        others[0],
        1,
        3 + FUTURE_ROUNDS + 1,
        VoteKind::Prevote,
        None,
    ));
    t.handle(vote(
        others[1],
        1,
        3 + FUTURE_ROUNDS + 1,
        VoteKind::Prevote,
        None,
    ));
    assert_eq!(t.round(), 3);
}

#[test]
fn filters_foreign_and_wrong_proposer() {
    let ks = keys(5);
    let members = &ks[..4];
    let me = non_proposer(members);
    let (mut t, _) = instance(members, me);
    let other_chain = Vote::new_signed(Hash::default(), 1, 0, VoteKind::Prevote, None, &ks[0]);
    let other_height = Vote::new_signed(chain(), 2, 0, VoteKind::Prevote, None, &ks[0]);
    let stranger = Vote::new_signed(chain(), 1, 0, VoteKind::Prevote, None, &ks[4]);
    for v in [other_chain, other_height, stranger] {
        assert!(t.handle(Input::Vote(v)).is_empty());
    }
    assert_eq!(t.votes().total_for(0, VoteKind::Prevote), 0);
    // A proposal signed by a non-proposer is dropped.
    let p = proposer(t.validators(), 1, 0);
    let wrong = members.iter().find(|k| k.public() != p).unwrap();
    let e = t.handle(Input::Proposal {
        proposal: Proposal::new_signed(chain(), 1, 0, None, block(1), wrong),
        valid: true,
    });
    assert!(e.is_empty());
    assert_eq!(t.step(), Step::Propose);
}

#[test]
fn locked_node_prevotes_nil_for_other_value_and_relocks_on_pol() {
    let (ks, me, mut t, _) = non_proposer_instance();
    let (a, b) = (block(1), block(2));
    t.handle(proposal_input(&ks, &t, 0, a, None));
    for k in &ks[..3] {
        t.handle(vote(k, 1, 0, VoteKind::Prevote, Some(a)));
    }
    assert_eq!(t.locked(), Some((0, a)));
    t.handle(Input::Timeout {
        round: 0,
        step: Step::Precommit,
    });
    // Round 1: a fresh proposal of b, vr = -1: locked on a, so prevote nil (L22-27).
    let e = t.handle(proposal_input(&ks, &t, 1, b, None));
    assert!(has_vote(&e, VoteKind::Prevote, None));
    // 2f+1 prevotes for b in round 1 (others were not locked): valid value becomes b, no
    // precommit because we are in prevote step? We are in prevote: lock moves to (1, b).
    let mut e = Vec::new();
    for k in ks.iter().filter(|k| k.public() != ks[me].public()).take(3) {
        e.extend(t.handle(vote(k, 1, 1, VoteKind::Prevote, Some(b))));
    }
    assert!(has_vote(&e, VoteKind::Precommit, Some(b)));
    assert_eq!(t.locked(), Some((1, b)));
    // Round 2 proposal re-proposing a with vr = 0 (2f+1 prevotes for a at round 0 exist):
    // locked round 1 > 0 and value differs, so prevote nil (L28-33).
    t.handle(Input::Timeout {
        round: 1,
        step: Step::Precommit,
    });
    let e = t.handle(proposal_input(&ks, &t, 2, a, Some(0)));
    assert!(has_vote(&e, VoteKind::Prevote, None));
    // A round-3 proposal of b with vr = 1: lockedValue = b, prevote b.
    t.handle(Input::Timeout {
        round: 2,
        step: Step::Prevote,
    });
    t.handle(Input::Timeout {
        round: 2,
        step: Step::Precommit,
    });
    assert_eq!(t.round(), 3);
    let e = t.handle(proposal_input(&ks, &t, 3, b, Some(1)));
    assert!(has_vote(&e, VoteKind::Prevote, Some(b)));
}

#[test]
fn decides_on_precommits_of_an_earlier_round() {
    let (ks, _, mut t, _) = non_proposer_instance();
    let a = block(7);
    t.handle(Input::Timeout {
        round: 0,
        step: Step::Propose,
    });
    for k in &ks[..3] {
        t.handle(vote(k, 1, 1, VoteKind::Prevote, None));
    }
    assert_eq!(t.round(), 1);
    // Late: the round-0 proposal and 2f+1 precommits for it (L49-54, any round).
    t.handle(proposal_input(&ks, &t, 0, a, None));
    let mut e = Vec::new();
    for k in &ks[1..4] {
        e.extend(t.handle(vote(k, 1, 0, VoteKind::Precommit, Some(a))));
    }
    assert!(e
        .iter()
        .any(|x| matches!(x, Effect::Decide { round: 0, block_hash, .. } if *block_hash == a)));
}

#[test]
fn equivocation_is_reported_once() {
    let (ks, _, mut t, _) = non_proposer_instance();
    t.handle(vote(&ks[0], 1, 0, VoteKind::Prevote, Some(block(1))));
    let e = t.handle(vote(&ks[0], 1, 0, VoteKind::Prevote, Some(block(2))));
    let ev: Vec<_> = e
        .iter()
        .filter_map(|x| match x {
            Effect::Evidence(ev) => Some(ev.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ev.len(), 1);
    assert!(ev[0].verify(&chain()).is_ok());
    assert!(t
        .handle(vote(&ks[0], 1, 0, VoteKind::Prevote, None))
        .is_empty());
}

/// Drives an instance by hand, signing its own votes, then checks that `restore` from the own
/// messages yields the same round, step and lock, and that replaying through `handle` after
/// `start` does too.
#[test]
fn restore_from_own_messages() {
    let (ks, me, mut t, _) = non_proposer_instance();
    let mut wal: Vec<Input> = Vec::new();
    let mut pending: Vec<Effect> = Vec::new();
    let mut feed = |t: &mut Tendermint, i: Input, wal: &mut Vec<Input>| {
        let mut queue = vec![i];
        while let Some(i) = queue.pop() {
            for e in t.handle(i) {
                if let Effect::CastVote {
                    height,
                    round,
                    kind,
                    block,
                } = e
                {
                    let v = Vote::new_signed(chain(), height, round, kind, block, &ks[me]);
                    wal.push(Input::Vote(v.clone()));
                    queue.push(Input::Vote(v));
                } else {
                    pending.push(e);
                }
            }
        }
    };
    let a = block(3);
    feed(
        &mut t,
        Input::Timeout {
            round: 0,
            step: Step::Propose,
        },
        &mut wal,
    );
    let p1 = proposal_input(&ks, &t, 1, a, None);
    for k in ks.iter().filter(|k| k.public() != ks[me].public()).take(2) {
        feed(&mut t, vote(k, 1, 1, VoteKind::Prevote, Some(a)), &mut wal);
    }
    assert_eq!(t.round(), 1);
    feed(&mut t, p1, &mut wal);
    assert_eq!(t.step(), Step::Precommit);
    assert_eq!(t.locked(), Some((1, a)));
    let (r, s, l) = (t.round(), t.step(), t.locked());

    let (t2, effects) = Tendermint::restore(
        chain(),
        1,
        set_of(&ks),
        Some(ks[me].public()),
        ConsensusParams::devnet(),
        wal.clone(),
    );
    assert_eq!((t2.round(), t2.step(), t2.locked()), (r, s, l));
    assert!(!effects.iter().any(|e| matches!(e, Effect::CastVote { .. })));

    let mut t3 = Tendermint::new(
        chain(),
        1,
        set_of(&ks),
        Some(ks[me].public()),
        ConsensusParams::devnet(),
    );
    t3.start();
    for i in wal {
        let e = t3.handle(i);
        assert!(!e.iter().any(|e| matches!(e, Effect::CastVote { .. })));
    }
    assert_eq!((t3.round(), t3.step(), t3.locked()), (r, s, l));
}

fn arb_input(ks: Vec<SecretKey>) -> impl Strategy<Value = Input> {
    let n = ks.len();
    let kind = prop_oneof![Just(VoteKind::Prevote), Just(VoteKind::Precommit)];
    let blk = prop_oneof![Just(None), (0u8..3).prop_map(|x| Some(block(x)))];
    let step = prop_oneof![
        Just(Step::Propose),
        Just(Step::Prevote),
        Just(Step::Precommit),
        Just(Step::Commit)
    ];
    let ks2 = ks.clone();
    prop_oneof![
        (0..n, 0u32..6, kind, blk.clone(), 0u64..3, any::<bool>()).prop_map(
            move |(i, r, k, b, h, other_chain)| {
                let c = if other_chain {
                    Hash::default()
                } else {
                    chain()
                };
                Input::Vote(Vote::new_signed(c, h, r, k, b, &ks[i]))
            }
        ),
        (
            0..n,
            0u32..6,
            prop::option::of(0u32..6),
            0u8..3,
            any::<bool>()
        )
            .prop_map(move |(i, r, vr, b, valid)| {
                // Sign as the real proposer half of the time so proposals are not all dropped.
                let set = set_of(&ks2);
                let p = proposer(&set, 1, r);
                let k = if i % 2 == 0 {
                    key_of(&ks2, &p).clone()
                } else {
                    ks2[i].clone()
                };
                Input::Proposal {
                    proposal: Proposal::new_signed(chain(), 1, r, vr, block(b), &k),
                    valid,
                }
            }),
        (0u32..7, step).prop_map(|(round, step)| Input::Timeout { round, step }),
        (0u32..6, 0u8..3).prop_map(|(round, b)| Input::ProposalValue {
            round,
            block_hash: block(b)
        }),
        (0u32..u32::MAX).prop_map(|round| Input::Timeout {
            round,
            step: Step::Precommit
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Random input sequences never panic, and the invariants hold: the step never goes back
    /// within a round, a decision is final, every decision carries a valid certificate.
    #[test]
    fn random_inputs_never_panic(
        me in 0usize..4,
        inputs in proptest::collection::vec(arb_input(keys(4)), 0..120),
        start_first in any::<bool>(),
    ) {
        let ks = keys(4);
        let mut t = Tendermint::new(chain(), 1, set_of(&ks), Some(ks[me].public()),
            ConsensusParams::devnet());
        if start_first {
            t.start();
        }
        let mut decided = None;
        for i in inputs {
            let (r0, s0) = (t.round(), t.step());
            for e in t.handle(i) {
                if let Effect::Decide { block_hash, certificate, .. } = e {
                    prop_assert!(decided.is_none(), "decided twice");
                    prop_assert!(certificate.verify(&chain(), 1, &block_hash, t.validators()).is_ok());
                    decided = Some(block_hash);
                }
            }
            prop_assert!(t.round() > r0 || (t.round() == r0 && t.step() >= s0) || !start_first);
            if let Some(d) = decided {
                prop_assert_eq!(t.decided().map(|x| x.1), Some(d));
            }
        }
        let _ = t.start();
        let _ = t.snapshot();
    }
}

/// Drives a node through a full height (proposal, prevote quorum, precommit quorum, timeouts of
/// every step over two rounds) and returns every effect it produced.
fn effects_of_a_height(ks: &[SecretKey], own: Option<PublicKey>) -> Vec<Effect> {
    let mut t = Tendermint::new(chain(), 1, set_of(ks), own, ConsensusParams::devnet());
    let mut all = t.start();
    for step in [Step::Propose, Step::Prevote, Step::Precommit] {
        all.extend(t.handle(Input::Timeout { round: 0, step }));
    }
    let b = block(1);
    all.extend(t.handle(proposal_input(ks, &t, 1, b, None)));
    for k in &ks[..3] {
        all.extend(t.handle(vote(k, 1, 1, VoteKind::Prevote, Some(b))));
    }
    for k in &ks[..3] {
        all.extend(t.handle(vote(k, 1, 1, VoteKind::Precommit, Some(b))));
    }
    assert_eq!(t.decided(), Some((1, b)), "the height must still decide");
    all
}

fn casts(e: &[Effect]) -> usize {
    e.iter()
        .filter(|x| matches!(x, Effect::CastVote { .. } | Effect::CastProposal { .. }))
        .count()
}

#[test]
fn only_an_own_member_key_signs() {
    let ks = keys(4);
    // Masternode mode off (the driver passes no key) although the node key is in the set.
    assert_eq!(casts(&effects_of_a_height(&ks, None)), 0);
    // Masternode mode on with a key outside the set.
    let outsider = SecretKey::from_seed(&[99; 32]).public();
    assert_eq!(casts(&effects_of_a_height(&ks, Some(outsider))), 0);
    // A member votes.
    assert!(casts(&effects_of_a_height(&ks, Some(ks[3].public()))) > 0);
}

#[test]
fn a_held_proposal_is_recognised_and_a_copy_needs_no_work() {
    let ks = keys(4);
    let (mut t, _) = instance(&ks, non_proposer(&ks));
    let input = proposal_input(&ks, &t, 0, block(1), None);
    let Input::Proposal { proposal, .. } = input.clone() else {
        panic!("a proposal input");
    };
    assert!(t.admits_proposal(&proposal));
    assert!(!t.holds_proposal(&proposal));
    t.handle(input);
    assert!(t.holds_proposal(&proposal));
    // Another proposal of the same round (an equivocating proposer) is not "held".
    let Input::Proposal {
        proposal: other, ..
    } = proposal_input(&ks, &t, 0, block(2), None)
    else {
        panic!("a proposal input");
    };
    assert!(!t.holds_proposal(&other));
}
