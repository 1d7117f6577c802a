//! Vote bookkeeping for one height, by voting weight.
//!
//! Per round and step, each validator's first vote is its vote: it fills the validator's slot
//! and counts once in the "any value" total (2f+1 ⟨∗⟩ rules, round skip, the UI). Exact
//! duplicates are ignored. A second, different vote from the same validator for the same round
//! and step is an equivocation: it yields [`Evidence`] (once per slot), never replaces the
//! first vote and never adds to the "any value" total.
//!
//! It does, however, add the equivocator's weight to the tally of *its own value* (at most once
//! per value, at most [`MAX_CONFLICTS`] values per slot). This is Algorithm 1's message-set
//! semantics ("upon 2f+1 ⟨PREVOTE, h, r, id(v)⟩": messages from distinct senders for v) and is
//! needed for liveness: if each honest node kept only the equivocator's first vote, honest nodes
//! that saw different first votes can disagree forever on whether a polka for v exists, so a
//! node locked on v can never convince the others (a deadlock the simulation found). Safety is
//! unaffected: two 2f+1 sets still intersect in an honest validator, which never equivocates.

use crate::types::{CommitSig, Evidence, Hash, PublicKey, ValidatorSet, Vote, VoteKind};
use std::collections::{BTreeMap, BTreeSet};

/// Most distinct values counted for one equivocating validator in one round and step.
pub const MAX_CONFLICTS: usize = 3;

/// What happened to a vote offered to the keeper.
#[allow(clippy::large_enum_variant)] // short-lived return value
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddVote {
    /// First vote of this voter for this round and step: it fills the slot and counts.
    Added,
    /// Identical to a vote already counted; ignored.
    Duplicate,
    /// The voter is not in the validator set; ignored.
    NotMember,
    /// Conflicts with the first vote of the same voter, round and step: the first conflict for
    /// this slot yields evidence. The vote counts only toward its own value (module docs).
    Equivocation(Evidence),
    /// Another conflicting vote for a slot already reported (counted toward its own value while
    /// the slot holds fewer than [`MAX_CONFLICTS`] values).
    AlreadyReported,
}

/// Votes of one step in one round.
#[derive(Clone, Debug, Default)]
struct Tally {
    by_voter: BTreeMap<PublicKey, Vote>,
    /// Conflicting votes: (voter, value) -> vote.
    conflicts: BTreeMap<(PublicKey, Option<Hash>), Vote>,
    by_value: BTreeMap<Option<Hash>, u64>,
    total: u64,
}

/// Prevotes and precommits of one round.
#[derive(Clone, Debug, Default)]
struct RoundVotes {
    prevotes: Tally,
    precommits: Tally,
}

impl RoundVotes {
    fn tally(&self, kind: VoteKind) -> &Tally {
        match kind {
            VoteKind::Prevote => &self.prevotes,
            VoteKind::Precommit => &self.precommits,
        }
    }
    fn tally_mut(&mut self, kind: VoteKind) -> &mut Tally {
        match kind {
            VoteKind::Prevote => &mut self.prevotes,
            VoteKind::Precommit => &mut self.precommits,
        }
    }
}

/// Counts the votes of one height by weight of the validator set.
#[derive(Clone, Debug)]
pub struct VoteKeeper {
    set: ValidatorSet,
    rounds: BTreeMap<u32, RoundVotes>,
    reported: BTreeSet<(u32, VoteKind, PublicKey)>,
}

impl VoteKeeper {
    /// An empty keeper for `set`. The caller filters chain id and height.
    pub fn new(set: ValidatorSet) -> Self {
        VoteKeeper {
            set,
            rounds: BTreeMap::new(),
            reported: BTreeSet::new(),
        }
    }

    /// The validator set votes are weighed against.
    pub fn validators(&self) -> &ValidatorSet {
        &self.set
    }

    /// Offers a vote (signature already verified by the caller).
    pub fn add(&mut self, vote: Vote) -> AddVote {
        let Some(weight) = self.set.weight_of(&vote.voter) else {
            return AddVote::NotMember;
        };
        let slot = (vote.round, vote.kind, vote.voter);
        let tally = self
            .rounds
            .entry(vote.round)
            .or_default()
            .tally_mut(vote.kind);
        if let Some(prev) = tally.by_voter.get(&vote.voter) {
            if prev.block == vote.block {
                return AddVote::Duplicate;
            }
            let ckey = (vote.voter, vote.block);
            if tally.conflicts.contains_key(&ckey) {
                return AddVote::Duplicate;
            }
            let prev = prev.clone();
            let held = tally
                .conflicts
                .range((vote.voter, None)..)
                .take_while(|((k, _), _)| *k == vote.voter)
                .count();
            if held < MAX_CONFLICTS {
                let entry = tally.by_value.entry(vote.block).or_default();
                *entry = entry.saturating_add(weight);
                tally.conflicts.insert(ckey, vote.clone());
            }
            if self.reported.insert(slot) {
                return AddVote::Equivocation(Evidence::from_pair(prev, vote));
            }
            return AddVote::AlreadyReported;
        }
        let entry = tally.by_value.entry(vote.block).or_default();
        *entry = entry.saturating_add(weight);
        tally.total = tally.total.saturating_add(weight);
        tally.by_voter.insert(vote.voter, vote);
        AddVote::Added
    }

    fn tally(&self, round: u32, kind: VoteKind) -> Option<&Tally> {
        self.rounds.get(&round).map(|r| r.tally(kind))
    }

    /// Weight of the votes of `kind` in `round` for `value` (`None` = nil).
    pub fn weight_for(&self, round: u32, kind: VoteKind, value: Option<Hash>) -> u64 {
        self.tally(round, kind)
            .and_then(|t| t.by_value.get(&value).copied())
            .unwrap_or(0)
    }

    /// Weight of all votes of `kind` in `round`, whatever their value.
    pub fn total_for(&self, round: u32, kind: VoteKind) -> u64 {
        self.tally(round, kind).map(|t| t.total).unwrap_or(0)
    }

    /// The value (`Some(None)` = nil) that more than 2/3 of the weight voted for, if any.
    pub fn quorum_value(&self, round: u32, kind: VoteKind) -> Option<Option<Hash>> {
        let t = self.tally(round, kind)?;
        t.by_value
            .iter()
            .find(|(_, w)| self.set.is_quorum(**w))
            .map(|(v, _)| *v)
    }

    /// Whether more than 2/3 of the weight voted `value` (2f+1 in Alg.1).
    pub fn has_quorum_for(&self, round: u32, kind: VoteKind, value: Option<Hash>) -> bool {
        self.set.is_quorum(self.weight_for(round, kind, value))
    }

    /// Whether more than 2/3 of the weight voted anything (2f+1 ⟨kind, h, round, ∗⟩).
    pub fn has_quorum_any(&self, round: u32, kind: VoteKind) -> bool {
        self.set.is_quorum(self.total_for(round, kind))
    }

    /// Weight of the distinct validators that sent any vote in `round`.
    pub fn round_weight(&self, round: u32) -> u64 {
        let Some(r) = self.rounds.get(&round) else {
            return 0;
        };
        let mut w = r.prevotes.total;
        for key in r.precommits.by_voter.keys() {
            if !r.prevotes.by_voter.contains_key(key) {
                w = w.saturating_add(self.set.weight_of(key).unwrap_or(0));
            }
        }
        w
    }

    /// Whether validators holding more than 1/3 of the weight sent a vote in `round` (f+1).
    pub fn has_one_third_in(&self, round: u32) -> bool {
        self.set.is_one_third(self.round_weight(round))
    }

    /// Rounds that hold at least one vote, ascending.
    pub fn rounds(&self) -> impl Iterator<Item = u32> + '_ {
        self.rounds.keys().copied()
    }

    /// The counted vote of `voter` in `round` for `kind`.
    pub fn vote_of(&self, round: u32, kind: VoteKind, voter: &PublicKey) -> Option<&Vote> {
        self.tally(round, kind).and_then(|t| t.by_voter.get(voter))
    }

    /// The counted votes of `kind` in `round`, sorted by voter.
    pub fn votes(&self, round: u32, kind: VoteKind) -> impl Iterator<Item = &Vote> + '_ {
        self.tally(round, kind)
            .into_iter()
            .flat_map(|t| t.by_voter.values())
    }

    /// Precommit signatures for `block` in `round`, one per voter (equivocators' precommits
    /// for `block` included), sorted by voter: the signatures of a certificate.
    pub fn commit_sigs(&self, round: u32, block: Hash) -> Vec<CommitSig> {
        let Some(t) = self.tally(round, VoteKind::Precommit) else {
            return Vec::new();
        };
        let mut sigs: Vec<CommitSig> = t
            .by_voter
            .values()
            .chain(t.conflicts.values())
            .filter(|v| v.block == Some(block))
            .map(|v| CommitSig {
                voter: v.voter,
                signature: v.signature,
            })
            .collect();
        sigs.sort_by_key(|s| s.voter);
        sigs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Domain, SecretKey, Validator};

    fn keys(n: u8) -> Vec<SecretKey> {
        (1..=n).map(|i| SecretKey::from_seed(&[i; 32])).collect()
    }

    fn set_of(ks: &[SecretKey], w: &[u64]) -> ValidatorSet {
        ValidatorSet::new(
            ks.iter()
                .zip(w)
                .map(|(k, w)| Validator {
                    key: k.public(),
                    weight: *w,
                })
                .collect(),
        )
    }

    fn vote(k: &SecretKey, round: u32, kind: VoteKind, b: Option<Hash>) -> Vote {
        Vote::new_signed(Hash::default(), 1, round, kind, b, k)
    }

    fn h(x: u8) -> Hash {
        Hash::of(Domain::BlockHeader, &[x])
    }

    #[test]
    fn duplicates_count_once() {
        let ks = keys(4);
        let mut vk = VoteKeeper::new(set_of(&ks, &[1, 1, 1, 1]));
        let v = vote(&ks[0], 0, VoteKind::Prevote, Some(h(1)));
        assert_eq!(vk.add(v.clone()), AddVote::Added);
        for _ in 0..1000 {
            assert_eq!(vk.add(v.clone()), AddVote::Duplicate);
        }
        assert_eq!(vk.weight_for(0, VoteKind::Prevote, Some(h(1))), 1);
        assert_eq!(vk.total_for(0, VoteKind::Prevote), 1);
        assert!(!vk.has_quorum_any(0, VoteKind::Prevote));
    }

    #[test]
    fn equivocation_yields_evidence_once_and_is_not_counted() {
        let ks = keys(4);
        let mut vk = VoteKeeper::new(set_of(&ks, &[1, 1, 1, 1]));
        let a = vote(&ks[0], 2, VoteKind::Precommit, Some(h(1)));
        let b = vote(&ks[0], 2, VoteKind::Precommit, Some(h(2)));
        let c = vote(&ks[0], 2, VoteKind::Precommit, None);
        assert_eq!(vk.add(a.clone()), AddVote::Added);
        match vk.add(b.clone()) {
            AddVote::Equivocation(e) => {
                assert!(e.verify(&Hash::default()).is_ok());
                assert_eq!(e.offender(), ks[0].public());
                assert_eq!(e, Evidence::from_pair(a, b));
            }
            other => panic!("expected evidence, got {other:?}"),
        }
        assert_eq!(vk.add(c.clone()), AddVote::AlreadyReported);
        assert_eq!(vk.add(c), AddVote::Duplicate);
        // The first vote stays the voter's vote; the "any" total counts the voter once; each
        // value counts the equivocator at most once.
        assert_eq!(
            vk.vote_of(2, VoteKind::Precommit, &ks[0].public())
                .map(|v| v.block),
            Some(Some(h(1)))
        );
        assert_eq!(vk.total_for(2, VoteKind::Precommit), 1);
        assert_eq!(vk.weight_for(2, VoteKind::Precommit, Some(h(1))), 1);
        assert_eq!(vk.weight_for(2, VoteKind::Precommit, Some(h(2))), 1);
        assert_eq!(vk.weight_for(2, VoteKind::Precommit, None), 1);
        assert_eq!(vk.commit_sigs(2, h(2)).len(), 1);
        // Bounded: beyond MAX_CONFLICTS values nothing more is counted.
        for x in 10..20 {
            vk.add(vote(&ks[0], 2, VoteKind::Precommit, Some(h(x))));
        }
        let counted = (10..20)
            .filter(|x| vk.weight_for(2, VoteKind::Precommit, Some(h(*x))) > 0)
            .count();
        assert_eq!(counted, MAX_CONFLICTS - 2);
        // Same voter, other step: not an equivocation.
        let p = vote(&ks[0], 2, VoteKind::Prevote, Some(h(2)));
        assert_eq!(vk.add(p), AddVote::Added);
    }

    #[test]
    fn non_members_are_ignored() {
        let ks = keys(5);
        let mut vk = VoteKeeper::new(set_of(&ks[..4], &[1, 1, 1, 1]));
        assert_eq!(
            vk.add(vote(&ks[4], 0, VoteKind::Prevote, None)),
            AddVote::NotMember
        );
        assert_eq!(vk.total_for(0, VoteKind::Prevote), 0);
    }

    #[test]
    fn quorum_is_by_weight() {
        let ks = keys(4);
        // Total 112: quorum needs > 74.67, one third needs > 37.33.
        let mut vk = VoteKeeper::new(set_of(&ks, &[100, 10, 1, 1]));
        let heavy = ks
            .iter()
            .find(|k| vk.validators().weight_of(&k.public()) == Some(100))
            .unwrap()
            .clone();
        let light: Vec<_> = ks
            .iter()
            .filter(|k| vk.validators().weight_of(&k.public()) != Some(100))
            .cloned()
            .collect();
        for k in &light {
            vk.add(vote(k, 0, VoteKind::Prevote, Some(h(1))));
        }
        assert!(!vk.has_quorum_for(0, VoteKind::Prevote, Some(h(1))));
        assert!(!vk.has_one_third_in(0));
        vk.add(vote(&heavy, 0, VoteKind::Prevote, Some(h(1))));
        assert!(vk.has_quorum_for(0, VoteKind::Prevote, Some(h(1))));
        assert_eq!(vk.quorum_value(0, VoteKind::Prevote), Some(Some(h(1))));
        assert!(vk.has_one_third_in(0));
        // Precommits from the heavy node alone are a quorum: 100 * 3 > 112 * 2.
        vk.add(vote(&heavy, 1, VoteKind::Precommit, None));
        assert!(vk.has_quorum_for(1, VoteKind::Precommit, None));
        assert_eq!(vk.commit_sigs(0, h(1)).len(), 0);
    }

    #[test]
    fn round_weight_counts_each_voter_once() {
        let ks = keys(4);
        let mut vk = VoteKeeper::new(set_of(&ks, &[1, 1, 1, 1]));
        vk.add(vote(&ks[0], 3, VoteKind::Prevote, None));
        vk.add(vote(&ks[0], 3, VoteKind::Precommit, None));
        assert_eq!(vk.round_weight(3), 1);
        assert!(!vk.has_one_third_in(3));
        vk.add(vote(&ks[1], 3, VoteKind::Precommit, None));
        assert_eq!(vk.round_weight(3), 2);
        assert!(vk.has_one_third_in(3));
    }
}
