//! The wallet's view of the chain: data fetched from the node, behind [`WalletChain`].

use crate::node::{Command, NodeHandle, WalletChainData};
use crate::storage::Storage;
use crate::types::{Address, Hash, OutPoint, Transaction};
use crate::wallet::{ChainTxStatus, Wallet, WalletChain, WalletUtxo};
use std::collections::{HashMap, HashSet};

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
