//! Where the indexer writes the transaction index: sorted runs, not one key per transaction.
//!
//! One sled key per transaction, inserted at a random place in the B-tree, cost sled a leaf copy
//! per insert: the indexer took 11% of a 4-node bench's CPU, and the index a quarter of its
//! throughput and a fifth of each node's heap. Here each indexer batch is written as one run:
//! its entries (txid, height, position) sorted by txid, stored in chunks of at most
//! [`CHUNK_ENTRIES`] under `run id || first txid of the chunk`, a few large sequential inserts.
//! When a level holds [`FANOUT`] runs, they are merged into one run of the next level (a tiered
//! log-structured merge), so a lookup probes at most `FANOUT` runs per level, newest first: one
//! range seek and a binary search each. A merge reads and writes at most [`MAX_MERGE_ENTRIES`]
//! entries; runs that would merge past it are sealed and probed each on its own (a streaming
//! merge would lift that bound). The run list is stored with the runs it describes, in the same
//! batch, and updated in memory around the batch so that a lookup never misses an entry that a
//! merge is moving (and looks again if the list changed while it missed). Transaction ids are
//! unique in a valid chain, so the first run holding an id holds its only entry. Index entries
//! written one key per transaction (by older versions, at genesis and by a reindex) stay where
//! they are, found after the runs.

use super::keys::{self, Table, META_TXINDEX_RUNS};
use super::kv;
use super::TxLocation;
use crate::types::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

/// Entries in one stored chunk of a run (about 180 KB).
pub(super) const CHUNK_ENTRIES: usize = 4096;
/// Runs of one level that merge into one run of the next.
pub(super) const FANOUT: usize = 16;
/// Most entries one merge reads and writes (about 48 MB in memory while it runs). Runs that
/// would merge past it are sealed instead: never merged again, each probed on its own.
pub(super) const MAX_MERGE_ENTRIES: u64 = 1 << 20;
/// The level of a sealed run.
const SEALED: u8 = u8::MAX;
/// txid, height (BE), position (BE).
const ENTRY_LEN: usize = 32 + 8 + 4;

/// One index entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) txid: [u8; 32],
    pub(super) loc: TxLocation,
}

/// A stored run: its id (the order runs were written in), its level and its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    id: u64,
    level: u8,
    entries: u64,
}

/// id, level, entries.
const RUN_LEN: usize = 8 + 1 + 8;

/// The runs of the index, newest first, and the id the next run gets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct RunList {
    runs: Vec<Run>,
    next_id: u64,
}

impl RunList {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(12 + self.runs.len() * RUN_LEN);
        v.extend_from_slice(&self.next_id.to_be_bytes());
        v.extend_from_slice(&(self.runs.len() as u32).to_be_bytes());
        for r in &self.runs {
            v.extend_from_slice(&r.id.to_be_bytes());
            v.push(r.level);
            v.extend_from_slice(&r.entries.to_be_bytes());
        }
        v
    }

    /// `None` when `b` is not a run list.
    fn decode(b: &[u8]) -> Option<RunList> {
        let next_id = u64::from_be_bytes(b.get(..8)?.try_into().ok()?);
        let n = u32::from_be_bytes(b.get(8..12)?.try_into().ok()?) as usize;
        let rest = b.get(12..)?;
        if rest.len() != n.checked_mul(RUN_LEN)? {
            return None;
        }
        let runs = rest
            .chunks_exact(RUN_LEN)
            .map(|c| Run {
                id: u64::from_be_bytes(c[..8].try_into().unwrap_or_default()),
                level: c[8],
                entries: u64::from_be_bytes(c[9..].try_into().unwrap_or_default()),
            })
            .collect::<Vec<_>>();
        if runs.iter().any(|r| r.id >= next_id) {
            return None;
        }
        Some(RunList { runs, next_id })
    }
}

/// The run list in memory, shared by the storage handle's clones.
#[derive(Clone)]
pub(super) struct Runs {
    /// The list, and how often it changed (a lookup that missed while it changed looks again).
    list: Arc<Mutex<(RunList, u64)>>,
    merge_cap: u64,
}

/// Times a lookup looks again because the list changed under it.
const LOOKUP_RETRIES: usize = 8;

impl Default for Runs {
    fn default() -> Runs {
        Runs {
            list: Arc::default(),
            merge_cap: MAX_MERGE_ENTRIES,
        }
    }
}

/// Why the runs cannot be read: the tree failed, or what it holds is not an index.
#[derive(Debug)]
pub(super) enum RunError {
    Kv(kv::KvError),
    Malformed(&'static str),
}

impl From<kv::KvError> for RunError {
    fn from(e: kv::KvError) -> RunError {
        RunError::Kv(e)
    }
}

impl Runs {
    fn lock(&self) -> MutexGuard<'_, (RunList, u64)> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, list: RunList) {
        let mut g = self.lock();
        g.0 = list;
        g.1 += 1;
    }

    fn current(&self) -> RunList {
        self.lock().0.clone()
    }

    /// Reads the stored run list (none: an empty index).
    pub(super) fn load(&self, tree: &kv::Tree) -> Result<(), RunError> {
        let list = match tree.get(keys::key(Table::Meta, META_TXINDEX_RUNS))? {
            None => RunList::default(),
            Some(b) => {
                RunList::decode(&b).ok_or(RunError::Malformed("transaction index run list"))?
            }
        };
        self.publish(list);
        Ok(())
    }

    /// Forgets every run (their keys are gone: a reindex dropped them).
    pub(super) fn clear(&self) {
        self.publish(RunList::default());
    }

    /// Where the runs hold `txid`.
    pub(super) fn find(
        &self,
        tree: &kv::Tree,
        txid: &Hash,
    ) -> Result<Option<TxLocation>, RunError> {
        for _ in 0..LOOKUP_RETRIES {
            let (runs, version) = {
                let g = self.lock();
                (g.0.runs.clone(), g.1)
            };
            for run in runs {
                let lo = run_prefix(run.id);
                let hi = chunk_key(run.id, &txid.0);
                let Some(item) = tree.range(lo.as_slice()..=hi.as_slice()).next_back() else {
                    continue;
                };
                let (_, chunk) = item?;
                if let Some(loc) = search(&chunk, &txid.0)? {
                    return Ok(Some(loc));
                }
            }
            // A miss stands unless a batch changed the runs meanwhile: a merge may have moved
            // the entry from a run this lookup had still to probe into one it did not know.
            if self.lock().1 == version {
                break;
            }
        }
        Ok(None)
    }

    /// Adds to `batch` a new run of `entries`, the merges it makes due and the new run list;
    /// returns the list to publish around the batch (see [`Runs::apply`]).
    pub(super) fn plan(
        &self,
        tree: &kv::Tree,
        mut entries: Vec<Entry>,
        batch: &mut kv::Batch,
    ) -> Result<Planned, RunError> {
        let old = self.current();
        let mut new = old.clone();
        entries.sort_unstable_by_key(|e| e.txid);
        let first = new.next_id;
        new.next_id += 1;
        write_run(batch, first, &entries);
        new.runs.insert(
            0,
            Run {
                id: first,
                level: 0,
                entries: entries.len() as u64,
            },
        );
        let mut level = 0u8;
        while level < SEALED - 1 {
            let members: Vec<Run> = new
                .runs
                .iter()
                .filter(|r| r.level == level)
                .copied()
                .collect();
            if members.len() < FANOUT {
                break;
            }
            if members.iter().map(|r| r.entries).sum::<u64>() > self.merge_cap {
                for r in new.runs.iter_mut().filter(|r| r.level == level) {
                    r.level = SEALED;
                }
                break;
            }
            let mut merged = Vec::new();
            for r in &members {
                merged.extend(read_run(tree, r.id, first, &entries)?);
                remove_run(tree, batch, r.id, first, &entries)?;
            }
            merged.sort_unstable_by_key(|e| e.txid);
            let id = new.next_id;
            new.next_id += 1;
            write_run(batch, id, &merged);
            new.runs.retain(|r| r.level != level);
            new.runs.insert(
                0,
                Run {
                    id,
                    level: level + 1,
                    entries: merged.len() as u64,
                },
            );
            // A merged run of this batch is only in the batch: it must not be read back.
            entries = merged;
            level += 1;
        }
        batch.insert(keys::key(Table::Meta, META_TXINDEX_RUNS), new.encode());
        Ok(Planned { old, new })
    }

    /// Applies `batch` (from [`Runs::plan`]) with `apply`: while it lands, lookups probe the
    /// old runs, then the new ones (the batch lands between two probes: an entry is in an old
    /// run before it and in a new one after it); afterwards only the new list. On failure the
    /// old list stays.
    pub(super) fn apply<E>(
        &self,
        planned: Planned,
        apply: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), E> {
        let mut both = planned.old.clone();
        both.runs.extend(
            planned
                .new
                .runs
                .iter()
                .filter(|r| !planned.old.runs.contains(r)),
        );
        both.next_id = planned.new.next_id;
        self.publish(both);
        let result = apply();
        self.publish(if result.is_ok() {
            planned.new
        } else {
            planned.old
        });
        result
    }

    /// Number of runs (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().0.runs.len()
    }

    /// Sealed runs (for tests).
    #[cfg(test)]
    fn sealed(&self) -> usize {
        self.lock()
            .0
            .runs
            .iter()
            .filter(|r| r.level == SEALED)
            .count()
    }
}

/// The run lists before and after a planned batch.
pub(super) struct Planned {
    old: RunList,
    new: RunList,
}

fn run_prefix(id: u64) -> Vec<u8> {
    keys::key(Table::TxRun, &id.to_be_bytes())
}

fn chunk_key(id: u64, first: &[u8; 32]) -> Vec<u8> {
    let mut k = run_prefix(id);
    k.extend_from_slice(first);
    k
}

fn write_run(batch: &mut kv::Batch, id: u64, entries: &[Entry]) {
    for chunk in entries.chunks(CHUNK_ENTRIES) {
        let mut v = Vec::with_capacity(chunk.len() * ENTRY_LEN);
        for e in chunk {
            v.extend_from_slice(&e.txid);
            v.extend_from_slice(&e.loc.height.to_be_bytes());
            v.extend_from_slice(&e.loc.index.to_be_bytes());
        }
        batch.insert(chunk_key(id, &chunk[0].txid), v);
    }
}

/// The entries of run `id`; a run from `fresh` on exists only in the batch being planned (one
/// per level, the newest, with `fresh_entries`).
fn read_run(
    tree: &kv::Tree,
    id: u64,
    fresh: u64,
    fresh_entries: &[Entry],
) -> Result<Vec<Entry>, RunError> {
    if id >= fresh {
        return Ok(fresh_entries.to_vec());
    }
    let mut out = Vec::new();
    for item in tree.scan_prefix(run_prefix(id)) {
        let (_, chunk) = item?;
        if chunk.len() % ENTRY_LEN != 0 {
            return Err(RunError::Malformed("transaction index chunk"));
        }
        out.extend(chunk.chunks_exact(ENTRY_LEN).map(entry_at));
    }
    Ok(out)
}

/// Removes run `id` in `batch`: its stored chunks, or for the run `fresh` (only in the batch)
/// the chunks the batch inserts for it.
fn remove_run(
    tree: &kv::Tree,
    batch: &mut kv::Batch,
    id: u64,
    fresh: u64,
    fresh_entries: &[Entry],
) -> Result<(), RunError> {
    if id >= fresh {
        for chunk in fresh_entries.chunks(CHUNK_ENTRIES) {
            batch.remove(chunk_key(id, &chunk[0].txid));
        }
        return Ok(());
    }
    for item in tree.scan_prefix(run_prefix(id)) {
        let (k, _) = item?;
        batch.remove(k);
    }
    Ok(())
}

fn entry_at(e: &[u8]) -> Entry {
    let mut txid = [0u8; 32];
    txid.copy_from_slice(&e[..32]);
    let mut h = [0u8; 8];
    h.copy_from_slice(&e[32..40]);
    let mut i = [0u8; 4];
    i.copy_from_slice(&e[40..44]);
    Entry {
        txid,
        loc: TxLocation {
            height: u64::from_be_bytes(h),
            index: u32::from_be_bytes(i),
        },
    }
}

/// Binary search of a chunk for `txid`.
fn search(chunk: &[u8], txid: &[u8; 32]) -> Result<Option<TxLocation>, RunError> {
    if chunk.len() % ENTRY_LEN != 0 {
        return Err(RunError::Malformed("transaction index chunk"));
    }
    let (mut lo, mut hi) = (0usize, chunk.len() / ENTRY_LEN);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let e = &chunk[mid * ENTRY_LEN..(mid + 1) * ENTRY_LEN];
        match e[..32].cmp(txid) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Ok(Some(entry_at(e).loc)),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::super::kv::MemoryDb;
    use super::super::Storage;
    use super::*;
    use crate::ledger::testkit::TestChain;

    /// `n` distinct pseudo-random ids (a transaction id is a hash: no order to lean on).
    fn ids(seed: u64, n: usize) -> Vec<Hash> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                let mut h = [0u8; 32];
                for w in h.chunks_exact_mut(8) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    w.copy_from_slice(&x.to_le_bytes());
                }
                Hash(h)
            })
            .collect()
    }

    /// Indexes `batches` batches of `per` ids, one block each, from height 1 on.
    fn index(s: &Storage, seed: u64, batches: u64, per: usize) -> Vec<(u64, Vec<Hash>)> {
        let mut out = Vec::new();
        for b in 0..batches {
            let height = b + 1;
            let t = ids(seed * 1_000_003 + b, per);
            s.index_txs(&[(height, &t[..])]).unwrap();
            out.push((height, t));
        }
        out
    }

    fn all_found(s: &Storage, blocks: &[(u64, Vec<Hash>)]) {
        for (height, txids) in blocks {
            for (i, t) in txids.iter().enumerate() {
                let loc = s.tx_location(t).unwrap().expect("indexed id found");
                assert_eq!((loc.height, loc.index), (*height, i as u32));
            }
        }
    }

    fn stored_chunks(s: &Storage) -> usize {
        s.chain.scan_prefix([Table::TxRun as u8]).count()
    }

    #[test]
    fn every_entry_is_found_across_two_levels_of_merges_and_a_reopen() {
        let chain = TestChain::devnet(4);
        let db = MemoryDb::new();
        let (s, _) = Storage::open_memory(&db, &chain.genesis).unwrap();
        // 16 * 16 + 3 batches: level 0 merges 16 times into level 1, which merges once into
        // level 2; three level-0 runs stay.
        let blocks = index(&s, 1, (FANOUT * FANOUT + 3) as u64, 5);
        assert_eq!(s.runs.len(), 4, "one level-2 run and three level-0 runs");
        assert_eq!(
            stored_chunks(&s),
            4,
            "the merged runs' chunks are gone, none of a run merged in its own batch was left"
        );
        all_found(&s, &blocks);
        assert_eq!(s.tx_location(&ids(99, 1)[0]).unwrap(), None);
        s.flush().unwrap();
        drop(s);
        let (s, _) = Storage::open_memory(&db, &chain.genesis).unwrap();
        assert_eq!(s.runs.len(), 4, "the run list is read back");
        all_found(&s, &blocks);
    }

    #[test]
    fn a_run_larger_than_a_chunk_is_searched_in_the_right_chunk() {
        let chain = TestChain::devnet(4);
        let (s, _) = Storage::open_memory(&MemoryDb::new(), &chain.genesis).unwrap();
        let blocks = index(&s, 2, 1, CHUNK_ENTRIES * 2 + 17);
        assert_eq!(stored_chunks(&s), 3);
        all_found(&s, &blocks);
    }

    #[test]
    fn a_crash_before_the_flush_loses_the_runs_with_their_height() {
        let chain = TestChain::devnet(4);
        let db = MemoryDb::new();
        let (s, _) = Storage::open_memory(&db, &chain.genesis).unwrap();
        let kept = index(&s, 3, 12, 4);
        s.flush().unwrap();
        // Four more batches, the fourth of them merging sixteen level-0 runs, then a crash.
        let more = ids(4, 4);
        for h in 13..=16 {
            s.index_txs(&[(h, &more[..])]).unwrap();
        }
        assert_eq!(s.runs.len(), 1, "merged");
        db.crash();
        drop(s);
        let (s, _) = Storage::open_memory(&db, &chain.genesis).unwrap();
        all_found(&s, &kept);
        assert_eq!(s.tx_location(&more[0]).unwrap(), None);
        let height = s
            .get(Table::Meta, keys::META_TXINDEX_HEIGHT)
            .unwrap()
            .map(|b| s.decode::<u64>("height", &b).unwrap());
        assert_eq!(height, Some(12), "the index height went back with its runs");
        assert_eq!(s.runs.len(), 12);
    }

    #[test]
    fn a_malformed_run_list_is_reported_at_open() {
        let chain = TestChain::devnet(4);
        let db = MemoryDb::new();
        let (s, _) = Storage::open_memory(&db, &chain.genesis).unwrap();
        index(&s, 5, 2, 3);
        s.chain
            .insert(keys::key(Table::Meta, META_TXINDEX_RUNS), vec![0u8; 13])
            .unwrap();
        s.flush().unwrap();
        drop(s);
        let err = Storage::open_memory(&db, &chain.genesis)
            .err()
            .expect("refused");
        assert!(err.to_string().contains("run list"), "{err}");
    }

    #[test]
    fn the_run_list_round_trips_and_refuses_ids_it_has_not_given_out() {
        let list = RunList {
            runs: vec![
                Run {
                    id: 7,
                    level: 1,
                    entries: 40,
                },
                Run {
                    id: 3,
                    level: 0,
                    entries: 3,
                },
            ],
            next_id: 8,
        };
        assert_eq!(RunList::decode(&list.encode()), Some(list.clone()));
        let mut bad = list.encode();
        bad[7] = 7; // next_id 7: run 7 could not exist
        assert_eq!(RunList::decode(&bad), None);
        assert_eq!(RunList::decode(&list.encode()[..20]), None);
    }

    #[test]
    fn runs_past_the_merge_cap_are_sealed_and_still_found() {
        let chain = TestChain::devnet(4);
        let (mut s, _) = Storage::open_memory(&MemoryDb::new(), &chain.genesis).unwrap();
        s.runs.merge_cap = 40;
        // Sixteen runs of 3 (48 entries) would pass the cap: sealed, not merged.
        let blocks = index(&s, 6, FANOUT as u64 + 2, 3);
        assert_eq!(s.runs.sealed(), FANOUT);
        assert_eq!(s.runs.len(), FANOUT + 2);
        all_found(&s, &blocks);
        // The next sixteen level-0 runs seal in their turn; nothing sealed merges.
        let later = index(&s, 7, FANOUT as u64, 3);
        assert_eq!(s.runs.sealed(), 2 * FANOUT);
        all_found(&s, &blocks);
        all_found(&s, &later);
    }
}
