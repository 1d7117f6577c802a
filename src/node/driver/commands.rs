//! Local requests (RPC, wallet, bench): transaction submission and read-only queries.

use super::*;

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
                use crate::ledger::UtxoView;
                let _ = reply.send((
                    self.state.utxo(&outpoint),
                    self.mempool.spender_of(&outpoint).is_some(),
                ));
            }
        }
    }

    pub(super) fn wallet_data(&self, addrs: &[Address]) -> WalletChainData {
        let set: HashSet<&Address> = addrs.iter().collect();
        // The in-memory state: blocks decided but still being written count as final already
        // (their outputs left the mempool).
        let finalized: Vec<(OutPoint, crate::ledger::Utxo)> =
            addrs.iter().flat_map(|a| self.state.utxos_of(a)).collect();
        let pending = self
            .mempool
            .pending_outputs()
            .filter(|(_, u)| set.contains(&u.output.address))
            .map(|(o, u)| (*o, *u))
            .collect();
        let mut spent_in_mempool = HashSet::new();
        for (o, _) in &finalized {
            if self.mempool.spender_of(o).is_some() {
                spent_in_mempool.insert(*o);
            }
        }
        for (o, _) in self.mempool.pending_outputs() {
            if self.mempool.spender_of(o).is_some() {
                spent_in_mempool.insert(*o);
            }
        }
        WalletChainData {
            finalized,
            pending,
            spent_in_mempool,
            mempool_txids: self.mempool.txids().into_iter().collect(),
            height: self.state.height,
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
