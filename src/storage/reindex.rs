//! `--reindex`: the tables derived from the stored blocks and certificates dropped and rebuilt,
//! with the state, by validating the blocks again.

use super::commit::write_block;
use super::keys::{self, Table, META_CHAIN_ID};
use super::kv;
use super::{be64, tx_index, BlockCommit, Storage, StorageError};
use crate::ledger::{Genesis, LedgerState, SigPolicy};
use crate::types::{Block, CommitCertificate, Decode, Encode, Hash};
use std::path::Path;

impl Storage {
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
        let mut batch = kv::Batch::default();
        let derived = [
            Table::BlockIndex,
            Table::TxIndex,
            Table::TxRun,
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
        s.runs.clear();
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
            let mut batch = kv::Batch::default();
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
