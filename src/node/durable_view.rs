//! The chain as storage holds it: the driver's in-memory state minus the blocks decided but not
//! yet written. Wallet balances, `listunspent`, `getaddressutxos` and `gettxout` read this view,
//! so nothing is reported final before its block is durable (a crash in between loses nothing
//! that was reported). Outputs of the blocks in flight are reported as pending, outputs they spend
//! as spent by a pending transaction: a wallet neither counts the first as final nor spends the
//! second again.

use crate::ledger::{BlockEffects, LedgerState, Utxo, UtxoView};
use crate::types::id_map::{IdMap, IdSet};
use crate::types::{Address, Hash, OutPoint};
use std::sync::Arc;

/// The durable view over `state` with `ahead` (oldest first) applied in memory only.
pub struct DurableView<'a> {
    state: &'a LedgerState,
    /// Outputs created by blocks in flight.
    created: IdMap<OutPoint, Utxo>,
    /// Outputs spent by blocks in flight that storage still holds unspent.
    spent: IdMap<OutPoint, Utxo>,
    /// Transactions of blocks in flight.
    txids: IdSet<Hash>,
}

impl<'a> DurableView<'a> {
    /// The view of `state` without the effects in `ahead`.
    pub fn new<'b>(
        state: &'a LedgerState,
        ahead: impl IntoIterator<Item = &'b Arc<BlockEffects>>,
    ) -> DurableView<'a> {
        let mut created = IdMap::default();
        let mut spent = IdMap::default();
        let mut txids = IdSet::default();
        for fx in ahead {
            created.extend(fx.created.iter().map(|(o, u)| (*o, *u)));
            for (o, u) in &fx.spent {
                // An output made and spent in flight was never durable.
                if created.remove(o).is_none() {
                    spent.insert(*o, *u);
                }
            }
            // The coinbase is not a pending transaction of anyone's.
            txids.extend(fx.txids.iter().skip(1).copied());
        }
        DurableView {
            state,
            created,
            spent,
            txids,
        }
    }

    /// A durable unspent output.
    pub fn utxo(&self, o: &OutPoint) -> Option<Utxo> {
        if self.created.contains_key(o) {
            return None;
        }
        self.spent.get(o).copied().or_else(|| self.state.utxo(o))
    }

    /// Durable unspent outputs of `address`.
    pub fn utxos_of(&self, address: &Address) -> Vec<(OutPoint, Utxo)> {
        let mut v: Vec<(OutPoint, Utxo)> = self
            .state
            .utxos_of(address)
            .into_iter()
            .filter(|(o, _)| !self.created.contains_key(o))
            .collect();
        v.extend(
            self.spent
                .iter()
                .filter(|(_, u)| u.output.address == *address)
                .map(|(o, u)| (*o, *u)),
        );
        v
    }

    /// Outputs of blocks in flight: pending until their block is durable.
    pub fn pending(&self) -> impl Iterator<Item = (&OutPoint, &Utxo)> {
        self.created.iter()
    }

    /// Whether a block in flight spends `o` (durably still unspent).
    pub fn spent_ahead(&self, o: &OutPoint) -> bool {
        self.spent.contains_key(o)
    }

    /// Transactions of the blocks in flight.
    pub fn txids(&self) -> impl Iterator<Item = &Hash> {
        self.txids.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::testkit::{coins_of, TestChain};
    use std::collections::HashSet;

    #[test]
    fn blocks_in_flight_are_pending_and_what_they_spend_stays_durable() {
        let mut chain = TestChain::devnet(4);
        let durable = chain.state.clone();
        let faucet = Address::from_pubkey(&chain.faucet.public());
        let spent = chain.faucet_coins()[0];
        let tx = chain.transfer_from(&[spent], 2, 10_000);
        let made = coins_of(&tx);
        let (_, _, fx1) = chain.next_block(vec![tx.clone()]).unwrap();
        // The second block in flight spends an output the first one made.
        let child = chain.transfer_from(&made[..1], 1, 10_000);
        let (_, _, fx2) = chain.next_block(vec![child.clone()]).unwrap();
        let ahead = [Arc::new(fx1), Arc::new(fx2)];
        let view = DurableView::new(&chain.state, &ahead);

        // What storage holds: the spent coin unspent, nothing the blocks made.
        assert_eq!(view.utxo(&spent.0), durable.utxo(&spent.0));
        assert!(view.spent_ahead(&spent.0));
        for (o, _) in made.iter().chain(coins_of(&child).iter()) {
            assert_eq!(view.utxo(o), None);
        }
        let mut listed: Vec<OutPoint> =
            view.utxos_of(&faucet).into_iter().map(|(o, _)| o).collect();
        let mut expected: Vec<OutPoint> = durable
            .utxos_of(&faucet)
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        listed.sort();
        expected.sort();
        assert_eq!(listed, expected);
        // Pending: the unspent outputs of the blocks in flight; made-and-spent ones never show.
        let pending: HashSet<OutPoint> = view.pending().map(|(o, _)| *o).collect();
        assert!(pending.contains(&made[1].0));
        assert!(!pending.contains(&made[0].0));
        assert!(pending.contains(&coins_of(&child)[0].0));
        let txids: HashSet<Hash> = view.txids().copied().collect();
        assert_eq!(txids, HashSet::from([tx.txid(), child.txid()]));
    }
}
