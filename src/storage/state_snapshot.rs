//! The chain state (UTXO set, masternodes, tip, supply) as a snapshot in the chain tree.
//!
//! A block's commit writes the block, its certificate, the block and transaction indexes and the
//! tip: a handful of keys plus one per transaction, instead of one per spent and created output
//! (sled costs about 6 us per key, and UTXO keys were three quarters of a block's keys). The
//! state at open is the last snapshot plus a replay of the blocks after it. The node writes a
//! new snapshot when enough has changed since the last one (which bounds that replay), at a clean
//! shutdown and after a reindex; a snapshot and its chunks are written in one atomic batch.

use super::keys::{self, Table, META_SNAPSHOT};
use crate::ledger::{LedgerState, MasternodeEntry, Utxo};
use crate::types::encoding::{put, Decode, DecodeError, Encode, Reader};
use crate::types::{Amount, Hash, OutPoint, ValidatorSet};
use std::collections::HashMap;

/// UTXOs per chunk: about 75 KB, under the size at which sled moves a value to its own file.
const CHUNK_UTXOS: usize = 1_000;
/// Encoded size of one chunk entry (outpoint 36, output 29, height 8, coinbase flag 1).
const ENTRY_LEN: usize = 36 + 29 + 8 + 1;
/// Most masternodes a snapshot may list when decoded.
const MAX_MASTERNODES: usize = 1_000_000;

/// What a snapshot holds besides the UTXO chunks.
#[derive(Debug)]
pub(super) struct SnapshotHeader {
    /// Height of the state.
    pub height: u64,
    /// Hash of the block at that height.
    pub tip_hash: Hash,
    /// Time of that block.
    pub tip_time_ms: u64,
    /// Supply at that height.
    pub supply: Amount,
    /// The validator set that finalized that block.
    pub tip_validators: ValidatorSet,
    /// Registered masternodes.
    pub masternodes: Vec<MasternodeEntry>,
    /// Number of UTXOs across all chunks.
    pub utxo_count: u64,
    /// Number of chunks.
    pub chunks: u32,
}

impl Encode for SnapshotHeader {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put::u64(out, self.height);
        self.tip_hash.encode_to(out);
        put::u64(out, self.tip_time_ms);
        self.supply.encode_to(out);
        self.tip_validators.encode_to(out);
        put::vec(out, &self.masternodes);
        put::u64(out, self.utxo_count);
        put::u32(out, self.chunks);
    }
}

impl Decode for SnapshotHeader {
    const MIN_LEN: usize = 8 + 32 + 8 + 8 + 4 + 4 + 8 + 4;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SnapshotHeader {
            height: r.u64()?,
            tip_hash: Hash::decode_from(r)?,
            tip_time_ms: r.u64()?,
            supply: Amount::decode_from(r)?,
            tip_validators: ValidatorSet::decode_from(r)?,
            masternodes: r.vec("masternodes", MAX_MASTERNODES)?,
            utxo_count: r.u64()?,
            chunks: r.u32()?,
        })
    }
}

/// The sled key of snapshot chunk `i`.
pub(super) fn chunk_key(i: u32) -> Vec<u8> {
    keys::key(Table::Snapshot, &i.to_be_bytes())
}

/// Adds a snapshot of `state` to `batch`, and removes the chunks of the previous snapshot
/// (`old_chunks` of them) that the new one does not overwrite.
pub(super) fn write(batch: &mut sled::Batch, state: &LedgerState, old_chunks: u32) {
    let mut chunks = 0u32;
    let mut buf = Vec::with_capacity(4 + CHUNK_UTXOS * ENTRY_LEN);
    let mut n = 0usize;
    let mut flush = |buf: &mut Vec<u8>, n: &mut usize, chunks: &mut u32| {
        let mut value = Vec::with_capacity(4 + buf.len());
        put::len(&mut value, *n);
        value.extend_from_slice(buf);
        batch.insert(chunk_key(*chunks), value);
        *chunks += 1;
        buf.clear();
        *n = 0;
    };
    for (o, u) in state.utxos() {
        o.encode_to(&mut buf);
        u.encode_to(&mut buf);
        n += 1;
        if n == CHUNK_UTXOS {
            flush(&mut buf, &mut n, &mut chunks);
        }
    }
    if n > 0 {
        flush(&mut buf, &mut n, &mut chunks);
    }
    for stale in chunks..old_chunks {
        batch.remove(chunk_key(stale));
    }
    let header = SnapshotHeader {
        height: state.height,
        tip_hash: state.tip_hash,
        tip_time_ms: state.tip_time_ms,
        supply: state.supply,
        tip_validators: state.tip_validators.clone(),
        masternodes: state.masternodes().cloned().collect(),
        utxo_count: state.utxo_count() as u64,
        chunks,
    };
    batch.insert(keys::key(Table::Meta, META_SNAPSHOT), header.to_bytes());
}

/// Adds the UTXOs of one encoded chunk to `out`.
pub(super) fn decode_chunk(
    bytes: &[u8],
    out: &mut HashMap<OutPoint, Utxo>,
) -> Result<(), DecodeError> {
    let mut r = Reader::new(bytes);
    let n = r.len_prefix("snapshot chunk", CHUNK_UTXOS, ENTRY_LEN)?;
    for _ in 0..n {
        let o = OutPoint::decode_from(&mut r)?;
        let u = Utxo::decode_from(&mut r)?;
        out.insert(o, u);
    }
    r.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::testkit::TestChain;

    #[test]
    fn entry_len_matches_the_encoding() {
        let chain = TestChain::devnet(4);
        let (o, u) = chain.state.utxos().next().map(|(o, u)| (*o, *u)).unwrap();
        assert_eq!(o.to_bytes().len() + u.to_bytes().len(), ENTRY_LEN);
    }

    #[test]
    fn header_round_trips() {
        let chain = TestChain::devnet(4);
        let s = &chain.state;
        let h = SnapshotHeader {
            height: 7,
            tip_hash: s.tip_hash,
            tip_time_ms: 9,
            supply: s.supply,
            tip_validators: s.next_validator_set(),
            masternodes: s.masternodes().cloned().collect(),
            utxo_count: 3,
            chunks: 1,
        };
        let back = SnapshotHeader::from_bytes(&h.to_bytes()).unwrap();
        assert_eq!(back.to_bytes(), h.to_bytes());
        assert_eq!(back.masternodes.len(), 4);
    }

    #[test]
    fn a_chunk_declaring_more_entries_than_it_holds_is_refused() {
        let mut v = Vec::new();
        put::len(&mut v, 5);
        v.extend_from_slice(&[0u8; ENTRY_LEN]);
        assert!(decode_chunk(&v, &mut HashMap::new()).is_err());
    }
}
