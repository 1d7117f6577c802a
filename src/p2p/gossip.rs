//! The gossip rules, free of sockets: what a received message must pass before the node sees
//! it (per-peer rate limits, deduplication), which peers get what we broadcast, and how
//! offences add up to a ban. The p2p layer applies them over TLS connections; the simulation
//! applies the same functions over its simulated links.

use super::message::Message;
use super::score::{Misbehaviour, TokenBucket};
use super::RateLimit;
use crate::types::Hash;
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::time::Instant;

/// A bounded set of recent ids; the oldest is forgotten first.
///
/// It keeps a 64-bit fingerprint of each id instead of the 32-byte id: a node holds one set of
/// 65,536 and one of 8,192 per peer, which at 32 bytes an id came to a fifth of a 16-node
/// devnet's memory. The fingerprint is a folded multiply of the id's first 16 bytes (ids are
/// hashes already) with this set's own random 128-bit key, so nobody who lacks the key can aim
/// ids at one bucket or one fingerprint (as SipHash did, at more cost: `SeenSet::insert` fell
/// from 4.6% to 3.5% of a 16-node bench's CPU). The cost of a clash is one message taken for a
/// copy (consensus messages are sent again; transactions are asked for again by the next
/// announcement).
pub struct SeenSet {
    set: HashSet<u64, BuildHasherDefault<FingerprintHasher>>,
    order: VecDeque<u64>,
    key: [u64; 2],
    cap: usize,
}

impl SeenSet {
    /// An empty set remembering at most `cap` ids.
    pub fn new(cap: usize) -> SeenSet {
        SeenSet {
            set: HashSet::default(),
            order: VecDeque::new(),
            key: {
                let r = RandomState::new();
                [r.hash_one(0u8), r.hash_one(1u8)]
            },
            cap,
        }
    }

    fn fingerprint(&self, h: &Hash) -> u64 {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&h.0[i..i + 8]);
            u64::from_le_bytes(w)
        };
        let product = u128::from(word(0) ^ self.key[0]) * u128::from(word(8) ^ self.key[1]);
        (product as u64) ^ ((product >> 64) as u64)
    }

    /// Whether `h` is present.
    pub fn contains(&self, h: &Hash) -> bool {
        self.set.contains(&self.fingerprint(h))
    }

    /// Inserts `h`; `true` if it was not present. The oldest id leaves before `h` enters, so
    /// the queue never holds more than `cap` ids (one more would double its allocation).
    pub fn insert(&mut self, h: Hash) -> bool {
        let f = self.fingerprint(&h);
        if self.set.contains(&f) {
            return false;
        }
        if self.order.len() >= self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(f);
        self.order.push_back(f);
        true
    }
}

/// Shows the fill, never the key.
impl std::fmt::Debug for SeenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeenSet")
            .field("len", &self.order.len())
            .field("cap", &self.cap)
            .finish()
    }
}

/// Hashes a fingerprint to itself: it is a keyed hash already.
#[derive(Debug, Default)]
struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Whether a received gossip item with `key` reaches the node, given the node-wide `seen` set
/// and the sending peer's `known` set (which records that the peer has it, so it is never sent
/// back). Transactions are delivered once. Consensus messages reach the node every time it did
/// not send them itself: it may have dropped an earlier copy unused (a height it had not
/// reached), and it deduplicates what it accepted.
///
/// An announcement of one transaction id reaches the node if that transaction never did (the
/// id is not marked seen: only the transaction itself is).
pub fn on_receive(seen: &mut SeenSet, known: &mut SeenSet, msg: &Message, key: Hash) -> bool {
    match msg {
        Message::Tx(_) => {
            known.insert(key);
            seen.insert(key)
        }
        Message::TxAnnounce(_) => announced_unseen(seen, known, key),
        _ => on_receive_consensus(seen, known, key),
    }
}

/// The ids of a received `TxAnnounce` that reach the node: those whose transactions it never
/// received nor sent. The sender has each of them, so none is sent or announced back to it.
pub fn on_announce(seen: &SeenSet, known: &mut SeenSet, ids: Vec<Hash>) -> Vec<Hash> {
    ids.into_iter()
        .filter(|id| announced_unseen(seen, known, *id))
        .collect()
}

fn announced_unseen(seen: &SeenSet, known: &mut SeenSet, id: Hash) -> bool {
    known.insert(id);
    !seen.contains(&id)
}

/// [`on_receive`] for a vote, proposal or evidence message, which needs only its key: the p2p
/// layer asks it before decoding, so a copy of what the node relayed itself (a proposal comes
/// back from every peer it was relayed to) costs a hash, not a decode.
pub fn on_receive_consensus(seen: &mut SeenSet, known: &mut SeenSet, key: Hash) -> bool {
    known.insert(key);
    !seen.contains(&key)
}

/// Notes that the peer whose `known` set is given announced the proposal `key` (a `Have`): it
/// is not sent one. A false claim only keeps the proposal from the peer that made it.
pub fn on_have(known: &mut SeenSet, key: Hash) {
    known.insert(key);
}

/// Notes that we broadcast the item `key`: copies coming back are not delivered again.
pub fn on_broadcast(seen: &mut SeenSet, key: Hash) {
    seen.insert(key);
}

/// Whether a peer whose `known` set is given gets the item `key` we broadcast (once per peer).
pub fn should_send(known: &mut SeenSet, key: Hash) -> bool {
    known.insert(key)
}

/// What the rate gate says about a received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rate {
    /// Within the peer's rates.
    Pass,
    /// Over them: dropped; `report` says whether this drop also counts as an offence (one
    /// report per second's worth of drops, not one per frame).
    Drop {
        /// Report [`Misbehaviour::RateLimited`].
        report: bool,
    },
}

/// A peer's message and byte rate limits.
#[derive(Debug, Clone)]
pub struct RateGate {
    msgs: TokenBucket,
    bytes: TokenBucket,
    drop_quantum: u64,
    dropped: u64,
}

impl RateGate {
    /// Full buckets as of `now`.
    pub fn new(msg_rate: RateLimit, byte_rate: RateLimit, now: Instant) -> RateGate {
        RateGate {
            msgs: TokenBucket::new_at(msg_rate.per_sec, msg_rate.burst, now),
            bytes: TokenBucket::new_at(byte_rate.per_sec, byte_rate.burst, now),
            drop_quantum: (msg_rate.per_sec.max(1.0) as u64).max(1),
            dropped: 0,
        }
    }

    /// Checks a frame of `wire` bytes received at `now`.
    pub fn check(&mut self, wire: u64, now: Instant) -> Rate {
        let byte_ok = self.bytes.try_take_at(wire as f64, now);
        if byte_ok && self.msgs.try_take_at(1.0, now) {
            return Rate::Pass;
        }
        self.dropped += 1;
        Rate::Drop {
            report: self.drop_quantum == 1 || self.dropped % self.drop_quantum == 1,
        }
    }
}

/// A peer's score after `offence`, and whether it reached the ban `threshold`.
pub fn score_after(score: i32, offence: Misbehaviour, threshold: i32) -> (i32, bool) {
    let s = score.saturating_add(offence.score());
    (s, s >= threshold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn consensus_copies_reach_the_node_until_it_broadcast_them_and_txs_once() {
        let (mut seen, mut known) = (SeenSet::new(8), SeenSet::new(8));
        let vote = Message::Ping(1);
        let k = Hash([1; 32]);
        assert!(on_receive(&mut seen, &mut known, &vote, k));
        assert!(on_receive(&mut seen, &mut known, &vote, k));
        on_broadcast(&mut seen, k);
        assert!(!on_receive(&mut seen, &mut known, &vote, k));
        assert!(!should_send(&mut known, k), "the sender has it");
        let tx = Message::Tx(crate::types::Transaction {
            version: 1,
            inputs: vec![],
            outputs: vec![],
            lock_time: 0,
            kind: crate::types::TxKind::Transfer,
        });
        let t = Hash([2; 32]);
        assert!(on_receive(&mut seen, &mut known, &tx, t));
        assert!(!on_receive(&mut seen, &mut known, &tx, t));
    }

    #[test]
    fn ids_differing_in_either_half_of_the_fingerprinted_bytes_are_told_apart() {
        let mut s = SeenSet::new(1_024);
        let mut ids = vec![];
        for i in 0..=255u8 {
            for pos in [0, 7, 8, 15] {
                let mut h = [0u8; 32];
                h[pos] = i;
                ids.push(Hash(h));
            }
        }
        ids.sort_by_key(|h| h.0);
        ids.dedup();
        for h in &ids {
            assert!(s.insert(*h), "{h:?} taken for a copy");
        }
        assert!(ids.iter().all(|h| s.contains(h)));
    }

    #[test]
    fn a_full_seen_set_holds_no_more_than_its_cap() {
        let mut s = SeenSet::new(64);
        for i in 0..200u8 {
            assert!(s.insert(Hash([i; 32])));
        }
        assert_eq!((s.set.len(), s.order.len()), (64, 64));
        assert!(s.order.capacity() <= 64, "{}", s.order.capacity());
        assert!(s.contains(&Hash([199; 32])) && s.contains(&Hash([136; 32])));
        assert!(!s.contains(&Hash([135; 32])), "the oldest left first");
    }

    #[test]
    fn a_flood_is_dropped_and_reported_once_per_quantum() {
        let t0 = Instant::now();
        let rate = RateLimit {
            per_sec: 10.0,
            burst: 10.0,
        };
        let bytes = RateLimit {
            per_sec: 1e9,
            burst: 1e9,
        };
        let mut g = RateGate::new(rate, bytes, t0);
        let verdicts: Vec<Rate> = (0..31).map(|_| g.check(10, t0)).collect();
        assert!(verdicts[..10].iter().all(|v| *v == Rate::Pass));
        let reports = verdicts
            .iter()
            .filter(|v| **v == Rate::Drop { report: true })
            .count();
        assert_eq!(reports, 3, "21 drops with a quantum of 10");
        assert_eq!(g.check(10, t0 + Duration::from_secs(1)), Rate::Pass);
    }

    #[test]
    fn scores_add_up_to_a_ban() {
        assert_eq!(score_after(90, Misbehaviour::InvalidTx, 100), (100, true));
        assert_eq!(
            score_after(0, Misbehaviour::UnservedClaim, 100),
            (10, false)
        );
    }
}
