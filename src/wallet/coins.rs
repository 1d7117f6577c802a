//! The wallet's outputs as the chain shows them: which are collateral, which its pending
//! transactions spend, which a send may spend, and the balances.
//!
//! See [`Balances`]: `finalized` is what final blocks give the wallet minus what pending
//! transactions are spending (`outgoing`); `pending` is what mempool transactions pay it
//! (incoming payments and the change of its own pending sends).

use super::chain::{ChainTxStatus, WalletChain, WalletUtxo};
use super::types::Balances;
use super::wallet::Wallet;
use crate::types::{Amount, OutPoint};
use std::collections::HashSet;

impl Wallet {
    /// Outpoints held as masternode collateral (reserved or registered).
    pub(super) fn collateral_set(&self) -> HashSet<OutPoint> {
        self.state.collaterals.iter().map(|c| c.outpoint).collect()
    }

    /// The unspent output `o` if it pays one of the wallet's addresses (final or pending).
    pub(super) fn own_utxo(&self, chain: &dyn WalletChain, o: OutPoint) -> Option<WalletUtxo> {
        chain
            .utxos(&self.own_addrs())
            .into_iter()
            .find(|u| u.outpoint == o)
    }

    /// Outpoints spent by own transactions the node has in its mempool.
    pub(super) fn own_pending_inputs(&self, chain: &dyn WalletChain) -> HashSet<OutPoint> {
        self.state
            .history
            .iter()
            .filter(|r| chain.tx_status(&r.txid) == ChainTxStatus::Pending)
            .flat_map(|r| r.inputs.iter().copied())
            .collect()
    }

    /// Final outputs that a send may spend.
    pub(super) fn spendable(
        &self,
        chain: &dyn WalletChain,
        exclude: &HashSet<OutPoint>,
    ) -> Vec<WalletUtxo> {
        let pending = self.own_pending_inputs(chain);
        chain
            .utxos(&self.own_addrs())
            .into_iter()
            .filter(|u| {
                u.height.is_some()
                    && self.is_mine(&u.output.address)
                    && !exclude.contains(&u.outpoint)
                    && !pending.contains(&u.outpoint)
                    && !chain.spent_in_mempool(&u.outpoint)
            })
            .collect()
    }

    /// Balances as defined on [`Balances`].
    pub fn balances(&self, chain: &dyn WalletChain) -> Balances {
        let coll = self.collateral_set();
        let mut b = Balances::default();
        let add = |x: &mut Amount, v: Amount| *x = x.checked_add(v).unwrap_or(Amount(u64::MAX));
        for u in chain.utxos(&self.own_addrs()) {
            if !self.is_mine(&u.output.address) {
                continue;
            }
            let spent = chain.spent_in_mempool(&u.outpoint);
            match (u.height, spent) {
                (Some(_), false) => {
                    add(&mut b.finalized, u.output.amount);
                    if coll.contains(&u.outpoint) {
                        add(&mut b.collateral, u.output.amount);
                    }
                }
                (Some(_), true) => add(&mut b.outgoing, u.output.amount),
                (None, false) => add(&mut b.pending, u.output.amount),
                (None, true) => {}
            }
        }
        b
    }
}
