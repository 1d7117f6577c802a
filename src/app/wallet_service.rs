//! The wallet beside a running node: answers the UI's wallet actions and computes the wallet
//! part of the view model from chain data the node hands out.

use super::view::WalletSummary;
use crate::node::{Command, NodeHandle, WalletChainData};
use crate::storage::Storage;
use crate::types::{Address, Amount, Hash, Network, OutPoint, Tier, Transaction};
use crate::wallet::{ChainTxStatus, SendPreview, Wallet, WalletChain, WalletUtxo};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use timecoin_ui as ui;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A [`WalletChain`] over data fetched from the node.
pub struct NodeChainView {
    data: WalletChainData,
    /// The pooled transactions that create the pending outputs in `data`.
    pooled: HashMap<Hash, Transaction>,
    storage: Storage,
    chain_id: Hash,
    min_fee_rate: u64,
}

impl NodeChainView {
    /// Fetches the chain data for `wallet`'s addresses from `node`.
    pub async fn fetch(node: &NodeHandle, wallet: &Wallet) -> Option<NodeChainView> {
        let addrs: Vec<Address> = wallet.addresses().iter().map(|a| a.address).collect();
        let data = node.wallet_data(addrs).await.ok()?;
        let pending: HashSet<Hash> = data.pending.iter().map(|(o, _)| o.txid).collect();
        let mut pooled = HashMap::new();
        for txid in pending {
            let (reply, rx) = tokio::sync::oneshot::channel();
            node.commands
                .send(Command::MempoolTx { txid, reply })
                .await
                .ok()?;
            if let Ok(Some(tx)) = rx.await {
                pooled.insert(txid, tx);
            }
        }
        Some(NodeChainView {
            data,
            pooled,
            storage: node.storage.clone(),
            chain_id: node.spec.genesis.params.chain_id,
            min_fee_rate: node
                .spec
                .mempool
                .min_fee_rate
                .max(node.spec.genesis.params.min_fee_rate),
        })
    }
}

impl WalletChain for NodeChainView {
    fn utxos(&self, addrs: &[Address]) -> Vec<WalletUtxo> {
        let wanted = |a: &Address| addrs.contains(a);
        let fin = self
            .data
            .finalized
            .iter()
            .map(|(o, u)| (o, u, Some(u.height)));
        let pend = self.data.pending.iter().map(|(o, u)| (o, u, None));
        fin.chain(pend)
            .filter(|(_, u, _)| wanted(&u.output.address))
            .map(|(o, u, h)| WalletUtxo {
                outpoint: *o,
                output: u.output,
                height: h,
            })
            .collect()
    }

    fn spent_in_mempool(&self, o: &OutPoint) -> bool {
        self.data.spent_in_mempool.contains(o)
    }

    fn tx_status(&self, txid: &Hash) -> ChainTxStatus {
        if self.data.mempool_txids.contains(txid) {
            return ChainTxStatus::Pending;
        }
        match self.storage.tx_location(txid) {
            Ok(Some(loc)) => ChainTxStatus::Final { height: loc.height },
            _ => ChainTxStatus::Unknown,
        }
    }

    fn transaction(&self, txid: &Hash) -> Option<Transaction> {
        if let Some(tx) = self.pooled.get(txid) {
            return Some(tx.clone());
        }
        self.storage
            .transaction(txid)
            .ok()
            .flatten()
            .map(|(tx, _)| tx)
    }

    fn chain_id(&self) -> Hash {
        self.chain_id
    }

    fn min_fee_rate(&self) -> u64 {
        self.min_fee_rate
    }
}

/// Prepared sends kept for confirmation.
const MAX_PREVIEWS: usize = 16;

/// Addresses asked for at once when looking for a wallet's used addresses.
const DISCOVERY_GAP: u32 = 20;

/// Owns the wallet for the UI.
pub struct WalletService {
    wallet: Option<Wallet>,
    node: NodeHandle,
    network: Network,
    previews: HashMap<u64, SendPreview>,
    next_preview: u64,
    auto_lock: Duration,
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
        let mut added = 0;
        for change in [false, true] {
            loop {
                let Ok(window) = wallet.discovery_window(change, DISCOVERY_GAP) else {
                    return;
                };
                let Ok(data) = self.node.wallet_data(window.clone()).await else {
                    return;
                };
                let used: HashSet<Address> = data
                    .finalized
                    .iter()
                    .chain(&data.pending)
                    .map(|(_, u)| u.output.address)
                    .collect();
                match wallet.adopt_used(change, &window, &used) {
                    Ok(0) => break,
                    Ok(n) => added += n,
                    Err(e) => {
                        tracing::warn!(target: "wallet", "address discovery stopped: {e}");
                        return;
                    }
                }
            }
        }
        if added > 0 {
            tracing::info!(target: "wallet", added, "wallet addresses found on the chain");
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

    /// Locks the wallet when its auto-lock time has passed.
    pub fn tick(&mut self) {
        if let Some(w) = self.wallet.as_mut() {
            w.tick(Instant::now());
        }
    }

    /// The auto-lock timer, with or without the UI (a headless node's wallet, unlocked over
    /// RPC, must lock on time too, not only when it is next used): ticks `service` every
    /// 250 ms until `shutdown`.
    pub fn spawn_auto_lock(
        service: Arc<Mutex<WalletService>>,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(250));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = every.tick() => service.lock().await.tick(),
                }
            }
        })
    }

    /// Carries out one UI action; returns the events to show.
    pub async fn handle(&mut self, action: ui::UiAction) -> Vec<ui::UiEvent> {
        let Some(wallet) = self.wallet.as_mut() else {
            return vec![ui::UiEvent::Error(
                "no wallet is loaded: create one with `timed wallet create`".into(),
            )];
        };
        match action {
            ui::UiAction::Quit => vec![],
            ui::UiAction::PreviewSend {
                to,
                amount_units,
                fee_rate,
            } => {
                let to = match Address::parse(&to, self.network) {
                    Ok(a) => a,
                    Err(e) => return vec![ui::UiEvent::Error(e.to_string())],
                };
                let Some(chain) = NodeChainView::fetch(&self.node, wallet).await else {
                    return vec![ui::UiEvent::Error("the node is not answering".into())];
                };
                match wallet.prepare_send(&chain, to, Amount(amount_units), fee_rate) {
                    Ok(p) => {
                        let id = self.next_preview;
                        let ev = ui::UiEvent::SendPreview {
                            preview_id: id,
                            recipient: p.recipient.encode(self.network),
                            amount_units: p.amount.0,
                            fee_units: p.fee.0,
                            change_units: p.change.0,
                            inputs: p.inputs.len(),
                            size_bytes: p.size,
                        };
                        self.keep_preview(p);
                        vec![ev]
                    }
                    Err(e) => vec![ui::UiEvent::Error(e.to_string())],
                }
            }
            ui::UiAction::ConfirmSend { preview_id } => {
                let Some(p) = self.previews.remove(&preview_id) else {
                    return vec![ui::UiEvent::SendResult(Err(
                        "that preview expired; prepare the send again".into(),
                    ))];
                };
                let tx = match wallet.confirm_send(p) {
                    Ok(tx) => tx,
                    Err(e) => return vec![ui::UiEvent::SendResult(Err(e.to_string()))],
                };
                match self.node.submit_tx(tx).await {
                    Ok(Ok(txid)) => vec![ui::UiEvent::SendResult(Ok(txid.to_hex()))],
                    Ok(Err(e)) => vec![ui::UiEvent::SendResult(Err(format!(
                        "the node rejected it: {e}"
                    )))],
                    Err(e) => vec![ui::UiEvent::SendResult(Err(e.to_string()))],
                }
            }
            ui::UiAction::CancelSend { preview_id } => {
                self.previews.remove(&preview_id);
                vec![ui::UiEvent::Notice("send cancelled".into())]
            }
            ui::UiAction::Unlock { passphrase } => {
                // Argon2 takes a few hundred ms: keep it off the async worker's budget.
                let auto_lock = self.auto_lock;
                let r =
                    tokio::task::block_in_place(|| wallet.unlock(passphrase.expose(), auto_lock))
                        .map_err(|e| e.to_string());
                vec![ui::UiEvent::Unlocked(r)]
            }
            ui::UiAction::Lock => {
                wallet.lock();
                vec![ui::UiEvent::Notice("wallet locked".into())]
            }
            ui::UiAction::NewAddress { label } => match wallet.new_address(&label) {
                Ok(a) => vec![ui::UiEvent::Notice(format!(
                    "new address {}",
                    a.encode(self.network)
                ))],
                Err(e) => vec![ui::UiEvent::Error(e.to_string())],
            },
            ui::UiAction::RevealMnemonic { passphrase } => match tokio::task::block_in_place(|| {
                wallet.reveal_mnemonic(passphrase.expose())
            }) {
                Ok(words) => {
                    let list: Vec<String> = words.split_whitespace().map(str::to_string).collect();
                    vec![ui::UiEvent::Mnemonic(ui::Secret::new(list))]
                }
                Err(e) => vec![ui::UiEvent::Error(e.to_string())],
            },
            ui::UiAction::AddContact { label, address } => {
                match Address::parse(&address, self.network) {
                    Ok(a) => match wallet.add_contact(&label, a) {
                        Ok(()) => vec![ui::UiEvent::Notice(format!("contact {label} saved"))],
                        Err(e) => vec![ui::UiEvent::Error(e.to_string())],
                    },
                    Err(e) => vec![ui::UiEvent::Error(e.to_string())],
                }
            }
            ui::UiAction::RegisterMasternode { tier } => {
                let Some(tier) = Tier::from_name(&tier) else {
                    return vec![ui::UiEvent::Error(format!("unknown tier {tier}"))];
                };
                let req = crate::rpc::backend::MasternodeTxRequest {
                    action: crate::rpc::backend::MasternodeAction::Register {
                        tier,
                        collateral: None,
                        payout: None,
                        p2p_addr: None,
                    },
                    dry_run: false,
                    max_fee: None,
                    expect_txid: None,
                };
                match self.rpc_masternode(req).await {
                    Ok(r) if r.kind == crate::rpc::backend::MasternodeTxKind::FundCollateral => {
                        vec![ui::UiEvent::Notice(
                            "collateral transfer sent; press g again once it is final".into(),
                        )]
                    }
                    Ok(_) => vec![ui::UiEvent::Notice(
                        "registration sent; the masternode activates 2 blocks after it is final"
                            .into(),
                    )],
                    Err(e) => vec![ui::UiEvent::Error(e.to_string())],
                }
            }
            ui::UiAction::LeaveMasternode => {
                let req = crate::rpc::backend::MasternodeTxRequest {
                    action: crate::rpc::backend::MasternodeAction::Exit { collateral: None },
                    dry_run: false,
                    max_fee: None,
                    expect_txid: None,
                };
                match self.rpc_masternode(req).await {
                    Ok(_) => vec![ui::UiEvent::Notice("exit sent".into())],
                    Err(e) => vec![ui::UiEvent::Error(e.to_string())],
                }
            }
        }
    }

    /// The wallet part of the view model.
    pub async fn summary(&self) -> WalletSummary {
        let Some(w) = self.wallet.as_ref() else {
            return WalletSummary {
                view: ui::WalletView {
                    loaded: false,
                    ..Default::default()
                },
            };
        };
        let Some(chain) = NodeChainView::fetch(&self.node, w).await else {
            return WalletSummary {
                view: ui::WalletView {
                    loaded: true,
                    name: Some(w.name().into()),
                    ..Default::default()
                },
            };
        };
        let net = self.network;
        let b = w.balances(&chain);
        let receive = w.receive_address();
        let view = ui::WalletView {
            loaded: true,
            name: Some(w.name().to_string()),
            locked: w.is_locked(),
            auto_lock_remaining_secs: w.auto_lock_remaining(Instant::now()).map(|d| d.as_secs()),
            balance_finalized: b.finalized.0,
            balance_pending: b.pending.0,
            addresses: w
                .addresses()
                .iter()
                .map(|a| ui::AddressRow {
                    address: a.address.encode(net),
                    label: a.label.clone(),
                    kind: if a.change {
                        ui::AddressKind::Change
                    } else {
                        ui::AddressKind::Receive
                    },
                })
                .collect(),
            history: w
                .history(&chain)
                .iter()
                .take(200)
                .map(|h| ui::HistoryRow {
                    txid_short: h.txid.short(),
                    direction: match h.direction {
                        crate::wallet::Direction::Incoming => ui::TxDirection::Incoming,
                        crate::wallet::Direction::Outgoing => ui::TxDirection::Outgoing,
                        crate::wallet::Direction::SelfTransfer => ui::TxDirection::SelfTransfer,
                    },
                    amount_units: h.amount.0,
                    fee_units: h.fee.map(|f| f.0),
                    status: match h.status {
                        crate::wallet::TxStatus::Pending | crate::wallet::TxStatus::Dropped => {
                            ui::TxStatus::Pending
                        }
                        crate::wallet::TxStatus::Final { .. } => ui::TxStatus::Final,
                        crate::wallet::TxStatus::Conflicted => ui::TxStatus::Conflicted,
                    },
                    height: match h.status {
                        crate::wallet::TxStatus::Final { height } => Some(height),
                        _ => None,
                    },
                    time_unix: h.time,
                })
                .collect(),
            contacts: w
                .contacts()
                .iter()
                .map(|c| ui::ContactRow {
                    label: c.label.clone(),
                    address: c.address.encode(net),
                })
                .collect(),
            receive_address: receive.map(|a| a.encode(net)),
            receive_uri: receive.map(|a| {
                crate::types::PaymentUri {
                    address: a,
                    amount: None,
                    label: None,
                }
                .format(net)
            }),
        };
        WalletSummary { view }
    }
}

/// Wallet operations for the RPC server (Bitcoin Core's wallet methods).
pub mod rpc_ops {
    use super::{NodeChainView, WalletService};
    use crate::rpc::backend as rb;
    use crate::types::{Address, Amount, Hash, OutPoint, Transaction};
    use crate::wallet::{WalletChain, WalletError};
    use std::time::Duration;

    fn map_err(e: WalletError) -> rb::WalletError {
        match e {
            WalletError::Locked => rb::WalletError::Locked,
            WalletError::WrongPassphrase => rb::WalletError::WrongPassphrase,
            WalletError::InsufficientFunds { .. } => rb::WalletError::InsufficientFunds,
            WalletError::AmountTooSmall { .. }
            | WalletError::FeeTooLow { .. }
            | WalletError::Overflow => rb::WalletError::InvalidAmount(e.to_string()),
            other => rb::WalletError::Other(other.to_string()),
        }
    }

    impl WalletService {
        async fn chain(&self) -> Result<NodeChainView, rb::WalletError> {
            let w = self.wallet.as_ref().ok_or(rb::WalletError::NoWallet)?;
            NodeChainView::fetch(&self.node, w)
                .await
                .ok_or_else(|| rb::WalletError::Other("the node is shutting down".into()))
        }

        /// `getbalances`.
        pub async fn rpc_balances(&self) -> Result<rb::WalletBalances, rb::WalletError> {
            let chain = self.chain().await?;
            let w = self.wallet.as_ref().ok_or(rb::WalletError::NoWallet)?;
            let b = w.balances(&chain);
            Ok(rb::WalletBalances {
                finalized: b.spendable(),
                pending: b.pending,
                locked: b.collateral,
            })
        }

        /// `getnewaddress`.
        pub fn rpc_new_address(&mut self, label: &str) -> Result<Address, rb::WalletError> {
            let w = self.wallet.as_mut().ok_or(rb::WalletError::NoWallet)?;
            w.new_address(label).map_err(map_err)
        }

        /// `setlabel`: adds or renames the address-book entry.
        pub fn rpc_set_label(
            &mut self,
            address: Address,
            label: &str,
        ) -> Result<(), rb::WalletError> {
            let w = self.wallet.as_mut().ok_or(rb::WalletError::NoWallet)?;
            w.add_contact(label, address).map_err(map_err)
        }

        /// `listunspent`.
        pub async fn rpc_unspent(&self) -> Result<Vec<rb::WalletUtxo>, rb::WalletError> {
            let chain = self.chain().await?;
            let w = self.wallet.as_ref().ok_or(rb::WalletError::NoWallet)?;
            let entries = w.addresses();
            let addrs: Vec<Address> = entries.iter().map(|a| a.address).collect();
            let collateral: std::collections::HashSet<_> =
                w.collaterals().iter().map(|c| c.0).collect();
            Ok(chain
                .utxos(&addrs)
                .into_iter()
                .map(|u| rb::WalletUtxo {
                    outpoint: u.outpoint,
                    address: u.output.address,
                    label: entries
                        .iter()
                        .find(|a| a.address == u.output.address)
                        .map(|a| a.label.clone())
                        .unwrap_or_default(),
                    amount: u.output.amount,
                    height: u.height,
                    spendable: !chain.spent_in_mempool(&u.outpoint)
                        && !collateral.contains(&u.outpoint),
                })
                .collect())
        }

        /// `listtransactions`.
        pub async fn rpc_transactions(
            &self,
            count: usize,
            skip: usize,
        ) -> Result<Vec<rb::WalletTxEntry>, rb::WalletError> {
            let chain = self.chain().await?;
            let w = self.wallet.as_ref().ok_or(rb::WalletError::NoWallet)?;
            let mut out = Vec::new();
            for h in w.history(&chain).into_iter().skip(skip).take(count) {
                out.push(history_entry(&self.node, &h));
            }
            Ok(out)
        }

        /// `gettransaction`.
        pub async fn rpc_transaction(
            &self,
            txid: &Hash,
        ) -> Result<Option<rb::WalletTransaction>, rb::WalletError> {
            let chain = self.chain().await?;
            let w = self.wallet.as_ref().ok_or(rb::WalletError::NoWallet)?;
            let Some(h) = w.history(&chain).into_iter().find(|h| h.txid == *txid) else {
                return Ok(None);
            };
            let tx = match w.raw_transaction(txid) {
                Some(raw) => <Transaction as crate::types::Decode>::from_bytes(&raw).ok(),
                None => self
                    .node
                    .storage
                    .transaction(txid)
                    .ok()
                    .flatten()
                    .map(|(t, _)| t),
            };
            let Some(tx) = tx else { return Ok(None) };
            Ok(Some(rb::WalletTransaction {
                tx,
                entries: vec![history_entry(&self.node, &h)],
            }))
        }

        /// `sendtoaddress`: prepare, sign and submit in one go.
        pub async fn rpc_send(&mut self, req: rb::SendRequest) -> Result<Hash, rb::WalletError> {
            let chain = self.chain().await?;
            let min = chain.min_fee_rate();
            let w = self.wallet.as_mut().ok_or(rb::WalletError::NoWallet)?;
            let rate = req.fee_rate.unwrap_or(min);
            let mut preview = w
                .prepare_send(&chain, req.address, req.amount, rate)
                .map_err(map_err)?;
            if req.subtract_fee_from_amount {
                let amount = req
                    .amount
                    .checked_sub(preview.fee)
                    .filter(|a| a.0 > 0)
                    .ok_or_else(|| {
                        rb::WalletError::InvalidAmount("amount does not cover the fee".into())
                    })?;
                preview = w
                    .prepare_send(&chain, req.address, amount, rate)
                    .map_err(map_err)?;
            }
            let tx = w.confirm_send(preview).map_err(map_err)?;
            match self.node.submit_tx(tx).await {
                Ok(Ok(id)) => Ok(id),
                Ok(Err(e)) => Err(rb::WalletError::Submit(
                    super::super::rpc_backend::submit_error(e),
                )),
                Err(e) => Err(rb::WalletError::Other(e.to_string())),
            }
        }

        /// `walletpreparesend`: coin selection and fee, kept for `walletconfirmsend`.
        pub async fn rpc_prepare_send(
            &mut self,
            req: rb::SendRequest,
        ) -> Result<rb::SendPreviewInfo, rb::WalletError> {
            let chain = self.chain().await?;
            let rate = req.fee_rate.unwrap_or(chain.min_fee_rate());
            let w = self.wallet.as_mut().ok_or(rb::WalletError::NoWallet)?;
            let p = w
                .prepare_send(&chain, req.address, req.amount, rate)
                .map_err(map_err)?;
            let info = rb::SendPreviewInfo {
                preview_id: 0,
                address: p.recipient,
                amount: p.amount,
                fee: p.fee,
                change: p.change,
                inputs: p.inputs.len(),
                size: p.size,
            };
            let preview_id = self.keep_preview(p);
            Ok(rb::SendPreviewInfo { preview_id, ..info })
        }

        /// `walletconfirmsend`: signs and submits a kept preview (the wallet must be unlocked).
        pub async fn rpc_confirm_send(&mut self, id: u64) -> Result<Hash, rb::WalletError> {
            let p = self.previews.remove(&id).ok_or_else(|| {
                rb::WalletError::Other(
                    "unknown or expired previewid; prepare the send again".into(),
                )
            })?;
            let w = self.wallet.as_mut().ok_or(rb::WalletError::NoWallet)?;
            let tx = w.confirm_send(p).map_err(map_err)?;
            match self.node.submit_tx(tx).await {
                Ok(Ok(id)) => Ok(id),
                Ok(Err(e)) => Err(rb::WalletError::Submit(
                    super::super::rpc_backend::submit_error(e),
                )),
                Err(e) => Err(rb::WalletError::Other(e.to_string())),
            }
        }

        /// `walletpassphrase`: unlocked for `timeout_secs`. As in Bitcoin Core, 0 checks the
        /// passphrase and locks again at once (for the wallet itself, a zero auto-lock means
        /// none: that is not what an RPC caller asking for 0 s means).
        pub fn rpc_unlock(
            &mut self,
            passphrase: &str,
            timeout_secs: u64,
        ) -> Result<(), rb::WalletError> {
            let w = self.wallet.as_mut().ok_or(rb::WalletError::NoWallet)?;
            if timeout_secs == 0 {
                w.check_passphrase(passphrase).map_err(map_err)?;
                w.lock();
                return Ok(());
            }
            w.unlock(passphrase, Duration::from_secs(timeout_secs))
                .map_err(map_err)
        }

        /// `walletlock`.
        pub fn rpc_lock(&mut self) -> Result<(), rb::WalletError> {
            let w = self.wallet.as_mut().ok_or(rb::WalletError::NoWallet)?;
            w.lock();
            Ok(())
        }

        /// `registermasternode`, `updatemasternode`, `exitmasternode`: the wallet's own
        /// masternode steps (the same the UI's Masternodes tab takes), first on a dry-run
        /// copy. The guards run on that copy's transaction: every output pays this wallet
        /// (so nothing but the fee leaves it), the fee is at most `max_fee`, the txid is
        /// `expect_txid`. Only then is the step taken on the wallet itself, which builds the
        /// same transaction (signing is deterministic), and the result submitted.
        pub async fn rpc_masternode(
            &mut self,
            req: rb::MasternodeTxRequest,
        ) -> Result<rb::MasternodeTxReport, rb::WalletError> {
            self.adopt_collaterals();
            let chain = self.chain().await?;
            let me = self.node.spec.node_key.public();
            let registry = self.node.snapshot.borrow().masternodes.clone();
            let own_p2p = self
                .node
                .spec
                .advertise
                .clone()
                .unwrap_or_else(|| self.node.p2p_addr.to_string());
            let w = self.wallet.as_mut().ok_or(rb::WalletError::NoWallet)?;
            let other = |m: String| rb::WalletError::Other(m);
            // The registered entry an update or exit is about.
            let entry = |collateral: Option<OutPoint>| match collateral {
                Some(c) => registry
                    .iter()
                    .find(|m| m.collateral == c)
                    .cloned()
                    .ok_or_else(|| {
                        other(format!(
                        "no masternode is registered with collateral {}:{} (see listmasternodes)",
                        c.txid, c.index
                    ))
                    }),
                None => registry
                    .iter()
                    .find(|m| m.node_key == me)
                    .cloned()
                    .ok_or_else(|| {
                        other(
                            "this node's key is not a registered masternode: register it first, \
                         or name the masternode by its collateral"
                                .into(),
                        )
                    }),
            };
            let step = |w: &mut crate::wallet::Wallet| -> Result<Built, rb::WalletError> {
                match &req.action {
                    rb::MasternodeAction::Register {
                        tier,
                        collateral,
                        payout,
                        p2p_addr,
                    } => {
                        if let Some(m) = registry.iter().find(|m| m.node_key == me) {
                            return Err(other(format!(
                                "this node's key is already registered as a {} masternode \
                                 (collateral {}:{}): see `timed masternode status`",
                                m.tier.name(),
                                m.collateral.txid,
                                m.collateral.index
                            )));
                        }
                        if let Some(c) = collateral {
                            if registry.iter().any(|m| m.collateral == *c) {
                                return Err(other(format!(
                                    "collateral {}:{} already backs a masternode",
                                    c.txid, c.index
                                )));
                            }
                        }
                        let addr = p2p_addr.as_deref().unwrap_or(&own_p2p);
                        let s = w
                            .prepare_register_masternode(
                                &chain,
                                *tier,
                                me,
                                addr,
                                *payout,
                                *collateral,
                            )
                            .map_err(map_err)?;
                        let (kind, tx, collateral) = match s {
                            crate::wallet::MasternodeStep::FundCollateral { tx, collateral } => {
                                (rb::MasternodeTxKind::FundCollateral, tx, collateral)
                            }
                            crate::wallet::MasternodeStep::Register { tx, collateral } => {
                                (rb::MasternodeTxKind::Register, tx, collateral)
                            }
                        };
                        let payout = match &tx.kind {
                            crate::types::TxKind::MasternodeRegister(r) => r.payout,
                            // The registration's default payout: the collateral's address
                            // (the funding transfer's output `collateral.index`).
                            _ => payout
                                .or_else(|| {
                                    let i = usize::try_from(collateral.index).ok()?;
                                    tx.outputs.get(i).map(|o| o.address)
                                })
                                .ok_or_else(|| {
                                    other("the collateral transfer has no collateral output".into())
                                })?,
                        };
                        Ok(Built {
                            kind,
                            tx,
                            collateral,
                            tier: *tier,
                            node_key: me,
                            p2p_addr: addr.to_string(),
                            payout,
                        })
                    }
                    rb::MasternodeAction::Update {
                        collateral,
                        p2p_addr,
                        payout,
                    } => {
                        let m = entry(*collateral)?;
                        let tx = w
                            .prepare_update_masternode(
                                &chain,
                                m.collateral,
                                (&m.p2p_addr, m.payout),
                                p2p_addr.as_deref(),
                                *payout,
                            )
                            .map_err(map_err)?;
                        Ok(Built {
                            kind: rb::MasternodeTxKind::Update,
                            tx,
                            collateral: m.collateral,
                            tier: m.tier,
                            node_key: m.node_key,
                            p2p_addr: p2p_addr.clone().unwrap_or(m.p2p_addr),
                            payout: payout.unwrap_or(m.payout),
                        })
                    }
                    rb::MasternodeAction::Exit { collateral } => {
                        let m = entry(*collateral)?;
                        let tx = w
                            .prepare_exit_masternode(&chain, m.collateral)
                            .map_err(map_err)?;
                        Ok(Built {
                            kind: rb::MasternodeTxKind::Exit,
                            tx,
                            collateral: m.collateral,
                            tier: m.tier,
                            node_key: m.node_key,
                            p2p_addr: m.p2p_addr,
                            payout: m.payout,
                        })
                    }
                }
            };
            // The copy knows the addresses the step adds (a funding transfer's collateral
            // address), so the outputs are checked against it.
            let checked = w
                .dry_run(|copy| {
                    Ok(step(copy).and_then(|b| {
                        let fee = self_transfer_fee(copy, &chain, &b.tx)?;
                        Ok((b, fee))
                    }))
                })
                .map_err(map_err)?;
            let (preview, fee) = checked?;
            if preview.kind == rb::MasternodeTxKind::Register
                && registry.iter().any(|m| m.collateral == preview.collateral)
            {
                return Err(other(format!(
                    "collateral {}:{} already backs a masternode; name another with collateral",
                    preview.collateral.txid, preview.collateral.index
                )));
            }
            if let Some(max) = req.max_fee {
                if fee > max {
                    return Err(other(format!(
                        "the fee would be {fee} TIME, above the {max} TIME allowed (maxfee); \
                         nothing was sent"
                    )));
                }
            }
            if let Some(want) = req.expect_txid {
                if preview.tx.txid() != want {
                    return Err(other(
                        "the wallet or the chain changed since the preview, so the transaction \
                         would differ from the one confirmed; nothing was sent: preview again"
                            .into(),
                    ));
                }
            }
            let mut report = rb::MasternodeTxReport {
                kind: preview.kind,
                txid: preview.tx.txid(),
                sent: false,
                collateral: preview.collateral,
                tier: preview.tier,
                node_key: preview.node_key,
                p2p_addr: preview.p2p_addr.clone(),
                payout: preview.payout,
                fee,
                spent: fee,
                size: preview.tx.size(),
                inputs: preview.tx.inputs.len(),
            };
            if req.dry_run {
                return Ok(report);
            }
            let built = step(w)?;
            if built.tx.txid() != report.txid {
                // Not expected (same wallet state, same chain view, deterministic signing).
                return Err(other(
                    "the transaction built differs from the checked one; nothing was sent: try again"
                        .into(),
                ));
            }
            match self.node.submit_tx(built.tx).await {
                Ok(Ok(_)) => {
                    report.sent = true;
                    tracing::info!(target: "wallet", step = report.kind.name(), txid = %report.txid.short(), fee = %report.fee, "masternode transaction sent");
                    Ok(report)
                }
                Ok(Err(e)) => Err(rb::WalletError::Submit(
                    super::super::rpc_backend::submit_error(e),
                )),
                Err(e) => Err(rb::WalletError::Other(e.to_string())),
            }
        }
    }

    /// A masternode transaction as built, before the guards.
    struct Built {
        kind: rb::MasternodeTxKind,
        tx: Transaction,
        collateral: OutPoint,
        tier: crate::types::Tier,
        node_key: crate::types::PublicKey,
        p2p_addr: String,
        payout: Address,
    }

    /// The fee of `tx`, which is all it takes out of `w`: refused unless every input is an
    /// unspent output of `w` and every output pays `w` (a masternode transaction pays nobody
    /// else).
    fn self_transfer_fee(
        w: &crate::wallet::Wallet,
        chain: &NodeChainView,
        tx: &Transaction,
    ) -> Result<Amount, rb::WalletError> {
        let addrs: Vec<Address> = w.addresses().iter().map(|a| a.address).collect();
        let utxos = chain.utxos(&addrs);
        let mut inputs = Amount::ZERO;
        for i in &tx.inputs {
            let u = utxos.iter().find(|u| u.outpoint == i.prev).ok_or_else(|| {
                rb::WalletError::Other(format!(
                    "input {}:{} is not an unspent output of this wallet; nothing was sent",
                    i.prev.txid, i.prev.index
                ))
            })?;
            inputs = inputs
                .checked_add(u.output.amount)
                .ok_or_else(|| rb::WalletError::Other("amount overflow".into()))?;
        }
        let mut outputs = Amount::ZERO;
        for o in &tx.outputs {
            if !w.is_mine(&o.address) {
                return Err(rb::WalletError::Other(
                    "a masternode transaction would pay an address outside this wallet; \
                     nothing was sent"
                        .into(),
                ));
            }
            outputs = outputs
                .checked_add(o.amount)
                .ok_or_else(|| rb::WalletError::Other("amount overflow".into()))?;
        }
        inputs
            .checked_sub(outputs)
            .ok_or_else(|| rb::WalletError::Other("outputs exceed inputs".into()))
    }

    fn history_entry(
        node: &crate::node::NodeHandle,
        h: &crate::wallet::HistoryEntry,
    ) -> rb::WalletTxEntry {
        use crate::wallet::{Direction, TxStatus};
        let block = match h.status {
            TxStatus::Final { height } => node
                .storage
                .block(height)
                .ok()
                .flatten()
                .map(|b| (height, b.hash())),
            _ => None,
        };
        rb::WalletTxEntry {
            txid: h.txid,
            category: match h.direction {
                Direction::Incoming => rb::WalletTxCategory::Receive,
                Direction::Outgoing | Direction::SelfTransfer => rb::WalletTxCategory::Send,
            },
            address: None,
            amount: h.amount,
            fee: h.fee.map(|f: Amount| f),
            vout: 0,
            label: h.memo.clone(),
            block,
            time_secs: h.time.unwrap_or(0),
            abandoned: matches!(h.status, TxStatus::Conflicted),
        }
    }
}
