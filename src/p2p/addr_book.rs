//! The address book: peer addresses the dialer may pick from, bucketed by source group (the
//! /16 or /64 of the peer that told us), and their persistence.
//!
//! A source group holds at most `per_source` entries; past that its own oldest entry makes
//! room. When the book is full, the largest group gives up its oldest entry. One peer, or
//! one network of peers, can therefore only churn its own share and never flush the entries
//! honest peers elsewhere contributed (a simple form of Bitcoin Core's addrman buckets).
//!
//! Lookups are O(1). Changes are remembered until [`SharedBook::persist_loop`] writes them,
//! one batch in one blocking task at a time, however fast addresses arrive.

use super::message::MAX_ADDR_LEN;
use super::netgroup::Group;
use super::store::PeerStore;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Most entries the address book keeps.
pub(crate) const MAX_ADDR_BOOK: usize = 1_000;

/// Pause after each write so that a stream of changes is written in a few large batches.
const WRITE_COALESCE: Duration = Duration::from_millis(200);

/// Host:port of sane length; no DNS lookups here (they happen when dialing).
pub(crate) fn valid_addr(a: &str) -> bool {
    if a.is_empty() || a.len() > MAX_ADDR_LEN {
        return false;
    }
    match a.parse::<SocketAddr>() {
        Ok(sa) => sa.port() != 0 && !sa.ip().is_unspecified(),
        Err(_) => match a.rsplit_once(':') {
            Some((host, port)) => {
                port.parse::<u16>().is_ok_and(|p| p != 0)
                    && !host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            }
            None => false,
        },
    }
}

/// Known addresses by source group; see the module documentation.
#[derive(Debug)]
pub(crate) struct AddrBook {
    capacity: usize,
    per_source: usize,
    /// Address → the group that told us about it.
    source_of: HashMap<String, Group>,
    /// Each source group's addresses, oldest first.
    by_source: HashMap<Group, VecDeque<String>>,
    /// Changes not yet persisted: address → whether it is in the book now.
    unsaved: HashMap<String, bool>,
}

impl AddrBook {
    /// An empty book of at most `capacity` entries, `per_source` from one source group.
    pub(crate) fn new(capacity: usize, per_source: usize) -> AddrBook {
        AddrBook {
            capacity: capacity.max(1),
            per_source: per_source.max(1),
            source_of: HashMap::new(),
            by_source: HashMap::new(),
            unsaved: HashMap::new(),
        }
    }

    /// A book holding what the store had, each address counted as its own source. Addresses
    /// that do not fit (or that `keep` refuses) are dropped, and the store is told so.
    pub(crate) fn loaded(
        capacity: usize,
        per_source: usize,
        stored: Vec<String>,
        keep: impl Fn(&str) -> bool,
    ) -> AddrBook {
        let mut book = AddrBook::new(capacity, per_source);
        for a in stored {
            if keep(&a) {
                book.insert(&a, Group::of_addr(&a));
            } else {
                book.unsaved.insert(a, false);
            }
        }
        // Already stored: only the evictions are news to the store.
        book.unsaved.retain(|_, present| !*present);
        book
    }

    pub(crate) fn len(&self) -> usize {
        self.source_of.len()
    }

    /// Every address, in no particular order.
    pub(crate) fn addresses(&self) -> impl Iterator<Item = &String> {
        self.source_of.keys()
    }

    /// Adds `addr`, learned from `source`; `false` if it was known already.
    pub(crate) fn insert(&mut self, addr: &str, source: Group) -> bool {
        if self.source_of.contains_key(addr) {
            return false;
        }
        let own = self.by_source.get(&source).map_or(0, VecDeque::len);
        if own >= self.per_source {
            self.evict_oldest(&source);
        } else if self.len() >= self.capacity {
            let largest = self
                .by_source
                .iter()
                .max_by_key(|(_, v)| v.len())
                .map(|(g, _)| g.clone());
            if let Some(g) = largest {
                self.evict_oldest(&g);
            }
        }
        self.source_of.insert(addr.to_owned(), source.clone());
        self.by_source
            .entry(source)
            .or_default()
            .push_back(addr.to_owned());
        self.unsaved.insert(addr.to_owned(), true);
        true
    }

    /// Forgets `addr`; `false` if it was not known.
    pub(crate) fn remove(&mut self, addr: &str) -> bool {
        let Some(g) = self.source_of.remove(addr) else {
            return false;
        };
        if let Some(v) = self.by_source.get_mut(&g) {
            v.retain(|a| a != addr);
            if v.is_empty() {
                self.by_source.remove(&g);
            }
        }
        self.unsaved.insert(addr.to_owned(), false);
        true
    }

    fn evict_oldest(&mut self, g: &Group) {
        let Some(v) = self.by_source.get_mut(g) else {
            return;
        };
        if let Some(old) = v.pop_front() {
            self.source_of.remove(&old);
            self.unsaved.insert(old, false);
        }
        if v.is_empty() {
            self.by_source.remove(g);
        }
    }

    /// Up to `n` addresses chosen at random.
    pub(crate) fn sample(&self, n: usize) -> Vec<String> {
        use rand::seq::IteratorRandom;
        self.addresses()
            .cloned()
            .choose_multiple(&mut rand::thread_rng(), n)
    }

    /// The changes since the last call: (added, removed).
    fn take_unsaved(&mut self) -> (Vec<String>, Vec<String>) {
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for (a, present) in self.unsaved.drain() {
            if present {
                added.push(a);
            } else {
                removed.push(a);
            }
        }
        (added, removed)
    }
}

/// The book shared by the p2p tasks, with a wake-up for its writer.
#[derive(Debug)]
pub(crate) struct SharedBook {
    book: Mutex<AddrBook>,
    dirty: Notify,
}

impl SharedBook {
    pub(crate) fn new(book: AddrBook) -> SharedBook {
        let dirty = Notify::new();
        if !book.unsaved.is_empty() {
            dirty.notify_one();
        }
        SharedBook {
            book: Mutex::new(book),
            dirty,
        }
    }

    fn lock(&self) -> MutexGuard<'_, AddrBook> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the book; the writer is woken if `f` changed it.
    pub(crate) fn update<T>(&self, f: impl FnOnce(&mut AddrBook) -> T) -> T {
        let mut book = self.lock();
        let out = f(&mut book);
        if !book.unsaved.is_empty() {
            self.dirty.notify_one();
        }
        out
    }

    /// Runs `f` on the book without changing it.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&AddrBook) -> T) -> T {
        f(&self.lock())
    }

    /// Writes the book's changes to `store` until `shutdown` (then once more): one blocking
    /// task with one batch at a time, never one per address.
    pub(crate) async fn persist_loop(
        self: Arc<Self>,
        store: Arc<dyn PeerStore>,
        shutdown: CancellationToken,
    ) {
        loop {
            let stopping = tokio::select! {
                _ = shutdown.cancelled() => true,
                _ = self.dirty.notified() => false,
            };
            let (added, removed) = self.lock().take_unsaved();
            if !(added.is_empty() && removed.is_empty()) {
                let st = store.clone();
                let n = added.len() + removed.len();
                if let Err(e) =
                    tokio::task::spawn_blocking(move || st.save_addrs(&added, &removed)).await
                {
                    tracing::warn!(target: "p2p", "could not persist {n} address-book changes: {e}");
                }
            }
            if stopping {
                break;
            }
            tokio::time::sleep(WRITE_COALESCE).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::p2p::store::MemoryPeerStore;

    fn g(s: &str) -> Group {
        Group::of_addr(s)
    }

    #[test]
    fn one_source_cannot_flush_the_book() {
        let mut b = AddrBook::new(100, 10);
        // Honest entries from 9 groups.
        for i in 0..90 {
            assert!(b.insert(
                &format!("{}.1.0.{}:1", i / 10 + 1, i),
                g(&format!("{}.9.0.1:1", i / 10 + 1))
            ));
        }
        assert!(!b.insert("1.1.0.0:1", g("5.5.5.5:1")), "known already");
        // One attacker group sends thousands.
        let evil = g("66.66.0.1:1");
        for i in 0..5_000 {
            b.insert(
                &format!("66.{}.{}.{}:1", i / 65536, (i / 256) % 256, i % 256),
                evil.clone(),
            );
        }
        assert_eq!(b.len(), 100);
        let honest = b.addresses().filter(|a| !a.starts_with("66.")).count();
        assert_eq!(honest, 90, "the attacker only churns its own share");
        // Many attacker groups filling the book evict from the largest group first.
        let mut b = AddrBook::new(20, 10);
        for i in 0..10 {
            b.insert(&format!("1.1.0.{i}:1"), g("1.1.0.1:1"));
        }
        for i in 0..10 {
            b.insert(&format!("2.2.0.{i}:1"), g(&format!("{}.2.0.1:1", 100 + i)));
        }
        b.insert("3.3.0.1:1", g("3.3.0.1:1"));
        assert_eq!(b.len(), 20);
        assert!(
            !b.addresses().any(|a| a == "1.1.0.0:1"),
            "the largest group gave up its oldest"
        );
    }

    #[test]
    fn changes_are_batched_and_loading_sheds_the_excess() {
        let mut b = AddrBook::new(3, 3);
        b.insert("1.1.1.1:1", g("9.9.9.9:1"));
        b.insert("1.1.1.2:1", g("9.9.9.9:1"));
        b.remove("1.1.1.2:1");
        let (mut added, removed) = b.take_unsaved();
        added.sort();
        assert_eq!(added, ["1.1.1.1:1"]);
        assert_eq!(removed, ["1.1.1.2:1"]);
        assert_eq!(b.take_unsaved(), (vec![], vec![]));
        let stored: Vec<String> = (1..=5).map(|i| format!("8.8.8.{i}:1")).collect();
        let mut b = AddrBook::loaded(3, 3, stored, |a| a != "8.8.8.1:1");
        assert_eq!(b.len(), 3);
        let (added, removed) = b.take_unsaved();
        assert!(added.is_empty());
        assert_eq!(
            removed.len(),
            2,
            "the refused and the evicted are removed from the store"
        );
    }

    #[tokio::test]
    async fn persist_loop_writes_one_batch() {
        let store = Arc::new(MemoryPeerStore::new());
        let book = Arc::new(SharedBook::new(AddrBook::new(MAX_ADDR_BOOK, MAX_ADDR_BOOK)));
        let stop = CancellationToken::new();
        let task = tokio::spawn(book.clone().persist_loop(store.clone(), stop.clone()));
        book.update(|b| {
            for i in 0..500 {
                b.insert(&format!("8.8.{}.{}:1", i / 256, i % 256), g("9.9.9.9:1"));
            }
        });
        stop.cancel();
        task.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.load_addrs().len(), 500);
        assert_eq!(store.addr_writes(), 1);
    }
}
