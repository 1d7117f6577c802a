//! JSON-RPC server in Bitcoin Core's dialect, its client, and the backend interface the node
//! implements.
//!
//! - [`backend::RpcBackend`]: what the node provides (plain structs, no JSON).
//! - [`server::start`]: the HTTP server; [`auth::RpcAuth`]: cookie or user/password.
//! - [`methods::METHODS`]: the method table that drives dispatch and `help`.
//! - [`client::RpcClient`]: used by `time-cli`.
//! - `mock::MockBackend`: an in-memory backend for tests (with the `test-utils` feature).
//!
//! Wiring in the node (inside the tokio runtime):
//!
//! ```ignore
//! let (auth, _cookie) = match &cfg.rpc.user {          // keep `_cookie` alive until exit:
//!     Some(u) => (RpcAuth::user_password(u, &pw), None), // dropping it deletes `.cookie`
//!     None => { let (a, g) = RpcAuth::cookie(&datadir)?; (a, Some(g)) }
//! };
//! let limits = RpcLimits { allow_public: cfg.rpc.allow_public, ..RpcLimits::default() };
//! let (rpc_addr, rpc_task) = rpc::start(bind, auth, backend, limits, token.child_token()).await?;
//! let (metrics, registry) = metrics::Metrics::new();   // clone `metrics` into subsystems
//! let (m_addr, m_task) = metrics::start(mbind, registry, health, token.child_token()).await?;
//! ```
//!
//! Conventions: amounts are JSON numbers in TIME, printed with at most 8 decimals (see
//! [`json`] for the exactness bound) and accepted as numbers or strings; block and header
//! times are seconds (`time`) plus milliseconds (`timems`); fee rates in results are TIME per
//! kB like Bitcoin Core, fee rates in parameters are base units per byte. Confirmations of a
//! finalized block are `tip - height + 1` (every block in the chain is final); mempool
//! transactions have 0.

pub mod auth;
pub mod backend;
pub mod client;
pub mod endpoint;
pub mod error;
pub mod json;
pub mod methods;
#[cfg(any(test, feature = "test-utils"))]
pub mod mock;
pub mod server;
pub mod wallet_labels;

pub use auth::{CookieGuard, RpcAuth};
pub use backend::RpcBackend;
pub use error::{RpcErr, RpcError};
pub use server::{start, RpcLimits};

use crate::types::Network;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// The default data dir of a network: the platform data dir of `org.TimeCoin.timecoin`
/// (e.g. `~/.local/share/timecoin/<network>` on Linux), or `./.timecoin/<network>` when the
/// platform has no home directory.
pub fn default_data_dir(network: Network) -> PathBuf {
    directories::ProjectDirs::from("org", "TimeCoin", "timecoin")
        .map(|p| p.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".timecoin"))
        .join(network.name())
}

/// In the data dir of an in-process devnet: `node<i> <rpc host:port>` of the node that holds
/// the wallet, so that `time-cli` without `--rpc-url` talks to it.
pub const WALLET_NODE_FILE: &str = "wallet_node";

/// `time-cli`'s default endpoint in an in-process devnet dir: the wallet node's dir (for the
/// cookie) and RPC address, from [`WALLET_NODE_FILE`]; `None` when the file is absent or not
/// of that form.
pub fn devnet_wallet_node(dir: &Path) -> Option<(PathBuf, String)> {
    let text = std::fs::read_to_string(dir.join(WALLET_NODE_FILE)).ok()?;
    let (node, addr) = text.trim().split_once(' ')?;
    let index = node.strip_prefix("node")?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) || index.len() > 3 {
        return None;
    }
    addr.parse::<SocketAddr>().ok()?;
    Some((dir.join(node), addr.to_string()))
}

/// The default RPC address of a network: 127.0.0.1 on its base port + 1.
pub fn default_rpc_addr(network: Network) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, network.base_port() + 1))
}

#[cfg(test)]
mod tests {
    #[test]
    fn wallet_node_file_is_read_strictly() {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |s: &str| std::fs::write(dir.path().join(super::WALLET_NODE_FILE), s);
        assert_eq!(super::devnet_wallet_node(dir.path()), None);
        write("node4 127.0.0.1:24341\n").expect("write");
        assert_eq!(
            super::devnet_wallet_node(dir.path()),
            Some((dir.path().join("node4"), "127.0.0.1:24341".to_string()))
        );
        for bad in [
            "node4",
            "node 127.0.0.1:1",
            "node../x 127.0.0.1:1",
            "node4 nowhere",
            "",
        ] {
            write(bad).expect("write");
            assert_eq!(super::devnet_wallet_node(dir.path()), None, "{bad:?}");
        }
    }
}
