//! Node orchestration: opens storage, starts the p2p layer, the consensus driver and the RPC and
//! metrics servers, and hands out a [`NodeHandle`] with the snapshots and command channel that
//! the RPC server, the wallet and the UI use.

pub mod admission;
pub mod block_server;
pub mod devnet;
pub mod driver;
pub mod durable_view;
mod evidence_pool;
mod future_buffer;
pub use future_buffer::FutureLimits;
pub mod io;
pub mod logging;
pub mod signer_store;
pub mod snapshot;
pub mod spec;
pub mod storage_writer;
pub mod sync;
pub mod verify_slots;

pub use driver::{Command, Finalized, MempoolEntryInfo, WalletChainData, MAX_PROPOSAL_TXS};
pub use snapshot::NodeSnapshot;
pub use spec::NodeSpec;

use crate::mempool::MempoolError;
use crate::p2p::{DbPeerStore, P2pConfig, P2pError, P2pHandle, PeerInfo};
use crate::storage::{Storage, StorageError};
use crate::types::{Hash, Transaction};
use std::net::SocketAddr;
use std::sync::Arc;
use thiserror::Error;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why a node could not start or answer.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The chain database could not be opened, read or written (see [`StorageError`]).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// P2P failed.
    #[error(transparent)]
    P2p(#[from] P2pError),
    /// The data dir is unusable.
    #[error("data dir {path}: {source}; check --datadir and its permissions")]
    DataDir {
        /// The data dir that failed.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The driver has stopped; its channels are closed.
    #[error("the node is shutting down")]
    Stopped,
    /// RPC or metrics server failed to start.
    #[error("{0}")]
    Server(String),
}

/// A running node.
#[derive(Clone)]
pub struct NodeHandle {
    /// The spec the node was started with.
    pub spec: Arc<NodeSpec>,
    /// The driver's latest snapshot; its `seq` tells a new one from one already seen.
    pub snapshot: watch::Receiver<NodeSnapshot>,
    /// Connected peers, as the p2p layer last published them.
    pub peers: watch::Receiver<Vec<PeerInfo>>,
    /// Requests to the driver.
    pub commands: mpsc::Sender<Command>,
    /// Finalized blocks as they are committed.
    pub finalized: broadcast::Sender<Finalized>,
    /// Read access to the database.
    pub storage: Storage,
    /// The p2p layer.
    pub p2p: P2pHandle,
    /// Cancelling this stops the node.
    pub shutdown: CancellationToken,
    /// Bound p2p address.
    pub p2p_addr: SocketAddr,
}

impl NodeHandle {
    /// Submits a transaction to the mempool (and the network).
    pub async fn submit_tx(
        &self,
        tx: Transaction,
    ) -> Result<Result<Hash, MempoolError>, NodeError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::SubmitTx {
                tx: Box::new(tx),
                reply,
            })
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// Submits many transactions; verdicts in order.
    pub async fn submit_txs(
        &self,
        txs: Vec<Transaction>,
    ) -> Result<Vec<Result<Hash, MempoolError>>, NodeError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::SubmitTxs { txs, reply })
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// Chain data for a wallet's addresses.
    pub async fn wallet_data(
        &self,
        addrs: Vec<crate::types::Address>,
    ) -> Result<WalletChainData, NodeError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::WalletData { addrs, reply })
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// Height of the last finalized block, from the latest snapshot.
    pub fn height(&self) -> u64 {
        self.snapshot.borrow().height
    }
}

/// Opens storage (rebuilding it first with `--reindex`), then starts p2p and the driver. The
/// node stops when `shutdown` is cancelled; await the returned task to know it flushed.
pub async fn start(
    spec: NodeSpec,
    shutdown: CancellationToken,
) -> Result<(NodeHandle, JoinHandle<()>), NodeError> {
    std::fs::create_dir_all(&spec.data_dir).map_err(|source| NodeError::DataDir {
        path: spec.data_dir.clone(),
        source,
    })?;
    let (storage, state) = {
        let dir = spec.data_dir.clone();
        let genesis = spec.genesis.clone();
        let reindex = spec.reindex;
        tokio::task::spawn_blocking(move || {
            if reindex {
                tracing::info!(target: "storage", "reindexing from stored blocks");
                Storage::reindex(&dir, &genesis)
            } else {
                Storage::open(&dir, &genesis)
            }
        })
        .await
        .map_err(|e| NodeError::Server(format!("storage open task failed: {e}")))??
    };
    tracing::info!(target: "node", name = %spec.name, height = state.height, tip = %state.tip_hash.short(), "storage open");
    let spec = Arc::new(spec);
    let (height_tx, height_rx) = watch::channel((state.height, state.tip_hash));
    let mut p2p_cfg = P2pConfig::new(
        spec.network,
        spec.genesis.params.chain_id,
        spec.node_key.clone(),
        spec.p2p_bind,
        spec.data_dir.clone(),
    );
    p2p_cfg.advertised_addr = spec.advertise.clone();
    p2p_cfg.seeds = spec.seeds.clone();
    p2p_cfg.fixed_peers = spec.connect.clone();
    p2p_cfg.max_inbound = spec.max_inbound;
    p2p_cfg.max_outbound = spec.max_outbound;
    p2p_cfg.link_delay = spec.link_delay;
    let store = Arc::new(DbPeerStore::new(
        storage.tree("bans")?,
        storage.tree("peers")?,
    ));
    let (p2p, inbound) =
        crate::p2p::start(p2p_cfg, store, height_rx, shutdown.child_token()).await?;
    let signer = signer_store::SignerStore::new(storage.tree("signer")?);
    let snapshot = NodeSnapshot::initial(&spec, &state);
    let (snapshot_tx, snapshot_rx) = watch::channel(snapshot);
    let (finalized_tx, _) = broadcast::channel(1024);
    let (cmd_tx, cmd_rx) = mpsc::channel(4096);
    let (io, loops) = io::Io::production(&storage, p2p.clone());
    let driver = driver::Driver::new(
        spec.clone(),
        storage.clone(),
        state,
        io,
        signer,
        snapshot_tx,
        height_tx,
        finalized_tx.clone(),
    );
    let task = tokio::spawn(driver.run(loops, inbound, cmd_rx, shutdown.clone()));
    let handle = NodeHandle {
        spec,
        snapshot: snapshot_rx,
        peers: p2p.peers(),
        commands: cmd_tx,
        finalized: finalized_tx,
        storage,
        p2p_addr: p2p.local_addr(),
        p2p,
        shutdown,
    };
    Ok((handle, task))
}
