//! The signed proposal of a block: its signing bytes, signature checks and encoding.

use super::{verify_through, ConsensusMsgError};
use crate::types::encoding::{put, Decode, DecodeError, Encode, Reader};
use crate::types::hash::{Domain, Hash};
use crate::types::keys::{PublicKey, SecretKey, Signature};
use crate::types::sig_cache::SigCache;

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
