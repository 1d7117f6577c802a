//! TimeCoin full node library: core types, ledger, storage, mempool, consensus, p2p, rpc, wallet
//! and the node orchestration that ties them together.
//!
//! Dependencies flow one way: `types` (sync, no tokio) <- `ledger`/`storage` <- `mempool`,
//! `consensus` (pure core) <- `p2p`, `rpc`, `wallet` <- `node` <- `app` (the `timed` command).

pub mod app;
pub mod config;
pub mod consensus;
pub mod ledger;
pub mod mempool;
pub mod metrics;
pub mod node;
pub mod p2p;
pub mod rpc;
pub mod storage;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;
pub mod types;
pub mod wallet;
