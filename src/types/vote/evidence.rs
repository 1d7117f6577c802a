//! Equivocation evidence, two conflicting votes by one masternode: its checks and encoding.

use super::{ConsensusMsgError, Vote};
use crate::types::encoding::{Decode, DecodeError, Encode, Reader};
use crate::types::hash::{Domain, Hash};
use crate::types::keys::PublicKey;

/// Two different signed votes by one masternode for one height, round and step.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Evidence {
    /// First vote; its `block` sorts before `b`'s, so one pair has one encoding.
    pub a: Vote,
    /// Second, conflicting vote.
    pub b: Vote,
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
