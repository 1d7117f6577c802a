//! The buffer of gossiped transactions waiting for admission, bounded in bytes overall and per
//! peer so that no peer can grow it without bound or crowd the others out.
//!
//! A transaction that does not fit is dropped, without penalty (a busy honest peer is not at
//! fault). The p2p layer has already marked it seen node-wide, so no other peer will deliver it
//! again: acceptable for transactions, which their sender re-submits and which reach the
//! proposers by other paths, unlike votes (SPEC, "Relay and penalties").

use crate::p2p::heap::tx_bytes;
use crate::p2p::PeerId;
use crate::types::Transaction;
use std::collections::{HashMap, VecDeque};

/// Most bytes of gossiped transactions waiting, over all peers.
pub const PENDING_MAX_BYTES: usize = 32 * 1024 * 1024;
/// Most bytes of gossiped transactions waiting from one peer.
pub const PENDING_PEER_MAX_BYTES: usize = 4 * 1024 * 1024;

/// Gossiped transactions in arrival order, with their senders.
pub struct PendingTxs {
    max_bytes: usize,
    max_peer_bytes: usize,
    queue: VecDeque<(Transaction, PeerId, usize)>,
    bytes: usize,
    per_peer: HashMap<PeerId, usize>,
}

impl Default for PendingTxs {
    fn default() -> Self {
        PendingTxs::new(PENDING_MAX_BYTES, PENDING_PEER_MAX_BYTES)
    }
}

impl PendingTxs {
    /// A buffer of at most `max_bytes`, `max_peer_bytes` of them from one peer.
    pub fn new(max_bytes: usize, max_peer_bytes: usize) -> PendingTxs {
        PendingTxs {
            max_bytes,
            max_peer_bytes,
            queue: VecDeque::new(),
            bytes: 0,
            per_peer: HashMap::new(),
        }
    }

    /// Queues `tx` from `peer`; returns false (dropping it) when either bound would be passed.
    pub fn push(&mut self, peer: PeerId, tx: Transaction) -> bool {
        let cost = tx_bytes(&tx);
        let from_peer = self.per_peer.get(&peer).copied().unwrap_or(0);
        if self.bytes + cost > self.max_bytes || from_peer + cost > self.max_peer_bytes {
            return false;
        }
        self.bytes += cost;
        self.per_peer.insert(peer, from_peer + cost);
        self.queue.push_back((tx, peer, cost));
        true
    }

    /// Takes up to `n` transactions, oldest first.
    pub fn take(&mut self, n: usize) -> Vec<(Transaction, PeerId)> {
        let n = n.min(self.queue.len());
        let mut out = Vec::with_capacity(n);
        for (tx, peer, cost) in self.queue.drain(..n) {
            self.bytes -= cost;
            if let Some(b) = self.per_peer.get_mut(&peer) {
                *b -= cost;
                if *b == 0 {
                    self.per_peer.remove(&peer);
                }
            }
            out.push((tx, peer));
        }
        out
    }

    /// Transactions waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Bytes waiting: the memory the queued transactions hold, as [`tx_bytes`] estimates it.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::tx::TX_VERSION;
    use crate::types::{SecretKey, TxKind};

    fn peer(n: u8) -> PeerId {
        SecretKey::from_seed(&[n; 32]).public()
    }

    fn tx(lock_time: u64) -> Transaction {
        Transaction {
            version: TX_VERSION,
            inputs: vec![],
            outputs: vec![],
            lock_time,
            kind: TxKind::Transfer,
        }
    }

    #[test]
    fn bounded_per_peer_and_in_total_and_freed_by_take() {
        let cost = tx_bytes(&tx(0));
        let mut p = PendingTxs::new(10 * cost, 4 * cost);
        // One peer gets at most its share.
        assert_eq!((0..10).filter(|i| p.push(peer(1), tx(*i))).count(), 4);
        // Others fill the rest, up to the total.
        assert_eq!((0..10).filter(|i| p.push(peer(2), tx(*i))).count(), 4);
        assert_eq!((0..10).filter(|i| p.push(peer(3), tx(*i))).count(), 2);
        assert!(!p.push(peer(4), tx(0)), "full");
        assert_eq!((p.len(), p.bytes()), (10, 10 * cost));
        // Taking the oldest frees their sender's share, in arrival order.
        let taken = p.take(3);
        assert!(taken.iter().all(|(_, from)| *from == peer(1)));
        assert_eq!(taken[0].0.lock_time, 0);
        assert_eq!((0..10).filter(|i| p.push(peer(1), tx(*i))).count(), 3);
        assert_eq!(p.take(100).len(), 10);
        assert!(p.is_empty() && p.bytes() == 0);
    }
}
