//! What the wallet needs from the node: a narrow, synchronous view of the chain and mempool.
//! The node implements [`WalletChain`]; tests use a fake.

use crate::types::{Address, Hash, OutPoint, Transaction, TxOut};

/// An unspent output paying one of the wallet's addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletUtxo {
    /// The transaction and output index that created it.
    pub outpoint: OutPoint,
    /// Its amount and the own address it pays.
    pub output: TxOut,
    /// Height of the final block that created it; `None` while the creating transaction is
    /// pending in the mempool.
    pub height: Option<u64>,
}

/// Where the node sees a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainTxStatus {
    /// In a final block.
    Final {
        /// Height of the final block that holds it.
        height: u64,
    },
    /// In the mempool, not yet in a final block.
    Pending,
    /// Neither in a final block nor in the mempool (never seen, dropped or rejected).
    Unknown,
}

/// The node's view of the chain, as the wallet uses it.
pub trait WalletChain {
    /// Unspent outputs paying any of `addrs`: outputs of final blocks that no final block has
    /// spent (`height: Some`), plus outputs created by mempool transactions (`height: None`).
    /// Outputs that a mempool transaction spends are still listed: see
    /// [`WalletChain::spent_in_mempool`].
    fn utxos(&self, addrs: &[Address]) -> Vec<WalletUtxo>;
    /// Whether a transaction in the mempool spends `o`.
    fn spent_in_mempool(&self, o: &OutPoint) -> bool;
    /// Whether `txid` is final (and at which height), pending in the mempool, or unknown.
    fn tx_status(&self, txid: &Hash) -> ChainTxStatus;
    /// A transaction of a final block or of the mempool, if this view holds it. The history
    /// computes what an incoming transaction moved from it (its outputs to the wallet less the
    /// wallet's outputs it spends); without it, only the outputs still unspent are counted.
    fn transaction(&self, txid: &Hash) -> Option<Transaction>;
    /// The chain id every signature commits to.
    fn chain_id(&self) -> Hash;
    /// The mempool's minimum fee rate in base units per byte.
    fn min_fee_rate(&self) -> u64;
}
