//! The storage writer: commits finalized blocks on its own thread, in order, so consensus can
//! work on the next height while the previous one is written and flushed. A block is reported
//! final (RPC, UI, peers, wallet) only after its commit returned.

use crate::ledger::BlockEffects;
use crate::storage::{BlockCommit, EncodedSnapshot, Storage};
use crate::types::{Amount, Block, CommitCertificate, Hash, OutPoint};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Blocks that may wait for the writer before the driver waits for it (back-pressure).
pub const WRITER_QUEUE: usize = 4;

/// A finalized block to persist.
pub struct CommitJob {
    /// The finalized block, stored with its indexes in one batch (shared with the driver, which
    /// cleans its mempool with it while the writer writes).
    pub block: Arc<Block>,
    /// Its commit certificate, stored with it.
    pub cert: CommitCertificate,
    /// Its effects, as validation computed them.
    pub fx: Arc<BlockEffects>,
    /// Total coins before the block, in base units.
    pub supply_before: Amount,
    /// UTXO count before the block.
    pub utxo_count_before: u64,
    /// Round it was decided in.
    pub round: u32,
    /// The state after this block, encoded, to store as the new state snapshot.
    pub snapshot: Option<EncodedSnapshot>,
}

/// UTXO changes after which a snapshot is due even when the UTXO set is smaller.
const SNAPSHOT_MIN_CHANGES: u64 = 50_000;
/// Blocks after which a snapshot is due even when little changed.
const SNAPSHOT_MAX_BLOCKS: u64 = 10_000;

/// When the driver hands the writer a state snapshot: once the UTXO changes since the last one
/// reach the size of the UTXO set (and at least [`SNAPSHOT_MIN_CHANGES`]), or after
/// [`SNAPSHOT_MAX_BLOCKS`] blocks. Replaying the blocks after a snapshot at open then costs
/// about as much as reading the snapshot, and writing snapshots costs about one write per
/// change, spread over many blocks.
#[derive(Default)]
pub struct SnapshotSchedule {
    changes: u64,
    blocks: u64,
}

impl SnapshotSchedule {
    /// Counts a block applied to a state now holding `utxo_count` UTXOs; true when a snapshot
    /// of that state is due (the count restarts).
    pub fn after_block(&mut self, fx: &BlockEffects, utxo_count: usize) -> bool {
        self.changes += (fx.spent.len() + fx.created.len()) as u64;
        self.blocks += 1;
        let due = self.changes >= (utxo_count as u64).max(SNAPSHOT_MIN_CHANGES)
            || self.blocks >= SNAPSHOT_MAX_BLOCKS;
        if due {
            *self = SnapshotSchedule::default();
        }
        due
    }

    /// Whether anything happened since the last snapshot.
    pub fn pending(&self) -> bool {
        self.blocks > 0
    }
}

/// Most queued blocks written in one batch.
const MAX_GROUP: usize = WRITER_QUEUE + 1;

/// The report of one block of a (possibly grouped) commit.
fn commit_done(job: CommitJob, result: Result<(Duration, Duration), String>) -> CommitDone {
    CommitDone {
        height: job.block.header.height,
        hash: job.fx.block_hash,
        time_ms: job.block.header.time_ms,
        txids: Arc::new(job.fx.txids.clone()),
        spent: Arc::new(job.fx.spent.iter().map(|(o, _)| *o).collect()),
        round: job.round,
        result,
    }
}

/// The outcome of one commit.
pub struct CommitDone {
    /// Height of the committed block.
    pub height: u64,
    /// Id of the committed block.
    pub hash: Hash,
    /// Its header time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Transaction ids (coinbase first).
    pub txids: Arc<Vec<Hash>>,
    /// Outpoints the block spent.
    pub spent: Arc<Vec<OutPoint>>,
    /// Round it was decided in.
    pub round: u32,
    /// Time for the whole commit, and the flush part of it, or the error.
    pub result: Result<(Duration, Duration), String>,
}

/// Commits `jobs` (consecutive blocks, oldest first) in one batch with one flush and reports
/// each. After a failure (`failed`) nothing later is written: the chain would have a gap.
pub fn write_group(
    storage: &Storage,
    mut jobs: Vec<CommitJob>,
    failed: &mut bool,
) -> Vec<CommitDone> {
    // The newest snapshot of the group (its blocks are all in this batch); older ones are
    // superseded and dropped now.
    let snapshot = jobs.iter_mut().filter_map(|j| j.snapshot.take()).last();
    let result = if *failed {
        Err("an earlier commit failed".to_string())
    } else {
        let t = Instant::now();
        let parts: Vec<BlockCommit<'_>> = jobs
            .iter()
            .map(|j| BlockCommit {
                block: &j.block,
                cert: &j.cert,
                fx: &j.fx,
                supply_before: j.supply_before,
                utxo_count_before: j.utxo_count_before,
            })
            .collect();
        let r = storage
            .commit_blocks_encoded(&parts, snapshot)
            .map(|flush| (t.elapsed(), flush))
            .map_err(|e| e.to_string());
        *failed = r.is_err();
        r
    };
    jobs.into_iter()
        .map(|job| commit_done(job, result.clone()))
        .collect()
}

/// Most committed blocks whose transactions the indexer writes in one batch.
const MAX_INDEX_GROUP: usize = 64;

/// Writes the transaction index entries of blocks reported committed (`(height, txids)`,
/// oldest first): the indexer's one step, behind the commits (see [`crate::storage::Storage::index_txs`]).
/// After a failure (`failed`) nothing later is written: the index's recorded height would pass
/// the blocks whose entries are missing, and the next open would not index them again.
pub fn index_committed(storage: &Storage, blocks: &[(u64, Arc<Vec<Hash>>)], failed: &mut bool) {
    if *failed {
        return;
    }
    let parts: Vec<(u64, &[Hash])> = blocks.iter().map(|(h, t)| (*h, &t[..])).collect();
    if let Err(e) = storage.index_txs(&parts) {
        // The transactions stay findable in memory; the next open indexes them again.
        tracing::error!(target: "storage", "writing the transaction index failed, it resumes at the next start: {e}");
        *failed = true;
    }
}

/// Starts the writer thread, and behind it the indexer thread that writes the transaction
/// index of what the writer committed. Dropping the returned sender lets both finish their
/// queues and exit; the handle returns once both have.
pub fn spawn(
    storage: Storage,
    done: mpsc::UnboundedSender<CommitDone>,
) -> std::io::Result<(
    std::sync::mpsc::SyncSender<CommitJob>,
    std::thread::JoinHandle<()>,
)> {
    let (index_tx, index_rx) = std::sync::mpsc::channel::<(u64, Arc<Vec<Hash>>)>();
    let index_storage = storage.clone();
    let indexer = std::thread::Builder::new()
        .name("tx-indexer".into())
        .spawn(move || {
            let mut failed = false;
            while let Ok(first) = index_rx.recv() {
                let mut blocks = vec![first];
                while blocks.len() < MAX_INDEX_GROUP {
                    match index_rx.try_recv() {
                        Ok(b) => blocks.push(b),
                        Err(_) => break,
                    }
                }
                index_committed(&index_storage, &blocks, &mut failed);
            }
        })?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<CommitJob>(WRITER_QUEUE);
    let handle = std::thread::Builder::new()
        .name("storage-writer".into())
        .spawn(move || {
            let mut failed = false;
            'jobs: while let Ok(first) = rx.recv() {
                // Whatever else is already queued goes into the same batch and flush.
                let mut jobs = vec![first];
                while jobs.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(j) => jobs.push(j),
                        Err(_) => break,
                    }
                }
                for d in write_group(&storage, jobs, &mut failed) {
                    if d.result.is_ok() {
                        // The indexer outlives this loop; it never hangs up first.
                        let _ = index_tx.send((d.height, d.txids.clone()));
                    }
                    if done.send(d).is_err() {
                        break 'jobs;
                    }
                }
            }
            drop(index_tx);
            if indexer.join().is_err() {
                tracing::error!(target: "storage", "the transaction indexer panicked");
            }
        })?;
    Ok((tx, handle))
}
