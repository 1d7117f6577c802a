//! The storage writer: commits finalized blocks on its own thread, in order, so consensus can
//! work on the next height while the previous one is written and flushed. A block is reported
//! final (RPC, UI, peers, wallet) only after its commit returned.

use crate::ledger::BlockEffects;
use crate::storage::{BlockCommit, Storage};
use crate::types::{Amount, Block, CommitCertificate, Hash, OutPoint, Transaction};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Blocks that may wait for the writer before the driver waits for it (back-pressure).
pub const WRITER_QUEUE: usize = 4;

/// A finalized block to persist.
pub struct CommitJob {
    /// The block.
    pub block: Block,
    /// Its certificate.
    pub cert: CommitCertificate,
    /// Its effects.
    pub fx: Arc<BlockEffects>,
    /// Supply before the block.
    pub supply_before: Amount,
    /// UTXO count before the block.
    pub utxo_count_before: u64,
    /// Round it was decided in.
    pub round: u32,
}

/// Most queued blocks written in one batch.
const MAX_GROUP: usize = WRITER_QUEUE + 1;

/// The report of one block of a (possibly grouped) commit.
fn commit_done(job: CommitJob, result: Result<(Duration, Duration), String>) -> CommitDone {
    CommitDone {
        height: job.block.header.height,
        hash: job.fx.block_hash,
        time_ms: job.block.header.time_ms,
        txids: Arc::new(job.block.txs.iter().map(Transaction::txid).collect()),
        spent: Arc::new(job.fx.spent.iter().map(|(o, _)| *o).collect()),
        round: job.round,
        result,
    }
}

/// The outcome of one commit.
pub struct CommitDone {
    /// Height.
    pub height: u64,
    /// Block hash.
    pub hash: Hash,
    /// Block time.
    pub time_ms: u64,
    /// Transaction ids (coinbase first).
    pub txids: Arc<Vec<Hash>>,
    /// Outpoints spent.
    pub spent: Arc<Vec<OutPoint>>,
    /// Round it was decided in.
    pub round: u32,
    /// Time for the whole commit, and the flush part of it, or the error.
    pub result: Result<(Duration, Duration), String>,
}

/// Starts the writer thread. Dropping the returned sender lets it finish the queue and exit.
pub fn spawn(
    storage: Storage,
    done: mpsc::UnboundedSender<CommitDone>,
) -> std::io::Result<(
    std::sync::mpsc::SyncSender<CommitJob>,
    std::thread::JoinHandle<()>,
)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<CommitJob>(WRITER_QUEUE);
    let handle = std::thread::Builder::new()
        .name("storage-writer".into())
        .spawn(move || {
            let mut failed = false;
            while let Ok(first) = rx.recv() {
                // Whatever else is already queued goes into the same batch and flush.
                let mut jobs = vec![first];
                while jobs.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(j) => jobs.push(j),
                        Err(_) => break,
                    }
                }
                let result = if failed {
                    // After one failure nothing later may be written: the chain would have a gap.
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
                        .commit_blocks(&parts)
                        .map(|flush| (t.elapsed(), flush))
                        .map_err(|e| e.to_string());
                    failed = r.is_err();
                    r
                };
                for job in jobs {
                    if done.send(commit_done(job, result.clone())).is_err() {
                        return;
                    }
                }
            }
        })?;
    Ok((tx, handle))
}
