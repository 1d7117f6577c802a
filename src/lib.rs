//! TimeCoin full node library: core types, ledger, storage, mempool, consensus, p2p, rpc, wallet
//! and the node orchestration that ties them together.
//!
//! Dependencies flow one way: `types` (sync, no tokio) <- `ledger`/`storage` <- `mempool`,
//! `consensus` (pure core) <- `p2p`, `rpc`, `wallet` <- `node` <- binaries.

pub mod consensus;
pub mod metrics;
pub mod rpc;
pub mod types;
