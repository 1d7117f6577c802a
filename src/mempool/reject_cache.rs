//! A bounded cache of recent verdicts on transaction ids, with a time to live: the mempool
//! remembers why it rejected a transaction, and which input a transaction was missing, so the
//! same id is not checked again within the window.

use crate::types::Hash;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Recent verdicts by txid, at most `cap` of them (the oldest leave first), each valid for `ttl`.
pub struct RecentCache<V> {
    cap: usize,
    ttl: Duration,
    map: HashMap<Hash, (V, Instant)>,
    order: VecDeque<Hash>,
}

/// Recently rejected txids and why.
pub type RejectCache = RecentCache<String>;

impl<V: Clone> RecentCache<V> {
    /// A cache of at most `cap` entries living `ttl` each.
    pub fn new(cap: usize, ttl: Duration) -> RecentCache<V> {
        RecentCache {
            cap,
            ttl,
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Remembers a verdict (replacing an earlier one for the same id).
    pub fn insert(&mut self, txid: Hash, verdict: V, now: Instant) {
        if self.map.insert(txid, (verdict, now)).is_none() {
            self.order.push_back(txid);
        }
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    /// The verdict on `txid`, if it was given within the TTL.
    pub fn get(&self, txid: &Hash, now: Instant) -> Option<V> {
        self.map
            .get(txid)
            .filter(|(_, at)| now.saturating_duration_since(*at) < self.ttl)
            .map(|(v, _)| v.clone())
    }

    /// Whether `txid` has an entry younger than the TTL.
    pub fn contains(&self, txid: &Hash, now: Instant) -> bool {
        self.map
            .get(txid)
            .is_some_and(|(_, at)| now.saturating_duration_since(*at) < self.ttl)
    }

    /// Entries held, expired ones included until newer ones push them out.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no entry is held, expired or not.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
