//! Signed consensus messages: votes, proposals, commit certificates, equivocation evidence, and
//! the weighted validator set that checks them.

use super::encoding::{put, Decode, DecodeError, Encode, Reader};
use super::hash::{Domain, Hash};
use super::keys::{verify_batch_with_keys, PublicKey, SecretKey, Signature, VerifyingKey};
use super::sig_cache::SigCache;
use std::sync::{Arc, OnceLock};
use thiserror::Error;

/// Most validators in one set (bounds certificate decoding).
pub const MAX_VALIDATORS: usize = 1_000;

/// The two voting steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VoteKind {
    /// First voting step; >2/3 prevotes for a block (a polka) let a validator lock on it.
    Prevote,
    /// Second voting step; >2/3 precommits for a block finalize it.
    Precommit,
}

/// A signed prevote or precommit. `block: None` is a vote for nil.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Vote {
    /// Chain the vote belongs to.
    pub chain_id: Hash,
    /// Height of the block this vote decides on.
    pub height: u64,
    /// Round within the height, from 0; a timeout moves to the next round.
    pub round: u32,
    /// Prevote or precommit; an honest validator signs one vote per step and round.
    pub kind: VoteKind,
    /// The block voted for, or nil.
    pub block: Option<Hash>,
    /// The voting masternode's node key.
    pub voter: PublicKey,
    /// Signature over [`Vote::signing_bytes`].
    pub signature: Signature,
}

/// A signed proposal of a block (the block travels beside it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// Chain the proposal belongs to (hash of the genesis description).
    pub chain_id: Hash,
    /// Height of the proposed block.
    pub height: u64,
    /// Round the proposal is made in; only proposer(height, round) may sign it.
    pub round: u32,
    /// Proof-of-lock round (the paper's validRound; `None` is -1).
    pub pol_round: Option<u32>,
    /// Id of the proposed block.
    pub block_hash: Hash,
    /// Proposer's node key.
    pub proposer: PublicKey,
    /// Signature over [`Proposal::signing_bytes`].
    pub signature: Signature,
}

/// One precommit signature inside a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitSig {
    /// Validator whose precommit this is; must be in the set of the certificate's height.
    pub voter: PublicKey,
    /// Precommit signature over [`vote_signing_bytes`] for this height, round and block.
    pub signature: Signature,
}

/// Proof of finality: more than 2/3 of the voting weight precommitted this block in this round.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CommitCertificate {
    /// Height of the finalized block.
    pub height: u64,
    /// Round of the precommits.
    pub round: u32,
    /// Id of the finalized block; every signature is a precommit for it.
    pub block_hash: Hash,
    /// Precommit signatures; a valid certificate has distinct signers above 2/3 of the weight.
    pub sigs: Vec<CommitSig>,
}

/// Two different signed votes by one masternode for one height, round and step.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Evidence {
    /// First vote; its `block` sorts before `b`'s, so one pair has one encoding.
    pub a: Vote,
    /// Second, conflicting vote.
    pub b: Vote,
}

/// One validator with its weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validator {
    /// The validator's node key (its consensus/p2p key).
    pub key: PublicKey,
    /// Voting weight (> 0).
    pub weight: u64,
}

/// The weighted set of masternodes that vote at one height, sorted by key.
#[derive(Clone, Default)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total: u64,
    /// The members' keys decoded for verification, in the order of `validators`: decoded on
    /// first use, so a set decompresses each key once however many votes and certificates it
    /// checks. A function of `validators`, so left out of equality and `Debug`.
    verifying: OnceLock<Arc<[VerifyingKey]>>,
}

/// Why a certificate, vote or piece of evidence is rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConsensusMsgError {
    /// Signer not in the validator set.
    #[error("signer {0:?} is not in the validator set")]
    NotAValidator(PublicKey),
    /// The same signer appears twice in one certificate.
    #[error("signer {0:?} counted twice")]
    DuplicateSigner(PublicKey),
    /// A signature does not verify under the named key.
    #[error("invalid signature from {0:?}")]
    BadSignature(PublicKey),
    /// Not more than 2/3.
    #[error("certificate weight {have} is not above 2/3 of {total}")]
    NoQuorum {
        /// Weight of the signers present.
        have: u64,
        /// Total weight of the validator set.
        total: u64,
    },
    /// Certificate is for another block or height.
    #[error("certificate does not match the block")]
    Mismatch,
    /// Evidence votes do not conflict.
    #[error("evidence votes are not a conflicting pair")]
    NotConflicting,
}

impl VoteKind {
    fn tag(self) -> u8 {
        match self {
            VoteKind::Prevote => 1,
            VoteKind::Precommit => 2,
        }
    }
}

/// The bytes a vote signs (chain id included).
pub fn vote_signing_bytes(
    chain_id: &Hash,
    height: u64,
    round: u32,
    kind: VoteKind,
    block: Option<Hash>,
) -> Hash {
    let mut buf = Vec::with_capacity(80);
    chain_id.encode_to(&mut buf);
    put::u64(&mut buf, height);
    put::u32(&mut buf, round);
    buf.push(kind.tag());
    put::option(&mut buf, &block);
    Hash::of(Domain::Vote, &buf)
}

/// `sig` by `signer` over `msg` through `known` ([`SigCache::verify_encoded`]), a bad one
/// named by its signer.
fn verify_through(
    known: &mut SigCache,
    msg: &Hash,
    signer: &PublicKey,
    sig: &Signature,
) -> Result<(), ConsensusMsgError> {
    known
        .verify_encoded(msg, signer, sig)
        .map_err(|_| ConsensusMsgError::BadSignature(*signer))
}

impl Vote {
    /// Creates and signs a vote.
    pub fn new_signed(
        chain_id: Hash,
        height: u64,
        round: u32,
        kind: VoteKind,
        block: Option<Hash>,
        key: &SecretKey,
    ) -> Vote {
        let msg = vote_signing_bytes(&chain_id, height, round, kind, block);
        Vote {
            chain_id,
            height,
            round,
            kind,
            block,
            voter: key.public(),
            signature: key.sign(&msg.0),
        }
    }

    /// The hash this vote signs.
    pub fn signing_bytes(&self) -> Hash {
        vote_signing_bytes(
            &self.chain_id,
            self.height,
            self.round,
            self.kind,
            self.block,
        )
    }

    /// Checks the signature against `voter`; says nothing of membership in a validator set.
    pub fn verify(&self) -> Result<(), ConsensusMsgError> {
        self.voter
            .verify(&self.signing_bytes().0, &self.signature)
            .map_err(|_| ConsensusMsgError::BadSignature(self.voter))
    }

    /// [`Vote::verify`] through `known`: a signature `known` holds is not verified again, one
    /// that verifies is entered.
    pub fn verify_known(&self, known: &mut SigCache) -> Result<(), ConsensusMsgError> {
        verify_through(known, &self.signing_bytes(), &self.voter, &self.signature)
    }

    /// Checks that `voter` is in `set` and the signature verifies, with the key `set` decoded
    /// and through `known` (as [`Vote::verify_known`]).
    pub fn verify_member(
        &self,
        set: &ValidatorSet,
        known: &mut SigCache,
    ) -> Result<(), ConsensusMsgError> {
        let key = set
            .verifying_key(&self.voter)
            .ok_or(ConsensusMsgError::NotAValidator(self.voter))?;
        known
            .verify(&self.signing_bytes(), key, &self.signature)
            .map_err(|_| ConsensusMsgError::BadSignature(self.voter))
    }
}

impl Proposal {
    /// Creates and signs a proposal.
    pub fn new_signed(
        chain_id: Hash,
        height: u64,
        round: u32,
        pol_round: Option<u32>,
        block_hash: Hash,
        key: &SecretKey,
    ) -> Proposal {
        let mut p = Proposal {
            chain_id,
            height,
            round,
            pol_round,
            block_hash,
            proposer: key.public(),
            signature: Signature::default(),
        };
        p.signature = key.sign(&p.signing_bytes().0);
        p
    }

    /// The hash this proposal signs.
    pub fn signing_bytes(&self) -> Hash {
        let mut buf = Vec::with_capacity(96);
        self.chain_id.encode_to(&mut buf);
        put::u64(&mut buf, self.height);
        put::u32(&mut buf, self.round);
        put::option(&mut buf, &self.pol_round);
        self.block_hash.encode_to(&mut buf);
        self.proposer.encode_to(&mut buf);
        Hash::of(Domain::Proposal, &buf)
    }

    /// Checks the signature against `proposer`; whether it is this round's proposer is not checked.
    pub fn verify(&self) -> Result<(), ConsensusMsgError> {
        self.proposer
            .verify(&self.signing_bytes().0, &self.signature)
            .map_err(|_| ConsensusMsgError::BadSignature(self.proposer))
    }

    /// [`Proposal::verify`] through `known`: a signature `known` holds is not verified again,
    /// one that verifies is entered.
    pub fn verify_known(&self, known: &mut SigCache) -> Result<(), ConsensusMsgError> {
        verify_through(
            known,
            &self.signing_bytes(),
            &self.proposer,
            &self.signature,
        )
    }
}

impl CommitCertificate {
    /// Commitment stored in the next block's header.
    pub fn hash(&self) -> Hash {
        Hash::of(Domain::Commit, &self.to_bytes())
    }

    /// Checks that the certificate finalizes `block_hash` at `height` on `chain_id`: every
    /// signer is in `set`, no signer appears twice, every precommit signature verifies, and the
    /// signers hold strictly more than 2/3 of the weight.
    pub fn verify(
        &self,
        chain_id: &Hash,
        height: u64,
        block_hash: &Hash,
        set: &ValidatorSet,
    ) -> Result<(), ConsensusMsgError> {
        self.check(chain_id, height, block_hash, set, None)
            .map(|_| ())
    }

    /// [`CommitCertificate::verify`], except that a signature `known` holds (the node verified
    /// it already, as a vote or in an earlier certificate) is not verified again.
    pub fn verify_known(
        &self,
        chain_id: &Hash,
        height: u64,
        block_hash: &Hash,
        set: &ValidatorSet,
        known: &SigCache,
    ) -> Result<(), ConsensusMsgError> {
        self.check(chain_id, height, block_hash, set, Some(known))
            .map(|_| ())
    }

    /// [`CommitCertificate::verify_known`], and when the certificate is valid its signatures
    /// are entered in `known` (the next block carries this certificate again).
    pub fn verify_remembered(
        &self,
        chain_id: &Hash,
        height: u64,
        block_hash: &Hash,
        set: &ValidatorSet,
        known: &mut SigCache,
    ) -> Result<(), ConsensusMsgError> {
        let msg = self.check(chain_id, height, block_hash, set, Some(known))?;
        for s in &self.sigs {
            known.insert_verified(msg, s.voter, s.signature);
        }
        Ok(())
    }

    /// The checks of [`CommitCertificate::verify`], skipping the signatures `known` holds;
    /// returns the precommit message the signatures sign.
    fn check(
        &self,
        chain_id: &Hash,
        height: u64,
        block_hash: &Hash,
        set: &ValidatorSet,
        known: Option<&SigCache>,
    ) -> Result<Hash, ConsensusMsgError> {
        if self.height != height || self.block_hash != *block_hash {
            return Err(ConsensusMsgError::Mismatch);
        }
        let msg = vote_signing_bytes(
            chain_id,
            height,
            self.round,
            VoteKind::Precommit,
            Some(*block_hash),
        );
        let mut seen = std::collections::HashSet::with_capacity(self.sigs.len());
        let mut weight: u64 = 0;
        let mut members = Vec::with_capacity(self.sigs.len());
        for s in &self.sigs {
            let i = set
                .index_of(&s.voter)
                .ok_or(ConsensusMsgError::NotAValidator(s.voter))?;
            if !seen.insert(s.voter) {
                return Err(ConsensusMsgError::DuplicateSigner(s.voter));
            }
            weight = weight.saturating_add(set.validators[i].weight);
            members.push(i);
        }
        if !set.is_quorum(weight) {
            return Err(ConsensusMsgError::NoQuorum {
                have: weight,
                total: set.total_weight(),
            });
        }
        let unknown: Vec<(&CommitSig, usize)> = self
            .sigs
            .iter()
            .zip(members)
            .filter(|(s, _)| !known.is_some_and(|k| k.contains(&msg, &s.voter, &s.signature)))
            .collect();
        if unknown.is_empty() {
            return Ok(msg);
        }
        let keys = set.verifying_keys();
        let items: Vec<(&[u8], &Signature, &VerifyingKey)> = unknown
            .iter()
            .map(|(s, i)| (&msg.0[..], &s.signature, &keys[*i]))
            .collect();
        let verdicts = verify_batch_with_keys(&items);
        if let Some(i) = verdicts.iter().position(|ok| !ok) {
            return Err(ConsensusMsgError::BadSignature(unknown[i].0.voter));
        }
        Ok(msg)
    }
}

impl Evidence {
    /// Hash of the encoding under [`Domain::Evidence`]; the canonical order gives one id per pair.
    pub fn id(&self) -> Hash {
        Hash::of(Domain::Evidence, &self.to_bytes())
    }

    /// The equivocating masternode's node key (the voter of both votes).
    pub fn offender(&self) -> PublicKey {
        self.a.voter
    }

    /// Checks that both votes are validly signed by one voter for one height/round/step and
    /// differ, with `a` sorted before `b` so one equivocation has one encoding.
    pub fn verify(&self, chain_id: &Hash) -> Result<(), ConsensusMsgError> {
        let (a, b) = (&self.a, &self.b);
        let same_slot = a.voter == b.voter
            && a.height == b.height
            && a.round == b.round
            && a.kind == b.kind
            && a.chain_id == *chain_id
            && b.chain_id == *chain_id;
        if !same_slot || a.block >= b.block {
            return Err(ConsensusMsgError::NotConflicting);
        }
        a.verify()?;
        b.verify()
    }

    /// Builds evidence from two conflicting votes in canonical order.
    pub fn from_pair(x: Vote, y: Vote) -> Evidence {
        if x.block <= y.block {
            Evidence { a: x, b: y }
        } else {
            Evidence { a: y, b: x }
        }
    }
}

impl ValidatorSet {
    /// A set from (key, weight) pairs; zero weights are dropped, keys sorted, duplicates merged
    /// by keeping the first.
    pub fn new(mut validators: Vec<Validator>) -> ValidatorSet {
        validators.retain(|v| v.weight > 0);
        validators.sort_by_key(|v| v.key);
        validators.dedup_by(|a, b| a.key == b.key);
        let total = validators
            .iter()
            .map(|v| v.weight)
            .fold(0u64, u64::saturating_add);
        ValidatorSet {
            validators,
            total,
            verifying: OnceLock::new(),
        }
    }

    /// The members' keys decoded, in the order of [`ValidatorSet::validators`] (decoded at the
    /// first call).
    fn verifying_keys(&self) -> &[VerifyingKey] {
        self.verifying.get_or_init(|| {
            self.validators
                .iter()
                .map(|v| VerifyingKey::new(&v.key))
                .collect()
        })
    }

    /// Takes the decoded keys of the members this set shares with `earlier` (decoding the
    /// others), so that the set of the next height decodes only its new members. Nothing
    /// happens when this set's keys are decoded already or `earlier`'s are not.
    pub fn reuse_keys(&self, earlier: &ValidatorSet) {
        let Some(theirs) = earlier.verifying.get() else {
            return;
        };
        if self.verifying.get().is_some() {
            return;
        }
        let keys = self
            .validators
            .iter()
            .map(|v| {
                earlier
                    .index_of(&v.key)
                    .map_or_else(|| VerifyingKey::new(&v.key), |i| theirs[i])
            })
            .collect();
        // Unset just above, and the set is not shared while it is built: this cannot fail, and
        // if it did, the keys already there are the same keys.
        let _ = self.verifying.set(keys);
    }

    /// The decoded key of member `key`, `None` when not a member.
    pub fn verifying_key(&self, key: &PublicKey) -> Option<&VerifyingKey> {
        let i = self.index_of(key)?;
        self.verifying_keys().get(i)
    }

    /// Validators sorted by key.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// Number of validators (after zero weights and duplicate keys were dropped).
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// Sum of weights, saturating at `u64::MAX`.
    pub fn total_weight(&self) -> u64 {
        self.total
    }

    /// Position of a key in [`ValidatorSet::validators`], `None` when not a member.
    pub fn index_of(&self, key: &PublicKey) -> Option<usize> {
        self.validators.binary_search_by(|v| v.key.cmp(key)).ok()
    }

    /// Weight of a key, `None` when not a member.
    pub fn weight_of(&self, key: &PublicKey) -> Option<u64> {
        self.index_of(key).map(|i| self.validators[i].weight)
    }

    /// Strictly more than 2/3 of the total weight.
    pub fn is_quorum(&self, weight: u64) -> bool {
        (weight as u128) * 3 > (self.total as u128) * 2
    }

    /// Strictly more than 1/3 of the total weight (f+1: at least one honest).
    pub fn is_one_third(&self, weight: u64) -> bool {
        (weight as u128) * 3 > self.total as u128
    }

    /// Commitment to the set, stored in each header's `validator_set_hash`.
    pub fn hash(&self) -> Hash {
        let mut buf = Vec::with_capacity(self.validators.len() * 40);
        for v in &self.validators {
            v.key.encode_to(&mut buf);
            put::u64(&mut buf, v.weight);
        }
        Hash::of(Domain::ValidatorSet, &buf)
    }
}

impl PartialEq for ValidatorSet {
    fn eq(&self, other: &ValidatorSet) -> bool {
        self.validators == other.validators && self.total == other.total
    }
}
impl Eq for ValidatorSet {}

impl std::fmt::Debug for ValidatorSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorSet")
            .field("validators", &self.validators)
            .field("total", &self.total)
            .finish()
    }
}

impl Encode for VoteKind {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
    }
}
impl Decode for VoteKind {
    const MIN_LEN: usize = 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            1 => Ok(VoteKind::Prevote),
            2 => Ok(VoteKind::Precommit),
            tag => Err(DecodeError::InvalidTag {
                what: "vote kind",
                tag,
            }),
        }
    }
}

impl Encode for Vote {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.chain_id.encode_to(out);
        put::u64(out, self.height);
        put::u32(out, self.round);
        self.kind.encode_to(out);
        put::option(out, &self.block);
        self.voter.encode_to(out);
        self.signature.encode_to(out);
    }
}
impl Decode for Vote {
    const MIN_LEN: usize = 32 + 8 + 4 + 1 + 1 + 32 + 64;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Vote {
            chain_id: Hash::decode_from(r)?,
            height: r.u64()?,
            round: r.u32()?,
            kind: VoteKind::decode_from(r)?,
            block: r.option("vote block")?,
            voter: PublicKey::decode_from(r)?,
            signature: Signature::decode_from(r)?,
        })
    }
}

impl Encode for Proposal {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.chain_id.encode_to(out);
        put::u64(out, self.height);
        put::u32(out, self.round);
        put::option(out, &self.pol_round);
        self.block_hash.encode_to(out);
        self.proposer.encode_to(out);
        self.signature.encode_to(out);
    }
}
impl Decode for Proposal {
    const MIN_LEN: usize = 32 + 8 + 4 + 1 + 32 + 32 + 64;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Proposal {
            chain_id: Hash::decode_from(r)?,
            height: r.u64()?,
            round: r.u32()?,
            pol_round: r.option("pol round")?,
            block_hash: Hash::decode_from(r)?,
            proposer: PublicKey::decode_from(r)?,
            signature: Signature::decode_from(r)?,
        })
    }
}

impl Encode for CommitSig {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.voter.encode_to(out);
        self.signature.encode_to(out);
    }
}
impl Decode for CommitSig {
    const MIN_LEN: usize = 96;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(CommitSig {
            voter: PublicKey::decode_from(r)?,
            signature: Signature::decode_from(r)?,
        })
    }
}

impl Encode for CommitCertificate {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put::u64(out, self.height);
        put::u32(out, self.round);
        self.block_hash.encode_to(out);
        put::vec(out, &self.sigs);
    }
}
impl Decode for CommitCertificate {
    const MIN_LEN: usize = 8 + 4 + 32 + 4;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(CommitCertificate {
            height: r.u64()?,
            round: r.u32()?,
            block_hash: Hash::decode_from(r)?,
            sigs: r.vec("certificate signatures", MAX_VALIDATORS)?,
        })
    }
}

impl Encode for Evidence {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.a.encode_to(out);
        self.b.encode_to(out);
    }
}
impl Decode for Evidence {
    const MIN_LEN: usize = 2 * Vote::MIN_LEN;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Evidence {
            a: Vote::decode_from(r)?,
            b: Vote::decode_from(r)?,
        })
    }
}

impl Encode for ValidatorSet {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put::len(out, self.validators.len());
        for v in &self.validators {
            v.key.encode_to(out);
            put::u64(out, v.weight);
        }
    }
}

impl Decode for ValidatorSet {
    const MIN_LEN: usize = 4;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.len_prefix("validator set", MAX_VALIDATORS, 40)?;
        let mut vs = Vec::with_capacity(n);
        for _ in 0..n {
            let key = PublicKey::decode_from(r)?;
            let weight = r.u64()?;
            vs.push(Validator { key, weight });
        }
        // The encoding lists the keys in ascending order; any other order would decode to the
        // same set and re-encode differently.
        if vs.windows(2).any(|w| w[0].key >= w[1].key) {
            return Err(DecodeError::InvalidValue(
                "validator set (keys not strictly ascending)",
            ));
        }
        let set = ValidatorSet::new(vs);
        if set.len() != n {
            return Err(DecodeError::InvalidValue("validator set (zero weight)"));
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by `fuzz/fuzz_targets/certificate.rs`: three validators out of key order decoded to
    /// the sorted set, whose encoding differs from the input (SPEC 4: `encode(decode(b)) == b`).
    #[test]
    fn fuzz_unsorted_validator_set_is_refused() {
        let crash = "03000000000000000100000000ffff0000002cde240000a8000000ffffffdede00000000\
                     240000000000002c002f0000000000000000010000010000090100e3000000ffffffdede\
                     0000000000002cde240000000000000000000000000000000000000000000100000000\
                     0000800000000000001100200000000000";
        let bytes = hex::decode(crash).expect("hex");
        assert_eq!(
            ValidatorSet::from_bytes(&bytes),
            Err(DecodeError::InvalidValue(
                "validator set (keys not strictly ascending)"
            ))
        );
        // The same validators in ascending order are the canonical encoding.
        let set = ValidatorSet::new(vec![
            Validator {
                key: PublicKey([2; 32]),
                weight: 5,
            },
            Validator {
                key: PublicKey([1; 32]),
                weight: 7,
            },
        ]);
        let b = set.to_bytes();
        assert_eq!(ValidatorSet::from_bytes(&b).as_ref(), Ok(&set));
        assert_eq!(ValidatorSet::from_bytes(&b).map(|s| s.to_bytes()), Ok(b));
    }

    /// A set of `keys`, weight 1 each.
    fn equal_weights(keys: &[&SecretKey]) -> ValidatorSet {
        ValidatorSet::new(
            keys.iter()
                .map(|k| Validator {
                    key: k.public(),
                    weight: 1,
                })
                .collect(),
        )
    }

    /// Four validators, a certificate for `block` at height 5 by the first three (a quorum),
    /// and the validators' secret keys.
    fn signed_certificate(block: Hash) -> (ValidatorSet, CommitCertificate, Vec<SecretKey>) {
        let keys: Vec<SecretKey> = (1..=4u8).map(|i| SecretKey::from_seed(&[i; 32])).collect();
        let set = equal_weights(&keys.iter().collect::<Vec<_>>());
        let sigs = keys[..3]
            .iter()
            .map(|k| {
                let v =
                    Vote::new_signed(Hash::default(), 5, 0, VoteKind::Precommit, Some(block), k);
                CommitSig {
                    voter: v.voter,
                    signature: v.signature,
                }
            })
            .collect();
        let cert = CommitCertificate {
            height: 5,
            round: 0,
            block_hash: block,
            sigs,
        };
        (set, cert, keys)
    }

    #[test]
    fn known_signatures_are_skipped_and_nothing_else() {
        let block = Hash::of(Domain::Vote, b"block");
        let chain = Hash::default();
        let (set, cert, keys) = signed_certificate(block);
        let mut known = SigCache::new(64);
        assert_eq!(
            cert.verify_remembered(&chain, 5, &block, &set, &mut known),
            Ok(())
        );
        assert_eq!(known.len(), 3);
        assert_eq!(cert.verify_known(&chain, 5, &block, &set, &known), Ok(()));

        // A forged signature is caught though its signer's real precommit is known.
        let mut forged = cert.clone();
        forged.sigs[1].signature.0[7] ^= 1;
        assert_eq!(
            forged.verify_known(&chain, 5, &block, &set, &known),
            Err(ConsensusMsgError::BadSignature(forged.sigs[1].voter))
        );
        // Known signatures of another round or block do not stand for this one's.
        let mut other_round = cert.clone();
        other_round.round = 1;
        assert_eq!(
            other_round.verify_known(&chain, 5, &block, &set, &known),
            Err(ConsensusMsgError::BadSignature(cert.sigs[0].voter))
        );
        // Membership and quorum are checked whatever is known.
        let mut short = cert.clone();
        short.sigs.truncate(2);
        assert!(matches!(
            short.verify_known(&chain, 5, &block, &set, &known),
            Err(ConsensusMsgError::NoQuorum { .. })
        ));
        let stranger = SecretKey::from_seed(&[9; 32]);
        let mut foreign = cert.clone();
        foreign.sigs[0].voter = stranger.public();
        assert_eq!(
            foreign.verify_known(&chain, 5, &block, &set, &known),
            Err(ConsensusMsgError::NotAValidator(stranger.public()))
        );
        // A vote verified as a member's is what makes its precommit known.
        let mut votes = SigCache::new(64);
        let v = Vote::new_signed(chain, 5, 0, VoteKind::Precommit, Some(block), &keys[3]);
        assert_eq!(v.verify_member(&set, &mut votes), Ok(()));
        assert!(votes.contains(&v.signing_bytes(), &v.voter, &v.signature));
        let outsider = Vote::new_signed(chain, 5, 0, VoteKind::Precommit, Some(block), &stranger);
        assert_eq!(
            outsider.verify_member(&set, &mut votes),
            Err(ConsensusMsgError::NotAValidator(stranger.public()))
        );
        assert_eq!(votes.len(), 1);
    }

    #[test]
    fn decoded_keys_leave_equality_alone() {
        let block = Hash::of(Domain::Vote, b"block");
        let (set, cert, _) = signed_certificate(block);
        let fresh = ValidatorSet::from_bytes(&set.to_bytes()).expect("canonical encoding");
        assert_eq!(cert.verify(&Hash::default(), 5, &block, &set), Ok(()));
        assert!(set.verifying.get().is_some() && fresh.verifying.get().is_none());
        assert_eq!(set, fresh);
        assert_eq!(format!("{set:?}"), format!("{fresh:?}"));
    }

    #[test]
    fn a_set_takes_the_keys_an_earlier_set_decoded_and_decodes_its_new_members() {
        let block = Hash::of(Domain::Vote, b"block");
        let (earlier, cert, keys) = signed_certificate(block);
        let newcomer = SecretKey::from_seed(&[7; 32]);
        let next = equal_weights(&[&keys[0], &keys[1], &keys[2], &newcomer]);
        next.reuse_keys(&earlier);
        assert!(next.verifying.get().is_none(), "nothing decoded to take");
        assert_eq!(cert.verify(&Hash::default(), 5, &block, &earlier), Ok(()));
        next.reuse_keys(&earlier);
        let decoded = next.verifying_keys();
        assert_eq!(decoded.len(), 4);
        for (v, k) in next.validators().iter().zip(decoded) {
            assert_eq!(k.key(), &v.key);
        }
        // The newcomer's key was decoded, the others' taken: all of them verify as before.
        let v = Vote::new_signed(Hash::default(), 6, 0, VoteKind::Prevote, None, &newcomer);
        assert_eq!(v.verify_member(&next, &mut SigCache::new(8)), Ok(()));
        let v = Vote::new_signed(Hash::default(), 6, 0, VoteKind::Prevote, None, &keys[1]);
        assert_eq!(v.verify_member(&next, &mut SigCache::new(8)), Ok(()));
    }
}
