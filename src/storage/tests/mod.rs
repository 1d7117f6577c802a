//! Storage tests: reopen gives the same state, indexes are readable, reindex rebuilds the same
//! state, a database of another chain or a damaged one is refused with a clear error. The shared
//! helpers are here; the tests by topic:
//!
//! - [`reopen`]: what a commit writes reads back the same after a reopen;
//! - [`reindex`]: `--reindex` rebuilds the state, stopping at the first bad block;
//! - [`refusal`]: a database of another chain, schema or process is refused untouched;
//! - [`corruption`]: a damaged database gives `Corrupt` (or an error), never a panic.

mod corruption;
mod refusal;
mod reindex;
mod reopen;

use super::keys::{
    self, Table, META_SCHEMA, META_SNAPSHOT, META_SUPPLY, META_TIP, META_UTXO_COUNT,
};
use super::*;
use crate::ledger::testkit::TestChain;
use crate::ledger::{BlockEffects, Utxo};
use crate::types::{Address, Block, Network, OutPoint, Transaction};
use proptest::prelude::*;
use std::collections::BTreeMap;

type Committed = Vec<(Block, CommitCertificate, BlockEffects)>;

/// Commits `n` blocks of the test chain (with `transfers` transfers of 2 outputs each) to `s`.
fn commit_blocks(chain: &mut TestChain, s: &Storage, n: usize, transfers: usize) -> Committed {
    let mut out = Vec::new();
    for _ in 0..n {
        let txs: Vec<Transaction> = (0..transfers).filter_map(|_| chain.transfer(2)).collect();
        let before = chain.state.clone();
        let (b, c, fx) = chain.next_block(txs).unwrap();
        s.commit_block(&b, &c, &fx, &before).unwrap();
        out.push((b, c, fx));
    }
    out
}

fn same_state(a: &LedgerState, b: &LedgerState) {
    assert_eq!(a.height, b.height);
    assert_eq!(a.tip_hash, b.tip_hash);
    assert_eq!(a.tip_time_ms, b.tip_time_ms);
    assert_eq!(a.tip_validators, b.tip_validators);
    assert_eq!(a.supply, b.supply);
    assert_eq!(a.utxo_count(), b.utxo_count());
    assert_eq!(a.utxo_set_hash(), b.utxo_set_hash());
    let ma: Vec<_> = a.masternodes().cloned().collect();
    let mb: Vec<_> = b.masternodes().cloned().collect();
    assert_eq!(ma, mb);
}

/// Every key and value of every tree of the database in `dir` (opened raw, no checks).
fn dump(dir: &Path) -> BTreeMap<(Vec<u8>, Vec<u8>), Vec<u8>> {
    let s = Storage::open_raw(dir).unwrap();
    let mut out = BTreeMap::new();
    for name in s.db.tree_names() {
        let t = s.db.open_tree(&name).unwrap();
        for kv in t.iter() {
            let (k, v) = kv.unwrap();
            out.insert((name.as_bytes().to_vec(), k.to_vec()), v.to_vec());
        }
    }
    out
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Opens the database at `dir` and asserts that it holds `expected`.
fn open_holding(dir: &Path, g: &Genesis, expected: &LedgerState) -> (Storage, LedgerState) {
    let (s, state) = Storage::open(dir, g).unwrap();
    same_state(&state, expected);
    (s, state)
}

fn open_err(dir: &Path, g: &Genesis) -> StorageError {
    match Storage::open(dir, g) {
        Ok(_) => panic!("open succeeded on a bad database"),
        Err(e) => e,
    }
}

/// A database with `n` committed blocks; returns the chain (at the tip) and the blocks.
fn db_with_blocks(dir: &Path, n: usize) -> (TestChain, Committed) {
    let mut chain = TestChain::devnet(4);
    let (s, _) = open_holding(dir, &chain.genesis, &chain.state);
    let blocks = commit_blocks(&mut chain, &s, n, 3);
    (chain, blocks)
}
