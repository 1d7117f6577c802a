//! The commit pipeline: a decided or synced block is applied in memory and handed to the
//! storage writer; it is reported final once its commit returned.

use super::*;
use crate::storage::EncodedSnapshot;

impl Driver {
    /// Applies a finalized block to the in-memory state, so consensus can move on, and hands it
    /// to the storage writer. It is reported final in [`Driver::on_committed`], after its atomic
    /// commit and flush returned.
    pub(super) fn commit(
        &mut self,
        block: Block,
        cert: CommitCertificate,
        fx: BlockEffects,
        round: u32,
        end: RoundEnd,
    ) -> bool {
        if self.halted {
            return false;
        }
        let height = block.header.height;
        let fx = Arc::new(fx);
        let supply_before = self.state.supply;
        let utxo_count_before = self.state.utxo_count() as u64;
        self.state.apply(&fx, block.header.time_ms);
        // The set that signed this block checks its certificate in the next block: it keeps the
        // keys the height decoded, for the next height to take over.
        if let Some(run) = self.run.as_ref() {
            self.state.tip_validators.reuse_keys(run.tm.validators());
        }
        let snapshot = self
            .snapshots
            .after_block(&fx, self.state.utxo_count())
            .then(|| EncodedSnapshot::of(&self.state));
        let block = Arc::new(block);
        let job = CommitJob {
            block: block.clone(),
            cert: cert.clone(),
            fx: fx.clone(),
            supply_before,
            utxo_count_before,
            round,
            snapshot,
        };
        // Waits only when the writer is several blocks behind (back-pressure).
        if self.writer.submit(job).is_err() {
            self.halt("the storage writer stopped".into());
            return false;
        }
        self.uncommitted.push_back(fx.clone());
        self.tip_cert = cert;
        let t = Instant::now();
        let dropped =
            self.mempool
                .on_block(&block, &fx.txids, &self.state, &self.spec.genesis.params);
        tracing::debug!(target: "perf", pool = self.mempool.len(), ms = t.elapsed().as_secs_f64() * 1e3, "mempool after block");
        if !dropped.is_empty() {
            tracing::debug!(target: "mempool", n = dropped.len(), "dropped conflicting or invalid transactions");
        }
        self.evidence_pool.prune(&self.state);
        let now = self.clock.now();
        if let Some(run) = self.run.take() {
            let total = now.duration_since(run.started).as_millis() as u64;
            let d = now.duration_since(run.round_started).as_millis() as u64;
            push_bounded(
                &mut self.snapshot.recent_rounds,
                RoundTiming {
                    height,
                    round,
                    duration_ms: d,
                    end,
                    block: (end == RoundEnd::Decided).then(|| block.hash()),
                },
                50,
            );
            push_bounded(&mut self.snapshot.finality_ms, total, 120);
        }
        self.snapshot.votes.decided(height, round, end, now);
        self.last_decided = now;
        self.dirty = true;
        true
    }

    /// A block's commit returned: now it is final everywhere (log, subscribers, peers, RPC, UI).
    pub(super) fn on_committed(&mut self, d: CommitDone) {
        self.uncommitted.pop_front();
        let (total, flush) = match d.result {
            Ok(t) => t,
            Err(e) => {
                self.halt(format!("storage commit of block {} failed: {e}", d.height));
                return;
            }
        };
        tracing::debug!(target: "perf", height = d.height, ms = total.as_secs_f64() * 1e3, flush_ms = flush.as_secs_f64() * 1e3, "storage commit");
        self.committed = (d.height, d.hash, d.time_ms);
        // Only now that the block is durable: before, the WAL is what finishes it after a crash.
        if let Err(e) = self.signer.clear_wal_below(d.height + 1) {
            tracing::warn!(target: "consensus", "clearing the own-message log failed (retried after the next block): {e}");
        }
        let ntx = d.txids.len().saturating_sub(1) as u64;
        self.snapshot.blocks_finalized += 1;
        self.snapshot.txs_finalized += ntx;
        self.tps_second.1 += ntx;
        self.snapshot.tip_finalized_at = Some(self.clock.wall());
        tracing::info!(target: "consensus", height = d.height, round = d.round, txs = ntx, hash = %d.hash.short(), "finalized");
        let _ = self.finalized_tx.send(Finalized {
            height: d.height,
            hash: d.hash,
            txids: d.txids,
            spent: d.spent,
            round: d.round,
            at: self.clock.now(),
            commit: total,
        });
        let _ = self.height_tx.send((d.height, d.hash));
        self.net.broadcast(Message::Status {
            height: d.height,
            tip: d.hash,
        });
        self.dirty = true;
    }
}
