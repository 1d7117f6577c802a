//! The local devnet: N masternodes on 127.0.0.1 with deterministic keys, either inside one
//! process (`timed devnet`, `cargo run`) or as N processes (`timed devnet init`), and after
//! them full nodes: node `N + j` has masternode mode on and the deterministic key
//! `devnet_node_key(N + j)` but is not in the genesis set, so it votes only once registered.

use super::spec::{write_node_key, NodeSpec};
use crate::consensus::ConsensusParams;
use crate::ledger::genesis::{devnet_genesis, devnet_node_key, DevnetSpec};
use crate::ledger::Genesis;
use crate::mempool::MempoolLimits;
use crate::types::Network;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default empty-block interval of the devnet.
pub const DEVNET_EMPTY_BLOCK_INTERVAL: Duration = Duration::from_millis(1000);

/// Where the devnet's nodes live and listen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevnetLayout {
    /// Number of masternodes.
    pub nodes: u32,
    /// Node i uses p2p base + 10 i, rpc + 1, metrics + 2.
    pub base_port: u16,
    /// Node i's data dir is `dir/node<i>`.
    pub dir: PathBuf,
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}

impl DevnetLayout {
    /// P2P port of node `i`.
    pub fn p2p_port(&self, i: u32) -> u16 {
        self.base_port + 10 * i as u16
    }

    /// RPC port of node `i`.
    pub fn rpc_port(&self, i: u32) -> u16 {
        self.p2p_port(i) + 1
    }

    /// Metrics port of node `i`.
    pub fn metrics_port(&self, i: u32) -> u16 {
        self.p2p_port(i) + 2
    }

    /// Data dir of node `i`.
    pub fn node_dir(&self, i: u32) -> PathBuf {
        self.dir.join(format!("node{i}"))
    }

    /// The devnet genesis for this layout (faucet from the wallet's insecure devnet mnemonic).
    pub fn genesis(&self) -> Genesis {
        devnet_genesis(&DevnetSpec {
            nodes: self.nodes,
            base_port: self.base_port,
            faucet: crate::wallet::devnet_faucet_address(0),
        })
    }

    /// Peers of node `i`: every other masternode (a full node, `i >= nodes`, dials them all;
    /// masternodes do not dial full nodes).
    pub fn peers_of(&self, i: u32) -> Vec<String> {
        (0..self.nodes)
            .filter(|j| *j != i)
            .map(|j| format!("127.0.0.1:{}", self.p2p_port(j)))
            .collect()
    }

    /// The spec of node `i` running inside this process (`i >= nodes`: a full node).
    pub fn node_spec(
        &self,
        i: u32,
        genesis: &Genesis,
        consensus: ConsensusParams,
        mempool: MempoolLimits,
    ) -> NodeSpec {
        NodeSpec {
            name: format!("node{i}"),
            network: Network::Devnet,
            data_dir: self.node_dir(i),
            genesis: genesis.clone(),
            node_key: devnet_node_key(i),
            masternode: true,
            p2p_bind: local(self.p2p_port(i)),
            advertise: Some(format!("127.0.0.1:{}", self.p2p_port(i))),
            seeds: vec![],
            connect: self.peers_of(i),
            max_inbound: 64,
            max_outbound: 16,
            rpc_bind: Some(local(self.rpc_port(i))),
            rpc_user: None,
            rpc_allow_public: false,
            metrics_bind: Some(local(self.metrics_port(i))),
            consensus,
            empty_block_interval: DEVNET_EMPTY_BLOCK_INTERVAL,
            mempool,
            reindex: false,
            link_delay: None,
            future_buffer: Default::default(),
            verify_slots: Default::default(),
        }
    }

    /// Writes `dir/node<i>/config.toml` and `dir/node<i>/node_key` for every masternode and
    /// for `full_nodes` full nodes after them, so that
    /// `timed --config dir/node<i>/config.toml --headless` runs node i as its own process.
    pub fn init(&self, full_nodes: u32) -> std::io::Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for i in 0..self.nodes + full_nodes {
            let dir = self.node_dir(i);
            std::fs::create_dir_all(&dir)?;
            let key_path = dir.join("node_key");
            write_node_key(&key_path, &devnet_node_key(i))?;
            let peers: Vec<String> = self
                .peers_of(i)
                .iter()
                .map(|p| format!("\"{p}\""))
                .collect();
            let what = if i < self.nodes {
                format!("Devnet masternode {i} of {}.", self.nodes)
            } else {
                let faucet = if i == self.nodes {
                    "\n# It holds the devnet faucet wallet unless its data dir has a wallet.dat."
                } else {
                    ""
                };
                format!(
                    "Devnet full node {i}, not a masternode until registered (masternode mode is \
                     on).{faucet}\n# To register it once the nodes run: timed --config {cfg} \
                     masternode register --tier bronze\n#",
                    cfg = dir.join("config.toml").display()
                )
            };
            let cfg = format!(
                "# {what} Written by `timed devnet init`.\n\
                 # Run it with: timed --config {cfg} --headless\n\n\
                 [node]\nnetwork = \"devnet\"\ndatadir = \"{dir}\"\nlog_level = \"info\"\n\n\
                 [p2p]\nbind = \"127.0.0.1:{p2p}\"\nadvertise = \"127.0.0.1:{p2p}\"\nconnect = [{peers}]\n\n\
                 [rpc]\nbind = \"127.0.0.1:{rpc}\"\n\n\
                 [metrics]\nbind = \"127.0.0.1:{metrics}\"\n\n\
                 [masternode]\nenabled = true\nkey_file = \"{key}\"\n\n\
                 [devnet]\nin_process = false\nnodes = {n}\nbase_port = {base}\nindex = {i}\nfull_nodes = {full_nodes}\n",
                n = self.nodes,
                cfg = dir.join("config.toml").display(),
                dir = dir.display(),
                p2p = self.p2p_port(i),
                rpc = self.rpc_port(i),
                metrics = self.metrics_port(i),
                peers = peers.join(", "),
                key = key_path.display(),
                base = self.base_port,
            );
            let path = dir.join("config.toml");
            std::fs::write(&path, cfg)?;
            written.push(path);
        }
        Ok(written)
    }
}

/// True when `dir` looks like a devnet directory written by [`DevnetLayout::init`].
pub fn is_initialized(dir: &Path) -> bool {
    dir.join("node0").join("config.toml").exists()
}
