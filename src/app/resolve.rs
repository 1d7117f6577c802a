//! Turns the configuration and flags into what to run: one node, or an in-process devnet.

use super::args::NodeArgs;
use crate::config::{Config, ConfigError};
use crate::consensus::ConsensusParams;
use crate::ledger::Genesis;
use crate::mempool::MempoolLimits;
use crate::node::devnet::DevnetLayout;
use crate::node::spec::{load_or_create_node_key, NodeSpec};
use crate::types::Network;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `timed` runs.
#[derive(Debug)]
pub enum Plan {
    /// One node in this process.
    Single(Box<NodeSpec>),
    /// All devnet masternodes in this process.
    Devnet {
        /// Layout.
        layout: DevnetLayout,
        /// Consensus timeouts.
        consensus: ConsensusParams,
        /// Mempool limits.
        mempool: MempoolLimits,
        /// Empty block interval.
        empty_block_interval: Duration,
    },
}

/// The default data dir of a network (Linux: ~/.local/share/timecoin/<network>).
pub fn default_data_dir(network: Network) -> PathBuf {
    directories::ProjectDirs::from("org", "TimeCoin", "timecoin")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".timecoin"))
        .join(network.name())
}

/// Loads the configuration: `--config`, else ./config.toml, else `<datadir>/config.toml`, else
/// defaults; then environment overrides; then flags.
pub fn load_config(args: &NodeArgs) -> Result<Config, ConfigError> {
    let path = match &args.config {
        Some(p) => Some(p.clone()),
        None => {
            let local = PathBuf::from("config.toml");
            if local.exists() {
                Some(local)
            } else {
                args.datadir
                    .as_ref()
                    .map(|d| d.join("config.toml"))
                    .filter(|p| p.exists())
            }
        }
    };
    let mut c = Config::load(path.as_deref(), std::env::vars())?;
    if let Some(n) = &args.network {
        c.node.network = n.parse().map_err(|e: String| ConfigError::Flag {
            flag: "--network".into(),
            message: e,
        })?;
    }
    if let Some(d) = &args.datadir {
        c.node.datadir = Some(d.clone());
    }
    if let Some(b) = &args.p2p_bind {
        c.p2p.bind = Some(b.clone());
    }
    if let Some(b) = &args.rpc_bind {
        c.rpc.bind = Some(b.clone());
    }
    if let Some(b) = &args.metrics_bind {
        c.metrics.bind = Some(b.clone());
    }
    c.p2p.connect.extend(args.connect.iter().cloned());
    Ok(c)
}

fn addr(key: &str, s: &str) -> Result<SocketAddr, ConfigError> {
    s.parse().map_err(|_| ConfigError::Value {
        key: key.into(),
        message: format!("{s:?} is not an IP:port address"),
    })
}

/// Consensus timeouts: the network's defaults with the configured overrides.
pub fn consensus_params(c: &Config) -> ConsensusParams {
    let mut p = match c.node.network {
        Network::Devnet => ConsensusParams::devnet(),
        _ => ConsensusParams::mainnet(),
    };
    let ms = Duration::from_millis;
    let k = &c.consensus;
    if let Some(v) = k.timeout_propose_ms {
        p.timeout_propose = ms(v);
    }
    if let Some(v) = k.timeout_propose_delta_ms {
        p.timeout_propose_delta = ms(v);
    }
    if let Some(v) = k.timeout_prevote_ms {
        p.timeout_prevote = ms(v);
    }
    if let Some(v) = k.timeout_prevote_delta_ms {
        p.timeout_prevote_delta = ms(v);
    }
    if let Some(v) = k.timeout_precommit_ms {
        p.timeout_precommit = ms(v);
    }
    if let Some(v) = k.timeout_precommit_delta_ms {
        p.timeout_precommit_delta = ms(v);
    }
    p
}

/// The empty block interval of the configuration.
pub fn empty_block_interval(c: &Config) -> Duration {
    let default = match c.node.network {
        Network::Devnet => 1_000,
        _ => 60_000,
    };
    Duration::from_millis(c.consensus.empty_block_interval_ms.unwrap_or(default))
}

/// Mempool limits of the configuration.
pub fn mempool_limits(c: &Config) -> MempoolLimits {
    MempoolLimits {
        max_txs: c.mempool.max_txs,
        max_bytes: c.mempool.max_bytes,
        min_fee_rate: c.mempool.min_fee_rate,
    }
}

/// Decides what to run.
pub fn plan(c: &Config, reindex: bool) -> Result<Plan, ConfigError> {
    let network = c.node.network;
    let data_dir = c
        .node
        .datadir
        .clone()
        .unwrap_or_else(|| default_data_dir(network));
    if network == Network::Devnet && c.devnet.in_process {
        return Ok(Plan::Devnet {
            layout: DevnetLayout {
                nodes: c.devnet.nodes,
                base_port: c.devnet.base_port,
                dir: data_dir,
            },
            consensus: consensus_params(c),
            mempool: mempool_limits(c),
            empty_block_interval: empty_block_interval(c),
        });
    }
    let genesis = match network {
        Network::Devnet => DevnetLayout {
            nodes: c.devnet.nodes,
            base_port: c.devnet.base_port,
            dir: data_dir.clone(),
        }
        .genesis(),
        other => match Genesis::for_network(other) {
            Some(Ok(g)) => g,
            Some(Err(e)) => {
                return Err(ConfigError::Value {
                    key: "node.network".into(),
                    message: e.to_string(),
                })
            }
            None => {
                return Err(ConfigError::Value {
                    key: "node.network".into(),
                    message: "no genesis".into(),
                })
            }
        },
    };
    let base = match network {
        Network::Devnet => c.devnet.base_port + 10 * c.devnet.index as u16,
        other => other.base_port(),
    };
    let default_host = if network == Network::Devnet {
        "127.0.0.1"
    } else {
        "0.0.0.0"
    };
    let p2p_bind = addr(
        "p2p.bind",
        c.p2p
            .bind
            .as_deref()
            .unwrap_or(&format!("{default_host}:{base}")),
    )?;
    let rpc_bind = addr(
        "rpc.bind",
        c.rpc
            .bind
            .as_deref()
            .unwrap_or(&format!("127.0.0.1:{}", base + 1)),
    )?;
    let metrics_bind = addr(
        "metrics.bind",
        c.metrics
            .bind
            .as_deref()
            .unwrap_or(&format!("127.0.0.1:{}", base + 2)),
    )?;
    let key_path = c
        .masternode
        .key_file
        .clone()
        .unwrap_or_else(|| data_dir.join("node_key"));
    let node_key = load_or_create_node_key(&key_path).map_err(|e| ConfigError::Value {
        key: "masternode.key_file".into(),
        message: e.to_string(),
    })?;
    let rpc_user = match (&c.rpc.user, &c.rpc.password) {
        (Some(u), Some(p)) => Some((u.clone(), p.clone())),
        (None, None) => None,
        _ => {
            return Err(ConfigError::Value {
                key: "rpc.user".into(),
                message: "set both rpc.user and rpc.password, or neither (cookie auth)".into(),
            })
        }
    };
    Ok(Plan::Single(Box::new(NodeSpec {
        name: format!("{network}"),
        network,
        data_dir,
        genesis,
        node_key,
        masternode: c.masternode.enabled,
        p2p_bind,
        advertise: c.p2p.advertise.clone(),
        seeds: c.p2p.seeds.clone(),
        connect: c.p2p.connect.clone(),
        max_inbound: c.p2p.max_inbound,
        max_outbound: c.p2p.max_outbound,
        rpc_bind: Some(rpc_bind),
        rpc_user,
        rpc_allow_public: c.rpc.allow_public,
        metrics_bind: Some(metrics_bind),
        consensus: consensus_params(c),
        empty_block_interval: empty_block_interval(c),
        mempool: mempool_limits(c),
        reindex,
        // A test and bench link model only: never from a configuration.
        link_delay: None,
    })))
}

/// The wallet file path of a configuration.
pub fn wallet_path(c: &Config) -> PathBuf {
    let data_dir = c
        .node
        .datadir
        .clone()
        .unwrap_or_else(|| default_data_dir(c.node.network));
    c.wallet
        .file
        .clone()
        .unwrap_or_else(|| data_dir.join("wallet.dat"))
}

/// `path` relative to the current directory for display.
pub fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// The RPC URL of the configured node: `[rpc] bind`, else 127.0.0.1 on the network's RPC port
/// (a devnet node's: base port + 10 * index + 1).
pub fn rpc_url(c: &Config) -> String {
    let port = match c.node.network {
        Network::Devnet => c.devnet.base_port + 10 * c.devnet.index as u16 + 1,
        n => n.base_port() + 1,
    };
    let bind = c
        .rpc
        .bind
        .clone()
        .unwrap_or_else(|| format!("127.0.0.1:{port}"));
    format!("http://{bind}")
}

/// The RPC credentials of the configured node: `[rpc] user` and `password`, else the cookie in
/// its data dir (node 0's for the in-process devnet).
pub fn rpc_credentials(c: &Config) -> crate::rpc::endpoint::Credentials {
    use crate::rpc::endpoint::{cookie_path, Credentials};
    match (&c.rpc.user, &c.rpc.password) {
        (Some(user), Some(p)) => Credentials::UserPassword {
            user: user.clone(),
            password: secrecy::SecretString::from(p.clone()),
        },
        _ => {
            let dir = c
                .node
                .datadir
                .clone()
                .unwrap_or_else(|| default_data_dir(c.node.network));
            Credentials::Cookie(cookie_path(&dir))
        }
    }
}
