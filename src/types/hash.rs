//! BLAKE3-256 hashes with one domain per object kind.

use super::encoding::{Decode, DecodeError, Encode, Reader};
use std::fmt;
use std::sync::OnceLock;

/// A 32-byte BLAKE3 hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

/// The object kind a hash commits to; each has its own BLAKE3 key-derivation context, so a hash
/// of one kind can never be mistaken for a hash of another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Domain {
    /// Transaction id (the full encoding, signatures included).
    Tx = 0,
    /// The message every input signs: chain id + transaction without signatures.
    SigHash,
    /// Block header hash (the block id).
    BlockHeader,
    /// Prevote/precommit signing message.
    Vote,
    /// Proposal signing message: [`crate::types::Proposal::signing_bytes`].
    Proposal,
    /// Merkle tree leaf: one transaction or evidence id.
    MerkleLeaf,
    /// Merkle tree inner node.
    MerkleNode,
    /// Address payload: hash of a public key.
    Address,
    /// Validator set commitment, stored in each header's `validator_set_hash`.
    ValidatorSet,
    /// Commit certificate commitment, stored in the next header's `last_commit_hash`.
    Commit,
    /// Evidence id: the hash of both conflicting votes.
    Evidence,
    /// Chain id (hash of the genesis description).
    ChainId,
    /// UTXO set digest.
    UtxoSet,
    /// P2P handshake binding.
    Handshake,
}

const CONTEXTS: [&str; 14] = [
    "TimeCoin 2026 tx id",
    "TimeCoin 2026 tx sighash",
    "TimeCoin 2026 block header",
    "TimeCoin 2026 vote",
    "TimeCoin 2026 proposal",
    "TimeCoin 2026 merkle leaf",
    "TimeCoin 2026 merkle node",
    "TimeCoin 2026 address",
    "TimeCoin 2026 validator set",
    "TimeCoin 2026 commit",
    "TimeCoin 2026 evidence",
    "TimeCoin 2026 chain id",
    "TimeCoin 2026 utxo set",
    "TimeCoin 2026 p2p handshake",
];

fn base_hasher(domain: Domain) -> blake3::Hasher {
    static HASHERS: OnceLock<Vec<blake3::Hasher>> = OnceLock::new();
    let all = HASHERS.get_or_init(|| {
        CONTEXTS
            .iter()
            .map(|c| blake3::Hasher::new_derive_key(c))
            .collect()
    });
    all[domain as usize].clone()
}

impl Hash {
    /// The all-zero hash (used for "no previous block").
    pub const ZERO: Hash = Hash([0u8; 32]);

    /// Hashes `data` in `domain`.
    pub fn of(domain: Domain, data: &[u8]) -> Hash {
        let mut h = base_hasher(domain);
        h.update(data);
        Hash(*h.finalize().as_bytes())
    }

    /// An incremental hasher for `domain`.
    pub fn hasher(domain: Domain) -> Hasher {
        Hasher(base_hasher(domain))
    }

    /// 64 lowercase hex digits, the inverse of [`Hash::from_hex`].
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Hash> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Hash(out))
    }

    /// First 8 hex digits, for display.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

/// Incremental domain-separated hasher.
pub struct Hasher(blake3::Hasher);

impl Hasher {
    /// Adds bytes to the hashed message; chainable.
    pub fn update(&mut self, data: &[u8]) -> &mut Self {
        self.0.update(data);
        self
    }
    /// The hash of everything added so far; the hasher can keep going.
    pub fn finalize(&self) -> Hash {
        Hash(*self.0.finalize().as_bytes())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.short())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Encode for Hash {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for Hash {
    const MIN_LEN: usize = 32;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Hash(r.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_separate() {
        assert_ne!(
            Hash::of(Domain::Tx, b"x"),
            Hash::of(Domain::BlockHeader, b"x")
        );
        assert_eq!(Hash::of(Domain::Tx, b"x"), Hash::of(Domain::Tx, b"x"));
        let mut h = Hash::hasher(Domain::Tx);
        h.update(b"a").update(b"b");
        assert_eq!(h.finalize(), Hash::of(Domain::Tx, b"ab"));
    }

    #[test]
    fn hex_round_trip() {
        let h = Hash::of(Domain::Vote, b"v");
        assert_eq!(Hash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(Hash::from_hex("zz"), None);
    }
}
