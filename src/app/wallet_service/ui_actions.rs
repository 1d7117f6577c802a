//! The UI's wallet actions and the wallet part of the view model.

use super::{NodeChainView, WalletService};
use crate::app::view::WalletSummary;
use crate::rpc::backend as rb;
use crate::types::{Address, Amount, Tier};
use timecoin_ui as ui;

impl WalletService {
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
                        let ev = ui::UiEvent::SendPreview(ui::SendPreview {
                            preview_id: id,
                            recipient: p.recipient.encode(self.network),
                            amount_units: p.amount.0,
                            fee_units: p.fee.0,
                            change_units: p.change.0,
                            inputs: p.inputs.len(),
                            size_bytes: p.size,
                        });
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
                let sent = self.submit(tx).await;
                vec![ui::UiEvent::SendResult(
                    sent.map(|txid| txid.to_hex()).map_err(|e| e.to_string()),
                )]
            }
            ui::UiAction::CancelSend { preview_id } => {
                self.previews.remove(&preview_id);
                vec![ui::UiEvent::Notice("send cancelled".into())]
            }
            ui::UiAction::Unlock { passphrase } => {
                let r = self
                    .unlock_for(passphrase.expose(), self.auto_lock)
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
                let req = rb::MasternodeTxRequest {
                    action: rb::MasternodeAction::Register {
                        tier,
                        collateral: None,
                        payout: None,
                        p2p_addr: None,
                    },
                    dry_run: false,
                    max_fee: None,
                    expect_txid: None,
                };
                match self.masternode_tx(req).await {
                    Ok(r) if r.kind == rb::MasternodeTxKind::FundCollateral => {
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
                let req = rb::MasternodeTxRequest {
                    action: rb::MasternodeAction::Exit { collateral: None },
                    dry_run: false,
                    max_fee: None,
                    expect_txid: None,
                };
                match self.masternode_tx(req).await {
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
            auto_lock_at_unix_ms: self.lock_at_unix_ms(),
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
