//! The gossip rules, free of sockets: what a received message must pass before the node sees
//! it (per-peer rate limits, deduplication), which peers get what we broadcast, and how
//! offences add up to a ban. The p2p layer applies them over TLS connections; the simulation
//! applies the same functions over its simulated links.

use super::message::Message;
use super::score::{Misbehaviour, TokenBucket};
use super::RateLimit;
use crate::types::Hash;
use std::collections::{HashSet, VecDeque};
use std::time::Instant;

/// A bounded set of recent ids; the oldest is forgotten first.
#[derive(Debug)]
pub struct SeenSet {
    set: HashSet<Hash>,
    order: VecDeque<Hash>,
    cap: usize,
}

impl SeenSet {
    /// An empty set remembering at most `cap` ids.
    pub fn new(cap: usize) -> SeenSet {
        SeenSet {
            set: HashSet::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    /// Whether `h` is present.
    pub fn contains(&self, h: &Hash) -> bool {
        self.set.contains(h)
    }

    /// Inserts `h`; `true` if it was not present. The oldest id leaves before `h` enters, so
    /// the queue never holds more than `cap` ids (one more would double its allocation).
    pub fn insert(&mut self, h: Hash) -> bool {
        if self.set.contains(&h) {
            return false;
        }
        if self.order.len() >= self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(h);
        self.order.push_back(h);
        true
    }
}

/// Whether a received gossip item with `key` reaches the node, given the node-wide `seen` set
/// and the sending peer's `known` set (which records that the peer has it, so it is never sent
/// back). Transactions are delivered once. Consensus messages reach the node every time it did
/// not send them itself: it may have dropped an earlier copy unused (a height it had not
/// reached), and it deduplicates what it accepted.
pub fn on_receive(seen: &mut SeenSet, known: &mut SeenSet, msg: &Message, key: Hash) -> bool {
    if matches!(msg, Message::Tx(_)) {
        known.insert(key);
        seen.insert(key)
    } else {
        on_receive_consensus(seen, known, key)
    }
}

/// [`on_receive`] for a vote, proposal or evidence message, which needs only its key: the p2p
/// layer asks it before decoding, so a copy of what the node relayed itself (a proposal comes
/// back from every peer it was relayed to) costs a hash, not a decode.
pub fn on_receive_consensus(seen: &mut SeenSet, known: &mut SeenSet, key: Hash) -> bool {
    known.insert(key);
    !seen.contains(&key)
}

/// Notes that we broadcast the item `key`: copies coming back are not delivered again.
pub fn on_broadcast(seen: &mut SeenSet, key: Hash) {
    seen.insert(key);
}

/// Whether a peer whose `known` set is given gets the item `key` we broadcast (once per peer).
pub fn should_send(known: &mut SeenSet, key: Hash) -> bool {
    known.insert(key)
}

/// Fewest peers a transaction gossiped to us is relayed to (all of them when there are fewer).
pub const TX_RELAY_MIN_FANOUT: usize = 4;

/// How many of `peers` candidates get a transaction that came from a peer: the square root of
/// the candidates, at least [`TX_RELAY_MIN_FANOUT`]. Its origin sent it to every peer it has, so
/// relays only carry it across the mesh; relaying it to every peer made each node of a full
/// mesh of n receive it about n times, and decoding, hashing and TLS for those copies grew with
/// n^2 (Ethereum's devp2p sends whole transactions to the square root of its peers likewise).
/// Votes, proposals and evidence still go to every peer.
pub fn tx_relay_fanout(peers: usize) -> usize {
    let root = (peers as f64).sqrt().ceil() as usize;
    root.max(TX_RELAY_MIN_FANOUT).min(peers)
}

/// Picks the peers a transaction that came from a peer is relayed to. `has_it[i]` says whether
/// candidate `i` (a connected peer other than the sender) is known to have it already; of the
/// others, [`tx_relay_fanout`] of all candidates are sampled uniformly with `rng`. Returns the
/// chosen indexes; the caller marks them as having it.
pub fn choose_tx_relays(has_it: &[bool], rng: &mut impl rand::Rng) -> Vec<usize> {
    let mut fresh: Vec<usize> = (0..has_it.len()).filter(|&i| !has_it[i]).collect();
    let keep = tx_relay_fanout(has_it.len()).min(fresh.len());
    // A partial Fisher-Yates shuffle: the first `keep` entries are a uniform sample.
    for i in 0..keep {
        let j = rng.gen_range(i..fresh.len());
        fresh.swap(i, j);
    }
    fresh.truncate(keep);
    fresh
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
    fn a_relayed_tx_goes_to_the_square_root_of_the_peers_that_lack_it() {
        assert_eq!(tx_relay_fanout(0), 0);
        assert_eq!(tx_relay_fanout(3), 3, "few peers: all of them");
        assert_eq!(tx_relay_fanout(15), 4);
        assert_eq!(tx_relay_fanout(100), 10);
        let mut rng = rand::rngs::mock::StepRng::new(7, 3);
        let mut has_it = vec![false; 15];
        for i in [0, 3, 4, 9] {
            has_it[i] = true;
        }
        let chosen = choose_tx_relays(&has_it, &mut rng);
        assert_eq!(chosen.len(), 4);
        assert!(
            chosen.iter().all(|&i| !has_it[i]),
            "never to a peer that has it"
        );
        let mut d = chosen.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), 4, "distinct peers");
        // Only two lack it: both get it.
        let mut two = vec![true; 15];
        two[2] = false;
        two[11] = false;
        let mut got = choose_tx_relays(&two, &mut rng);
        got.sort();
        assert_eq!(got, vec![2, 11]);
    }

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
