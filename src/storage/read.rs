//! The read side: stored blocks, certificates and transactions by height, hash or txid.

use super::keys::Table;
use super::{be64, Storage, StorageError};
use crate::types::{Block, CommitCertificate, Hash, Transaction};

/// Where a transaction is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
}

impl Storage {
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
        if let Some(loc) = self
            .runs
            .find(&self.chain, txid)
            .map_err(|e| self.run_err(e))?
        {
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
}
