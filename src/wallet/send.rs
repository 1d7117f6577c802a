//! Sending: a payment is prepared (coins selected, exact fee, change to a fresh change
//! address), shown, then signed and recorded as pending; the caller submits it to the node.
//! Masternode transactions are built and signed by the same steps ([`Wallet::build_signed`]).
//!
//! [`Wallet::prepare_send`] selects coins largest-first ([`super::selection`]) among final
//! outputs that no mempool transaction spends and that are not masternode collateral
//! ([`super::coins`]), and refuses a fee above [`Wallet::set_max_fee`]. Change below
//! [`DUST_LIMIT`] is not created: it goes to the fee. [`Wallet::confirm_send`] signs and
//! records the transaction as pending.

use super::addresses::derive;
use super::chain::WalletChain;
use super::error::{Result, WalletError};
use super::meta::TxRecord;
use super::selection::{select_coins, Selection, DUST_LIMIT};
use super::types::{AddressEntry, Direction, SendPreview};
use super::wallet::Wallet;
use crate::types::{
    Address, Amount, Encode, Hash, OutPoint, SecretKey, Signature, Transaction, TxIn, TxKind, TxOut,
};
use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

/// The default of [`Wallet::set_max_fee`] and of the `[wallet] max_fee` config key: 0.1 TIME,
/// about 50,000 times the fee of a simple send at the default minimum rate, as Bitcoin Core's
/// `maxtxfee` (0.1 BTC) guards against a fee rate given in the wrong unit.
pub const DEFAULT_MAX_FEE: Amount = Amount(10_000_000);

/// Seconds since the Unix epoch now (0 if the clock is before it).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Wallet {
    /// Refuses a fee rate below the node's minimum.
    fn check_fee_rate(chain: &dyn WalletChain, fee_rate: u64) -> Result<()> {
        let min = chain.min_fee_rate();
        if fee_rate < min {
            return Err(WalletError::FeeTooLow { fee_rate, min });
        }
        Ok(())
    }

    /// Refuses a fee above the cap (see [`Wallet::set_max_fee`]).
    fn check_fee(&self, fee: Amount) -> Result<()> {
        if fee > self.max_fee {
            return Err(WalletError::FeeAboveMax {
                fee,
                max: self.max_fee,
            });
        }
        Ok(())
    }

    /// The highest fee a send (or masternode transaction) may pay; one that would pay more is
    /// refused with [`WalletError::FeeAboveMax`] before anything is signed. The node sets it
    /// from `[wallet] max_fee`; [`DEFAULT_MAX_FEE`] until then.
    pub fn set_max_fee(&mut self, max: Amount) {
        self.max_fee = max;
    }

    /// The change address a transaction would use now (not yet reserved).
    fn peek_change(&self, seed: &[u8; 64]) -> Result<(u32, Address)> {
        let index = self.state.next_change;
        let key = derive(seed, true, index)?;
        Ok((index, Address::from_pubkey(&key.public())))
    }

    /// Lists change address `index` (from [`Wallet::peek_change`]) as the wallet's, unless
    /// it is already; the caller saves.
    fn reserve_change(&mut self, seed: &[u8; 64], index: u32) -> Result<()> {
        if self
            .state
            .addresses
            .iter()
            .any(|a| a.change && a.index == index)
        {
            return Ok(());
        }
        let saved = self.state.next_change;
        self.state.next_change = index;
        self.push_address(seed, true, "change")?;
        self.state.next_change = self.state.next_change.max(saved);
        Ok(())
    }

    /// Builds the inputs (unsigned) of `template` from `sel`.
    fn fill_inputs(&self, tx: &mut Transaction, sel: &Selection) -> Result<()> {
        tx.inputs = sel
            .inputs
            .iter()
            .map(|u| {
                let e = self
                    .entry_for(&u.output.address)
                    .ok_or(WalletError::UnknownInput(u.outpoint))?;
                Ok(TxIn {
                    prev: u.outpoint,
                    pubkey: e.pubkey,
                    signature: Signature::default(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(())
    }

    /// Signs every input (and the masternode owner part with `owner`).
    fn sign(
        &self,
        seed: &[u8; 64],
        tx: &mut Transaction,
        chain_id: &Hash,
        owner: Option<&AddressEntry>,
    ) -> Result<()> {
        let mut keys = Vec::with_capacity(tx.inputs.len());
        for i in &tx.inputs {
            let e = self
                .state
                .addresses
                .iter()
                .find(|e| e.pubkey == i.pubkey)
                .ok_or(WalletError::UnknownInput(i.prev))?;
            keys.push(derive(seed, e.change, e.index)?);
        }
        let owner_key = match owner {
            Some(e) => Some(derive(seed, e.change, e.index)?),
            None => None,
        };
        let refs: Vec<&SecretKey> = keys.iter().collect();
        tx.sign_inputs(chain_id, &refs, owner_key.as_ref());
        Ok(())
    }

    /// Adds `tx` to the history, timestamped now; the caller saves.
    fn record(
        &mut self,
        tx: &Transaction,
        direction: Direction,
        amount: Amount,
        fee: Amount,
        memo: &str,
    ) {
        self.state.history.push(TxRecord {
            txid: tx.txid(),
            inputs: tx.inputs.iter().map(|i| i.prev).collect(),
            raw: tx.to_bytes(),
            direction,
            amount,
            fee,
            time: unix_now(),
            memo: memo.to_string(),
        });
    }

    /// Prepares a payment of `amount` to `to` at `fee_rate` base units per byte: selects coins,
    /// computes the exact fee and the change (to a fresh change address; none below
    /// [`DUST_LIMIT`], which then goes to the fee). Nothing is signed or stored until
    /// [`Wallet::confirm_send`].
    pub fn prepare_send(
        &mut self,
        chain: &dyn WalletChain,
        to: Address,
        amount: Amount,
        fee_rate: u64,
    ) -> Result<SendPreview> {
        let seed = self.seed()?;
        Self::check_fee_rate(chain, fee_rate)?;
        if amount < DUST_LIMIT {
            return Err(WalletError::AmountTooSmall {
                amount,
                dust: DUST_LIMIT,
            });
        }
        let mut tx = Transaction {
            version: crate::types::tx::TX_VERSION,
            inputs: Vec::new(),
            outputs: vec![TxOut {
                amount,
                address: to,
            }],
            lock_time: 0,
            kind: TxKind::Transfer,
        };
        let spendable = self.spendable(chain, &self.collateral_set());
        let sel = select_coins(spendable, amount, &tx, fee_rate)?;
        self.check_fee(sel.fee)?;
        self.fill_inputs(&mut tx, &sel)?;
        let mut change_address = None;
        let mut change_index = None;
        if sel.change > Amount::ZERO {
            let (idx, addr) = self.peek_change(&seed)?;
            tx.outputs.push(TxOut {
                amount: sel.change,
                address: addr,
            });
            change_address = Some(addr);
            change_index = Some(idx);
        }
        debug_assert_eq!(tx.size(), sel.size);
        Ok(SendPreview {
            recipient: to,
            amount,
            fee: sel.fee,
            change: sel.change,
            change_address,
            inputs: sel.inputs,
            size: tx.size(),
            fee_rate,
            tx,
            chain_id: chain.chain_id(),
            change_index,
        })
    }

    /// Signs a prepared send, records it in the history as pending and returns the transaction
    /// to submit to the node.
    pub fn confirm_send(&mut self, preview: SendPreview) -> Result<Transaction> {
        let seed = self.seed()?;
        let mut tx = preview.tx;
        if let Some(idx) = preview.change_index {
            self.reserve_change(&seed, idx)?;
        }
        self.sign(&seed, &mut tx, &preview.chain_id, None)?;
        let direction = if self.is_mine(&preview.recipient) {
            Direction::SelfTransfer
        } else {
            Direction::Outgoing
        };
        self.record(&tx, direction, preview.amount, preview.fee, "payment");
        self.save()?;
        tracing::info!(target: "wallet", txid = %tx.txid().short(), amount = %preview.amount, fee = %preview.fee, "send signed");
        Ok(tx)
    }

    /// Builds, funds (fee from spendable outputs, never from `exclude`), signs and records a
    /// transaction with `outputs` and `kind`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn build_signed(
        &mut self,
        chain: &dyn WalletChain,
        seed: &[u8; 64],
        outputs: Vec<TxOut>,
        kind: TxKind,
        owner: Option<&AddressEntry>,
        exclude: &HashSet<OutPoint>,
        memo: &str,
    ) -> Result<Transaction> {
        let fee_rate = chain.min_fee_rate();
        let target =
            Amount::checked_sum(outputs.iter().map(|o| o.amount)).ok_or(WalletError::Overflow)?;
        let mut tx = Transaction {
            version: crate::types::tx::TX_VERSION,
            inputs: Vec::new(),
            outputs,
            lock_time: 0,
            kind,
        };
        let sel = select_coins(self.spendable(chain, exclude), target, &tx, fee_rate)?;
        self.check_fee(sel.fee)?;
        self.fill_inputs(&mut tx, &sel)?;
        if sel.change > Amount::ZERO {
            let (idx, addr) = self.peek_change(seed)?;
            self.reserve_change(seed, idx)?;
            tx.outputs.push(TxOut {
                amount: sel.change,
                address: addr,
            });
        }
        debug_assert_eq!(tx.size(), sel.size);
        self.sign(seed, &mut tx, &chain.chain_id(), owner)?;
        self.record(&tx, Direction::SelfTransfer, target, sel.fee, memo);
        Ok(tx)
    }
}
