//! Transaction admission: the path from a submitted or gossiped transaction to the mempool and
//! on to the other peers. The driver hands it transactions (gossiped ones wait in a buffer and
//! are admitted in chunks between other messages) and the pool and chain state to check them
//! against; admission verifies, inserts, relays what it admitted and reports misbehaving peers.

use crate::ledger::{ChainParams, LedgerState, TxError};
use crate::mempool::{Mempool, MempoolError};
use crate::p2p::{Message, Misbehaviour, P2pHandle, PeerId};
use crate::types::{Hash, PublicKey, Transaction};
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
    /// Sends an admitted transaction on to every peer but the one it came from.
    fn relay(&self, tx: Transaction, from: Source);
    /// Reports `peer` for a transaction no honest node would have relayed.
    fn penalise(&self, peer: PeerId);
}

impl TxNet for P2pHandle {
    fn relay(&self, tx: Transaction, from: Source) {
        match from {
            Source::Peer(p) => self.broadcast_except(p, Message::Tx(tx)),
            Source::Local => self.broadcast(Message::Tx(tx)),
        }
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
    /// Signature items (message, signature, key) handed to the verifier.
    pub sig_items: u64,
}

/// Admission state: the buffer of gossiped transactions and the work counters.
pub struct Admission {
    params: ChainParams,
    pending: Vec<(Transaction, Source)>,
    stats: AdmissionStats,
}

impl Admission {
    /// Admission for the chain with `params`.
    pub fn new(params: ChainParams) -> Admission {
        Admission {
            params,
            pending: Vec::new(),
            stats: AdmissionStats::default(),
        }
    }

    /// Queues a transaction gossiped by `peer` for the next [`Admission::admit_pending`].
    /// Returns whether it was queued.
    pub fn enqueue(&mut self, peer: PeerId, tx: Transaction) -> bool {
        self.pending.push((tx, Source::Peer(peer)));
        true
    }

    /// Whether gossiped transactions wait for admission.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Gossiped transactions waiting.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
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
        net: &impl TxNet,
    ) -> bool {
        if self.pending.is_empty() {
            return false;
        }
        // A bounded chunk per turn, so votes and proposals queued behind a flood of
        // transactions are not delayed by more than one chunk's verification.
        let batch = if self.pending.len() > ADMIT_CHUNK {
            let rest = self.pending.split_off(ADMIT_CHUNK);
            std::mem::replace(&mut self.pending, rest)
        } else {
            std::mem::take(&mut self.pending)
        };
        self.admit(batch, pool, state, net)
            .iter()
            .any(Result::is_ok)
    }

    /// Admits this node's own transactions now; verdicts in order.
    pub fn submit(
        &mut self,
        txs: Vec<Transaction>,
        pool: &mut Mempool,
        state: &LedgerState,
        net: &impl TxNet,
    ) -> Vec<Result<Hash, MempoolError>> {
        let batch = txs.into_iter().map(|t| (t, Source::Local)).collect();
        self.admit(batch, pool, state, net)
    }

    /// Verifies signatures of new transactions in parallel, then admits them in order and
    /// relays the accepted ones.
    fn admit(
        &mut self,
        txs: Vec<(Transaction, Source)>,
        pool: &mut Mempool,
        state: &LedgerState,
        net: &impl TxNet,
    ) -> Vec<Result<Hash, MempoolError>> {
        let chain_id = self.params.chain_id;
        let started = Instant::now();
        let ids: Vec<Hash> = txs.iter().map(|(t, _)| t.txid()).collect();
        let fresh: Vec<bool> = ids.iter().map(|id| !pool.contains(id)).collect();
        // Signatures are the expensive part: verify only new transactions, on all cores.
        let to_check: Vec<&Transaction> = txs
            .iter()
            .zip(&fresh)
            .filter(|(_, f)| **f)
            .map(|((t, _), _)| t)
            .collect();
        self.stats.sig_checked_txs += to_check.len() as u64;
        self.stats.sig_items += to_check
            .iter()
            .map(|t| crate::ledger::validate::signature_items(t, &chain_id).len() as u64)
            .sum::<u64>();
        let mut verdicts =
            tokio::task::block_in_place(|| batch_verify_txs(&to_check, &chain_id)).into_iter();
        let now = Instant::now();
        let mut out = Vec::with_capacity(txs.len());
        for (((tx, src), fresh), txid) in txs.into_iter().zip(fresh).zip(ids) {
            if !fresh {
                out.push(Err(MempoolError::AlreadyKnown));
                continue;
            }
            if let Some(Err(e)) = verdicts.next() {
                if let Source::Peer(p) = src {
                    net.penalise(p);
                }
                out.push(Err(MempoolError::Invalid(e)));
                continue;
            }
            let relay = tx.clone();
            let r = pool.insert_verified(tx, txid, state, &self.params, now);
            match (&r, src) {
                (Ok(_), _) => net.relay(relay, src),
                // A missing input may only mean the parent has not arrived yet: not misbehaviour.
                (Err(MempoolError::Invalid(e)), Source::Peer(p))
                    if !matches!(e, TxError::MissingInput(_)) =>
                {
                    net.penalise(p)
                }
                _ => {}
            }
            out.push(r);
        }
        tracing::debug!(target: "perf", n = out.len(), ms = started.elapsed().as_secs_f64() * 1e3, "admit batch");
        out
    }
}

/// Verifies the signatures of many transactions: one batch per core (a batch accepts exactly
/// what single verification accepts; a failed batch falls back to single checks to find the bad
/// items), then one verdict per transaction, in order.
fn batch_verify_txs(txs: &[&Transaction], chain_id: &Hash) -> Vec<Result<(), TxError>> {
    use crate::ledger::validate::{signature_items, verify_tx_signatures};
    if txs.len() < 8 {
        return txs
            .iter()
            .map(|t| verify_tx_signatures(t, chain_id))
            .collect();
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let chunks: Vec<&[&Transaction]> = txs.chunks(txs.len().div_ceil(threads)).collect();
    let verify_chunk = |chunk: &&[&Transaction]| {
        let items: Vec<(usize, Hash, crate::types::Signature, PublicKey)> = chunk
            .iter()
            .enumerate()
            .flat_map(|(i, t)| {
                signature_items(t, chain_id)
                    .into_iter()
                    .map(move |(m, s, k)| (i, m, s, k))
            })
            .collect();
        let refs: Vec<(&[u8], &crate::types::Signature, &PublicKey)> =
            items.iter().map(|(_, m, s, k)| (&m.0[..], s, k)).collect();
        let ok = crate::types::keys::verify_batch(&refs);
        let mut bad = vec![false; chunk.len()];
        for ((i, ..), good) in items.iter().zip(ok) {
            if !good {
                bad[*i] = true;
            }
        }
        // A bad transaction gets its precise error from the single path.
        chunk
            .iter()
            .zip(bad)
            .map(|(t, b)| {
                if b {
                    verify_tx_signatures(t, chain_id)
                } else {
                    Ok(())
                }
            })
            .collect::<Vec<_>>()
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|c| s.spawn(move || verify_chunk(c)))
            .collect();
        let mut out = Vec::with_capacity(txs.len());
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        out
    })
}
