//! JSON-RPC server in Bitcoin Core's dialect, its client, and the backend interface the node
//! implements.
//!
//! - [`backend::RpcBackend`]: what the node provides (plain structs, no JSON).
//! - [`server::start`]: the HTTP server; [`auth::RpcAuth`]: cookie or user/password.
//! - [`methods::METHODS`]: the method table that drives dispatch and `help`.
//! - [`client::RpcClient`]: used by `time-cli`.
//! - [`mock::MockBackend`]: an in-memory backend for tests.

pub mod auth;
pub mod backend;
pub mod client;
pub mod error;
pub mod json;
pub mod methods;
pub mod mock;
pub mod server;

pub use auth::{CookieGuard, RpcAuth};
pub use backend::RpcBackend;
pub use error::{RpcErr, RpcError};
pub use server::{start, RpcLimits};

use crate::types::Network;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// The default data dir of a network: the platform data dir of `org.TimeCoin.timecoin`
/// (e.g. `~/.local/share/timecoin/<network>` on Linux), or `./.timecoin/<network>` when the
/// platform has no home directory.
pub fn default_data_dir(network: Network) -> PathBuf {
    directories::ProjectDirs::from("org", "TimeCoin", "timecoin")
        .map(|p| p.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".timecoin"))
        .join(network.name())
}

/// The default RPC address of a network: 127.0.0.1 on its base port + 1.
pub fn default_rpc_addr(network: Network) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, network.base_port() + 1))
}
