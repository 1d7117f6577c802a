//! Configuration: TOML file, `TIMECOIN_<SECTION>_<KEY>` environment overrides, then flags.
//!
//! Every section is `deny_unknown_fields` with defaults, so a typo is an error that names the key.

use crate::types::Network;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why the configuration is unusable.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The config file given (by `--config` or the default path) cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file as given.
        path: PathBuf,
        /// The I/O error (not found, permission denied, ...).
        source: std::io::Error,
    },
    /// Bad TOML, unknown key or bad value.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file as given.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A `TIMECOIN_<SECTION>_<KEY>` variable names no key or holds a bad value.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable's name, e.g. `TIMECOIN_P2P_BIND`.
        var: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A command-line flag has a bad value.
    #[error("flag {flag}: {message}")]
    Flag {
        /// The flag with its dashes, e.g. `--network`.
        flag: String,
        /// What is wrong with its value.
        message: String,
    },
    /// A value is out of range.
    #[error("config key {key}: {message}")]
    Value {
        /// `section.key`.
        key: String,
        /// What is wrong and what range is allowed.
        message: String,
    },
}

/// The whole configuration: file, then `TIMECOIN_*` variables, then flags; every key optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[node]`.
    pub node: NodeSection,
    /// `[p2p]`.
    pub p2p: P2pSection,
    /// `[rpc]`.
    pub rpc: RpcSection,
    /// `[metrics]`.
    pub metrics: MetricsSection,
    /// `[consensus]`.
    pub consensus: ConsensusSection,
    /// `[mempool]`.
    pub mempool: MempoolSection,
    /// `[masternode]`.
    pub masternode: MasternodeSection,
    /// `[wallet]`.
    pub wallet: WalletSection,
    /// `[tui]`.
    pub tui: TuiSection,
    /// `[devnet]`.
    pub devnet: DevnetSection,
}

/// `[node]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSection {
    /// mainnet, testnet or devnet.
    pub network: Network,
    /// Data directory; default per network from the OS conventions.
    pub datadir: Option<PathBuf>,
    /// Log filter (tracing EnvFilter syntax), e.g. "info" or "info,p2p=debug".
    pub log_level: String,
}

impl Default for NodeSection {
    fn default() -> Self {
        NodeSection {
            network: Network::Devnet,
            datadir: None,
            log_level: "info".into(),
        }
    }
}

/// `[p2p]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct P2pSection {
    /// Listen address; default 0.0.0.0:<network p2p port> (devnet: 127.0.0.1).
    pub bind: Option<String>,
    /// Address announced to peers (host:port); default the bound address.
    pub advertise: Option<String>,
    /// Seed peers (host:port).
    pub seeds: Vec<String>,
    /// Fixed peers, always redialed.
    pub connect: Vec<String>,
    /// Most inbound peer connections accepted at once (default 64).
    pub max_inbound: usize,
    /// Most outbound peer connections dialed at once (default 16).
    pub max_outbound: usize,
}

impl Default for P2pSection {
    fn default() -> Self {
        P2pSection {
            bind: None,
            advertise: None,
            seeds: vec![],
            connect: vec![],
            max_inbound: 64,
            max_outbound: 16,
        }
    }
}

/// `[rpc]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RpcSection {
    /// Listen address; default 127.0.0.1:<network rpc port>.
    pub bind: Option<String>,
    /// User name (with password) instead of the cookie file.
    pub user: Option<String>,
    /// Password for `user`; set both or neither (then the cookie file is used).
    pub password: Option<String>,
    /// Allow binding a non-loopback address.
    pub allow_public: bool,
}

/// `[metrics]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// Listen address; default 127.0.0.1:<network metrics port>.
    pub bind: Option<String>,
}

/// `[consensus]` timeouts in milliseconds; unset values take the network's defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusSection {
    /// Propose timeout of round 0.
    pub timeout_propose_ms: Option<u64>,
    /// Added to the propose timeout per round, in ms.
    pub timeout_propose_delta_ms: Option<u64>,
    /// Prevote timeout of round 0.
    pub timeout_prevote_ms: Option<u64>,
    /// Added to the prevote timeout per round, in ms.
    pub timeout_prevote_delta_ms: Option<u64>,
    /// Precommit timeout of round 0.
    pub timeout_precommit_ms: Option<u64>,
    /// Added to the precommit timeout per round, in ms.
    pub timeout_precommit_delta_ms: Option<u64>,
    /// Longest wait for transactions before an empty block (devnet 1000, else 60000).
    pub empty_block_interval_ms: Option<u64>,
}

/// `[mempool]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MempoolSection {
    /// Most transactions pooled (at least 1; default 10,000).
    pub max_txs: usize,
    /// Most bytes of transactions (their encoded size); default 300 MiB (300 * 1024 * 1024).
    pub max_bytes: usize,
    /// Fee floor in units per byte.
    pub min_fee_rate: u64,
}

impl Default for MempoolSection {
    fn default() -> Self {
        MempoolSection {
            max_txs: 10_000,
            max_bytes: 300 * 1024 * 1024,
            min_fee_rate: 1,
        }
    }
}

/// `[masternode]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MasternodeSection {
    /// Run as a masternode (vote and propose) when the key is in the active set.
    pub enabled: bool,
    /// Node key file (hex seed); default `<datadir>/node_key`.
    pub key_file: Option<PathBuf>,
    /// Collateral outpoint (`txid:vout`) of this node's registration: `timed masternode
    /// register` uses it instead of making one, `update` and `exit` name it. Optional: the
    /// chain records the collateral of the registration that names this node's key.
    pub collateral: Option<String>,
}

/// `[wallet]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WalletSection {
    /// Wallet file; default `<datadir>/wallet.dat`.
    pub file: Option<PathBuf>,
    /// Lock again after this many seconds unlocked.
    pub auto_lock_secs: u64,
    /// Highest fee a send may pay, in TIME (as Bitcoin Core's `maxtxfee`): a send whose fee
    /// is higher is refused, naming this key. Guards against a fee rate given in the wrong
    /// unit. Default [`crate::wallet::DEFAULT_MAX_FEE`] (0.1); at most 8 decimals.
    pub max_fee: f64,
}

impl Default for WalletSection {
    fn default() -> Self {
        WalletSection {
            file: None,
            auto_lock_secs: 300,
            max_fee: crate::wallet::DEFAULT_MAX_FEE.0 as f64 / crate::types::amount::COIN as f64,
        }
    }
}

impl WalletSection {
    /// `max_fee` in base units; an error naming the key when it is negative, not a number or
    /// finer than 1e-8 TIME.
    pub fn max_fee_amount(&self) -> Result<crate::types::Amount, ConfigError> {
        let bad = |message: String| ConfigError::Value {
            key: "wallet.max_fee".into(),
            message,
        };
        if !self.max_fee.is_finite() || self.max_fee < 0.0 {
            return Err(bad("must be a number of TIME, 0 or more".into()));
        }
        // f64's Display never uses an exponent, so this is the decimal written in the file.
        crate::types::Amount::parse_time(&self.max_fee.to_string())
            .map_err(|e| bad(format!("{} TIME: {e}", self.max_fee)))
    }
}

/// `[tui]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TuiSection {
    /// How often the UI takes a new node snapshot, in ms (at least 50; default 250).
    pub refresh_ms: u64,
    /// Colours of the terminal UI.
    pub theme: Theme,
}

impl Default for TuiSection {
    fn default() -> Self {
        TuiSection {
            refresh_ms: 250,
            theme: Theme::Auto,
        }
    }
}

/// `[tui] theme`: the colours the terminal UI draws with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// `dark`, or `mono` when the `NO_COLOR` variable is set and not empty (no-color.org).
    #[default]
    #[serde(alias = "default")]
    Auto,
    /// Colours for a dark terminal background.
    Dark,
    /// Colours for a light terminal background (darker foregrounds, light selection).
    Light,
    /// No colour at all: emphasis by bold and reverse video only.
    Mono,
}

impl Theme {
    /// The theme to draw with: `Auto` decided by `no_color` (the `NO_COLOR` variable's value).
    pub fn resolve(self, no_color: Option<&str>) -> Theme {
        match self {
            Theme::Auto if no_color.is_some_and(|v| !v.is_empty()) => Theme::Mono,
            Theme::Auto => Theme::Dark,
            t => t,
        }
    }
}

/// `[devnet]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevnetSection {
    /// Run all devnet masternodes inside this process (`timed` with network devnet).
    pub in_process: bool,
    /// Number of masternodes of the devnet.
    pub nodes: u32,
    /// Base port: node i uses p2p base+10i, rpc +1, metrics +2.
    pub base_port: u16,
    /// This process's node index when `in_process` is false (masternodes 0..nodes, then the
    /// full nodes).
    pub index: u32,
    /// Full nodes (not masternodes; masternode mode on, so they vote once registered) after
    /// the masternodes: node `nodes` .. `nodes + full_nodes - 1`. In-process, the first one
    /// holds the faucet wallet and the UI shows it (with none, node 0 does).
    pub full_nodes: u32,
}

impl Default for DevnetSection {
    fn default() -> Self {
        DevnetSection {
            in_process: true,
            nodes: 4,
            base_port: 24300,
            index: 0,
            full_nodes: 1,
        }
    }
}

impl Config {
    /// Parses TOML text; errors name the key.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let value: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: one_line(&e),
        })?;
        Self::from_table(value, path)
    }

    fn from_table(t: toml::Table, path: &Path) -> Result<Config, ConfigError> {
        Config::deserialize(toml::Value::Table(t)).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: one_line(&e),
        })
    }

    /// Loads `path` (or defaults when `None`), then applies `TIMECOIN_<SECTION>_<KEY>` variables
    /// from `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (mut table, shown) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.into(),
                    source,
                })?;
                let t: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: p.into(),
                    message: one_line(&e),
                })?;
                (t, p.to_path_buf())
            }
            None => (toml::Table::new(), PathBuf::from("<defaults>")),
        };
        // Validate the file alone first so its errors name the file.
        Self::from_table(table.clone(), &shown)?;
        for (k, v) in env {
            let Some(rest) = k.strip_prefix("TIMECOIN_") else {
                continue;
            };
            if NOT_CONFIG.contains(&k.as_str()) {
                continue;
            }
            let Some((section, key)) = rest.split_once('_') else {
                continue;
            };
            let section = section.to_ascii_lowercase();
            if !SECTIONS.contains(&section.as_str()) {
                continue;
            }
            let key = key.to_ascii_lowercase();
            let value = parse_env_value(&v);
            let entry = table
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => {
                    t.insert(key, value);
                }
                _ => {
                    return Err(ConfigError::Env {
                        var: k.clone(),
                        message: format!("[{section}] is not a section"),
                    })
                }
            }
            Self::from_table(table.clone(), &shown).map_err(|e| ConfigError::Env {
                var: k.clone(),
                message: match e {
                    ConfigError::Parse { message, .. } => message,
                    other => other.to_string(),
                },
            })?;
        }
        let c = Self::from_table(table, &shown)?;
        c.check()?;
        Ok(c)
    }

    /// Range checks that serde cannot express.
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: &str| {
            Err(ConfigError::Value {
                key: key.into(),
                message: message.into(),
            })
        };
        if self.devnet.nodes == 0 || self.devnet.nodes > 100 {
            return bad("devnet.nodes", "must be between 1 and 100");
        }
        if self.devnet.full_nodes > 10 {
            return bad("devnet.full_nodes", "must be between 0 and 10");
        }
        if self.devnet.index >= self.devnet.nodes + self.devnet.full_nodes {
            return bad(
                "devnet.index",
                "must be below devnet.nodes + devnet.full_nodes",
            );
        }
        if self
            .devnet
            .base_port
            .checked_add(((self.devnet.nodes + self.devnet.full_nodes) as u16).saturating_mul(10))
            .is_none()
        {
            return bad("devnet.base_port", "too high for the number of nodes");
        }
        if self.mempool.max_txs == 0 {
            return bad("mempool.max_txs", "must be at least 1");
        }
        if let Some(c) = &self.masternode.collateral {
            if crate::types::OutPoint::parse(c).is_none() {
                return bad(
                    "masternode.collateral",
                    "must be an outpoint: 64 hex digits of a txid, a colon, an output index",
                );
            }
        }
        self.wallet.max_fee_amount()?;
        if self.tui.refresh_ms < 50 {
            return bad("tui.refresh_ms", "must be at least 50");
        }
        tracing_subscriber::EnvFilter::try_new(&self.node.log_level).map_err(|e| {
            ConfigError::Value {
                key: "node.log_level".into(),
                message: e.to_string(),
            }
        })?;
        Ok(())
    }
}

/// Variables with the config prefix that are secrets for commands, not config keys.
const NOT_CONFIG: [&str; 2] = ["TIMECOIN_WALLET_PASSPHRASE", "TIMECOIN_WALLET_MNEMONIC"];

const SECTIONS: [&str; 10] = [
    "node",
    "p2p",
    "rpc",
    "metrics",
    "consensus",
    "mempool",
    "masternode",
    "wallet",
    "tui",
    "devnet",
];

fn parse_env_value(v: &str) -> toml::Value {
    // A TOML scalar or array when it parses as one, else a string.
    let doc = format!("v = {v}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(v.into())),
        Err(_) => toml::Value::String(v.into()),
    }
}

fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped config.toml says "the values shown are the defaults unless noted": parsed,
    /// it is the default configuration in every field (it notes no exception), and every key it
    /// shows commented out is a real key of its section.
    #[test]
    fn repository_config_parses_and_matches_defaults_where_documented() {
        let text = include_str!("../config.toml");
        let c = Config::parse(text, Path::new("config.toml")).unwrap();
        assert_eq!(c, Config::default());
        // The devnet it promises: in-process, 4 masternodes.
        assert_eq!(c.node.network, Network::Devnet);
        assert!(c.devnet.in_process);
        assert_eq!(c.devnet.nodes, 4);

        let uncommented: String = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if is_key_line(rest) => rest,
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        assert_ne!(uncommented, text, "config.toml shows commented-out keys");
        if let Err(e) = Config::parse(&uncommented, Path::new("config.toml (uncommented)")) {
            panic!("a commented-out key of config.toml is not a config key: {e}");
        }
    }

    /// `key = value` with a lowercase key: a commented-out setting, not prose.
    fn is_key_line(l: &str) -> bool {
        l.split_once(" = ").is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        })
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::parse("[p2p]\nmax_inbund = 3\n", Path::new("x.toml")).unwrap_err();
        assert!(e.to_string().contains("max_inbund"), "{e}");
    }

    #[test]
    fn env_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[node]\nnetwork = \"mainnet\"\n[mempool]\nmax_txs = 7\nmin_fee_rate = 5\n",
        )
        .unwrap();
        // The file alone.
        let c = Config::load(Some(&path), std::iter::empty()).unwrap();
        assert_eq!(c.node.network, Network::Mainnet);
        assert_eq!(c.mempool.max_txs, 7);
        assert_eq!(c.mempool.min_fee_rate, 5);
        // The environment wins over the file for the keys it sets; the file's others stay.
        let env = vec![
            ("TIMECOIN_MEMPOOL_MAX_TXS".to_string(), "42".to_string()),
            ("TIMECOIN_NODE_NETWORK".to_string(), "testnet".to_string()),
            ("UNRELATED".to_string(), "1".to_string()),
        ];
        let c = Config::load(Some(&path), env.into_iter()).unwrap();
        assert_eq!(c.mempool.max_txs, 42);
        assert_eq!(c.node.network, Network::Testnet);
        assert_eq!(c.mempool.min_fee_rate, 5, "a key only the file sets");
    }

    #[test]
    fn bad_env_value_names_variable() {
        let env = vec![("TIMECOIN_MEMPOOL_MAX_TXS".to_string(), "many".to_string())];
        let e = Config::load(None, env.into_iter()).unwrap_err();
        assert!(e.to_string().contains("TIMECOIN_MEMPOOL_MAX_TXS"), "{e}");
    }

    #[test]
    fn max_fee_is_checked_and_converted() {
        let c = Config::default();
        assert_eq!(
            c.wallet.max_fee_amount().unwrap(),
            crate::wallet::DEFAULT_MAX_FEE
        );
        let c = Config::parse("[wallet]\nmax_fee = 2\n", Path::new("x.toml")).unwrap();
        assert_eq!(c.wallet.max_fee_amount().unwrap().0, 200_000_000);
        for bad in ["-1", "0.000000001"] {
            let env = vec![("TIMECOIN_WALLET_MAX_FEE".to_string(), bad.to_string())];
            let e = Config::load(None, env.into_iter()).unwrap_err();
            assert!(e.to_string().contains("wallet.max_fee"), "{bad}: {e}");
        }
    }

    /// `[tui] theme` takes the four themes (and "default", the old name of auto); anything
    /// else is an error naming the key and the choices.
    #[test]
    fn theme_values() {
        for (v, t) in [
            ("auto", Theme::Auto),
            ("default", Theme::Auto),
            ("dark", Theme::Dark),
            ("light", Theme::Light),
            ("mono", Theme::Mono),
        ] {
            let c =
                Config::parse(&format!("[tui]\ntheme = \"{v}\"\n"), Path::new("x.toml")).unwrap();
            assert_eq!(c.tui.theme, t, "{v}");
        }
        let e = Config::parse("[tui]\ntheme = \"solarized\"\n", Path::new("x.toml")).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("theme") && e.contains("solarized") && e.contains("mono"),
            "{e}"
        );
        let env = vec![("TIMECOIN_TUI_THEME".to_string(), "mono".to_string())];
        assert_eq!(
            Config::load(None, env.into_iter()).unwrap().tui.theme,
            Theme::Mono
        );
    }

    /// `[masternode] collateral` names an outpoint; anything else is refused naming the key.
    #[test]
    fn masternode_collateral_is_an_outpoint() {
        let good = format!("[masternode]\ncollateral = \"{}:1\"\n", "ab".repeat(32));
        let c = Config::parse(&good, Path::new("x.toml")).unwrap();
        c.check().unwrap();
        assert_eq!(
            c.masternode.collateral,
            Some(format!("{}:1", "ab".repeat(32)))
        );
        let bad =
            Config::parse("[masternode]\ncollateral = \"ab:0\"\n", Path::new("x.toml")).unwrap();
        let e = bad.check().unwrap_err().to_string();
        assert!(e.contains("masternode.collateral"), "{e}");
    }

    #[test]
    fn range_errors_name_key() {
        let e = Config::load(
            None,
            vec![("TIMECOIN_DEVNET_NODES".into(), "0".into())].into_iter(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("devnet.nodes"), "{e}");
    }

    #[test]
    fn a_full_node_index_follows_the_masternodes() {
        let load = |vars: &[(&str, &str)]| {
            Config::load(
                None,
                vars.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>()
                    .into_iter(),
            )
        };
        let c = load(&[("TIMECOIN_DEVNET_INDEX", "4")]).unwrap();
        assert_eq!((c.devnet.nodes, c.devnet.full_nodes), (4, 1));
        let e = load(&[
            ("TIMECOIN_DEVNET_INDEX", "4"),
            ("TIMECOIN_DEVNET_FULL_NODES", "0"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("devnet.index"), "{e}");
        let e = load(&[("TIMECOIN_DEVNET_FULL_NODES", "11")]).unwrap_err();
        assert!(e.to_string().contains("devnet.full_nodes"), "{e}");
    }
}
