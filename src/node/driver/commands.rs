//! Local requests (RPC, wallet, bench): transaction submission and read-only queries.

use super::*;
use crate::node::durable_view::DurableView;

impl Driver {
    pub(super) fn on_command(&mut self, c: Command) {
        match c {
            Command::SubmitTx { tx, reply } => {
                let r = self.submit_txs(vec![*tx]);
                let _ = reply.send(
                    r.into_iter()
                        .next()
                        .unwrap_or(Err(MempoolError::AlreadyKnown)),
                );
            }
            Command::SubmitTxs { txs, reply } => {
                let r = self.submit_txs(txs);
                let _ = reply.send(r);
            }
            Command::WalletData { addrs, reply } => {
                let _ = reply.send(self.wallet_data(&addrs));
            }
            Command::MempoolEntries { reply } => {
                let now = self.clock.now();
                let entries = self
                    .mempool
                    .txids()
                    .into_iter()
                    .filter_map(|id| self.mempool.get(&id))
                    .map(|e| MempoolEntryInfo {
                        txid: e.txid,
                        size: e.size,
                        fee: e.fee,
                        age: now.saturating_duration_since(e.added),
                        depends: e
                            .tx
                            .inputs
                            .iter()
                            .map(|i| i.prev.txid)
                            .filter(|t| self.mempool.contains(t))
                            .collect(),
                    })
                    .collect();
                let _ = reply.send(entries);
            }
            Command::MempoolTx { txid, reply } => {
                let _ = reply.send(self.mempool.get(&txid).map(|e| e.tx.clone()));
            }
            Command::Utxo { outpoint, reply } => {
                let durable = self.durable();
                let _ = reply.send((
                    durable.utxo(&outpoint),
                    durable.spent_ahead(&outpoint) || self.mempool.spender_of(&outpoint).is_some(),
                ));
            }
        }
    }

    /// The chain as storage holds it (see [`DurableView`]).
    pub(super) fn durable(&self) -> DurableView<'_> {
        DurableView::new(&self.state, &self.uncommitted)
    }

    /// What a wallet sees, from durable storage only: outputs of blocks still being written
    /// are pending, outputs they spend are spent by a pending transaction.
    pub(super) fn wallet_data(&self, addrs: &[Address]) -> WalletChainData {
        let set: HashSet<&Address> = addrs.iter().collect();
        let durable = self.durable();
        let finalized: Vec<(OutPoint, crate::ledger::Utxo)> =
            addrs.iter().flat_map(|a| durable.utxos_of(a)).collect();
        let pending = self
            .mempool
            .pending_outputs()
            .chain(durable.pending())
            .filter(|(_, u)| set.contains(&u.output.address))
            .map(|(o, u)| (*o, *u))
            .collect();
        let mut spent_in_mempool = HashSet::new();
        for (o, _) in finalized.iter() {
            if durable.spent_ahead(o) || self.mempool.spender_of(o).is_some() {
                spent_in_mempool.insert(*o);
            }
        }
        for (o, _) in self.mempool.pending_outputs().chain(durable.pending()) {
            if self.mempool.spender_of(o).is_some() {
                spent_in_mempool.insert(*o);
            }
        }
        let mut mempool_txids: HashSet<Hash> = self.mempool.txids().into_iter().collect();
        mempool_txids.extend(durable.txids().copied());
        WalletChainData {
            finalized,
            pending,
            spent_in_mempool,
            mempool_txids,
            height: self.committed.0,
        }
    }

    /// Admits this node's own transactions (RPC, wallet, bench); verdicts in order.
    pub(super) fn submit_txs(&mut self, txs: Vec<Transaction>) -> Vec<Result<Hash, MempoolError>> {
        let r = self.admission.submit(
            txs,
            &mut self.mempool,
            &self.state,
            &*self.net,
            self.clock.now(),
        );
        self.dirty |= r.iter().any(Result::is_ok);
        r
    }
}
