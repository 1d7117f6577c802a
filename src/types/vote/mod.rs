//! Signed consensus messages: votes, proposals, commit certificates, equivocation evidence, and
//! the weighted validator set that checks them.
//!
//! This file holds the vote (its kind, signing bytes, checks and encoding) and the error every
//! check of a consensus message returns; each other message has a file of its own: `proposal`,
//! `certificate`, `evidence` and `validator_set`.

mod certificate;
mod evidence;
mod proposal;
mod validator_set;

pub use certificate::{CommitCertificate, CommitSig};
pub use evidence::Evidence;
pub use proposal::Proposal;
pub use validator_set::{Validator, ValidatorSet, MAX_VALIDATORS};

use super::encoding::{put, Decode, DecodeError, Encode, Reader};
use super::hash::{Domain, Hash};
use super::keys::{PublicKey, SecretKey, Signature};
use super::sig_cache::SigCache;
use thiserror::Error;

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

#[cfg(test)]
mod tests;
