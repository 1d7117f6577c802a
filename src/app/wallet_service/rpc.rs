//! Bitcoin Core's wallet methods, answered by the wallet's owner for the RPC backend.

use super::WalletService;
use crate::node::NodeHandle;
use crate::rpc::backend as rb;
use crate::types::{Address, Hash, Transaction};
use crate::wallet::{HistoryEntry, Wallet, WalletChain, WalletError};
use std::time::Duration;

impl WalletService {
    /// `getbalances`.
    pub(super) async fn rpc_balances(&self) -> Result<rb::WalletBalances, WalletError> {
        let chain = self.chain().await?;
        let w = self.wallet.as_ref().ok_or(WalletError::NotLoaded)?;
        let b = w.balances(&chain);
        Ok(rb::WalletBalances {
            finalized: b.spendable(),
            pending: b.pending,
            locked: b.collateral,
        })
    }

    /// `getnewaddress`.
    pub(super) fn rpc_new_address(&mut self, label: &str) -> Result<Address, WalletError> {
        let w = self.wallet.as_mut().ok_or(WalletError::NotLoaded)?;
        w.new_address(label)
    }

    /// `setlabel`: adds or renames the address-book entry.
    pub(super) fn rpc_set_label(
        &mut self,
        address: Address,
        label: &str,
    ) -> Result<(), WalletError> {
        let w = self.wallet.as_mut().ok_or(WalletError::NotLoaded)?;
        w.add_contact(label, address)
    }

    /// `listunspent`.
    pub(super) async fn rpc_unspent(&self) -> Result<Vec<rb::WalletUtxo>, WalletError> {
        let chain = self.chain().await?;
        let w = self.wallet.as_ref().ok_or(WalletError::NotLoaded)?;
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

    /// `listtransactions`: `count` entries after the newest `skip`, one per listed output
    /// (see [`history_entries`]).
    pub(super) async fn rpc_transactions(
        &self,
        count: usize,
        skip: usize,
    ) -> Result<Vec<rb::WalletTxEntry>, WalletError> {
        let chain = self.chain().await?;
        let w = self.wallet.as_ref().ok_or(WalletError::NotLoaded)?;
        Ok(w.history(&chain)
            .iter()
            .flat_map(|h| {
                let tx = history_tx(w, &chain, &h.txid);
                history_entries(&self.node, w, h, tx.as_ref())
            })
            .skip(skip)
            .take(count)
            .collect())
    }

    /// `gettransaction`.
    pub(super) async fn rpc_transaction(
        &self,
        txid: &Hash,
    ) -> Result<Option<rb::WalletTransaction>, WalletError> {
        let chain = self.chain().await?;
        let w = self.wallet.as_ref().ok_or(WalletError::NotLoaded)?;
        let Some(h) = w.history(&chain).into_iter().find(|h| h.txid == *txid) else {
            return Ok(None);
        };
        let Some(tx) = history_tx(w, &chain, txid) else {
            return Ok(None);
        };
        let entries = history_entries(&self.node, w, &h, Some(&tx));
        Ok(Some(rb::WalletTransaction { tx, entries }))
    }

    /// `sendtoaddress`: prepare, sign and submit in one go.
    pub(super) async fn rpc_send(&mut self, req: rb::SendRequest) -> Result<Hash, WalletError> {
        let chain = self.chain().await?;
        let min = chain.min_fee_rate();
        let w = self.wallet.as_mut().ok_or(WalletError::NotLoaded)?;
        let rate = req.fee_rate.unwrap_or(min);
        let mut preview = w.prepare_send(&chain, req.address, req.amount, rate)?;
        if req.subtract_fee_from_amount {
            let amount = req
                .amount
                .checked_sub(preview.fee)
                .filter(|a| a.0 > 0)
                .ok_or(WalletError::FeeExceedsAmount)?;
            preview = w.prepare_send(&chain, req.address, amount, rate)?;
        }
        let tx = w.confirm_send(preview)?;
        Ok(self.submit(tx).await?)
    }

    /// `walletpreparesend`: coin selection and fee, kept for `walletconfirmsend`.
    pub(super) async fn rpc_prepare_send(
        &mut self,
        req: rb::SendRequest,
    ) -> Result<rb::SendPreviewInfo, WalletError> {
        let chain = self.chain().await?;
        let rate = req.fee_rate.unwrap_or(chain.min_fee_rate());
        let w = self.wallet.as_mut().ok_or(WalletError::NotLoaded)?;
        let p = w.prepare_send(&chain, req.address, req.amount, rate)?;
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
    pub(super) async fn rpc_confirm_send(&mut self, id: u64) -> Result<Hash, WalletError> {
        let p = self.previews.remove(&id).ok_or_else(|| {
            WalletError::Refused("unknown or expired previewid; prepare the send again".into())
        })?;
        let w = self.wallet.as_mut().ok_or(WalletError::NotLoaded)?;
        let tx = w.confirm_send(p)?;
        Ok(self.submit(tx).await?)
    }

    /// `walletpassphrase`: unlocked for `timeout_secs`. As in Bitcoin Core, 0 checks the
    /// passphrase and locks again at once (for the wallet itself, a zero auto-lock means
    /// none: that is not what an RPC caller asking for 0 s means).
    pub(super) fn rpc_unlock(
        &mut self,
        passphrase: &str,
        timeout_secs: u64,
    ) -> Result<(), WalletError> {
        if timeout_secs > 0 {
            return self.unlock_for(passphrase, Duration::from_secs(timeout_secs));
        }
        let w = self.wallet.as_mut().ok_or(WalletError::NotLoaded)?;
        // Argon2 takes a few hundred ms: keep it off the async worker's budget.
        tokio::task::block_in_place(|| w.check_passphrase(passphrase))?;
        w.lock();
        Ok(())
    }
    pub(super) fn rpc_lock(&mut self) -> Result<(), WalletError> {
        let w = self.wallet.as_mut().ok_or(WalletError::NotLoaded)?;
        w.lock();
        Ok(())
    }
}

/// The transaction of history entry `txid`: as the wallet signed it, else as the node holds it
/// (mempool or chain).
fn history_tx(w: &Wallet, chain: &dyn WalletChain, txid: &Hash) -> Option<Transaction> {
    w.raw_transaction(txid)
        .and_then(|raw| <Transaction as crate::types::Decode>::from_bytes(&raw).ok())
        .or_else(|| chain.transaction(txid))
}

/// History entry `h` as `listtransactions` and `gettransaction` list it: one entry per output
/// [`Wallet::listed_outputs`] names in its transaction `tx`, with that output's index, address
/// and amount. A transaction with no such output (a masternode registration pays only its
/// change) or not at hand is one entry for the whole of `h`, without index or address.
fn history_entries(
    node: &NodeHandle,
    w: &Wallet,
    h: &HistoryEntry,
    tx: Option<&Transaction>,
) -> Vec<rb::WalletTxEntry> {
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
    let whole = rb::WalletTxEntry {
        txid: h.txid,
        category: match h.direction {
            Direction::Incoming => rb::WalletTxCategory::Receive,
            Direction::Outgoing | Direction::SelfTransfer => rb::WalletTxCategory::Send,
        },
        address: None,
        amount: h.amount,
        fee: h.fee,
        vout: None,
        label: h.memo.clone(),
        block,
        time_secs: h.time.unwrap_or(0),
        abandoned: matches!(h.status, TxStatus::Conflicted),
    };
    let listed = tx
        .map(|t| w.listed_outputs(h.direction, t))
        .unwrap_or_default();
    if listed.is_empty() {
        return vec![whole];
    }
    listed
        .into_iter()
        .map(|(vout, o)| rb::WalletTxEntry {
            address: Some(o.address),
            amount: o.amount,
            vout: Some(vout),
            ..whole.clone()
        })
        .collect()
}
