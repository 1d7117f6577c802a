//! The transaction index (txid -> height and position), written behind the chain.
//!
//! A block's commit writes the block, its certificate and the tip, and flushes; the index entries
//! of its transactions are written afterwards, in larger batches and without a flush of their
//! own, by the node's indexer thread (as Bitcoin Core's txindex follows the chain on its own).
//! One sled key per transaction was most of a block's commit, and the commit is on the path of
//! every transaction's finality. Until its entries are written, a committed block's
//! transactions are found in an in-memory map, filled before the block is reported final, so a
//! lookup never misses a final transaction. The index records the height up to which it is
//! complete (`txindex_height`); at open, the blocks above it are indexed again (after a crash
//! that lost the indexer's last batches). A database without that key was written when the
//! index was part of each commit, and is complete.

use super::keys::{self, Table, META_TXINDEX_HEIGHT};
use super::kv;
use super::TxLocation;
use crate::types::encoding::Encode;
use crate::types::Hash;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Transactions of committed blocks whose index entries are not written yet.
#[derive(Clone, Default)]
pub(super) struct Unindexed(Arc<Mutex<HashMap<Hash, TxLocation>>>);

impl Unindexed {
    fn lock(&self) -> MutexGuard<'_, HashMap<Hash, TxLocation>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the transactions of a committed block at `height`.
    pub(super) fn add(&self, height: u64, txids: &[Hash]) {
        let mut m = self.lock();
        for (i, t) in txids.iter().enumerate() {
            m.insert(
                *t,
                TxLocation {
                    height,
                    index: i as u32,
                },
            );
        }
    }

    /// Forgets the transactions of the block at `height`, now in the index. An entry a later
    /// block replaced (the same txid again, which validation never lets through) is kept.
    pub(super) fn remove(&self, height: u64, txids: &[Hash]) {
        let mut m = self.lock();
        for t in txids {
            if m.get(t).is_some_and(|l| l.height == height) {
                m.remove(t);
            }
        }
    }

    /// Where a committed but not yet indexed transaction is.
    pub(super) fn get(&self, txid: &Hash) -> Option<TxLocation> {
        self.lock().get(txid).copied()
    }

    /// Transactions waiting for the indexer.
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Adds the index entries of the block at `height` to `batch`.
pub(super) fn put_entries(batch: &mut kv::Batch, height: u64, txids: &[Hash]) {
    let h = height.to_be_bytes();
    for (i, txid) in txids.iter().enumerate() {
        let mut loc = h.to_vec();
        loc.extend_from_slice(&(i as u32).to_be_bytes());
        batch.insert(keys::key(Table::TxIndex, &txid.0), loc);
    }
}

/// Records in `batch` that the index is complete up to `height`.
pub(super) fn put_height(batch: &mut kv::Batch, height: u64) {
    batch.insert(
        keys::key(Table::Meta, META_TXINDEX_HEIGHT),
        height.to_bytes(),
    );
}

#[cfg(test)]
mod tests {
    use super::super::{BlockCommit, Storage};
    use super::*;
    use crate::ledger::testkit::TestChain;
    use crate::types::{Block, Transaction};

    /// Commits `n` blocks of two transfers as the storage writer does (no index entries) and
    /// returns them.
    fn commit_unindexed(chain: &mut TestChain, s: &Storage, n: usize) -> Vec<Block> {
        let mut out = Vec::new();
        for _ in 0..n {
            let txs: Vec<Transaction> = (0..2).filter_map(|_| chain.transfer(2)).collect();
            assert_eq!(txs.len(), 2);
            let before = chain.state.clone();
            let (b, c, fx) = chain.next_block(txs).unwrap();
            s.commit_blocks(&[BlockCommit::on(&b, &c, &fx, &before)], None)
                .unwrap();
            out.push(b);
        }
        out
    }

    fn indexed_height(s: &Storage) -> Option<u64> {
        s.get(Table::Meta, META_TXINDEX_HEIGHT)
            .unwrap()
            .map(|b| s.decode::<u64>("height", &b).unwrap())
    }

    fn all_found(s: &Storage, blocks: &[Block]) {
        for b in blocks {
            for (i, tx) in b.txs.iter().enumerate() {
                let (found, loc) = s.transaction(&tx.txid()).unwrap().expect("found");
                assert_eq!(&found, tx);
                assert_eq!((loc.height, loc.index), (b.header.height, i as u32));
            }
        }
    }

    #[test]
    fn a_committed_transaction_is_found_before_and_after_its_entries_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut chain = TestChain::devnet(4);
        let (s, _) = Storage::open(dir.path(), &chain.genesis).unwrap();
        let blocks = commit_unindexed(&mut chain, &s, 3);
        assert_eq!(
            s.unindexed_txs(),
            9,
            "three blocks of a coinbase and two transfers"
        );
        assert_eq!(indexed_height(&s), Some(0));
        all_found(&s, &blocks);
        let ids: Vec<Vec<_>> = blocks
            .iter()
            .map(|b| b.txs.iter().map(|t| t.txid()).collect())
            .collect();
        let parts: Vec<(u64, &[crate::types::Hash])> = blocks
            .iter()
            .zip(&ids)
            .map(|(b, t)| (b.header.height, &t[..]))
            .collect();
        s.index_txs(&parts).unwrap();
        assert_eq!(s.unindexed_txs(), 0);
        assert_eq!(indexed_height(&s), Some(3));
        all_found(&s, &blocks);
    }

    #[test]
    fn blocks_the_indexer_did_not_reach_are_indexed_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut chain = TestChain::devnet(4);
        let blocks = {
            let (s, _) = Storage::open(dir.path(), &chain.genesis).unwrap();
            commit_unindexed(&mut chain, &s, 4)
        };
        // As after a crash: the blocks are stored, their index entries never were.
        let (s, state) = Storage::open(dir.path(), &chain.genesis).unwrap();
        assert_eq!(state.height, 4);
        assert_eq!(s.unindexed_txs(), 0, "found in the index, not in memory");
        assert_eq!(indexed_height(&s), Some(4));
        all_found(&s, &blocks);
    }

    #[test]
    fn a_database_without_the_index_height_was_indexed_with_every_commit() {
        let dir = tempfile::tempdir().unwrap();
        let mut chain = TestChain::devnet(4);
        {
            let (s, _) = Storage::open(dir.path(), &chain.genesis).unwrap();
            for _ in 0..2 {
                let txs: Vec<Transaction> = (0..2).filter_map(|_| chain.transfer(2)).collect();
                let before = chain.state.clone();
                let (b, c, fx) = chain.next_block(txs).unwrap();
                s.commit_block(&b, &c, &fx, &before).unwrap();
            }
            assert_eq!(indexed_height(&s), Some(2));
            // What a database of the previous version looks like.
            s.chain
                .remove(keys::key(Table::Meta, META_TXINDEX_HEIGHT))
                .unwrap();
            s.flush().unwrap();
        }
        let (s, state) = Storage::open(dir.path(), &chain.genesis).unwrap();
        assert_eq!(state.height, 2);
        assert_eq!(
            indexed_height(&s),
            None,
            "nothing to catch up, nothing written"
        );
        assert!(s
            .tx_location(&chain.genesis.block.txs[0].txid())
            .unwrap()
            .is_some());
    }
}
