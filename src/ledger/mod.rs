//! The ledger: validation and application of transactions and blocks against the UTXO set and
//! the masternode registry. Sync and pure: storage persists the [`BlockEffects`] it produces.

pub mod assemble;
pub mod error;
pub mod genesis;
pub mod parallel;
pub mod params;
pub mod state;
#[cfg(any(test, feature = "test-utils"))]
pub mod testkit;
pub mod validate;

pub use assemble::build_block;
pub use error::{BlockError, TxError};
pub use genesis::{devnet_genesis, DevnetSpec, Genesis};
pub use params::ChainParams;
pub use state::{BlockEffects, LedgerState, MasternodeEntry, MasternodeState, Utxo, UtxoView};
pub use validate::{validate_block, validate_block_known, validate_tx, SigPolicy, TxCheck};

#[cfg(test)]
mod tests;
