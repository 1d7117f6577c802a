//! The wallet's history: its own transactions with their status now, and incoming payments.
//!
//! For a transaction the wallet made: the node's [`ChainTxStatus`] when it knows the
//! transaction (final or pending). When the node does not know it: [`TxStatus::Conflicted`] if
//! one of its inputs is no longer unspent or is spent by another mempool transaction (another
//! spend won), else [`TxStatus::Dropped`] (never submitted or evicted; its coins are spendable
//! again). Payments received show as incoming while their outputs are unspent.

use super::chain::{ChainTxStatus, WalletChain};
use super::types::{Direction, HistoryEntry, TxStatus};
use super::wallet::Wallet;
use crate::types::{Address, Amount, Hash, OutPoint, Transaction, TxOut};
use std::collections::{BTreeMap, HashSet};

impl Wallet {
    /// The history: own transactions (newest first) with their status now, then incoming
    /// payments whose outputs are still unspent (pending first, then by height, newest first).
    /// An incoming entry's amount is what its transaction moved for this wallet (see
    /// [`WalletChain::transaction`]), not what is left unspent of it.
    pub fn history(&self, chain: &dyn WalletChain) -> Vec<HistoryEntry> {
        let utxos = chain.utxos(&self.own_addrs());
        let unspent: HashSet<OutPoint> = utxos.iter().map(|u| u.outpoint).collect();
        let own: HashSet<Hash> = self.state.history.iter().map(|r| r.txid).collect();
        let mut out: Vec<HistoryEntry> = self
            .state
            .history
            .iter()
            .rev()
            .map(|r| {
                let status = match chain.tx_status(&r.txid) {
                    ChainTxStatus::Final { height } => TxStatus::Final { height },
                    ChainTxStatus::Pending => TxStatus::Pending,
                    ChainTxStatus::Unknown => {
                        if r.inputs
                            .iter()
                            .any(|i| !unspent.contains(i) || chain.spent_in_mempool(i))
                        {
                            TxStatus::Conflicted
                        } else {
                            TxStatus::Dropped
                        }
                    }
                };
                HistoryEntry {
                    txid: r.txid,
                    direction: r.direction,
                    amount: r.amount,
                    fee: Some(r.fee),
                    status,
                    time: Some(r.time),
                    memo: r.memo.clone(),
                }
            })
            .collect();
        let mut incoming: BTreeMap<Hash, (Amount, Option<u64>)> = BTreeMap::new();
        for u in utxos {
            if own.contains(&u.outpoint.txid) || !self.is_mine(&u.output.address) {
                continue;
            }
            let e = incoming
                .entry(u.outpoint.txid)
                .or_insert((Amount::ZERO, u.height));
            e.0 = e.0.checked_add(u.output.amount).unwrap_or(Amount(u64::MAX));
        }
        let mut inc: Vec<(Hash, Amount, Option<u64>)> =
            incoming.into_iter().map(|(t, (a, h))| (t, a, h)).collect();
        inc.sort_by_key(|(t, _, h)| (std::cmp::Reverse(h.unwrap_or(u64::MAX)), *t));
        out.extend(inc.into_iter().map(|(txid, unspent_sum, h)| {
            let (direction, amount) = self
                .net_moved(chain, &txid)
                .unwrap_or((Direction::Incoming, unspent_sum));
            HistoryEntry {
                txid,
                direction,
                amount,
                fee: None,
                status: match h {
                    Some(height) => TxStatus::Final { height },
                    None => TxStatus::Pending,
                },
                time: None,
                memo: String::new(),
            }
        }));
        out
    }

    /// What transaction `txid` moved for this wallet, from the transaction itself: its outputs
    /// to own addresses less the own outputs its inputs spend, whatever has been spent since.
    /// `None` when the chain view lacks the transaction, or the output an own input spends.
    fn net_moved(&self, chain: &dyn WalletChain, txid: &Hash) -> Option<(Direction, Amount)> {
        let tx = chain.transaction(txid)?;
        let received = Amount::checked_sum(
            tx.outputs
                .iter()
                .filter(|o| self.is_mine(&o.address))
                .map(|o| o.amount),
        )?;
        let mut spent = Amount::ZERO;
        for i in &tx.inputs {
            if !self.is_mine(&Address::from_pubkey(&i.pubkey)) {
                continue;
            }
            let prev = chain.transaction(&i.prev.txid)?;
            let out = prev.outputs.get(usize::try_from(i.prev.index).ok()?)?;
            spent = spent.checked_add(out.amount)?;
        }
        Some(match received.checked_sub(spent) {
            Some(net) => (Direction::Incoming, net),
            None => (Direction::Outgoing, spent.checked_sub(received)?),
        })
    }

    /// The outputs of `tx` that Bitcoin Core's `listtransactions` lists for a history entry
    /// that moved value `direction`, with their index in `tx`: for a transaction the wallet
    /// made (outgoing or between own addresses), every output but its change; for one it
    /// received, every output paying it.
    pub fn listed_outputs<'t>(
        &self,
        direction: Direction,
        tx: &'t Transaction,
    ) -> Vec<(u32, &'t TxOut)> {
        let listed = |o: &TxOut| match direction {
            Direction::Incoming => self.is_mine(&o.address),
            Direction::Outgoing | Direction::SelfTransfer => {
                !self.entry_for(&o.address).is_some_and(|e| e.change)
            }
        };
        tx.outputs
            .iter()
            .enumerate()
            .filter(|(_, o)| listed(o))
            .filter_map(|(i, o)| Some((u32::try_from(i).ok()?, o)))
            .collect()
    }

    /// The signed bytes of an own transaction (to submit it again, e.g. after it was dropped).
    pub fn raw_transaction(&self, txid: &Hash) -> Option<Vec<u8>> {
        self.state
            .history
            .iter()
            .find(|r| r.txid == *txid)
            .map(|r| r.raw.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Network, TxKind};

    #[test]
    fn a_send_lists_all_but_its_change_and_a_receipt_its_own_outputs() {
        let mut w = Wallet::devnet_faucet(Network::Devnet).expect("the faucet wallet opens");
        let own = w.new_address("saved").expect("unlocked");
        let change = w.new_change_address().expect("unlocked");
        let other = Address::from_pubkey(&crate::ledger::genesis::devnet_node_key(1).public());
        let out = |address| TxOut {
            amount: Amount(1_000),
            address,
        };
        let tx = Transaction {
            version: crate::types::tx::TX_VERSION,
            inputs: Vec::new(),
            outputs: vec![out(other), out(own), out(change)],
            lock_time: 0,
            kind: TxKind::Transfer,
        };
        let listed = |d| -> Vec<(u32, Address)> {
            w.listed_outputs(d, &tx)
                .into_iter()
                .map(|(i, o)| (i, o.address))
                .collect()
        };
        assert_eq!(listed(Direction::Outgoing), vec![(0, other), (1, own)]);
        assert_eq!(listed(Direction::SelfTransfer), vec![(0, other), (1, own)]);
        assert_eq!(listed(Direction::Incoming), vec![(1, own), (2, change)]);
    }
}
