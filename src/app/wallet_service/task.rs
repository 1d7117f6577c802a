//! The task that owns the [`WalletService`]: requests in over a channel, each answered on its
//! own oneshot; the wallet view out on a `watch`; the auto-lock timer.

use super::WalletService;
use crate::app::view::WalletSummary;
use crate::rpc::backend as rb;
use crate::types::{Address, Hash};
use crate::wallet::WalletError;
use std::time::Duration;
use timecoin_ui as ui;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

/// Where the answer to an RPC wallet request goes.
pub type Reply<T> = oneshot::Sender<Result<T, WalletError>>;

/// How often the auto-lock deadline is checked (a wallet unlocked over RPC on a headless
/// node locks on time too, not only when it is next used).
const AUTO_LOCK_CHECK: Duration = Duration::from_millis(250);

/// Requests queued for the wallet before a sender waits.
const QUEUE: usize = 32;

/// What the wallet's owner is asked to do: a UI action, or one of Bitcoin Core's wallet
/// methods (named after it).
pub enum WalletRequest {
    /// A UI action; the reply carries the events to show.
    Ui {
        /// The action from the UI's input loop.
        action: ui::UiAction,
        /// The events to show.
        reply: oneshot::Sender<Vec<ui::UiEvent>>,
    },
    /// `getbalances`.
    Balances {
        /// The balances, or the wallet's error.
        reply: Reply<rb::WalletBalances>,
    },
    /// `getnewaddress`.
    NewAddress {
        /// Label kept with the address.
        label: String,
        /// The new address, or the wallet's error.
        reply: Reply<Address>,
    },
    /// `setlabel`: adds or renames an address-book entry.
    SetLabel {
        /// The address the entry is for.
        address: Address,
        /// The name to give it (replaces an existing one).
        label: String,
        /// `Ok` once the book is saved, or the wallet's error.
        reply: Reply<()>,
    },
    /// `listunspent`.
    Unspent {
        /// Every unspent output the wallet owns, or the wallet's error.
        reply: Reply<Vec<rb::WalletUtxo>>,
    },
    /// `listtransactions`.
    Transactions {
        /// Most entries to return.
        count: usize,
        /// How many of the newest entries to skip first.
        skip: usize,
        /// The entries, newest last, or the wallet's error.
        reply: Reply<Vec<rb::WalletTxEntry>>,
    },
    /// `gettransaction`.
    Transaction {
        /// The transaction asked for.
        txid: Hash,
        /// The answer (`None`: not the wallet's).
        reply: Reply<Option<rb::WalletTransaction>>,
    },
    /// `sendtoaddress`.
    Send {
        /// The payment to build, sign and submit.
        req: rb::SendRequest,
        /// The txid submitted, or the wallet's error.
        reply: Reply<Hash>,
    },
    /// `walletpreparesend`.
    PrepareSend {
        /// The payment to preview (coins selected, fee computed, nothing signed).
        req: rb::SendRequest,
        /// The preview kept for `walletconfirmsend`.
        reply: Reply<rb::SendPreviewInfo>,
    },
    /// `walletconfirmsend`.
    ConfirmSend {
        /// From `walletpreparesend`.
        preview_id: u64,
        /// The txid submitted, or the wallet's error.
        reply: Reply<Hash>,
    },
    /// `walletpassphrase`.
    Unlock {
        /// The passphrase (zeroized when dropped).
        passphrase: Zeroizing<String>,
        /// Seconds to stay unlocked; 0 checks the passphrase and locks at once.
        timeout_secs: u64,
        /// `Ok` once unlocked, or the wallet's error (e.g. a wrong passphrase).
        reply: Reply<()>,
    },
    /// `walletlock`.
    Lock {
        /// `Ok` once locked, or the wallet's error.
        reply: Reply<()>,
    },
    /// `registermasternode`, `updatemasternode`, `exitmasternode`.
    Masternode {
        /// What to build and send.
        req: rb::MasternodeTxRequest,
        /// What was built (and sent unless a dry run).
        reply: Reply<rb::MasternodeTxReport>,
    },
}

/// The wallet view as the task last published it.
#[derive(Clone, Debug, Default)]
pub struct PublishedWallet {
    /// Bumped at every change of `summary`, so followers of the node's snapshot
    /// (`getnodesnapshot`) learn that the wallet part changed.
    pub version: u64,
    /// The wallet part of the view model.
    pub summary: WalletSummary,
}

/// A way to the wallet's owner: cheap to clone, one per user (UI bridge, RPC backend).
#[derive(Clone)]
pub struct WalletHandle {
    requests: mpsc::Sender<WalletRequest>,
    view: watch::Receiver<PublishedWallet>,
}

impl WalletHandle {
    /// Sends the request `make` builds around a reply channel and waits for the answer;
    /// `None` when the task has stopped (the node is shutting down).
    pub async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> WalletRequest,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(make(tx)).await.ok()?;
        rx.await.ok()
    }

    /// The wallet view, updated by the task whenever it changes.
    pub fn view(&self) -> watch::Receiver<PublishedWallet> {
        self.view.clone()
    }

    /// What `f` extracts from the wallet view as last published, under the watch's borrow
    /// (no clone of its history and address lists; the wallet task's next publication waits
    /// until `f` returns).
    pub fn with_view<R>(&self, f: impl FnOnce(&PublishedWallet) -> R) -> R {
        f(&self.view.borrow())
    }
}

/// Moves `service` into its own task until `shutdown`. The view is published (when it
/// changed) at once, after every request that may change the wallet and every auto-lock, and
/// at most every `refresh` while the chain moves (the auto-lock countdown needs no
/// republishing: the view carries the deadline, and the UI counts down to it).
pub fn spawn(
    service: WalletService,
    refresh: Duration,
    shutdown: CancellationToken,
) -> (WalletHandle, JoinHandle<()>) {
    let (requests, rx) = mpsc::channel(QUEUE);
    let (view_tx, view) = watch::channel(PublishedWallet::default());
    let task = tokio::spawn(own(service, rx, view_tx, refresh, shutdown));
    (WalletHandle { requests, view }, task)
}

/// The owner's loop.
async fn own(
    mut service: WalletService,
    mut requests: mpsc::Receiver<WalletRequest>,
    view: watch::Sender<PublishedWallet>,
    refresh: Duration,
    shutdown: CancellationToken,
) {
    let mut lock_check = tokio::time::interval(AUTO_LOCK_CHECK);
    lock_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut refresh_tick = tokio::time::interval(refresh);
    refresh_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut chain = service.node.snapshot.clone();
    let mut chain_moved = false;
    publish(&service, &view).await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            r = requests.recv() => {
                let Some(r) = r else { break };
                if !service.serve(r).await {
                    continue;
                }
            }
            _ = lock_check.tick() => {
                if !service.tick() {
                    continue;
                }
            }
            r = chain.changed() => {
                if r.is_err() {
                    break;
                }
                chain_moved = true;
                continue;
            }
            _ = refresh_tick.tick() => {
                if !chain_moved {
                    continue;
                }
            }
        }
        chain_moved = false;
        publish(&service, &view).await;
    }
}

/// Publishes the wallet view if it changed.
async fn publish(service: &WalletService, view: &watch::Sender<PublishedWallet>) {
    let summary = service.summary().await;
    view.send_if_modified(|p| p.update(summary));
}

impl PublishedWallet {
    /// Takes `summary` if it differs from the one held, bumping the version; returns whether
    /// it did (watchers are woken only then).
    fn update(&mut self, summary: WalletSummary) -> bool {
        if self.summary.view == summary.view {
            return false;
        }
        self.version += 1;
        self.summary = summary;
        true
    }
}

impl WalletService {
    /// Answers one request (a reply nobody waits for any more is dropped); returns whether
    /// it may have changed the wallet (a read does not, so it is not followed by a new view).
    async fn serve(&mut self, r: WalletRequest) -> bool {
        let read_only = matches!(
            r,
            WalletRequest::Balances { .. }
                | WalletRequest::Unspent { .. }
                | WalletRequest::Transactions { .. }
                | WalletRequest::Transaction { .. }
        );
        match r {
            WalletRequest::Ui { action, reply } => {
                let _ = reply.send(self.handle(action).await);
            }
            WalletRequest::Balances { reply } => {
                let _ = reply.send(self.rpc_balances().await);
            }
            WalletRequest::NewAddress { label, reply } => {
                let _ = reply.send(self.rpc_new_address(&label));
            }
            WalletRequest::SetLabel {
                address,
                label,
                reply,
            } => {
                let _ = reply.send(self.rpc_set_label(address, &label));
            }
            WalletRequest::Unspent { reply } => {
                let _ = reply.send(self.rpc_unspent().await);
            }
            WalletRequest::Transactions { count, skip, reply } => {
                let _ = reply.send(self.rpc_transactions(count, skip).await);
            }
            WalletRequest::Transaction { txid, reply } => {
                let _ = reply.send(self.rpc_transaction(&txid).await);
            }
            WalletRequest::Send { req, reply } => {
                let _ = reply.send(self.rpc_send(req).await);
            }
            WalletRequest::PrepareSend { req, reply } => {
                let _ = reply.send(self.rpc_prepare_send(req).await);
            }
            WalletRequest::ConfirmSend { preview_id, reply } => {
                let _ = reply.send(self.rpc_confirm_send(preview_id).await);
            }
            WalletRequest::Unlock {
                passphrase,
                timeout_secs,
                reply,
            } => {
                let _ = reply.send(self.rpc_unlock(&passphrase, timeout_secs));
            }
            WalletRequest::Lock { reply } => {
                let _ = reply.send(self.rpc_lock());
            }
            WalletRequest::Masternode { req, reply } => {
                let _ = reply.send(self.masternode_tx(req).await);
            }
        }
        !read_only
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(balance: u64, locked: bool) -> WalletSummary {
        WalletSummary {
            view: ui::WalletView {
                loaded: true,
                locked,
                balance_finalized: balance,
                ..Default::default()
            },
        }
    }

    #[test]
    fn the_version_moves_with_the_view_and_only_then() {
        let mut p = PublishedWallet::default();
        assert!(p.update(summary(5, true)));
        assert_eq!(p.version, 1);
        assert!(!p.update(summary(5, true)), "the same view wakes nobody");
        assert_eq!(p.version, 1);
        assert!(p.update(summary(5, false)), "an unlock is a change");
        assert!(p.update(summary(7, false)), "so is a new balance");
        assert_eq!((p.version, p.summary.view.balance_finalized), (3, 7));
    }
}
