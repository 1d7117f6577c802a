//! Algorithm 1 of "The latest gossip on BFT consensus" for one height, as a pure state machine.
//!
//! Every rule is marked with the lines of Algorithm 1 it implements. "2f+1" means strictly more
//! than 2/3 of the voting weight, "f+1" strictly more than 1/3.

use super::snapshot::{ConsensusSnapshot, RoundOutcome, RoundRecord, ValidatorVotes};
use super::vote_keeper::{AddVote, VoteKeeper};
use super::{proposer, ConsensusParams, Step};
use crate::types::{
    CommitCertificate, Evidence, Hash, Proposal, PublicKey, ValidatorSet, Vote, VoteKind,
};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Messages of rounds up to `current round + FUTURE_ROUNDS` are kept; later ones are dropped
/// (bounds memory: at most 2 votes per validator per kept round).
pub const FUTURE_ROUNDS: u32 = 64;

/// At most this many distinct proposals are kept per round (a byzantine proposer may send
/// several; the honest one sends one).
pub const MAX_PROPOSALS_PER_ROUND: usize = 4;

/// Rounds kept in [`ConsensusSnapshot::recent_rounds`].
const HISTORY: usize = 16;

/// An input to the consensus core. Signatures are verified by the driver before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A proposal (own proposals included, fed back after signing). `valid` is the driver's
    /// verdict on the proposed block against the ledger.
    Proposal {
        /// The signed proposal, its signature already verified by the driver.
        proposal: Proposal,
        /// Whether the block is valid.
        valid: bool,
    },
    /// A prevote or precommit (own votes included, fed back after signing).
    Vote(Vote),
    /// A timeout scheduled by [`Effect::ScheduleTimeout`] for this height expired.
    Timeout {
        /// Round it was scheduled for.
        round: u32,
        /// Step it was scheduled for.
        step: Step,
    },
    /// The driver's answer to [`Effect::BuildProposal`]: the id of the block it built.
    ProposalValue {
        /// Round of the request.
        round: u32,
        /// Id of the built block.
        block_hash: Hash,
    },
}

/// An action for the driver.
// Evidence (two votes) is rare; boxing it would only complicate the driver's matching.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// We propose and have no validValue: build a block and answer with
    /// [`Input::ProposalValue`].
    BuildProposal {
        /// Height of this instance, the height of the block to build.
        height: u64,
        /// Round to propose in; the answer carries it back.
        round: u32,
    },
    /// Sign (after the double-sign guard and persisting), broadcast the proposal with its
    /// block, and feed it back as [`Input::Proposal`]. With `pol_round: Some(_)` the block is
    /// the validValue, a block this height already saw: the driver keeps the blocks of the
    /// current height's proposals until the height is decided.
    CastProposal {
        /// Height of this instance.
        height: u64,
        /// Round the proposal is for.
        round: u32,
        /// Id of the block to propose: the one just built, or the validValue.
        block_hash: Hash,
        /// validRound, `None` for -1.
        pol_round: Option<u32>,
    },
    /// Sign (after the double-sign guard and persisting), broadcast the vote and feed it back
    /// as [`Input::Vote`].
    CastVote {
        /// Height of this instance.
        height: u64,
        /// Round the vote is for.
        round: u32,
        /// Which of the two votes of the round to sign.
        kind: VoteKind,
        /// The block voted for; `None` is a vote for nil.
        block: Option<Hash>,
    },
    /// Deliver `Input::Timeout { round, step }` after `duration`, if still at this height.
    ScheduleTimeout {
        /// Height of this instance; the timeout is dropped once the node is past it.
        height: u64,
        /// Round the timeout belongs to; it has no effect once the round moved on.
        round: u32,
        /// The step the timeout ends (`Propose`, `Prevote` or `Precommit`).
        step: Step,
        /// Delay from now: [`ConsensusParams::timeout`] of the step and round.
        duration: Duration,
    },
    /// The height is decided: the block with this certificate is final.
    Decide {
        /// Height of this instance, now decided.
        height: u64,
        /// Round of the deciding precommits.
        round: u32,
        /// Id of the decided block; commit it with `certificate`.
        block_hash: Hash,
        /// More than 2/3 of the weight of precommit signatures for the block.
        certificate: CommitCertificate,
    },
    /// A validator signed two different votes for one round and step.
    Evidence(Evidence),
    /// A round began (UI event).
    RoundStarted {
        /// Height of this instance.
        height: u64,
        /// The round that began; rounds only grow within a height.
        round: u32,
        /// The proposer of that round.
        proposer: PublicKey,
    },
    /// The step changed (UI event).
    StepChanged {
        /// Height of this instance.
        height: u64,
        /// Round the step belongs to.
        round: u32,
        /// The step entered; the driver times the step from this event.
        step: Step,
    },
}

/// The Tendermint state machine for one height.
#[derive(Clone, Debug)]
pub struct Tendermint {
    chain_id: Hash,
    height: u64,
    own_key: Option<PublicKey>,
    params: ConsensusParams,
    started: bool,
    round: u32,
    step: Step,
    locked: Option<(u32, Hash)>,
    valid: Option<(u32, Hash)>,
    decided: Option<(u32, Hash)>,
    votes: VoteKeeper,
    proposals: BTreeMap<u32, Vec<(Proposal, bool)>>,
    /// L34 "for the first time" in the current round.
    prevote_timeout_scheduled: bool,
    /// L47 "for the first time" in the current round.
    precommit_timeout_scheduled: bool,
    /// L36 "for the first time" in the current round.
    lock_rule_fired: bool,
    /// BuildProposal emitted in the current round, no value yet.
    awaiting_value: bool,
    history: VecDeque<RoundRecord>,
}

impl Tendermint {
    /// A new instance for `height` with the validator set of this height. `own_key` is the
    /// node's key when masternode mode is on (it may still be outside `validators`); the
    /// instance asks to sign votes and proposals only when it is `Some` and in `validators`.
    pub fn new(
        chain_id: Hash,
        height: u64,
        validators: ValidatorSet,
        own_key: Option<PublicKey>,
        params: ConsensusParams,
    ) -> Self {
        Tendermint {
            chain_id,
            height,
            own_key,
            params,
            started: false,
            round: 0,
            step: Step::Propose,
            locked: None,
            valid: None,
            decided: None,
            votes: VoteKeeper::new(validators),
            proposals: BTreeMap::new(),
            prevote_timeout_scheduled: false,
            precommit_timeout_scheduled: false,
            lock_rule_fired: false,
            awaiting_value: false,
            history: VecDeque::new(),
        }
    }

    /// Rebuilds the instance after a restart from the node's own signed messages of this height
    /// (its WAL: own proposals as `Input::Proposal`, own votes as `Input::Vote`; other inputs
    /// are accepted too and simply counted). The instance starts directly in the highest round
    /// it had signed in, at the step its votes show, with the lock of its latest non-nil
    /// precommit, and never asks to build a proposal for a round it already proposed in.
    ///
    /// Equivalently, a driver may call [`Self::start`] and then feed the same messages through
    /// [`Self::handle`]: an own vote of a later round moves the instance to that round and step
    /// and restores the lock. `restore` avoids the spurious round-0 effects of that path.
    pub fn restore(
        chain_id: Hash,
        height: u64,
        validators: ValidatorSet,
        own_key: Option<PublicKey>,
        params: ConsensusParams,
        own_messages: impl IntoIterator<Item = Input>,
    ) -> (Self, Vec<Effect>) {
        let mut t = Self::new(chain_id, height, validators, own_key, params);
        let msgs: Vec<Input> = own_messages.into_iter().collect();
        let mut target = 0u32;
        let mut own_votes = Vec::new();
        for m in &msgs {
            match m {
                Input::Vote(v) if t.is_own_msg(&v.voter, &v.chain_id, v.height) => {
                    target = target.max(v.round);
                    own_votes.push((v.round, v.kind, v.block));
                }
                Input::Proposal { proposal: p, .. }
                    if t.is_own_msg(&p.proposer, &p.chain_id, p.height) =>
                {
                    target = target.max(p.round);
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        // Not started yet: inputs are only stored.
        t.round = target;
        for m in msgs {
            out.extend(t.handle(m));
        }
        t.started = true;
        t.start_round(target, &mut out);
        own_votes.sort();
        for (r, k, b) in own_votes {
            t.adopt_own_vote(r, k, b, &mut out);
        }
        t.evaluate(&mut out);
        (t, out)
    }

    fn is_own_msg(&self, signer: &PublicKey, chain_id: &Hash, height: u64) -> bool {
        Some(*signer) == self.own_key && *chain_id == self.chain_id && height == self.height
    }

    /// Starts round 0 (Alg.1 L10: upon start do StartRound(0)). Inputs handled before `start`
    /// are stored and take effect now. Calling it again does nothing.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut out = Vec::new();
        if self.started {
            return out;
        }
        self.started = true;
        self.start_round(0, &mut out);
        self.evaluate(&mut out);
        out
    }

    /// Handles one input and returns the effects, in order. Never panics.
    pub fn handle(&mut self, input: Input) -> Vec<Effect> {
        let mut out = Vec::new();
        match input {
            Input::Proposal { proposal, valid } => self.on_proposal(proposal, valid),
            Input::Vote(v) => self.on_vote(v, &mut out),
            Input::Timeout { round, step } => self.on_timeout(round, step, &mut out),
            Input::ProposalValue { round, block_hash } => {
                self.on_value(round, block_hash, &mut out)
            }
        }
        if self.started {
            self.evaluate(&mut out);
        }
        out
    }

    /// Height of this instance.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Current round, from 0; it never decreases within the instance.
    pub fn round(&self) -> u32 {
        self.round
    }

    /// Current step of the current round; `Commit` once decided.
    pub fn step(&self) -> Step {
        self.step
    }

    /// The decision: (round of the precommits, block).
    pub fn decided(&self) -> Option<(u32, Hash)> {
        self.decided
    }

    /// lockedRound / lockedValue.
    pub fn locked(&self) -> Option<(u32, Hash)> {
        self.locked
    }

    /// validRound / validValue.
    pub fn valid(&self) -> Option<(u32, Hash)> {
        self.valid
    }

    /// The validator set of this height.
    pub fn validators(&self) -> &ValidatorSet {
        self.votes.validators()
    }

    /// The vote bookkeeping (read only).
    pub fn votes(&self) -> &VoteKeeper {
        &self.votes
    }

    /// The proposer of the current round.
    pub fn proposer(&self) -> PublicKey {
        proposer(self.votes.validators(), self.height, self.round)
    }

    /// The first proposal of `round` kept from its proposer, with the driver's validity.
    pub fn proposal(&self, round: u32) -> Option<&(Proposal, bool)> {
        self.proposals.get(&round).and_then(|l| l.first())
    }

    /// Every proposal kept for `round` (more than one only from an equivocating proposer).
    pub fn proposals(&self, round: u32) -> &[(Proposal, bool)] {
        self.proposals.get(&round).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A plain view for RPC and the UI.
    pub fn snapshot(&self) -> ConsensusSnapshot {
        let r = self.round;
        let validators = self
            .votes
            .validators()
            .validators()
            .iter()
            .map(|v| ValidatorVotes {
                key: v.key,
                weight: v.weight,
                prevote: self
                    .votes
                    .vote_of(r, VoteKind::Prevote, &v.key)
                    .map(|x| x.block),
                precommit: self
                    .votes
                    .vote_of(r, VoteKind::Precommit, &v.key)
                    .map(|x| x.block),
            })
            .collect();
        ConsensusSnapshot {
            height: self.height,
            round: r,
            step: self.step,
            proposer: self.proposer(),
            proposal: self.proposal(r).map(|(p, _)| p.block_hash),
            locked: self.locked,
            valid: self.valid,
            decided: self.decided,
            total_weight: self.votes.validators().total_weight(),
            prevote_weight: self.votes.total_for(r, VoteKind::Prevote),
            precommit_weight: self.votes.total_for(r, VoteKind::Precommit),
            validators,
            recent_rounds: self.history.iter().copied().collect(),
        }
    }

    // ----- inputs -----

    fn accepts_round(&self, round: u32) -> bool {
        round <= self.round.saturating_add(FUTURE_ROUNDS)
    }

    /// Whether [`Input::Proposal`] would keep `p`: this chain and height, a round in the
    /// window, `pol_round` below the round (Alg.1 L28) and signed by proposer(h, r). Needs no
    /// signature check, so a driver asks first and does no validation work (and relays
    /// nothing) for a proposal the instance would drop.
    pub fn admits_proposal(&self, p: &Proposal) -> bool {
        p.chain_id == self.chain_id
            && p.height == self.height
            && self.accepts_round(p.round)
            && p.pol_round.is_none_or(|vr| vr < p.round)
            && p.proposer == proposer(self.votes.validators(), self.height, p.round)
    }

    /// Whether this exact proposal (same signature) is held already: a copy a peer sends again
    /// needs no signature check or block work.
    pub fn holds_proposal(&self, p: &Proposal) -> bool {
        self.proposals(p.round).iter().any(|(q, _)| q == p)
    }

    /// Whether [`Input::Vote`] would use `v`: this chain and height, a round in the window, a
    /// voter in the validator set, and not a copy of a vote already held. Needs no signature
    /// check, so a driver asks before verifying, storing or relaying a vote.
    pub fn admits_vote(&self, v: &Vote) -> bool {
        v.chain_id == self.chain_id
            && v.height == self.height
            && self.accepts_round(v.round)
            && self.votes.validators().weight_of(&v.voter).is_some()
            && self
                .votes
                .vote_of(v.round, v.kind, &v.voter)
                .is_none_or(|held| held.block != v.block)
    }

    fn on_proposal(&mut self, p: Proposal, valid: bool) {
        if !self.admits_proposal(&p) {
            return;
        }
        let own = Some(p.proposer) == self.own_key;
        let round = p.round;
        let list = self.proposals.entry(round).or_default();
        if let Some(known) = list
            .iter_mut()
            .find(|(q, _)| q.block_hash == p.block_hash && q.pol_round == p.pol_round)
        {
            // The driver may learn the block only later: a valid verdict upgrades an invalid one.
            known.1 |= valid;
            return;
        }
        if list.len() >= MAX_PROPOSALS_PER_ROUND {
            return;
        }
        list.push((p, valid));
        if own && round == self.round {
            // Our own proposal came back (or was replayed): do not build another one.
            self.awaiting_value = false;
        }
    }

    fn on_vote(&mut self, v: Vote, out: &mut Vec<Effect>) {
        if v.chain_id != self.chain_id || v.height != self.height || !self.accepts_round(v.round) {
            return;
        }
        let own = Some(v.voter) == self.own_key;
        let (round, kind, block) = (v.round, v.kind, v.block);
        match self.votes.add(v) {
            AddVote::Added => {
                if own && self.started {
                    self.adopt_own_vote(round, kind, block, out);
                }
            }
            AddVote::Equivocation(e) => out.push(Effect::Evidence(e)),
            AddVote::Duplicate | AddVote::NotMember | AddVote::AlreadyReported => {}
        }
    }

    /// An own vote we have not produced in this incarnation (WAL replay after a restart)
    /// proves we had reached that round and step: catch up to it and restore the lock
    /// (L36-43 sets the lock exactly when precommitting a value). In normal operation the
    /// own vote echoes the current state and this changes nothing.
    fn adopt_own_vote(
        &mut self,
        round: u32,
        kind: VoteKind,
        block: Option<Hash>,
        out: &mut Vec<Effect>,
    ) {
        if self.decided.is_some() {
            return;
        }
        if let (VoteKind::Precommit, Some(b)) = (kind, block) {
            if self.locked.is_none_or(|(lr, _)| lr < round) {
                self.locked = Some((round, b));
            }
            if self.valid.is_none_or(|(vr, _)| vr < round) {
                self.valid = Some((round, b));
            }
        }
        if round > self.round {
            self.finish_round(RoundOutcome::Skipped { to: round });
            self.start_round(round, out);
        }
        if round != self.round {
            return;
        }
        let reached = match kind {
            VoteKind::Prevote => Step::Prevote,
            VoteKind::Precommit => Step::Precommit,
        };
        if self.step < reached {
            self.set_step(reached, out);
        }
    }

    fn on_timeout(&mut self, round: u32, step: Step, out: &mut Vec<Effect>) {
        if !self.started || self.decided.is_some() || round != self.round {
            return;
        }
        match step {
            // Alg.1 L57-60: OnTimeoutPropose(h, r) with r = roundp and step = propose.
            Step::Propose if self.step == Step::Propose => {
                self.cast_vote(VoteKind::Prevote, None, out);
                self.set_step(Step::Prevote, out);
            }
            // Alg.1 L61-64: OnTimeoutPrevote(h, r) with r = roundp and step = prevote.
            Step::Prevote if self.step == Step::Prevote => {
                self.cast_vote(VoteKind::Precommit, None, out);
                self.set_step(Step::Precommit, out);
            }
            // Alg.1 L65-67: OnTimeoutPrecommit(h, r) with r = roundp: StartRound(r + 1).
            Step::Precommit => {
                if let Some(next) = round.checked_add(1) {
                    self.finish_round(RoundOutcome::TimedOut);
                    self.start_round(next, out);
                }
            }
            _ => {}
        }
    }

    fn on_value(&mut self, round: u32, block_hash: Hash, out: &mut Vec<Effect>) {
        // Alg.1 L16-19 (second half): proposal ← getValue(); broadcast PROPOSAL(h, r, v, -1).
        if self.started
            && self.awaiting_value
            && round == self.round
            && self.step == Step::Propose
            && self.decided.is_none()
        {
            self.awaiting_value = false;
            out.push(Effect::CastProposal {
                height: self.height,
                round,
                block_hash,
                pol_round: None,
            });
        }
    }

    // ----- actions -----

    /// Whether this node signs at this height: it has a key (masternode mode on) and the key
    /// is in the validator set. Everyone else follows the height without voting, so a standby
    /// node sharing an operator's key never signs anything the active one might contradict.
    fn signs(&self) -> bool {
        self.own_key
            .is_some_and(|k| self.votes.validators().weight_of(&k).is_some())
    }

    fn cast_vote(&self, kind: VoteKind, block: Option<Hash>, out: &mut Vec<Effect>) {
        if !self.signs() {
            return;
        }
        out.push(Effect::CastVote {
            height: self.height,
            round: self.round,
            kind,
            block,
        });
    }

    fn set_step(&mut self, step: Step, out: &mut Vec<Effect>) {
        self.step = step;
        out.push(Effect::StepChanged {
            height: self.height,
            round: self.round,
            step,
        });
    }

    fn schedule(&self, step: Step, out: &mut Vec<Effect>) {
        out.push(Effect::ScheduleTimeout {
            height: self.height,
            round: self.round,
            step,
            duration: self.params.timeout(step, self.round),
        });
    }

    fn finish_round(&mut self, outcome: RoundOutcome) {
        if let Some(last) = self.history.back_mut() {
            if last.round == self.round && last.outcome == RoundOutcome::InProgress {
                last.outcome = outcome;
            }
        }
    }

    /// Alg.1 L11-21: StartRound(round).
    fn start_round(&mut self, round: u32, out: &mut Vec<Effect>) {
        // L12-13: roundp ← round; stepp ← propose.
        self.round = round;
        self.step = Step::Propose;
        self.prevote_timeout_scheduled = false;
        self.precommit_timeout_scheduled = false;
        self.lock_rule_fired = false;
        self.awaiting_value = false;
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(RoundRecord {
            height: self.height,
            round,
            outcome: RoundOutcome::InProgress,
        });
        let p = self.proposer();
        out.push(Effect::RoundStarted {
            height: self.height,
            round,
            proposer: p,
        });
        out.push(Effect::StepChanged {
            height: self.height,
            round,
            step: Step::Propose,
        });
        // L14: if proposer(hp, roundp) = p.
        if Some(p) == self.own_key {
            let already = self
                .proposals
                .get(&round)
                .is_some_and(|l| l.iter().any(|(q, _)| Some(q.proposer) == self.own_key));
            if already {
                // Replayed from the WAL: the proposal was signed before the restart.
            } else if let Some((vr, v)) = self.valid {
                // L15-16: proposal ← validValue, broadcast with validRound.
                out.push(Effect::CastProposal {
                    height: self.height,
                    round,
                    block_hash: v,
                    pol_round: Some(vr),
                });
            } else {
                // L17-18: proposal ← getValue() (asked of the driver).
                self.awaiting_value = true;
                out.push(Effect::BuildProposal {
                    height: self.height,
                    round,
                });
            }
        }
        // L21: schedule OnTimeoutPropose. Also scheduled on the proposer, so a driver that
        // fails to build a block in time only costs a nil prevote.
        self.schedule(Step::Propose, out);
    }

    /// Applies every rule whose condition holds until none does.
    fn evaluate(&mut self, out: &mut Vec<Effect>) {
        // Each iteration either returns or strictly advances (step, round or a once-flag), so
        // this terminates; the bound is a belt for the braces.
        for _ in 0..10_000 {
            if self.decided.is_some() {
                return;
            }
            if self.try_decide(out) {
                return;
            }
            if let Some(r) = self.round_skip_target() {
                self.finish_round(RoundOutcome::Skipped { to: r });
                self.start_round(r, out);
                continue;
            }
            if !self.apply_round_rules(out) {
                return;
            }
        }
    }

    /// Alg.1 L49-54: upon ⟨PROPOSAL, hp, r, v, ∗⟩ from proposer(hp, r) AND 2f+1
    /// ⟨PRECOMMIT, hp, r, id(v)⟩ while decision is nil, in any round r, with valid(v).
    fn try_decide(&mut self, out: &mut Vec<Effect>) -> bool {
        let rounds: Vec<u32> = self.votes.rounds().collect();
        for r in rounds {
            let Some(Some(v)) = self.votes.quorum_value(r, VoteKind::Precommit) else {
                continue;
            };
            let has_proposal = self
                .proposals
                .get(&r)
                .is_some_and(|l| l.iter().any(|(p, valid)| *valid && p.block_hash == v));
            if !has_proposal {
                continue;
            }
            // L51: decision ← v (the driver commits the block); L52: hp ← hp + 1 is the
            // driver creating the next instance.
            self.decided = Some((r, v));
            self.finish_round(RoundOutcome::Decided(v));
            self.set_step(Step::Commit, out);
            out.push(Effect::Decide {
                height: self.height,
                round: r,
                block_hash: v,
                certificate: CommitCertificate {
                    height: self.height,
                    round: r,
                    block_hash: v,
                    sigs: self.votes.commit_sigs(r, v),
                },
            });
            return true;
        }
        false
    }

    /// Alg.1 L55-56: upon f+1 ⟨∗, hp, round, ∗, ∗⟩ with round > roundp: StartRound(round).
    /// Counts the weight of distinct voters of the round; the highest such round wins.
    fn round_skip_target(&self) -> Option<u32> {
        let current = self.round;
        self.votes
            .rounds()
            .filter(|r| *r > current && self.votes.has_one_third_in(*r))
            .max()
    }

    /// The rules that concern the current round. Returns whether anything changed.
    fn apply_round_rules(&mut self, out: &mut Vec<Effect>) -> bool {
        let r = self.round;
        let props: Vec<(Proposal, bool)> = self.proposals.get(&r).cloned().unwrap_or_default();

        if self.step == Step::Propose {
            for (p, valid) in &props {
                let v = p.block_hash;
                match p.pol_round {
                    // Alg.1 L22-27: upon ⟨PROPOSAL, hp, roundp, v, -1⟩ from proposer while
                    // step = propose: prevote id(v) if valid(v) ∧ (lockedRound = -1 ∨
                    // lockedValue = v), else nil; step ← prevote.
                    None => {
                        let ok = *valid && self.locked.is_none_or(|(_, lv)| lv == v);
                        self.cast_vote(VoteKind::Prevote, ok.then_some(v), out);
                        self.set_step(Step::Prevote, out);
                        return true;
                    }
                    // Alg.1 L28-33: upon ⟨PROPOSAL, hp, roundp, v, vr⟩ from proposer AND 2f+1
                    // ⟨PREVOTE, hp, vr, id(v)⟩ while step = propose ∧ (vr ≥ 0 ∧ vr < roundp):
                    // prevote id(v) if valid(v) ∧ (lockedRound ≤ vr ∨ lockedValue = v).
                    Some(vr) => {
                        if self.votes.has_quorum_for(vr, VoteKind::Prevote, Some(v)) {
                            let ok =
                                *valid && self.locked.is_none_or(|(lr, lv)| lr <= vr || lv == v);
                            self.cast_vote(VoteKind::Prevote, ok.then_some(v), out);
                            self.set_step(Step::Prevote, out);
                            return true;
                        }
                    }
                }
            }
        }

        // Alg.1 L34-35: upon 2f+1 ⟨PREVOTE, hp, roundp, ∗⟩ while step = prevote for the first
        // time: schedule OnTimeoutPrevote.
        if self.step == Step::Prevote
            && !self.prevote_timeout_scheduled
            && self.votes.has_quorum_any(r, VoteKind::Prevote)
        {
            self.prevote_timeout_scheduled = true;
            self.schedule(Step::Prevote, out);
            return true;
        }

        // Alg.1 L36-43: upon ⟨PROPOSAL, hp, roundp, v, ∗⟩ from proposer AND 2f+1
        // ⟨PREVOTE, hp, roundp, id(v)⟩ while valid(v) ∧ step ≥ prevote for the first time:
        // if step = prevote { lock v; precommit id(v); step ← precommit }; validValue ← v.
        if matches!(self.step, Step::Prevote | Step::Precommit) && !self.lock_rule_fired {
            for (p, valid) in &props {
                let v = p.block_hash;
                if *valid && self.votes.has_quorum_for(r, VoteKind::Prevote, Some(v)) {
                    self.lock_rule_fired = true;
                    if self.step == Step::Prevote {
                        self.locked = Some((r, v));
                        self.cast_vote(VoteKind::Precommit, Some(v), out);
                        self.set_step(Step::Precommit, out);
                    }
                    self.valid = Some((r, v));
                    return true;
                }
            }
        }

        // Alg.1 L44-46: upon 2f+1 ⟨PREVOTE, hp, roundp, nil⟩ while step = prevote: precommit
        // nil; step ← precommit.
        if self.step == Step::Prevote && self.votes.has_quorum_for(r, VoteKind::Prevote, None) {
            self.cast_vote(VoteKind::Precommit, None, out);
            self.set_step(Step::Precommit, out);
            return true;
        }

        // Alg.1 L47-48: upon 2f+1 ⟨PRECOMMIT, hp, roundp, ∗⟩ for the first time: schedule
        // OnTimeoutPrecommit.
        if !self.precommit_timeout_scheduled && self.votes.has_quorum_any(r, VoteKind::Precommit) {
            self.precommit_timeout_scheduled = true;
            self.schedule(Step::Precommit, out);
            return true;
        }
        false
    }
}
