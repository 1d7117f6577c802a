//! A bounded cache of recently rejected transaction ids with a time to live.

use crate::types::Hash;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Recently rejected txids and why, bounded in size, entries expire after the TTL.
pub struct RejectCache {
    cap: usize,
    ttl: Duration,
    map: HashMap<Hash, (String, Instant)>,
    order: VecDeque<Hash>,
}

impl RejectCache {
    /// A cache of at most `cap` entries living `ttl` each.
    pub fn new(cap: usize, ttl: Duration) -> RejectCache {
        RejectCache {
            cap,
            ttl,
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Remembers a rejection.
    pub fn insert(&mut self, txid: Hash, reason: String, now: Instant) {
        if self.map.insert(txid, (reason, now)).is_none() {
            self.order.push_back(txid);
        }
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    /// The reason, if `txid` was rejected within the TTL.
    pub fn get(&self, txid: &Hash, now: Instant) -> Option<String> {
        self.map
            .get(txid)
            .filter(|(_, at)| now.saturating_duration_since(*at) < self.ttl)
            .map(|(r, _)| r.clone())
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
