//! Durable storage on sled.
//!
//! The chain lives in one sled tree with one key prefix per table (blocks by height, commit
//! certificates, block index, tx index, state snapshot, meta), because sled applies a batch
//! atomically within one tree: a finalized block and all its effects land in one `apply_batch`,
//! followed by `flush()`, before anything reports the block final. A block's effects on the UTXO
//! set and the masternodes are stored as the block itself: the state at open is the last state
//! snapshot plus a replay of the stored blocks after it (see `state_snapshot`). Peers, bans and
//! the consensus signer state live in their own trees.
//!
//! This file opens the database and loads the state; the commit path is in `commit`, the lookups
//! in `read`, `--reindex` in `reindex`. The trees are reached through `kv`, so the same code
//! also runs on an in-memory database (the simulation's, [`Storage::open_memory`]).

mod commit;
mod keys;
pub mod kv;
mod read;
mod reindex;
mod state_snapshot;
mod tx_index;
mod tx_runs;

use crate::ledger::{Genesis, LedgerState, SigPolicy};
use crate::types::id_map::IdMap;
use crate::types::{Amount, CommitCertificate, Decode, DecodeError, Encode, Hash, ValidatorSet};
pub use commit::BlockCommit;
use commit::{decode_tip, write_block};
use keys::{
    Table, META_CHAIN_ID, META_SCHEMA, META_SNAPSHOT, META_SUPPLY, META_TIP, META_TXINDEX_HEIGHT,
    META_UTXO_COUNT,
};
pub use read::TxLocation;
pub use state_snapshot::EncodedSnapshot;
use state_snapshot::SnapshotHeader;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// sled's page cache per database. Reads are rare (the chain state is in memory), so a small
/// cache keeps the devnet's four databases in one process light.
const STORAGE_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// Version of the on-disk layout.
pub const SCHEMA_VERSION: u32 = 3;

/// Why storage cannot be used.
#[derive(Debug, Error)]
pub enum StorageError {
    /// sled failed (I/O, locked by another process, corrupt log).
    #[error("database error in {path}: {source} (is another timed using this data dir? if the files are damaged, restart with --reindex)")]
    Sled {
        /// Database path.
        path: PathBuf,
        /// The sled error.
        source: sled::Error,
    },
    /// The database belongs to another chain.
    #[error("database in {path} belongs to another chain (chain id {found}, expected {expected}); use another --datadir or --network")]
    WrongChain {
        /// Database path.
        path: PathBuf,
        /// Stored chain id.
        found: String,
        /// This node's chain id.
        expected: String,
    },
    /// Unknown schema.
    #[error("database in {path} has schema version {found}, this timed reads version {expected}; restart with --reindex")]
    Schema {
        /// Database path.
        path: PathBuf,
        /// Stored version.
        found: u32,
        /// Supported version.
        expected: u32,
    },
    /// Inconsistent or undecodable content.
    #[error("database in {path} is inconsistent: {what}; restart with `timed --reindex` to rebuild it from the stored blocks")]
    Corrupt {
        /// Database path.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// The node's database.
#[derive(Clone)]
pub struct Storage {
    path: PathBuf,
    db: kv::Db,
    chain: kv::Tree,
    /// Committed transactions the index does not hold yet (see [`tx_index`]).
    unindexed: tx_index::Unindexed,
    /// The index's sorted runs (see [`tx_runs`]).
    runs: tx_runs::Runs,
}

fn be64(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

impl Storage {
    /// Opens (or creates from `genesis`) the database in `dir` and loads the chain state.
    /// Checks the schema version, the chain id and the consistency of tip and UTXO counters.
    pub fn open(dir: &Path, genesis: &Genesis) -> Result<(Storage, LedgerState), StorageError> {
        let sled_dir = dir.join("chain.sled");
        let existed = sled_dir.join("conf").exists() || sled_dir.join("db").exists();
        let s = Self::open_raw(dir)?;
        s.load(existed, genesis)
    }

    /// Opens (or creates from `genesis`) a database in memory, as [`Storage::open`] does on disk:
    /// for the simulation, which keeps `db` across a node's crash and restart.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn open_memory(
        db: &kv::MemoryDb,
        genesis: &Genesis,
    ) -> Result<(Storage, LedgerState), StorageError> {
        let existed = !db.is_empty();
        let s = Self::from_db(PathBuf::from("(memory)"), kv::Db::from(db.clone()))?;
        s.load(existed, genesis)
    }

    /// Checks an opened database (initialising an empty one from `genesis`) and loads the state;
    /// `existed`: the database was there before, so an empty one is damaged, not new.
    fn load(
        self,
        existed: bool,
        genesis: &Genesis,
    ) -> Result<(Storage, LedgerState), StorageError> {
        let fresh = self.get(Table::Meta, META_SCHEMA)?.is_none();
        if fresh {
            // sled opens a damaged or truncated log as an empty (or shorter) database: an
            // existing database without a schema is damaged, never silently re-created.
            if existed {
                return Err(self.corrupt("schema version missing (the database files are damaged or were never fully created)"));
            }
            self.init(genesis)?;
        }
        self.check_header(genesis)?;
        let state = self.load_state(genesis)?;
        self.catch_up_tx_index(state.height)?;
        Ok((self, state))
    }

    fn open_raw(dir: &Path) -> Result<Storage, StorageError> {
        let path = dir.join("chain.sled");
        // sled 0.34 releases its file lock from a background thread after the last handle is
        // dropped (spacejam/sled#1234), so reopening in the same process can briefly find the
        // lock still held: retry for a short while before reporting it.
        let mut attempts = 0;
        let db = loop {
            match sled::Config::new()
                .path(&path)
                .cache_capacity(STORAGE_CACHE_BYTES)
                .open()
            {
                Ok(db) => break db,
                Err(sled::Error::Io(e))
                    if attempts < 40 && e.to_string().contains("could not acquire lock") =>
                {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                Err(source) => {
                    return Err(StorageError::Sled {
                        path: path.clone(),
                        source,
                    })
                }
            }
        };
        Self::from_db(path, kv::Db::from(db))
    }

    fn from_db(path: PathBuf, db: kv::Db) -> Result<Storage, StorageError> {
        let chain = db.open_tree("chain").map_err(|source| StorageError::Sled {
            path: path.clone(),
            source,
        })?;
        let s = Storage {
            path,
            db,
            chain,
            unindexed: tx_index::Unindexed::default(),
            runs: tx_runs::Runs::default(),
        };
        s.runs.load(&s.chain).map_err(|e| s.run_err(e))?;
        Ok(s)
    }

    fn run_err(&self, e: tx_runs::RunError) -> StorageError {
        match e {
            tx_runs::RunError::Kv(e) => self.sled_err(e),
            tx_runs::RunError::Malformed(what) => self.corrupt(format!("{what} is malformed")),
        }
    }

    fn sled_err(&self, source: sled::Error) -> StorageError {
        StorageError::Sled {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, what: impl Into<String>) -> StorageError {
        StorageError::Corrupt {
            path: self.path.clone(),
            what: what.into(),
        }
    }

    fn get(&self, t: Table, k: &[u8]) -> Result<Option<kv::IVec>, StorageError> {
        self.chain
            .get(keys::key(t, k))
            .map_err(|e| self.sled_err(e))
    }

    fn decode<T: Decode>(&self, what: &str, b: &[u8]) -> Result<T, StorageError> {
        T::from_bytes(b).map_err(|e: DecodeError| self.corrupt(format!("{what}: {e}")))
    }

    /// A tree of this database (for peers, bans, signer state).
    pub fn tree(&self, name: &str) -> Result<kv::Tree, StorageError> {
        self.db.open_tree(name).map_err(|e| self.sled_err(e))
    }

    /// Bytes the database takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk()
    }

    /// Flushes everything to disk.
    pub fn flush(&self) -> Result<(), StorageError> {
        self.db.flush().map_err(|e| self.sled_err(e))
    }

    fn init(&self, genesis: &Genesis) -> Result<(), StorageError> {
        let mut batch = kv::Batch::default();
        put_meta_header(&mut batch, genesis);
        write_block(
            &mut batch,
            &BlockCommit {
                block: &genesis.block,
                cert: &CommitCertificate::default(),
                fx: &genesis.effects,
                supply_before: Amount::ZERO,
                utxo_count_before: 0,
            },
        );
        tx_index::put_entries(&mut batch, 0, &genesis.effects.txids);
        tx_index::put_height(&mut batch, 0);
        state_snapshot::write(
            &mut batch,
            EncodedSnapshot::of(&genesis.state()),
            self.snapshot_chunks()?,
        );
        self.chain
            .apply_batch(batch)
            .map_err(|e| self.sled_err(e))?;
        self.flush()
    }

    fn check_header(&self, genesis: &Genesis) -> Result<(), StorageError> {
        let schema = self
            .get(Table::Meta, META_SCHEMA)?
            .ok_or_else(|| self.corrupt("schema version missing"))?;
        let schema =
            u32::from_bytes(&schema).map_err(|_| self.corrupt("schema version unreadable"))?;
        if schema != SCHEMA_VERSION {
            return Err(StorageError::Schema {
                path: self.path.clone(),
                found: schema,
                expected: SCHEMA_VERSION,
            });
        }
        let id = self
            .get(Table::Meta, META_CHAIN_ID)?
            .ok_or_else(|| self.corrupt("chain id missing"))?;
        let id: Hash = self.decode("chain id", &id)?;
        if id != genesis.params.chain_id {
            return Err(StorageError::WrongChain {
                path: self.path.clone(),
                found: id.to_hex(),
                expected: genesis.params.chain_id.to_hex(),
            });
        }
        Ok(())
    }

    /// The state at the tip: the last snapshot, then the stored blocks after it replayed
    /// (their signatures were verified before they were committed). Checks the result against
    /// the stored tip, supply and UTXO counter, and the certificates of the replayed blocks and
    /// of the tip against the validator set in force at their height (the next block carries
    /// the tip's certificate: a missing or wrong one would stall the chain).
    fn load_state(&self, genesis: &Genesis) -> Result<LedgerState, StorageError> {
        let tip = self
            .get(Table::Meta, META_TIP)?
            .ok_or_else(|| self.corrupt("tip missing"))?;
        let (height, tip_hash, _, _) =
            decode_tip(&tip).ok_or_else(|| self.corrupt("tip unreadable"))?;
        let block = self
            .block(height)?
            .ok_or_else(|| self.corrupt(format!("tip block {height} missing")))?;
        if block.hash() != tip_hash {
            return Err(self.corrupt(format!("tip block {height} does not match the tip hash")));
        }
        let supply = self
            .get(Table::Meta, META_SUPPLY)?
            .ok_or_else(|| self.corrupt("supply missing"))?;
        let supply: Amount = self.decode("supply", &supply)?;
        let count = self
            .get(Table::Meta, META_UTXO_COUNT)?
            .ok_or_else(|| self.corrupt("utxo count missing"))?;
        let count: u64 = self.decode("utxo count", &count)?;
        let mut state = self.read_snapshot()?;
        if state.height > height {
            return Err(self.corrupt(format!(
                "the state snapshot (height {}) is above the tip ({height})",
                state.height
            )));
        }
        let trust_signatures = |_: &Hash| true;
        let replay_from = state.height + 1;
        for h in replay_from..=height {
            let block = self
                .block(h)?
                .ok_or_else(|| self.corrupt(format!("block {h} missing")))?;
            let set = state.next_validator_set();
            let fx = crate::ledger::validate_block(
                &block,
                &state,
                &genesis.params,
                &set,
                SigPolicy::SkipVerified(&trust_signatures),
            )
            .map_err(|e| self.corrupt(format!("stored block {h} does not apply: {e}")))?;
            self.check_certificate(h, &fx.block_hash, &set, genesis)?;
            state.apply(&fx, block.header.time_ms);
        }
        if replay_from > height && height > 0 {
            // The snapshot is at the tip: it keeps the set that finalized the tip.
            self.check_certificate(height, &tip_hash, &state.tip_validators, genesis)?;
        }
        if state.tip_hash != tip_hash {
            return Err(self.corrupt(format!(
                "replaying the blocks from the state snapshot does not reach the tip block {height}"
            )));
        }
        if state.supply != supply {
            return Err(self.corrupt(format!(
                "the blocks give a supply of {} but the stored supply is {}",
                state.supply.0, supply.0
            )));
        }
        if state.utxo_count() as u64 != count {
            return Err(self.corrupt(format!(
                "{} UTXOs after replay but the counter says {count}",
                state.utxo_count()
            )));
        }
        Ok(state)
    }

    /// Checks that the stored certificate of block `height` (hash `hash`) is there and is a
    /// valid commit of that block by `set`, the validators of that height.
    fn check_certificate(
        &self,
        height: u64,
        hash: &Hash,
        set: &ValidatorSet,
        genesis: &Genesis,
    ) -> Result<(), StorageError> {
        let cert = self
            .certificate(height)?
            .ok_or_else(|| self.corrupt(format!("certificate of block {height} missing")))?;
        cert.verify(&genesis.params.chain_id, height, hash, set)
            .map_err(|e| self.corrupt(format!("certificate of block {height} is invalid: {e}")))
    }

    fn snapshot_header(&self) -> Result<Option<SnapshotHeader>, StorageError> {
        match self.get(Table::Meta, META_SNAPSHOT)? {
            None => Ok(None),
            Some(b) => Ok(Some(self.decode("state snapshot", &b)?)),
        }
    }

    fn snapshot_chunks(&self) -> Result<u32, StorageError> {
        Ok(self.snapshot_header()?.map(|h| h.chunks).unwrap_or(0))
    }

    fn read_snapshot(&self) -> Result<LedgerState, StorageError> {
        let header = self
            .snapshot_header()?
            .ok_or_else(|| self.corrupt("state snapshot missing"))?;
        let mut utxos = IdMap::with_capacity_and_hasher(
            header.utxo_count.min(1 << 24) as usize,
            Default::default(),
        );
        for i in 0..header.chunks {
            let chunk = self
                .chain
                .get(state_snapshot::chunk_key(i))
                .map_err(|e| self.sled_err(e))?
                .ok_or_else(|| self.corrupt(format!("state snapshot chunk {i} missing")))?;
            state_snapshot::decode_chunk(&chunk, &mut utxos)
                .map_err(|e| self.corrupt(format!("state snapshot chunk {i}: {e}")))?;
        }
        if utxos.len() as u64 != header.utxo_count {
            return Err(self.corrupt(format!(
                "the state snapshot holds {} UTXOs but its header says {}",
                utxos.len(),
                header.utxo_count
            )));
        }
        Ok(LedgerState::from_parts(
            utxos,
            header.masternodes,
            header.height,
            header.tip_hash,
            header.tip_time_ms,
            header.supply,
            header.tip_validators,
        ))
    }

    /// Writes a snapshot of `state` (a state this database holds every block of) and flushes:
    /// the next open replays only the blocks above it.
    pub fn write_snapshot(&self, state: &LedgerState) -> Result<(), StorageError> {
        let mut batch = kv::Batch::default();
        state_snapshot::write(
            &mut batch,
            EncodedSnapshot::of(state),
            self.snapshot_chunks()?,
        );
        self.chain
            .apply_batch(batch)
            .map_err(|e| self.sled_err(e))?;
        self.flush()
    }

    /// Writes the transaction index entries of committed blocks (`(height, txids)`, oldest
    /// first) in one batch, without a flush: a crash that loses them is repaired at the next
    /// open. Until this returns, lookups find those transactions in memory.
    pub fn index_txs(&self, blocks: &[(u64, &[Hash])]) -> Result<(), StorageError> {
        let Some(last) = blocks.iter().map(|(h, _)| *h).max() else {
            return Ok(());
        };
        let entries: Vec<tx_runs::Entry> = blocks
            .iter()
            .flat_map(|(height, txids)| {
                txids.iter().enumerate().map(|(i, t)| tx_runs::Entry {
                    txid: t.0,
                    loc: TxLocation {
                        height: *height,
                        index: i as u32,
                    },
                })
            })
            .collect();
        let mut batch = kv::Batch::default();
        let planned = self
            .runs
            .plan(&self.chain, entries, &mut batch)
            .map_err(|e| self.run_err(e))?;
        tx_index::put_height(&mut batch, last);
        self.runs
            .apply(planned, || self.chain.apply_batch(batch))
            .map_err(|e| self.sled_err(e))?;
        for (h, txids) in blocks {
            self.unindexed.remove(*h, txids);
        }
        Ok(())
    }

    /// Committed transactions whose index entries are not written yet.
    pub fn unindexed_txs(&self) -> usize {
        self.unindexed.len()
    }

    /// Indexes the blocks above the height the index is complete to, up to the tip `height`
    /// (after a crash lost the indexer's last batches). A database without that height was
    /// indexed with every commit.
    fn catch_up_tx_index(&self, height: u64) -> Result<(), StorageError> {
        let Some(done) = self.get(Table::Meta, META_TXINDEX_HEIGHT)? else {
            return Ok(());
        };
        let done: u64 = self.decode("transaction index height", &done)?;
        if done >= height {
            return Ok(());
        }
        tracing::info!(target: "storage", from = done + 1, to = height, "indexing the transactions of the last blocks again");
        for h in done + 1..=height {
            let block = self
                .block(h)?
                .ok_or_else(|| self.corrupt(format!("block {h} missing")))?;
            let txids: Vec<Hash> = block.txs.iter().map(|t| t.txid()).collect();
            self.index_txs(&[(h, &txids)])?;
        }
        self.flush()
    }
}

fn put_meta_header(batch: &mut kv::Batch, genesis: &Genesis) {
    batch.insert(
        keys::key(Table::Meta, META_SCHEMA),
        SCHEMA_VERSION.to_bytes(),
    );
    batch.insert(
        keys::key(Table::Meta, META_CHAIN_ID),
        genesis.params.chain_id.to_bytes(),
    );
}

#[cfg(test)]
mod tests;
