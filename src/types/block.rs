//! Blocks: header, transactions, evidence, merkle root.

use super::encoding::{put, Decode, DecodeError, Encode, Reader};
use super::hash::{Domain, Hash};
use super::keys::PublicKey;
use super::tx::Transaction;
use super::vote::{CommitCertificate, Evidence};

/// Largest encoded block, in bytes (2 MiB), header and certificate included.
pub const MAX_BLOCK_SIZE: usize = 2 * 1024 * 1024;
/// Most transactions one block may hold (bounded by the size limit anyway).
pub const MAX_BLOCK_TXS: usize = MAX_BLOCK_SIZE / 60;
/// Most evidence items in one block.
pub const MAX_BLOCK_EVIDENCE: usize = 100;
/// Version written into every header this node builds.
pub const BLOCK_VERSION: u16 = 1;

/// A block header; its hash is the block id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    /// Format version: [`BLOCK_VERSION`]; a header of any other version fails to decode.
    pub version: u16,
    /// Height (genesis is 0).
    pub height: u64,
    /// Hash of the previous block header ([`Hash::ZERO`] for genesis).
    pub prev_hash: Hash,
    /// Proposer's wall clock, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Merkle root over the transaction ids, then the evidence ids.
    pub merkle_root: Hash,
    /// The proposer's node key.
    pub proposer: PublicKey,
    /// Hash of the validator set that finalizes this block.
    pub validator_set_hash: Hash,
    /// Hash of `Block::last_commit`, the commit certificate of the previous block.
    pub last_commit_hash: Hash,
}

/// A block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Header; its hash is the block id.
    pub header: BlockHeader,
    /// Transactions; the first is the coinbase (except at genesis).
    pub txs: Vec<Transaction>,
    /// Equivocation evidence; each item bans its offender when the block is applied.
    pub evidence: Vec<Evidence>,
    /// The commit certificate of the previous block (empty at heights 0 and 1); its hash is the
    /// header's `last_commit_hash`, so every certificate becomes part of the chain.
    pub last_commit: CommitCertificate,
}

impl BlockHeader {
    /// The block id: the hash of the encoded header under [`Domain::BlockHeader`].
    pub fn hash(&self) -> Hash {
        Hash::of(Domain::BlockHeader, &self.to_bytes())
    }
}

impl Block {
    /// The block id (the header's hash; the body is bound by `merkle_root`).
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// The merkle root this block's body commits to.
    pub fn compute_merkle_root(&self) -> Hash {
        let txids: Vec<Hash> = self.txs.iter().map(Transaction::txid).collect();
        self.merkle_root_with(&txids)
    }

    /// The merkle root for this block's transaction ids `txids` (in order), already computed:
    /// the transactions, then the evidence.
    pub fn merkle_root_with(&self, txids: &[Hash]) -> Hash {
        let leaves: Vec<Hash> = txids
            .iter()
            .copied()
            .chain(self.evidence.iter().map(Evidence::id))
            .collect();
        merkle_root(&leaves)
    }
}

/// Merkle root of ids: leaves and inner nodes are hashed in separate domains and an odd node is
/// carried up unchanged (no duplication, so no CVE-2012-2459 style ambiguity).
pub fn merkle_root(ids: &[Hash]) -> Hash {
    if ids.is_empty() {
        return Hash::of(Domain::MerkleLeaf, &[]);
    }
    let mut level: Vec<Hash> = ids
        .iter()
        .map(|h| Hash::of(Domain::MerkleLeaf, &h.0))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|c| match c {
                [a, b] => {
                    let mut h = Hash::hasher(Domain::MerkleNode);
                    h.update(&a.0).update(&b.0);
                    h.finalize()
                }
                [a] => *a,
                _ => unreachable!("chunks(2) yields one or two items"),
            })
            .collect();
    }
    level[0]
}

impl Encode for BlockHeader {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put::u16(out, self.version);
        put::u64(out, self.height);
        self.prev_hash.encode_to(out);
        put::u64(out, self.time_ms);
        self.merkle_root.encode_to(out);
        self.proposer.encode_to(out);
        self.validator_set_hash.encode_to(out);
        self.last_commit_hash.encode_to(out);
    }
}

impl Decode for BlockHeader {
    const MIN_LEN: usize = 2 + 8 + 32 + 8 + 32 + 32 + 32 + 32;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u16()?;
        if version != BLOCK_VERSION {
            return Err(DecodeError::InvalidValue("block version"));
        }
        Ok(BlockHeader {
            version,
            height: r.u64()?,
            prev_hash: Hash::decode_from(r)?,
            time_ms: r.u64()?,
            merkle_root: Hash::decode_from(r)?,
            proposer: PublicKey::decode_from(r)?,
            validator_set_hash: Hash::decode_from(r)?,
            last_commit_hash: Hash::decode_from(r)?,
        })
    }
}

impl Encode for Block {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        put::vec(out, &self.txs);
        put::vec(out, &self.evidence);
        self.last_commit.encode_to(out);
    }
}

impl Decode for Block {
    const MIN_LEN: usize = BlockHeader::MIN_LEN + 8 + CommitCertificate::MIN_LEN;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Block {
            header: BlockHeader::decode_from(r)?,
            txs: r.vec("block transactions", MAX_BLOCK_TXS)?,
            evidence: r.vec("block evidence", MAX_BLOCK_EVIDENCE)?,
            last_commit: CommitCertificate::decode_from(r)?,
        })
    }
}
