//! The wallet beside a running node, owned by one task.
//!
//! [`WalletService`] holds the wallet, the sends prepared for confirmation and the node it
//! asks for chain data. [`task::spawn`] moves it into a task that is its only owner: the UI
//! bridge and the RPC backend send it [`WalletRequest`]s (each with a oneshot reply) through a
//! [`WalletHandle`], and it publishes the wallet part of the view model on a `watch` whenever
//! that changes, so nobody holds a lock on the wallet, let alone across a round trip to the
//! node's driver. The task also runs the auto-lock timer, with or without the UI.
//!
//! - [`chain_view`]: the wallet's view of the chain, fetched from the node.
//! - [`ui_actions`]: the UI's wallet actions and the wallet view.
//! - [`rpc`]: Bitcoin Core's wallet methods.
//! - [`masternode`]: the wallet's masternode transactions (RPC and UI).

pub mod chain_view;
mod masternode;
mod rpc;
pub mod task;
mod ui_actions;

pub use chain_view::NodeChainView;
pub use task::{PublishedWallet, WalletHandle, WalletRequest};

use crate::mempool::MempoolError;
use crate::node::{NodeError, NodeHandle};
use crate::types::{Address, Hash, Network, Transaction};
use crate::wallet::{discover_with, DiscoveryError, SendPreview, Wallet, WalletError};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Prepared sends kept for confirmation.
const MAX_PREVIEWS: usize = 16;

/// Addresses asked for at once when looking for a wallet's used addresses.
const DISCOVERY_GAP: u32 = 20;

/// The wallet (or none) and what it needs from the node; see the module documentation for
/// who owns it.
pub struct WalletService {
    wallet: Option<Wallet>,
    node: NodeHandle,
    network: Network,
    previews: HashMap<u64, SendPreview>,
    next_preview: u64,
    /// How long a wallet unlocked from the UI stays unlocked (`[wallet] auto_lock_secs`).
    auto_lock: Duration,
    /// When the wallet locks itself, unix ms, stamped once at its last unlock (the view
    /// carries it while the wallet stays unlocked, so republishing does not move it).
    lock_at_unix_ms: Option<u64>,
}

/// Why the node did not take a transaction the wallet signed.
#[derive(Debug)]
enum SubmitFailure {
    /// The mempool refused it.
    Rejected(MempoolError),
    /// The node did not answer (it is stopping).
    Node(NodeError),
}

impl From<SubmitFailure> for WalletError {
    fn from(f: SubmitFailure) -> WalletError {
        match f {
            SubmitFailure::Rejected(e) => WalletError::Rejected(e),
            SubmitFailure::Node(e) => WalletError::NodeUnavailable(e.to_string()),
        }
    }
}

impl std::fmt::Display for SubmitFailure {
    /// What the UI shows.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubmitFailure::Rejected(e) => write!(f, "the node rejected it: {e}"),
            SubmitFailure::Node(e) => write!(f, "{e}"),
        }
    }
}

impl WalletService {
    /// A service for `wallet` (or none) beside `node`.
    pub fn new(wallet: Option<Wallet>, node: NodeHandle, auto_lock: Duration) -> WalletService {
        let network = node.spec.network;
        WalletService {
            wallet,
            node,
            network,
            previews: HashMap::new(),
            next_preview: 1,
            auto_lock,
            lock_at_unix_ms: None,
        }
    }

    /// Adopts the used addresses of an unlocked wallet that it does not list yet (the devnet
    /// faucet wallet is rebuilt from its mnemonic at every start and lists only its first
    /// address; without this, its change and new addresses' coins vanished from the balance
    /// after a restart). Windows of [`DISCOVERY_GAP`] addresses on each chain, asked from the
    /// node, until a window is unused. A locked wallet is left as it is.
    pub async fn discover_addresses(&mut self) {
        let Some(wallet) = self.wallet.as_mut() else {
            return;
        };
        let node = &self.node;
        let used_among = |window: Vec<Address>| async move {
            let data = node.wallet_data(window).await?;
            let used = data.finalized.iter().chain(&data.pending);
            Ok::<HashSet<Address>, NodeError>(used.map(|(_, u)| u.output.address).collect())
        };
        match discover_with(wallet, DISCOVERY_GAP, used_among).await {
            Ok(0) => {}
            Ok(added) => {
                tracing::info!(target: "wallet", added, "wallet addresses found on the chain")
            }
            // A locked wallet is left as it is; a stopped node has nothing to say.
            Err(DiscoveryError::Wallet(WalletError::Locked) | DiscoveryError::Lookup(_)) => return,
            Err(DiscoveryError::Wallet(e)) => {
                tracing::warn!(target: "wallet", "address discovery stopped: {e}");
                return;
            }
        }
        self.adopt_collaterals();
    }

    /// Keeps the collateral of every registered masternode the wallet owns out of its sends
    /// (see [`crate::wallet::Wallet::adopt_collaterals`]).
    fn adopt_collaterals(&mut self) {
        let Some(wallet) = self.wallet.as_mut() else {
            return;
        };
        let registry: Vec<_> = self
            .node
            .snapshot
            .borrow()
            .masternodes
            .iter()
            .map(|m| (m.collateral, m.tier, m.owner))
            .collect();
        if let Err(e) = wallet.adopt_collaterals(&registry) {
            tracing::warn!(target: "wallet", "cannot record masternode collateral: {e}");
        }
    }

    /// Keeps a prepared send until it is confirmed; returns its id. At most [`MAX_PREVIEWS`]
    /// are kept (RPC callers may prepare without confirming): the oldest goes first.
    fn keep_preview(&mut self, p: SendPreview) -> u64 {
        let id = self.next_preview;
        self.next_preview += 1;
        while self.previews.len() >= MAX_PREVIEWS {
            let Some(oldest) = self.previews.keys().min().copied() else {
                break;
            };
            self.previews.remove(&oldest);
        }
        self.previews.insert(id, p);
        id
    }

    /// Locks the wallet when its auto-lock time has passed; returns whether it locked now.
    pub fn tick(&mut self) -> bool {
        self.wallet.as_mut().is_some_and(|w| w.tick(Instant::now()))
    }

    /// Unlocks the wallet with `passphrase` until `auto_lock` from now (`Duration::ZERO`: no
    /// auto-lock) and stamps the wall-clock deadline its view carries. The KDF runs in
    /// `block_in_place`: Argon2 takes a few hundred ms, too long for the async worker's budget.
    fn unlock_for(&mut self, passphrase: &str, auto_lock: Duration) -> Result<(), WalletError> {
        let w = self.wallet.as_mut().ok_or(WalletError::NotLoaded)?;
        tokio::task::block_in_place(|| w.unlock(passphrase, auto_lock))?;
        self.lock_at_unix_ms = w
            .auto_lock_remaining(Instant::now())
            .and_then(|left| SystemTime::now().checked_add(left))
            .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Ok(())
    }

    /// When the wallet locks itself (unix ms), while it is unlocked with an auto-lock.
    fn lock_at_unix_ms(&self) -> Option<u64> {
        let unlocked = self.wallet.as_ref().is_some_and(|w| !w.is_locked());
        self.lock_at_unix_ms.filter(|_| unlocked)
    }

    /// The wallet's chain view, fresh from the node.
    async fn chain(&self) -> Result<NodeChainView, WalletError> {
        let w = self.wallet.as_ref().ok_or(WalletError::NotLoaded)?;
        NodeChainView::fetch(&self.node, w)
            .await
            .ok_or_else(|| WalletError::NodeUnavailable("the node is shutting down".into()))
    }

    /// Hands a transaction the wallet signed to the node: the one path of every send, from
    /// the UI or RPC, payment or masternode step.
    async fn submit(&self, tx: Transaction) -> Result<Hash, SubmitFailure> {
        match self.node.submit_tx(tx).await {
            Ok(Ok(txid)) => Ok(txid),
            Ok(Err(e)) => Err(SubmitFailure::Rejected(e)),
            Err(e) => Err(SubmitFailure::Node(e)),
        }
    }
}
