//! Everything one node needs to start, resolved from config, flags and the data dir.

use crate::consensus::ConsensusParams;
use crate::ledger::Genesis;
use crate::mempool::MempoolLimits;
use crate::node::verify_slots::VerifySlots;
use crate::node::FutureLimits;
use crate::p2p::LinkDelay;
use crate::types::{Network, SecretKey};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// A fully resolved node configuration.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    /// Display name (e.g. "node0").
    pub name: String,
    /// Network the node runs on (address prefix, default ports).
    pub network: Network,
    /// Data directory of this node.
    pub data_dir: PathBuf,
    /// The chain: genesis block, chain parameters and initial state.
    pub genesis: Genesis,
    /// The node's key (p2p identity; consensus key when it is a masternode).
    pub node_key: SecretKey,
    /// Vote and propose when in the active set.
    pub masternode: bool,
    /// P2P listen address.
    pub p2p_bind: SocketAddr,
    /// Address announced to peers.
    pub advertise: Option<String>,
    /// Seed peers (host:port), dialed at start to find others.
    pub seeds: Vec<String>,
    /// Fixed peers (host:port), kept connected and redialed forever.
    pub connect: Vec<String>,
    /// Most inbound peer connections at once.
    pub max_inbound: usize,
    /// Most outbound peer connections at once.
    pub max_outbound: usize,
    /// RPC listen address (`None`: no RPC server).
    pub rpc_bind: Option<SocketAddr>,
    /// RPC user/password instead of a cookie.
    pub rpc_user: Option<(String, String)>,
    /// Allow a non-loopback RPC bind.
    pub rpc_allow_public: bool,
    /// Metrics listen address (`None`: no metrics server).
    pub metrics_bind: Option<SocketAddr>,
    /// Consensus timeouts: the network's, with `[consensus]` overrides applied.
    pub consensus: ConsensusParams,
    /// Longest wait for transactions before proposing an empty block.
    pub empty_block_interval: Duration,
    /// Mempool limits from `[mempool]`.
    pub mempool: MempoolLimits,
    /// Rebuild indexes and the UTXO set from stored blocks at start.
    pub reindex: bool,
    /// Emulated latency of the node's outgoing messages ([`P2pConfig::link_delay`]): set by
    /// `timed bench --latency-ms` and tests only, never from a config file.
    ///
    /// [`P2pConfig::link_delay`]: crate::p2p::P2pConfig::link_delay
    pub link_delay: Option<LinkDelay>,
    /// Bounds of the buffer of next-height consensus messages: the defaults, except in the
    /// simulation.
    pub future_buffer: FutureLimits,
    /// Slots for admission's signature verification: the process's, except in tests.
    pub verify_slots: VerifySlots,
}

/// Why a node key file is unusable.
#[derive(Debug, Error)]
pub enum KeyFileError {
    /// I/O.
    #[error("node key file {path}: {source}")]
    Io {
        /// The node key file.
        path: PathBuf,
        /// The I/O error reading or writing it.
        source: std::io::Error,
    },
    /// Not 64 hex digits.
    #[error("node key file {0} must hold 64 hex digits (the key seed); move it away to create a new key")]
    Format(PathBuf),
}

/// Loads the node key from `path`, creating a fresh one (mode 0600) if the file does not exist.
pub fn load_or_create_node_key(path: &Path) -> Result<SecretKey, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mut seed = zeroize::Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(text.trim(), &mut seed[..])
                .map_err(|_| KeyFileError::Format(path.to_path_buf()))?;
            Ok(SecretKey::from_seed(&seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::generate();
            write_node_key(path, &key).map_err(io)?;
            Ok(key)
        }
        Err(e) => Err(io(e)),
    }
}

/// Writes a node key file (hex seed, mode 0600).
pub fn write_node_key(path: &Path, key: &SecretKey) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)?;
    let hexed = zeroize::Zeroizing::new(hex::encode(&key.seed()[..]));
    f.write_all(hexed.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
