//! Turns the configuration and flags into what to run: one node, or an in-process devnet.

use super::args::NodeArgs;
use crate::config::{Config, ConfigError, NodeSection};
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
        /// Node count, base port and data dir of the devnet.
        layout: DevnetLayout,
        /// Node i's spec.
        specs: Vec<NodeSpec>,
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
/// defaults; then environment overrides; then flags. See [`config_path`] for which data dir.
pub fn load_config(args: &NodeArgs) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    load_config_from(args, Path::new("."), &env, default_data_dir)
}

/// [`load_config`] with the current directory, the environment and the default data dir given.
pub fn load_config_from(
    args: &NodeArgs,
    cwd: &Path,
    env: &[(String, String)],
    default_dir: impl Fn(Network) -> PathBuf,
) -> Result<Config, ConfigError> {
    let path = config_path(args, cwd, env, default_dir)?;
    let mut c = Config::load(path.as_deref(), env.iter().cloned())?;
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

/// The config file to read: `--config`; else `config.toml` in `cwd`; else `config.toml` in the
/// data dir, which is `--datadir`, else `TIMECOIN_NODE_DATADIR`, else the default data dir of
/// the network (`--network`, else `TIMECOIN_NODE_NETWORK`, else devnet); else none.
pub fn config_path(
    args: &NodeArgs,
    cwd: &Path,
    env: &[(String, String)],
    default_dir: impl Fn(Network) -> PathBuf,
) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(p) = &args.config {
        return Ok(Some(p.clone()));
    }
    let local = cwd.join("config.toml");
    if local.exists() {
        return Ok(Some(local));
    }
    let var = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let dir = match (&args.datadir, var("TIMECOIN_NODE_DATADIR")) {
        (Some(d), _) => d.clone(),
        (None, Some(d)) => PathBuf::from(d.trim_matches('"')),
        (None, None) => {
            let network = match (&args.network, var("TIMECOIN_NODE_NETWORK")) {
                (Some(n), _) => n.parse().map_err(|e: String| ConfigError::Flag {
                    flag: "--network".into(),
                    message: e,
                })?,
                (None, Some(n)) => {
                    n.trim_matches('"')
                        .parse()
                        .map_err(|e: String| ConfigError::Env {
                            var: "TIMECOIN_NODE_NETWORK".into(),
                            message: e,
                        })?
                }
                (None, None) => NodeSection::default().network,
            };
            default_dir(network)
        }
    };
    let in_dir = dir.join("config.toml");
    Ok(in_dir.exists().then_some(in_dir))
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

/// Decides what to run: the configuration `c` after the flags of `args` were applied to it
/// ([`load_config`]).
pub fn plan(c: &Config, args: &NodeArgs) -> Result<Plan, ConfigError> {
    let network = c.node.network;
    let reindex = args.reindex;
    let data_dir = c
        .node
        .datadir
        .clone()
        .unwrap_or_else(|| default_data_dir(network));
    if network == Network::Devnet && c.devnet.in_process {
        return devnet_plan(c, args, data_dir);
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
    let rpc_user = rpc_user(c)?;
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
        future_buffer: Default::default(),
        verify_slots: Default::default(),
    })))
}

/// Index of the in-process devnet node that holds the wallet (and that the UI shows): the
/// first full node when there is one (node `nodes`), else node 0.
pub fn devnet_wallet_node(c: &Config) -> u32 {
    if c.devnet.full_nodes > 0 {
        c.devnet.nodes
    } else {
        0
    }
}

/// Whether this process is the wallet node of a devnet run one process per node (`timed
/// devnet init`): without a wallet file of its own it holds the faucet, as in-process.
pub fn holds_devnet_faucet(c: &Config, network: Network) -> bool {
    network == Network::Devnet && !c.devnet.in_process && c.devnet.index == devnet_wallet_node(c)
}

fn rpc_user(c: &Config) -> Result<Option<(String, String)>, ConfigError> {
    match (&c.rpc.user, &c.rpc.password) {
        (Some(u), Some(p)) => Ok(Some((u.clone(), p.clone()))),
        (None, None) => Ok(None),
        _ => Err(ConfigError::Value {
            key: "rpc.user".into(),
            message: "set both rpc.user and rpc.password, or neither (cookie auth)".into(),
        }),
    }
}

/// The in-process devnet: every node listens where the layout puts it (127.0.0.1, p2p
/// `base_port + 10 i`, rpc +1, metrics +2) and votes with its devnet key, so a listen address
/// or key given by flag or configuration cannot apply and is refused, naming it. What can
/// apply to every node does: `[p2p]` seeds, connect (and `--connect`), max_inbound and
/// max_outbound; `[rpc]` user, password and allow_public.
fn devnet_plan(c: &Config, args: &NodeArgs, dir: PathBuf) -> Result<Plan, ConfigError> {
    const MOVE: &str = "the in-process devnet puts node i at 127.0.0.1, p2p port [devnet] \
        base_port + 10*i, rpc +1, metrics +2: move them with --base-port (or [devnet] base_port), \
        or run one node per process (timed devnet init)";
    for (flag, given) in [
        ("--p2p-bind", &args.p2p_bind),
        ("--rpc-bind", &args.rpc_bind),
        ("--metrics-bind", &args.metrics_bind),
    ] {
        if given.is_some() {
            return Err(ConfigError::Flag {
                flag: flag.into(),
                message: MOVE.into(),
            });
        }
    }
    for (key, given) in [
        ("p2p.bind", c.p2p.bind.is_some()),
        ("p2p.advertise", c.p2p.advertise.is_some()),
        ("rpc.bind", c.rpc.bind.is_some()),
        ("metrics.bind", c.metrics.bind.is_some()),
    ] {
        if given {
            return Err(ConfigError::Value {
                key: key.into(),
                message: MOVE.into(),
            });
        }
    }
    for (key, given) in [
        ("masternode.key_file", c.masternode.key_file.is_some()),
        ("wallet.file", c.wallet.file.is_some()),
    ] {
        if given {
            return Err(ConfigError::Value {
                key: key.into(),
                message: "the in-process devnet's nodes use the devnet's fixed keys and the \
                    faucet wallet: remove the key, or set [devnet] in_process = false"
                    .into(),
            });
        }
    }
    let layout = DevnetLayout {
        nodes: c.devnet.nodes,
        base_port: c.devnet.base_port,
        dir,
    };
    let genesis = layout.genesis();
    let rpc_user = rpc_user(c)?;
    // Masternodes 0..nodes, then the full nodes (see DevnetLayout).
    let specs = (0..layout.nodes + c.devnet.full_nodes)
        .map(|i| {
            let mut s = layout.node_spec(i, &genesis, consensus_params(c), mempool_limits(c));
            s.empty_block_interval = empty_block_interval(c);
            s.reindex = args.reindex;
            s.seeds = c.p2p.seeds.clone();
            for p in &c.p2p.connect {
                if !s.connect.contains(p) {
                    s.connect.push(p.clone());
                }
            }
            s.max_inbound = c.p2p.max_inbound;
            s.max_outbound = c.p2p.max_outbound;
            s.rpc_user = rpc_user.clone();
            s.rpc_allow_public = c.rpc.allow_public;
            s
        })
        .collect();
    Ok(Plan::Devnet { layout, specs })
}

/// The data dir of a configuration: `[node] datadir`, else the network's default.
fn data_dir(c: &Config) -> PathBuf {
    c.node
        .datadir
        .clone()
        .unwrap_or_else(|| default_data_dir(c.node.network))
}

/// The wallet file path of a configuration.
pub fn wallet_path(c: &Config) -> PathBuf {
    let data_dir = data_dir(c);
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
/// (a devnet node's: base port + 10 * index + 1; in-process, the wallet node's).
pub fn rpc_url(c: &Config) -> String {
    if c.rpc.bind.is_none() {
        if let Some((_, addr)) = running_devnet_wallet_node(c) {
            return format!("http://{addr}");
        }
    }
    let port = match c.node.network {
        // The in-process devnet: the node holding the wallet (see [`devnet_wallet_node`]).
        Network::Devnet if c.devnet.in_process => {
            c.devnet.base_port + 10 * devnet_wallet_node(c) as u16 + 1
        }
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

/// Where a running in-process devnet in the configured data dir put its wallet node (the
/// directory and RPC address it wrote, whatever `--base-port` it was started with).
fn running_devnet_wallet_node(c: &Config) -> Option<(PathBuf, String)> {
    if c.node.network != Network::Devnet || !c.devnet.in_process {
        return None;
    }
    crate::rpc::devnet_wallet_node(&data_dir(c))
}

/// The RPC credentials of the configured node: `[rpc] user` and `password`, else the cookie in
/// its data dir (for the in-process devnet, the wallet node's: [`devnet_wallet_node`]).
pub fn rpc_credentials(c: &Config) -> crate::rpc::endpoint::Credentials {
    use crate::rpc::endpoint::{cookie_path, Credentials};
    match (&c.rpc.user, &c.rpc.password) {
        (Some(user), Some(p)) => Credentials::UserPassword {
            user: user.clone(),
            password: secrecy::SecretString::from(p.clone()),
        },
        _ => {
            let dir = data_dir(c);
            if c.node.network == Network::Devnet && c.devnet.in_process {
                let node = running_devnet_wallet_node(c)
                    .map(|(node, _)| node)
                    .unwrap_or_else(|| dir.join(format!("node{}", devnet_wallet_node(c))));
                return Credentials::Cookie(node.join(crate::rpc::auth::COOKIE_FILE));
            }
            Credentials::Cookie(cookie_path(&dir))
        }
    }
}

#[cfg(test)]
mod tests;
