//! The key-value trees the node's durable state is written in: sled's on disk, or an in-memory
//! database for the deterministic simulation.
//!
//! Both give what the storage code relies on: a batch lands in its tree atomically, and what was
//! applied before a `flush` survives a crash. The memory database makes the second half exact for
//! the simulation: [`MemoryDb::crash`] takes back every write since the last flush, newest first,
//! so a reopened node sees the prefix of its writes that a real disk would have kept.
//! (Opening sled costs milliseconds and its I/O threads most of a simulated run.) The memory
//! database is built for tests and the `test-utils` feature only, like the other test doubles.

use std::ops::RangeBounds;
#[cfg(any(test, feature = "test-utils"))]
use std::{
    collections::{BTreeMap, HashMap},
    ops::Bound,
    sync::{Arc, Mutex, MutexGuard, RwLock},
};

pub use sled::IVec;

/// What a tree operation fails with (the memory database never fails).
pub type KvError = sled::Error;

#[cfg(any(test, feature = "test-utils"))]
type Map = BTreeMap<IVec, IVec>;

/// A database: a set of named trees.
#[derive(Clone)]
pub struct Db(DbKind);

#[derive(Clone)]
enum DbKind {
    Sled(sled::Db),
    #[cfg(any(test, feature = "test-utils"))]
    Memory(MemoryDb),
}

impl From<sled::Db> for Db {
    fn from(db: sled::Db) -> Db {
        Db(DbKind::Sled(db))
    }
}

#[cfg(any(test, feature = "test-utils"))]
impl From<MemoryDb> for Db {
    fn from(db: MemoryDb) -> Db {
        Db(DbKind::Memory(db))
    }
}

impl Db {
    /// The tree called `name`, created empty if it does not exist.
    pub fn open_tree(&self, name: &str) -> Result<Tree, KvError> {
        match &self.0 {
            DbKind::Sled(db) => db.open_tree(name).map(Tree::from),
            #[cfg(any(test, feature = "test-utils"))]
            DbKind::Memory(db) => Ok(db.tree(name)),
        }
    }

    /// The names of the trees (sled's include its default tree).
    pub fn tree_names(&self) -> Vec<String> {
        match &self.0 {
            DbKind::Sled(db) => db
                .tree_names()
                .iter()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .collect(),
            #[cfg(any(test, feature = "test-utils"))]
            DbKind::Memory(db) => lock(&db.0.trees).keys().cloned().collect(),
        }
    }

    /// Makes every applied write durable.
    pub fn flush(&self) -> Result<(), KvError> {
        match &self.0 {
            DbKind::Sled(db) => db.flush().map(drop),
            #[cfg(any(test, feature = "test-utils"))]
            DbKind::Memory(db) => {
                db.flush();
                Ok(())
            }
        }
    }

    /// Bytes the database takes (on disk for sled, keys and values for the memory database).
    pub fn size_on_disk(&self) -> u64 {
        match &self.0 {
            DbKind::Sled(db) => db.size_on_disk().unwrap_or(0),
            #[cfg(any(test, feature = "test-utils"))]
            DbKind::Memory(db) => db.size(),
        }
    }
}

/// A batch of writes to one tree, applied atomically.
#[derive(Default)]
pub struct Batch {
    writes: Vec<(IVec, Option<IVec>)>,
}

impl Batch {
    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: impl Into<IVec>, value: impl Into<IVec>) {
        self.writes.push((key.into(), Some(value.into())));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: impl Into<IVec>) {
        self.writes.push((key.into(), None));
    }
}

/// One tree of a [`Db`]: ordered keys to values.
#[derive(Clone)]
pub struct Tree(TreeKind);

#[derive(Clone)]
enum TreeKind {
    Sled(sled::Tree),
    #[cfg(any(test, feature = "test-utils"))]
    Memory(MemoryTree),
}

impl From<sled::Tree> for Tree {
    fn from(t: sled::Tree) -> Tree {
        Tree(TreeKind::Sled(t))
    }
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            TreeKind::Sled(t) => write!(f, "Tree(sled {:?})", t.name()),
            #[cfg(any(test, feature = "test-utils"))]
            TreeKind::Memory(_) => write!(f, "Tree(memory)"),
        }
    }
}

impl Tree {
    /// The value of `key`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<IVec>, KvError> {
        match &self.0 {
            TreeKind::Sled(t) => t.get(key),
            #[cfg(any(test, feature = "test-utils"))]
            TreeKind::Memory(t) => Ok(t.read().get(key.as_ref()).cloned()),
        }
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(
        &self,
        key: impl AsRef<[u8]>,
        value: impl Into<IVec>,
    ) -> Result<Option<IVec>, KvError> {
        match &self.0 {
            TreeKind::Sled(t) => t.insert(key, value),
            #[cfg(any(test, feature = "test-utils"))]
            TreeKind::Memory(t) => {
                Ok(t.write(vec![(IVec::from(key.as_ref()), Some(value.into()))]))
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<IVec>, KvError> {
        match &self.0 {
            TreeKind::Sled(t) => t.remove(key),
            #[cfg(any(test, feature = "test-utils"))]
            TreeKind::Memory(t) => Ok(t.write(vec![(IVec::from(key.as_ref()), None)])),
        }
    }

    /// Applies every write of `batch` at once.
    pub fn apply_batch(&self, batch: Batch) -> Result<(), KvError> {
        match &self.0 {
            TreeKind::Sled(t) => {
                let mut b = sled::Batch::default();
                for (k, v) in batch.writes {
                    match v {
                        Some(v) => b.insert(k, v),
                        None => b.remove(k),
                    }
                }
                t.apply_batch(b)
            }
            #[cfg(any(test, feature = "test-utils"))]
            TreeKind::Memory(t) => {
                t.write(batch.writes);
                Ok(())
            }
        }
    }

    /// Removes every key.
    pub fn clear(&self) -> Result<(), KvError> {
        match &self.0 {
            TreeKind::Sled(t) => t.clear(),
            #[cfg(any(test, feature = "test-utils"))]
            TreeKind::Memory(t) => {
                let keys = t.read().keys().map(|k| (k.clone(), None)).collect();
                t.write(keys);
                Ok(())
            }
        }
    }

    /// Makes every applied write of the database durable.
    pub fn flush(&self) -> Result<(), KvError> {
        match &self.0 {
            TreeKind::Sled(t) => t.flush().map(drop),
            #[cfg(any(test, feature = "test-utils"))]
            TreeKind::Memory(t) => {
                t.db.flush();
                Ok(())
            }
        }
    }

    /// Every entry, in key order.
    pub fn iter(&self) -> Iter {
        self.range::<&[u8], _>(..)
    }

    /// The entries whose keys start with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        match &self.0 {
            TreeKind::Sled(t) => Iter(IterKind::Sled(Box::new(t.scan_prefix(prefix)))),
            #[cfg(any(test, feature = "test-utils"))]
            TreeKind::Memory(t) => {
                let p = prefix.as_ref();
                let map = t.read();
                let found = map
                    .range::<[u8], _>((Bound::Included(p), Bound::Unbounded))
                    .take_while(|(k, _)| k.starts_with(p))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Vec<_>>();
                Iter(IterKind::Memory(found.into_iter()))
            }
        }
    }

    /// The entries whose keys lie in `range`, in key order.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        match &self.0 {
            TreeKind::Sled(t) => Iter(IterKind::Sled(Box::new(t.range(range)))),
            #[cfg(any(test, feature = "test-utils"))]
            TreeKind::Memory(t) => {
                let bounds = (as_bytes(range.start_bound()), as_bytes(range.end_bound()));
                let found = t
                    .read()
                    .range::<[u8], _>(bounds)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Vec<_>>();
                Iter(IterKind::Memory(found.into_iter()))
            }
        }
    }

    /// Number of keys (sled counts them by a scan).
    pub fn len(&self) -> usize {
        match &self.0 {
            TreeKind::Sled(t) => t.len(),
            #[cfg(any(test, feature = "test-utils"))]
            TreeKind::Memory(t) => t.read().len(),
        }
    }

    /// Whether the tree holds no key.
    pub fn is_empty(&self) -> bool {
        match &self.0 {
            TreeKind::Sled(t) => t.is_empty(),
            #[cfg(any(test, feature = "test-utils"))]
            TreeKind::Memory(t) => t.read().is_empty(),
        }
    }
}

#[cfg(any(test, feature = "test-utils"))]
fn as_bytes<K: AsRef<[u8]>>(b: Bound<&K>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_ref()),
        Bound::Excluded(k) => Bound::Excluded(k.as_ref()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Entries of a [`Tree`] in key order. The memory database's is a copy taken when it was made.
pub struct Iter(IterKind);

enum IterKind {
    /// Boxed: sled's iterator is ten times the size of the other.
    Sled(Box<sled::Iter>),
    #[cfg(any(test, feature = "test-utils"))]
    Memory(std::vec::IntoIter<(IVec, IVec)>),
}

impl Iterator for Iter {
    type Item = Result<(IVec, IVec), KvError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterKind::Sled(i) => i.next(),
            #[cfg(any(test, feature = "test-utils"))]
            IterKind::Memory(i) => i.next().map(Ok),
        }
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterKind::Sled(i) => i.next_back(),
            #[cfg(any(test, feature = "test-utils"))]
            IterKind::Memory(i) => i.next_back().map(Ok),
        }
    }
}

#[cfg(any(test, feature = "test-utils"))]
/// An in-memory database whose crash loses exactly the writes since the last flush. Cloning it
/// shares it: the simulation keeps one per node across the node's crashes and restarts.
#[derive(Clone, Default)]
pub struct MemoryDb(Arc<MemoryInner>);

#[cfg(any(test, feature = "test-utils"))]
#[derive(Default)]
struct MemoryInner {
    trees: Mutex<HashMap<String, Arc<RwLock<Map>>>>,
    /// Writes since the last flush, oldest first, each with the value it replaced. Every write
    /// takes this lock before its tree's, so the log's order is the order the trees saw.
    unflushed: Mutex<Vec<Undo>>,
}

#[cfg(any(test, feature = "test-utils"))]
struct Undo {
    tree: Arc<RwLock<Map>>,
    key: IVec,
    replaced: Option<IVec>,
}

#[cfg(any(test, feature = "test-utils"))]
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(any(test, feature = "test-utils"))]
impl MemoryDb {
    /// A new, empty database.
    pub fn new() -> MemoryDb {
        MemoryDb::default()
    }

    fn tree(&self, name: &str) -> Tree {
        let map = lock(&self.0.trees)
            .entry(name.to_string())
            .or_default()
            .clone();
        Tree(TreeKind::Memory(MemoryTree {
            db: self.clone(),
            map,
        }))
    }

    fn flush(&self) {
        lock(&self.0.unflushed).clear();
    }

    /// A crash: every write since the last flush is taken back, newest first.
    pub fn crash(&self) {
        let mut log = lock(&self.0.unflushed);
        while let Some(u) = log.pop() {
            let mut map = u.tree.write().unwrap_or_else(|e| e.into_inner());
            match u.replaced {
                Some(v) => map.insert(u.key, v),
                None => map.remove(&u.key),
            };
        }
    }

    /// Whether any tree holds a key.
    pub fn is_empty(&self) -> bool {
        lock(&self.0.trees)
            .values()
            .all(|t| t.read().unwrap_or_else(|e| e.into_inner()).is_empty())
    }

    fn size(&self) -> u64 {
        lock(&self.0.trees)
            .values()
            .map(|t| {
                let map = t.read().unwrap_or_else(|e| e.into_inner());
                map.iter()
                    .map(|(k, v)| (k.len() + v.len()) as u64)
                    .sum::<u64>()
            })
            .sum()
    }
}

#[cfg(any(test, feature = "test-utils"))]
/// One tree of a [`MemoryDb`].
#[derive(Clone)]
struct MemoryTree {
    db: MemoryDb,
    map: Arc<RwLock<Map>>,
}

#[cfg(any(test, feature = "test-utils"))]
impl MemoryTree {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Map> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `writes` in order, logging each for a crash; returns what the last one replaced.
    fn write(&self, writes: Vec<(IVec, Option<IVec>)>) -> Option<IVec> {
        let mut log = lock(&self.db.0.unflushed);
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        let mut last = None;
        for (key, value) in writes {
            let replaced = match value {
                Some(v) => map.insert(key.clone(), v),
                None => map.remove(&key),
            };
            log.push(Undo {
                tree: self.map.clone(),
                key,
                replaced: replaced.clone(),
            });
            last = replaced;
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(t: &Tree) -> Vec<(Vec<u8>, Vec<u8>)> {
        t.iter()
            .map(|e| {
                let (k, v) = e.unwrap();
                (k.to_vec(), v.to_vec())
            })
            .collect()
    }

    #[test]
    fn a_crash_takes_back_exactly_the_writes_since_the_last_flush() {
        let mem = MemoryDb::new();
        let db = Db::from(mem.clone());
        let a = db.open_tree("a").unwrap();
        let b = db.open_tree("b").unwrap();
        a.insert(b"k1", &b"v1"[..]).unwrap();
        b.insert(b"k1", &b"b1"[..]).unwrap();
        db.flush().unwrap();
        // After the flush: overwrite, remove, batch across keys, and a write to the other tree.
        a.insert(b"k1", &b"v2"[..]).unwrap();
        let mut batch = Batch::default();
        batch.insert(&b"k2"[..], &b"x"[..]);
        batch.remove(&b"k2"[..]);
        batch.insert(&b"k3"[..], &b"y"[..]);
        a.apply_batch(batch).unwrap();
        b.remove(b"k1").unwrap();
        assert_eq!(
            entries(&a),
            vec![
                (b"k1".to_vec(), b"v2".to_vec()),
                (b"k3".to_vec(), b"y".to_vec())
            ]
        );
        mem.crash();
        let a = db.open_tree("a").unwrap();
        assert_eq!(entries(&a), vec![(b"k1".to_vec(), b"v1".to_vec())]);
        assert_eq!(
            db.open_tree("b").unwrap().get(b"k1").unwrap().as_deref(),
            Some(&b"b1"[..])
        );
        // A crash right after a flush loses nothing.
        a.insert(b"k4", &b"z"[..]).unwrap();
        a.flush().unwrap();
        mem.crash();
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn memory_and_sled_trees_answer_alike() {
        let sled_db = sled::Config::new().temporary(true).open().unwrap();
        let dbs = [Db::from(sled_db), Db::from(MemoryDb::new())];
        let answers: Vec<_> = dbs
            .iter()
            .map(|db| {
                let t = db.open_tree("t").unwrap();
                for k in [&b"ab"[..], b"abc", b"b", b"a", b"ac"] {
                    t.insert(k, k).unwrap();
                }
                t.remove(b"b").unwrap();
                let prefix: Vec<_> = t
                    .scan_prefix(b"ab")
                    .map(|e| e.unwrap().0.to_vec())
                    .collect();
                let range: Vec<_> = t
                    .range(b"a".to_vec()..b"ac".to_vec())
                    .map(|e| e.unwrap().0.to_vec())
                    .collect();
                let last = t.iter().next_back().map(|e| e.unwrap().0.to_vec());
                let len = t.len();
                t.clear().unwrap();
                (prefix, range, last, len, t.is_empty())
            })
            .collect();
        assert_eq!(answers[0], answers[1]);
        assert_eq!(answers[1].0, vec![b"ab".to_vec(), b"abc".to_vec()]);
        assert_eq!(
            answers[1].1,
            vec![b"a".to_vec(), b"ab".to_vec(), b"abc".to_vec()]
        );
    }
}
