//! The chain state (UTXO set, masternodes, tip, supply) as a snapshot in the chain tree.
//!
//! A block's commit writes the block, its certificate, the block and transaction indexes and the
//! tip: a handful of keys plus one per transaction, instead of one per spent and created output
//! (sled costs about 6 us per key, and UTXO keys were three quarters of a block's keys). The
//! state at open is the last snapshot plus a replay of the blocks after it. The node writes a
//! new snapshot when enough has changed since the last one (which bounds that replay), at a clean
//! shutdown and after a reindex; a snapshot and its chunks are written in one atomic batch.

use super::keys::{self, Table, META_SNAPSHOT};
use super::kv;
use crate::ledger::{LedgerState, MasternodeEntry, Utxo};
use crate::types::encoding::{put, Decode, DecodeError, Encode, Reader};
use crate::types::id_map::IdMap;
use crate::types::{Amount, Hash, OutPoint, ValidatorSet};

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

/// A state snapshot encoded as the chain tree's values, ready for a batch: built from the state
/// at its height (by the driver, which goes on changing the state) and written later by the
/// storage writer. It holds the UTXO set once, as its encoded chunks (74 bytes a UTXO), where a
/// clone of the state held it in two hash tables (the UTXO map and the address index) and the
/// batch then held the encoding as well.
pub struct EncodedSnapshot {
    /// Chunk `i` of the UTXO set, at [`chunk_key`]`(i)`.
    chunks: Vec<kv::IVec>,
    /// The encoded [`SnapshotHeader`].
    header: kv::IVec,
}

impl EncodedSnapshot {
    /// Encodes `state`: its UTXOs in iteration order, [`CHUNK_UTXOS`] a chunk.
    pub fn of(state: &LedgerState) -> EncodedSnapshot {
        let count = state.utxo_count();
        let mut chunks = Vec::with_capacity(count.div_ceil(CHUNK_UTXOS));
        let mut buf = Vec::with_capacity(4 + CHUNK_UTXOS * ENTRY_LEN);
        let mut utxos = state.utxos();
        let mut left = count;
        while left > 0 {
            let n = left.min(CHUNK_UTXOS);
            buf.clear();
            put::len(&mut buf, n);
            for (o, u) in utxos.by_ref().take(n) {
                o.encode_to(&mut buf);
                u.encode_to(&mut buf);
            }
            chunks.push(kv::IVec::from(buf.as_slice()));
            left -= n;
        }
        let header = SnapshotHeader {
            height: state.height,
            tip_hash: state.tip_hash,
            tip_time_ms: state.tip_time_ms,
            supply: state.supply,
            tip_validators: state.tip_validators.clone(),
            masternodes: state.masternodes().cloned().collect(),
            utxo_count: count as u64,
            chunks: chunks.len() as u32,
        };
        EncodedSnapshot {
            chunks,
            header: header.to_bytes().into(),
        }
    }
}

/// Adds `snapshot` to `batch`, and removes the chunks of the previous snapshot (`old_chunks` of
/// them) that the new one does not overwrite.
pub(super) fn write(batch: &mut kv::Batch, snapshot: EncodedSnapshot, old_chunks: u32) {
    let chunks = snapshot.chunks.len() as u32;
    for (i, chunk) in (0..chunks).zip(snapshot.chunks) {
        batch.insert(chunk_key(i), chunk);
    }
    for stale in chunks..old_chunks {
        batch.remove(chunk_key(stale));
    }
    batch.insert(keys::key(Table::Meta, META_SNAPSHOT), snapshot.header);
}

/// Adds the UTXOs of one encoded chunk to `out`.
pub(super) fn decode_chunk(
    bytes: &[u8],
    out: &mut IdMap<OutPoint, Utxo>,
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
    fn the_encoding_is_the_utxo_set_in_chunks_of_chunk_utxos_then_the_header() {
        let mut state = TestChain::devnet(4).state;
        let (_, u) = state.utxos().next().map(|(o, u)| (*o, *u)).unwrap();
        let created = (0..2_500u32)
            .map(|index| {
                let o = OutPoint {
                    txid: Hash([7; 32]),
                    index,
                };
                (o, u)
            })
            .collect();
        let fx = crate::ledger::BlockEffects {
            height: state.height,
            block_hash: state.tip_hash,
            created,
            validators: state.tip_validators.clone(),
            ..Default::default()
        };
        state.apply(&fx, state.tip_time_ms);
        let count = state.utxo_count();
        assert!(
            count > 2 * CHUNK_UTXOS,
            "three chunks, the last one partial"
        );
        let snap = EncodedSnapshot::of(&state);
        // Chunk i: a length, then its UTXOs in the state's iteration order.
        let entries: Vec<Vec<u8>> = state
            .utxos()
            .map(|(o, u)| [o.to_bytes(), u.to_bytes()].concat())
            .collect();
        let expected: Vec<Vec<u8>> = entries
            .chunks(CHUNK_UTXOS)
            .map(|c| {
                let mut v = Vec::new();
                put::len(&mut v, c.len());
                v.extend(c.concat());
                v
            })
            .collect();
        let got: Vec<&[u8]> = snap.chunks.iter().map(|c| &c[..]).collect();
        assert_eq!(got, expected.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let header = SnapshotHeader::from_bytes(&snap.header).unwrap();
        assert_eq!(header.chunks, 3);
        assert_eq!(header.utxo_count, count as u64);
        assert_eq!(header.height, state.height);
        assert_eq!(header.masternodes.len(), 4);
        let mut back = IdMap::default();
        for c in &snap.chunks {
            decode_chunk(c, &mut back).unwrap();
        }
        assert_eq!(back.len(), count);
        assert!(state.utxos().all(|(o, u)| back.get(o) == Some(u)));
    }

    #[test]
    fn a_chunk_declaring_more_entries_than_it_holds_is_refused() {
        let mut v = Vec::new();
        put::len(&mut v, 5);
        v.extend_from_slice(&[0u8; ENTRY_LEN]);
        assert!(decode_chunk(&v, &mut IdMap::default()).is_err());
    }
}
