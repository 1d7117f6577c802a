//! The commit path: finalized blocks, their certificates, indexes and the new tip written in
//! one atomic batch, then flushed.

use super::keys::{self, Table, META_SUPPLY, META_TIP, META_UTXO_COUNT};
use super::kv;
use super::{be64, state_snapshot, EncodedSnapshot, Storage, StorageError};
use crate::ledger::{BlockEffects, LedgerState};
use crate::types::{Amount, Block, CommitCertificate, Decode, Encode, Hash, ValidatorSet};
use std::time::Instant;

/// One finalized block and what its commit needs besides the block.
pub struct BlockCommit<'a> {
    /// The block.
    pub block: &'a Block,
    /// Its commit certificate.
    pub cert: &'a CommitCertificate,
    /// Its effects, as validated.
    pub fx: &'a BlockEffects,
    /// Total supply before the block.
    pub supply_before: Amount,
    /// UTXO count before the block.
    pub utxo_count_before: u64,
}

impl<'a> BlockCommit<'a> {
    /// The commit of `block`, validated against `state_before` (the state it applies to).
    pub fn on(
        block: &'a Block,
        cert: &'a CommitCertificate,
        fx: &'a BlockEffects,
        state_before: &LedgerState,
    ) -> BlockCommit<'a> {
        BlockCommit {
            block,
            cert,
            fx,
            supply_before: state_before.supply,
            utxo_count_before: state_before.utxo_count() as u64,
        }
    }
}

impl Storage {
    /// Persists a finalized block, its certificate and all its effects atomically, then flushes,
    /// and indexes its transactions. `state_before` is the state the block was validated
    /// against. Returns the flush time.
    pub fn commit_block(
        &self,
        block: &Block,
        cert: &CommitCertificate,
        fx: &BlockEffects,
        state_before: &LedgerState,
    ) -> Result<std::time::Duration, StorageError> {
        let flush = self.commit_blocks(&[BlockCommit::on(block, cert, fx, state_before)], None)?;
        self.index_txs(&[(fx.height, &fx.txids)])?;
        Ok(flush)
    }

    /// Persists consecutive finalized blocks (oldest first) and all their effects in one atomic
    /// batch, then flushes once: a writer that fell behind catches up with one flush instead of
    /// one per block. Either every block of the group is stored or none is. `snapshot`, the
    /// state after one of these blocks, goes into the same batch. Returns the flush time.
    pub fn commit_blocks(
        &self,
        blocks: &[BlockCommit<'_>],
        snapshot: Option<&LedgerState>,
    ) -> Result<std::time::Duration, StorageError> {
        self.commit_blocks_encoded(blocks, snapshot.map(EncodedSnapshot::of))
    }

    /// [`Storage::commit_blocks`] with the snapshot already encoded (by the driver, at the
    /// snapshot's height, while this runs on the writer's thread); its chunks move into the
    /// batch, so the encoding is held once.
    pub fn commit_blocks_encoded(
        &self,
        blocks: &[BlockCommit<'_>],
        snapshot: Option<EncodedSnapshot>,
    ) -> Result<std::time::Duration, StorageError> {
        let mut batch = kv::Batch::default();
        // Later writes of the same key replace earlier ones in a batch: the tip is the last
        // block's.
        for b in blocks {
            write_block(&mut batch, b);
        }
        if let Some(snapshot) = snapshot {
            state_snapshot::write(&mut batch, snapshot, self.snapshot_chunks()?);
        }
        self.chain
            .apply_batch(batch)
            .map_err(|e| self.sled_err(e))?;
        let t = Instant::now();
        self.flush()?;
        for b in blocks {
            self.unindexed.add(b.fx.height, &b.fx.txids);
        }
        Ok(t.elapsed())
    }
}

/// The tip record: height, hash, block time and the validator set that finalized it.
fn encode_tip(height: u64, hash: &Hash, time_ms: u64, validators: &ValidatorSet) -> Vec<u8> {
    let mut v = Vec::with_capacity(80);
    height.encode_to(&mut v);
    hash.encode_to(&mut v);
    time_ms.encode_to(&mut v);
    validators.encode_to(&mut v);
    v
}

pub(super) fn decode_tip(b: &[u8]) -> Option<(u64, Hash, u64, ValidatorSet)> {
    let mut r = crate::types::Reader::new(b);
    let t = (
        r.u64().ok()?,
        Hash::decode_from(&mut r).ok()?,
        r.u64().ok()?,
        ValidatorSet::decode_from(&mut r).ok()?,
    );
    r.finish().ok()?;
    Some(t)
}

/// Adds a block, its certificate, its indexes and the new tip, supply and UTXO count to `batch`
/// (the UTXO and masternode changes are the block's own content, replayed at open).
pub(super) fn write_block(batch: &mut kv::Batch, c: &BlockCommit<'_>) {
    let (block, cert, fx) = (c.block, c.cert, c.fx);
    let (supply_before, utxo_count_before) = (c.supply_before, c.utxo_count_before);
    let h = be64(fx.height);
    batch.insert(keys::key(Table::Block, &h), block.to_bytes());
    batch.insert(keys::key(Table::Cert, &h), cert.to_bytes());
    batch.insert(keys::key(Table::BlockIndex, &fx.block_hash.0), &h[..]);
    let count = utxo_count_before + fx.created.len() as u64 - fx.spent.len() as u64;
    batch.insert(keys::key(Table::Meta, META_UTXO_COUNT), count.to_bytes());
    let supply = Amount(supply_before.0.saturating_add(fx.minted.0));
    batch.insert(keys::key(Table::Meta, META_SUPPLY), supply.to_bytes());
    batch.insert(
        keys::key(Table::Meta, META_TIP),
        encode_tip(
            fx.height,
            &fx.block_hash,
            block.header.time_ms,
            &fx.validators,
        ),
    );
}
