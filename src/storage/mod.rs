//! Durable storage on sled.
//!
//! The chain lives in one sled tree with one key prefix per table (blocks by height, commit
//! certificates, block index, tx index, state snapshot, meta), because sled applies a batch
//! atomically within one tree: a finalized block and all its effects land in one `apply_batch`,
//! followed by `flush()`, before anything reports the block final. A block's effects on the UTXO
//! set and the masternodes are stored as the block itself: the state at open is the last state
//! snapshot plus a replay of the stored blocks after it (see `state_snapshot`). Peers, bans and
//! the consensus signer state live in their own trees.

mod keys;
mod state_snapshot;
mod tx_index;

use crate::ledger::{BlockEffects, Genesis, LedgerState, SigPolicy};
use crate::types::{
    Amount, Block, CommitCertificate, Decode, DecodeError, Encode, Hash, Transaction, ValidatorSet,
};
use keys::{
    Table, META_CHAIN_ID, META_SCHEMA, META_SNAPSHOT, META_SUPPLY, META_TIP, META_TXINDEX_HEIGHT,
    META_UTXO_COUNT,
};
pub use state_snapshot::EncodedSnapshot;
use state_snapshot::SnapshotHeader;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
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
    db: sled::Db,
    chain: sled::Tree,
    /// Committed transactions the index does not hold yet (see [`tx_index`]).
    unindexed: tx_index::Unindexed,
}

/// Where a transaction is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
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
        let fresh = s.get(Table::Meta, META_SCHEMA)?.is_none();
        if fresh {
            // sled opens a damaged or truncated log as an empty (or shorter) database: an
            // existing database without a schema is damaged, never silently re-created.
            if existed {
                return Err(s.corrupt("schema version missing (the database files are damaged or were never fully created)"));
            }
            s.init(genesis)?;
        }
        s.check_header(genesis)?;
        let state = s.load_state(genesis)?;
        s.catch_up_tx_index(state.height)?;
        Ok((s, state))
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
        let chain = db.open_tree("chain").map_err(|source| StorageError::Sled {
            path: path.clone(),
            source,
        })?;
        Ok(Storage {
            path,
            db,
            chain,
            unindexed: tx_index::Unindexed::default(),
        })
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

    fn get(&self, t: Table, k: &[u8]) -> Result<Option<sled::IVec>, StorageError> {
        self.chain
            .get(keys::key(t, k))
            .map_err(|e| self.sled_err(e))
    }

    fn decode<T: Decode>(&self, what: &str, b: &[u8]) -> Result<T, StorageError> {
        T::from_bytes(b).map_err(|e: DecodeError| self.corrupt(format!("{what}: {e}")))
    }

    /// A sled tree of this database (for peers, bans, signer state).
    pub fn tree(&self, name: &str) -> Result<sled::Tree, StorageError> {
        self.db.open_tree(name).map_err(|e| self.sled_err(e))
    }

    /// Bytes the database takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// Flushes everything to disk.
    pub fn flush(&self) -> Result<(), StorageError> {
        self.db.flush().map(|_| ()).map_err(|e| self.sled_err(e))
    }

    fn init(&self, genesis: &Genesis) -> Result<(), StorageError> {
        let mut batch = sled::Batch::default();
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
        let mut utxos = HashMap::with_capacity(header.utxo_count.min(1 << 24) as usize);
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
        let mut batch = sled::Batch::default();
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

    /// Persists a finalized block, its certificate and all its effects atomically, then flushes,
    /// and indexes its transactions. `state_before` is the state the block was validated
    /// against. Returns the flush time.
    pub fn commit_block(
        &self,
        block: &Block,
        cert: &CommitCertificate,
        fx: &BlockEffects,
        state_before: &LedgerState,
    ) -> Result<std::time::Duration, StorageError> {
        let flush = self.commit_blocks(&[BlockCommit::on(block, cert, fx, state_before)], None)?;
        self.index_txs(&[(fx.height, &fx.txids)])?;
        Ok(flush)
    }

    /// Writes the transaction index entries of committed blocks (`(height, txids)`, oldest
    /// first) in one batch, without a flush: a crash that loses them is repaired at the next
    /// open. Until this returns, lookups find those transactions in memory.
    pub fn index_txs(&self, blocks: &[(u64, &[Hash])]) -> Result<(), StorageError> {
        let Some(last) = blocks.iter().map(|(h, _)| *h).max() else {
            return Ok(());
        };
        let mut batch = sled::Batch::default();
        for (h, txids) in blocks {
            tx_index::put_entries(&mut batch, *h, txids);
        }
        tx_index::put_height(&mut batch, last);
        self.chain
            .apply_batch(batch)
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

    /// Persists consecutive finalized blocks (oldest first) and all their effects in one atomic
    /// batch, then flushes once: a writer that fell behind catches up with one flush instead of
    /// one per block. Either every block of the group is stored or none is. `snapshot`, the
    /// state after one of these blocks, goes into the same batch. Returns the flush time.
    pub fn commit_blocks(
        &self,
        blocks: &[BlockCommit<'_>],
        snapshot: Option<&LedgerState>,
    ) -> Result<std::time::Duration, StorageError> {
        self.commit_blocks_encoded(blocks, snapshot.map(EncodedSnapshot::of))
    }

    /// [`Storage::commit_blocks`] with the snapshot already encoded (by the driver, at the
    /// snapshot's height, while this runs on the writer's thread); its chunks move into the
    /// batch, so the encoding is held once.
    pub fn commit_blocks_encoded(
        &self,
        blocks: &[BlockCommit<'_>],
        snapshot: Option<EncodedSnapshot>,
    ) -> Result<std::time::Duration, StorageError> {
        let mut batch = sled::Batch::default();
        // Later writes of the same key replace earlier ones in a batch: the tip is the last
        // block's.
        for b in blocks {
            write_block(&mut batch, b);
        }
        if let Some(snapshot) = snapshot {
            state_snapshot::write(&mut batch, snapshot, self.snapshot_chunks()?);
        }
        self.chain
            .apply_batch(batch)
            .map_err(|e| self.sled_err(e))?;
        let t = Instant::now();
        self.flush()?;
        for b in blocks {
            self.unindexed.add(b.fx.height, &b.fx.txids);
        }
        Ok(t.elapsed())
    }

    /// The block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Block>, StorageError> {
        match self.get(Table::Block, &be64(height))? {
            None => Ok(None),
            Some(b) => Ok(Some(self.decode("block", &b)?)),
        }
    }

    /// The raw encoded block at `height`.
    pub fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.get(Table::Block, &be64(height))?.map(|b| b.to_vec()))
    }

    /// The commit certificate of the block at `height`.
    pub fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>, StorageError> {
        match self.get(Table::Cert, &be64(height))? {
            None => Ok(None),
            Some(b) => Ok(Some(self.decode("certificate", &b)?)),
        }
    }

    /// Height of the block with this hash.
    pub fn height_of(&self, hash: &Hash) -> Result<Option<u64>, StorageError> {
        match self.get(Table::BlockIndex, &hash.0)? {
            None => Ok(None),
            Some(b) => Ok(Some(
                self.decode::<[u8; 8]>("block index", &b)
                    .map(u64::from_be_bytes)?,
            )),
        }
    }

    /// Where a finalized transaction is.
    pub fn tx_location(&self, txid: &Hash) -> Result<Option<TxLocation>, StorageError> {
        if let Some(loc) = self.unindexed.get(txid) {
            return Ok(Some(loc));
        }
        match self.get(Table::TxIndex, &txid.0)? {
            None => Ok(None),
            Some(b) if b.len() == 12 => {
                let mut h = [0u8; 8];
                h.copy_from_slice(&b[..8]);
                let mut i = [0u8; 4];
                i.copy_from_slice(&b[8..]);
                Ok(Some(TxLocation {
                    height: u64::from_be_bytes(h),
                    index: u32::from_be_bytes(i),
                }))
            }
            Some(_) => Err(self.corrupt("tx index entry has the wrong length")),
        }
    }

    /// A finalized transaction and its location.
    pub fn transaction(
        &self,
        txid: &Hash,
    ) -> Result<Option<(Transaction, TxLocation)>, StorageError> {
        let Some(loc) = self.tx_location(txid)? else {
            return Ok(None);
        };
        let block = self
            .block(loc.height)?
            .ok_or_else(|| self.corrupt("tx index points at a missing block"))?;
        let tx = block
            .txs
            .get(loc.index as usize)
            .cloned()
            .ok_or_else(|| self.corrupt("tx index points past the block"))?;
        Ok(Some((tx, loc)))
    }

    /// Rebuilds indexes, UTXO set and masternodes from the stored blocks.
    pub fn reindex(dir: &Path, genesis: &Genesis) -> Result<(Storage, LedgerState), StorageError> {
        let s = Self::open_raw(dir)?;
        // Never wipe the database of another chain: check the stored chain id and genesis
        // block (when readable) before dropping anything.
        if let Some(id) = s.get(Table::Meta, META_CHAIN_ID)? {
            if let Ok(id) = Hash::from_bytes(&id) {
                if id != genesis.params.chain_id {
                    return Err(StorageError::WrongChain {
                        path: s.path.clone(),
                        found: id.to_hex(),
                        expected: genesis.params.chain_id.to_hex(),
                    });
                }
            }
        }
        if let Some(b0) = s.get(Table::Block, &be64(0))? {
            if b0.as_ref() != genesis.block.to_bytes().as_slice() {
                return Err(StorageError::WrongChain {
                    path: s.path.clone(),
                    found: "unknown, its genesis block differs".into(),
                    expected: genesis.params.chain_id.to_hex(),
                });
            }
        }
        // The chain to rebuild: the stored blocks up to the first one without a certificate.
        let mut blocks = Vec::new();
        let mut h = 1u64;
        while let Some(b) = s.get(Table::Block, &be64(h))? {
            let Some(cert) = s.get(Table::Cert, &be64(h))? else {
                tracing::warn!(target: "storage", height = h, "reindex stops at a block without a certificate");
                break;
            };
            blocks.push((b, cert));
            h += 1;
        }
        // Blocks and certificates stay; everything derived from them is dropped and rebuilt.
        let mut batch = sled::Batch::default();
        let derived = [
            Table::BlockIndex,
            Table::TxIndex,
            Table::Snapshot,
            Table::Meta,
        ]
        .map(|t| t as u8);
        for prefix in derived.iter().chain(keys::LEGACY_PREFIXES) {
            for kv in s.chain.scan_prefix([*prefix]) {
                let (k, _) = kv.map_err(|e| s.sled_err(e))?;
                batch.remove(k);
            }
        }
        s.chain.apply_batch(batch).map_err(|e| s.sled_err(e))?;
        s.init(genesis)?;
        let mut state = genesis.state();
        for (i, (b, c)) in blocks.iter().enumerate() {
            let block: Block = match Block::from_bytes(b) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(target: "storage", height = i + 1, "reindex stopped at an undecodable block: {e}");
                    break;
                }
            };
            let Ok(cert) = CommitCertificate::from_bytes(c) else {
                tracing::warn!(target: "storage", height = i + 1, "reindex stopped at an undecodable certificate");
                break;
            };
            let set = state.next_validator_set();
            if cert
                .verify(
                    &genesis.params.chain_id,
                    block.header.height,
                    &block.hash(),
                    &set,
                )
                .is_err()
            {
                tracing::warn!(target: "storage", height = i + 1, "reindex stopped at a block without a valid certificate");
                break;
            }
            let fx = match crate::ledger::validate_block(
                &block,
                &state,
                &genesis.params,
                &set,
                SigPolicy::VerifyAll,
            ) {
                Ok(fx) => fx,
                Err(e) => {
                    tracing::warn!(target: "storage", height = i + 1, "reindex stopped at an invalid block: {e}");
                    break;
                }
            };
            let mut batch = sled::Batch::default();
            write_block(&mut batch, &BlockCommit::on(&block, &cert, &fx, &state));
            tx_index::put_entries(&mut batch, fx.height, &fx.txids);
            tx_index::put_height(&mut batch, fx.height);
            s.chain.apply_batch(batch).map_err(|e| s.sled_err(e))?;
            state.apply(&fx, block.header.time_ms);
        }
        s.write_snapshot(&state)?;
        let state = s.load_state(genesis)?;
        Ok((s, state))
    }
}

fn put_meta_header(batch: &mut sled::Batch, genesis: &Genesis) {
    batch.insert(
        keys::key(Table::Meta, META_SCHEMA),
        SCHEMA_VERSION.to_bytes(),
    );
    batch.insert(
        keys::key(Table::Meta, META_CHAIN_ID),
        genesis.params.chain_id.to_bytes(),
    );
}

/// The tip record: height, hash, block time and the validator set that finalized it.
fn encode_tip(height: u64, hash: &Hash, time_ms: u64, validators: &ValidatorSet) -> Vec<u8> {
    let mut v = Vec::with_capacity(80);
    height.encode_to(&mut v);
    hash.encode_to(&mut v);
    time_ms.encode_to(&mut v);
    validators.encode_to(&mut v);
    v
}

fn decode_tip(b: &[u8]) -> Option<(u64, Hash, u64, ValidatorSet)> {
    let mut r = crate::types::Reader::new(b);
    let t = (
        r.u64().ok()?,
        Hash::decode_from(&mut r).ok()?,
        r.u64().ok()?,
        ValidatorSet::decode_from(&mut r).ok()?,
    );
    r.finish().ok()?;
    Some(t)
}

/// One finalized block and what its commit needs besides the block.
pub struct BlockCommit<'a> {
    /// The block.
    pub block: &'a Block,
    /// Its commit certificate.
    pub cert: &'a CommitCertificate,
    /// Its effects, as validated.
    pub fx: &'a BlockEffects,
    /// Total supply before the block.
    pub supply_before: Amount,
    /// UTXO count before the block.
    pub utxo_count_before: u64,
}

impl<'a> BlockCommit<'a> {
    /// The commit of `block`, validated against `state_before` (the state it applies to).
    pub fn on(
        block: &'a Block,
        cert: &'a CommitCertificate,
        fx: &'a BlockEffects,
        state_before: &LedgerState,
    ) -> BlockCommit<'a> {
        BlockCommit {
            block,
            cert,
            fx,
            supply_before: state_before.supply,
            utxo_count_before: state_before.utxo_count() as u64,
        }
    }
}

/// Adds a block, its certificate, its indexes and the new tip, supply and UTXO count to `batch`
/// (the UTXO and masternode changes are the block's own content, replayed at open).
fn write_block(batch: &mut sled::Batch, c: &BlockCommit<'_>) {
    let (block, cert, fx) = (c.block, c.cert, c.fx);
    let (supply_before, utxo_count_before) = (c.supply_before, c.utxo_count_before);
    let h = be64(fx.height);
    batch.insert(keys::key(Table::Block, &h), block.to_bytes());
    batch.insert(keys::key(Table::Cert, &h), cert.to_bytes());
    batch.insert(keys::key(Table::BlockIndex, &fx.block_hash.0), &h[..]);
    let count = utxo_count_before + fx.created.len() as u64 - fx.spent.len() as u64;
    batch.insert(keys::key(Table::Meta, META_UTXO_COUNT), count.to_bytes());
    let supply = Amount(supply_before.0.saturating_add(fx.minted.0));
    batch.insert(keys::key(Table::Meta, META_SUPPLY), supply.to_bytes());
    batch.insert(
        keys::key(Table::Meta, META_TIP),
        encode_tip(
            fx.height,
            &fx.block_hash,
            block.header.time_ms,
            &fx.validators,
        ),
    );
}

#[cfg(test)]
mod tests;
