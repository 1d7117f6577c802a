//! Transaction admission: the path from a submitted or gossiped transaction to the mempool and
//! on to the other peers. The driver hands it transactions (gossiped ones wait in a bounded
//! buffer and are admitted in chunks between other messages) and the pool and chain state to
//! check them against; admission checks, verifies, inserts, relays what it admitted and reports
//! peers for faults no honest node would relay.
//!
//! A batch goes through three passes:
//! 1. cheap checks, in order ([`Mempool::precheck`]: relay policy, encoding, inputs exist, no
//!    conflict, fees), each transaction seeing the earlier survivors of its batch as pooled;
//! 2. signatures of the survivors only, one batch per core;
//! 3. insertion in order (re-checked against the pool, which earlier insertions and evictions
//!    may have changed), relay, and penalties for context-free faults only
//!    ([`MempoolError::is_context_free`]): never for what depends on the local tip or pool.

mod fetch;
mod pending;
mod verify;

use fetch::TxFetcher;
pub use fetch::FETCH_TIMEOUT;
pub use pending::{PendingTxs, PENDING_MAX_BYTES, PENDING_PEER_MAX_BYTES};

use super::io::Network;
use crate::ledger::{ChainParams, LedgerState};
use crate::mempool::{Mempool, MempoolError, Provisional};
use crate::p2p::message::MAX_TX_IDS;
use crate::p2p::{Message, Misbehaviour, PeerId};
use crate::types::{Hash, Transaction};
use std::time::Instant;

/// Most gossiped transactions verified and admitted per turn of the driver loop.
const ADMIT_CHUNK: usize = 1_024;

/// Where a transaction came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// This node's own RPC, wallet or bench.
    Local,
    /// Gossip from a peer.
    Peer(PeerId),
}

/// What admission does to the network: the p2p layer in the node, a recorder in tests.
pub trait TxNet {
    /// Passes an admitted transaction (id `txid`) on: our own in full to every peer, a peer's
    /// as an announcement of its id to every peer but that one (who fetch it if they lack it).
    fn relay(&self, tx: &Transaction, txid: Hash, from: Source);
    /// Asks `peer` for the transactions `ids` it announced.
    fn request(&self, peer: PeerId, ids: Vec<Hash>);
    /// Sends `peer` a transaction it asked for; false if it is gone or its queue is full.
    fn send_tx(&self, peer: PeerId, tx: Transaction) -> bool;
    /// Reports `peer` for a transaction no honest node would have relayed.
    fn penalise(&self, peer: PeerId);
}

impl<N: Network + ?Sized> TxNet for N {
    fn relay(&self, tx: &Transaction, txid: Hash, from: Source) {
        match from {
            Source::Peer(p) => self.broadcast_except(p, Message::TxAnnounce(vec![txid])),
            Source::Local => self.broadcast(Message::Tx(tx.clone())),
        }
    }

    fn request(&self, peer: PeerId, ids: Vec<Hash>) {
        for chunk in ids.chunks(MAX_TX_IDS) {
            self.send(peer, Message::GetTxs(chunk.to_vec()));
        }
    }

    fn send_tx(&self, peer: PeerId, tx: Transaction) -> bool {
        self.send(peer, Message::Tx(tx))
    }

    fn penalise(&self, peer: PeerId) {
        self.report(peer, Misbehaviour::InvalidTx);
    }
}

/// Work done by admission so far, for logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdmissionStats {
    /// Transactions whose signatures were verified.
    pub sig_checked_txs: u64,
    /// Distinct signature items (message, signature, key) verified.
    pub sig_items: u64,
    /// Gossiped transactions dropped because the buffer was full.
    pub dropped: u64,
    /// Announced ids asked for (first asks and asks of a next announcer).
    pub fetched: u64,
    /// Transactions sent to peers that asked for them.
    pub served: u64,
}

/// Admission state: the buffer of gossiped transactions, the announced ids being fetched and
/// the work counters.
pub struct Admission {
    params: ChainParams,
    pending: PendingTxs,
    fetcher: TxFetcher,
    stats: AdmissionStats,
}

/// Where a transaction of a batch stands after the cheap checks.
enum Stage {
    /// Decided without signatures.
    Done(Result<Hash, MempoolError>),
    /// Passed; its signatures are verified with the batch.
    Verify(Hash),
    /// Conflicts with an earlier transaction of the batch: decided once that one is.
    Retry(Hash),
}

impl Admission {
    /// Admission for the chain with `params`, buffering at most [`PENDING_MAX_BYTES`] of
    /// gossip ([`PENDING_PEER_MAX_BYTES`] per peer).
    pub fn new(params: ChainParams) -> Admission {
        Admission {
            params,
            pending: PendingTxs::default(),
            fetcher: TxFetcher::default(),
            stats: AdmissionStats::default(),
        }
    }

    /// Queues a transaction gossiped by `peer` for [`Admission::admit_pending`]. Returns
    /// whether it was queued: beyond the buffer's bounds it is dropped, without penalty.
    pub fn enqueue(&mut self, peer: PeerId, tx: Transaction) -> bool {
        let queued = self.pending.push(peer, tx);
        if !queued {
            self.stats.dropped += 1;
            tracing::debug!(target: "mempool", peer = %peer.short(), waiting = self.pending.len(), "gossip buffer full: transaction dropped");
        }
        queued
    }

    /// `peer` announced `ids` (the p2p layer passes on only ids it never delivered): asks it
    /// for those the pool neither holds nor recently rejected and nobody else is asked for.
    pub fn on_announce(
        &mut self,
        peer: PeerId,
        ids: Vec<Hash>,
        pool: &Mempool,
        net: &(impl TxNet + ?Sized),
        now: Instant,
    ) {
        let unknown = ids.into_iter().filter(|id| !pool.knows(id, now));
        let ask = self.fetcher.on_announce(peer, unknown, now);
        if !ask.is_empty() {
            self.stats.fetched += ask.len() as u64;
            net.request(peer, ask);
        }
    }

    /// `peer` asked for `ids`: sends it those in the pool (what we admitted, so what we would
    /// relay), each once however often the request names it. Ids we lack are not answered; the
    /// asker moves on to its next announcer.
    pub fn on_get_txs(
        &mut self,
        peer: PeerId,
        ids: &[Hash],
        pool: &Mempool,
        net: &(impl TxNet + ?Sized),
    ) {
        let mut asked = std::collections::HashSet::with_capacity(ids.len());
        for id in ids {
            if !asked.insert(id) {
                continue;
            }
            if let Some(e) = pool.get(id) {
                if !net.send_tx(peer, e.tx.clone()) {
                    return;
                }
                self.stats.served += 1;
            }
        }
    }

    /// Asks the next announcer for ids whose asked peer did not deliver in time.
    pub fn poll_fetches(&mut self, net: &(impl TxNet + ?Sized), now: Instant) {
        for (peer, ids) in self.fetcher.poll(now) {
            self.stats.fetched += ids.len() as u64;
            net.request(peer, ids);
        }
    }

    /// Announced ids being fetched.
    pub fn fetching(&self) -> usize {
        self.fetcher.len()
    }

    /// Whether gossiped transactions wait for admission.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Gossiped transactions waiting.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Bytes of gossiped transactions waiting.
    pub fn pending_bytes(&self) -> usize {
        self.pending.bytes()
    }

    /// Work counters.
    pub fn stats(&self) -> AdmissionStats {
        self.stats
    }

    /// Admits the next chunk of gossiped transactions. Returns whether any entered the pool.
    pub fn admit_pending(
        &mut self,
        pool: &mut Mempool,
        state: &LedgerState,
        net: &(impl TxNet + ?Sized),
        now: Instant,
    ) -> bool {
        // A bounded chunk per turn, so votes and proposals queued behind a flood of
        // transactions are not delayed by more than one chunk's verification.
        let batch: Vec<(Transaction, Source)> = self
            .pending
            .take(ADMIT_CHUNK)
            .into_iter()
            .map(|(tx, peer)| (tx, Source::Peer(peer)))
            .collect();
        if batch.is_empty() {
            return false;
        }
        self.admit(batch, pool, state, net, now)
            .iter()
            .any(Result::is_ok)
    }

    /// Admits this node's own transactions now; verdicts in order.
    pub fn submit(
        &mut self,
        txs: Vec<Transaction>,
        pool: &mut Mempool,
        state: &LedgerState,
        net: &(impl TxNet + ?Sized),
        now: Instant,
    ) -> Vec<Result<Hash, MempoolError>> {
        let batch = txs.into_iter().map(|t| (t, Source::Local)).collect();
        self.admit(batch, pool, state, net, now)
    }

    /// The three passes of the module doc over one batch; verdicts in order.
    fn admit(
        &mut self,
        txs: Vec<(Transaction, Source)>,
        pool: &mut Mempool,
        state: &LedgerState,
        net: &(impl TxNet + ?Sized),
        now: Instant,
    ) -> Vec<Result<Hash, MempoolError>> {
        let started = Instant::now();
        let params = &self.params;
        let fetcher = &mut self.fetcher;
        let mut provisional = Provisional::default();
        let stages: Vec<Stage> = txs
            .iter()
            .map(|(tx, _)| {
                let txid = tx.txid();
                fetcher.on_received(&txid);
                match pool.precheck(tx, txid, state, params, now, &provisional) {
                    Ok(_) => {
                        provisional.add(tx, txid);
                        Stage::Verify(txid)
                    }
                    Err(MempoolError::Conflict(other)) if provisional.contains(&other) => {
                        Stage::Retry(txid)
                    }
                    Err(e) => Stage::Done(Err(e)),
                }
            })
            .collect();
        drop(provisional);
        let survivors: Vec<&Transaction> = txs
            .iter()
            .zip(&stages)
            .filter(|(_, s)| matches!(s, Stage::Verify(_)))
            .map(|((tx, _), _)| tx)
            .collect();
        let mut verdicts = self.verify(&survivors).into_iter();
        let mut out = Vec::with_capacity(txs.len());
        for ((tx, src), stage) in txs.into_iter().zip(stages) {
            let r = match stage {
                Stage::Done(r) => r,
                Stage::Verify(txid) => match verdicts.next() {
                    Some(Err(e)) => Err(pool.reject(txid, e, now)),
                    _ => pool.insert_verified(tx, txid, state, &self.params, now),
                },
                Stage::Retry(txid) => self.retry(tx, txid, pool, state, now),
            };
            match (&r, src) {
                (Ok(txid), _) => {
                    if let Some(e) = pool.get(txid) {
                        net.relay(&e.tx, *txid, src);
                    }
                }
                (Err(e), Source::Peer(p)) if e.is_context_free() => net.penalise(p),
                _ => {}
            }
            out.push(r);
        }
        tracing::debug!(target: "perf", n = out.len(), ms = started.elapsed().as_secs_f64() * 1e3, "admit batch");
        out
    }

    /// Verifies the signatures of `txs` on all cores, counting the work.
    fn verify(&mut self, txs: &[&Transaction]) -> Vec<Result<(), crate::ledger::TxError>> {
        if txs.is_empty() {
            return Vec::new();
        }
        let chain_id = self.params.chain_id;
        let (verdicts, items) = tokio::task::block_in_place(|| verify::verify_txs(txs, &chain_id));
        self.stats.sig_checked_txs += txs.len() as u64;
        self.stats.sig_items += items;
        verdicts
    }

    /// Decides a transaction that conflicted with an earlier one of its batch, now that the
    /// earlier one is decided: a conflict if it got in, else checked and verified on its own
    /// (so a forged spend cannot shadow an honest one sent in the same batch).
    fn retry(
        &mut self,
        tx: Transaction,
        txid: Hash,
        pool: &mut Mempool,
        state: &LedgerState,
        now: Instant,
    ) -> Result<Hash, MempoolError> {
        let none = Provisional::default();
        pool.precheck(&tx, txid, state, &self.params, now, &none)?;
        match self.verify(&[&tx]).pop() {
            Some(Err(e)) => Err(pool.reject(txid, e, now)),
            _ => pool.insert_verified(tx, txid, state, &self.params, now),
        }
    }
}

#[cfg(test)]
mod tests;
