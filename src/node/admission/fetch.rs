//! Transactions announced by id (`TxAnnounce`) and fetched on demand (`GetTxs`): which ids to
//! ask for, from whom, and whom to ask next when a peer does not deliver.
//!
//! A node pushes the transactions it originates to every peer and announces the ones it relays,
//! so that on a full mesh each transaction crosses each link once in full and otherwise as a
//! 32-byte id. An id is asked of one peer at a time; a peer that announces it meanwhile is kept
//! (a few per id) and asked after [`FETCH_TIMEOUT`] if the first has not delivered. Nobody is
//! blamed for not delivering: the transaction may have left its pool (a block, an eviction)
//! between the announcement and the request.
//!
//! Bounds: [`MAX_FETCHES`] ids tracked in all, [`MAX_PEER_FETCHES`] asked of one peer at once,
//! [`MAX_ANNOUNCERS`] kept per id. A peer that announces what it never delivers delays those
//! ids by one timeout each, up to its share, and is then ignored until its requests expire.

use crate::p2p::PeerId;
use crate::types::Hash;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How long an asked peer has to deliver before the next announcer is asked.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// Most ids tracked at once, over all peers.
pub const MAX_FETCHES: usize = 20_000;
/// Most ids asked of one peer and not yet delivered or expired.
pub const MAX_PEER_FETCHES: usize = 5_000;
/// Most peers remembered per id as announcers to ask next.
pub const MAX_ANNOUNCERS: usize = 4;

/// One id being fetched.
struct Fetch {
    /// The peer asked, and when.
    asked: PeerId,
    at: Instant,
    /// Other peers that announced it, asked next in this order.
    next: Vec<PeerId>,
}

/// The ids asked for and not yet received.
#[derive(Default)]
pub struct TxFetcher {
    fetches: HashMap<Hash, Fetch>,
    /// Ids in the order they were (last) asked for; stale entries are skipped.
    order: VecDeque<(Hash, Instant)>,
    asked_of: HashMap<PeerId, usize>,
}

impl TxFetcher {
    /// Notes that `peer` announced `ids` (none of them known to the node); returns those to
    /// ask of `peer` now. Ids already being fetched remember `peer` as a next announcer.
    pub fn on_announce(
        &mut self,
        peer: PeerId,
        ids: impl IntoIterator<Item = Hash>,
        now: Instant,
    ) -> Vec<Hash> {
        let mut ask = Vec::new();
        for id in ids {
            if let Some(f) = self.fetches.get_mut(&id) {
                if f.asked != peer && f.next.len() < MAX_ANNOUNCERS && !f.next.contains(&peer) {
                    f.next.push(peer);
                }
                continue;
            }
            let of_peer = self.asked_of.get(&peer).copied().unwrap_or(0);
            if self.fetches.len() >= MAX_FETCHES || of_peer >= MAX_PEER_FETCHES {
                continue;
            }
            self.ask(id, peer, Vec::new(), now);
            ask.push(id);
        }
        ask
    }

    /// Notes that `id` arrived (from anyone): it is no longer fetched.
    pub fn on_received(&mut self, id: &Hash) {
        if let Some(f) = self.fetches.remove(id) {
            self.release(&f.asked);
        }
    }

    /// The ids whose asked peer has not delivered within [`FETCH_TIMEOUT`], each asked of its
    /// next announcer (returned grouped by peer); ids with no announcer left are forgotten.
    pub fn poll(&mut self, now: Instant) -> Vec<(PeerId, Vec<Hash>)> {
        let mut asks: HashMap<PeerId, Vec<Hash>> = HashMap::new();
        while let Some(&(id, at)) = self.order.front() {
            if now.saturating_duration_since(at) < FETCH_TIMEOUT {
                break;
            }
            self.order.pop_front();
            // Received since, or asked again (a later entry of `order` stands for that ask).
            if self.fetches.get(&id).is_none_or(|f| f.at != at) {
                continue;
            }
            let Some(f) = self.fetches.remove(&id) else {
                continue;
            };
            self.release(&f.asked);
            let mut next = f.next;
            // The next announcer with room for one more request.
            while !next.is_empty() {
                let peer = next.remove(0);
                if self.asked_of.get(&peer).copied().unwrap_or(0) < MAX_PEER_FETCHES {
                    self.ask(id, peer, next, now);
                    asks.entry(peer).or_default().push(id);
                    break;
                }
            }
        }
        asks.into_iter().collect()
    }

    /// Ids being fetched.
    pub fn len(&self) -> usize {
        self.fetches.len()
    }

    fn ask(&mut self, id: Hash, peer: PeerId, next: Vec<PeerId>, now: Instant) {
        *self.asked_of.entry(peer).or_default() += 1;
        self.fetches.insert(
            id,
            Fetch {
                asked: peer,
                at: now,
                next,
            },
        );
        self.order.push_back((id, now));
        // Ids received before their timeout leave stale entries behind, which `poll` skips
        // once they are due; a fast stream of them is compacted so that `order` stays within
        // a few times the ids tracked.
        if self.order.len() > 4 * MAX_FETCHES {
            let fetches = &self.fetches;
            self.order
                .retain(|(id, at)| fetches.get(id).is_some_and(|f| f.at == *at));
        }
    }

    fn release(&mut self, peer: &PeerId) {
        if let Some(n) = self.asked_of.get_mut(peer) {
            *n -= 1;
            if *n == 0 {
                self.asked_of.remove(peer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SecretKey;

    fn peer(n: u8) -> PeerId {
        SecretKey::from_seed(&[n; 32]).public()
    }

    fn id(n: u32) -> Hash {
        let mut h = [0u8; 32];
        h[..4].copy_from_slice(&n.to_le_bytes());
        Hash(h)
    }

    #[test]
    fn an_id_is_asked_of_one_peer_and_of_the_next_announcer_after_the_timeout() {
        let mut f = TxFetcher::default();
        let t0 = Instant::now();
        assert_eq!(
            f.on_announce(peer(1), [id(1), id(2)], t0),
            vec![id(1), id(2)]
        );
        // Others announce the same ids: nothing more is asked now.
        assert!(f.on_announce(peer(2), [id(1)], t0).is_empty());
        assert!(f.on_announce(peer(3), [id(1), id(2)], t0).is_empty());
        assert!(
            f.poll(t0 + FETCH_TIMEOUT / 2).is_empty(),
            "the first peer still has time"
        );
        f.on_received(&id(2));
        // Only id 1 was not delivered: it goes to the first next announcer, and no one is asked
        // for id 2.
        assert_eq!(f.poll(t0 + FETCH_TIMEOUT), vec![(peer(2), vec![id(1)])]);
        assert_eq!(f.len(), 1);
        // Then to the last, and then it is forgotten.
        let t1 = t0 + FETCH_TIMEOUT;
        assert_eq!(f.poll(t1 + FETCH_TIMEOUT), vec![(peer(3), vec![id(1)])]);
        assert!(f.poll(t1 + 2 * FETCH_TIMEOUT).is_empty());
        assert!(f.len() == 0 && f.asked_of.is_empty());
    }

    #[test]
    fn a_peer_that_withholds_is_bounded_and_honest_announcers_get_asked() {
        let mut f = TxFetcher::default();
        let t0 = Instant::now();
        let liar = peer(9);
        let asked = f.on_announce(liar, (0..MAX_PEER_FETCHES as u32 + 100).map(id), t0);
        assert_eq!(asked.len(), MAX_PEER_FETCHES, "one peer's share at most");
        // An id past the liar's share goes to the honest peer at once.
        let over = id(MAX_PEER_FETCHES as u32 + 1);
        assert_eq!(f.on_announce(peer(1), [over], t0), vec![over]);
        // An id the liar holds is asked of the honest announcer after one timeout.
        assert!(f.on_announce(peer(1), [id(0)], t0).is_empty());
        let asks = f.poll(t0 + FETCH_TIMEOUT);
        assert!(asks.contains(&(peer(1), vec![id(0)])));
        assert_eq!(
            f.asked_of.get(&liar),
            None,
            "the liar's share is free again"
        );
    }

    #[test]
    fn ids_received_at_once_leave_no_growing_queue_behind() {
        let mut f = TxFetcher::default();
        let t0 = Instant::now();
        for n in 0..10 * MAX_FETCHES as u32 {
            f.on_announce(peer(1), [id(n)], t0);
            f.on_received(&id(n));
        }
        assert_eq!(f.len(), 0);
        assert!(f.order.len() <= 4 * MAX_FETCHES + 1, "{}", f.order.len());
    }

    #[test]
    fn the_tracker_is_bounded_in_total() {
        let mut f = TxFetcher::default();
        let t0 = Instant::now();
        let mut n = 0u32;
        for p in 0..=(MAX_FETCHES / MAX_PEER_FETCHES) as u8 {
            let ids: Vec<Hash> = (n..n + MAX_PEER_FETCHES as u32).map(id).collect();
            n += MAX_PEER_FETCHES as u32;
            f.on_announce(peer(p), ids, t0);
        }
        assert_eq!(f.len(), MAX_FETCHES);
        // Each id remembers a few announcers only.
        for p in 100..110 {
            f.on_announce(peer(p), [id(0)], t0);
        }
        assert_eq!(f.fetches[&id(0)].next.len(), MAX_ANNOUNCERS);
    }
}
