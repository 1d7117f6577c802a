//! The commit certificate, proof that a block is final: its checks against a validator set and
//! its encoding.

use super::{vote_signing_bytes, ConsensusMsgError, ValidatorSet, VoteKind, MAX_VALIDATORS};
use crate::types::encoding::{put, Decode, DecodeError, Encode, Reader};
use crate::types::hash::{Domain, Hash};
use crate::types::keys::{verify_batch_with_keys, PublicKey, Signature, VerifyingKey};
use crate::types::sig_cache::SigCache;

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
            weight = weight.saturating_add(set.validators()[i].weight);
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
