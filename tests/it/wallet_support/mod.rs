//! A fake node for wallet tests: a UTXO set, a mempool and transaction statuses.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use timecoin::types::{Address, Amount, Domain, Hash, OutPoint, Transaction, TxOut};
use timecoin::wallet::{ChainTxStatus, WalletChain, WalletUtxo};

/// In-memory chain: final UTXOs, mempool transactions, statuses.
pub struct FakeChain {
    pub utxos: RefCell<Vec<WalletUtxo>>,
    pub mempool: RefCell<HashMap<Hash, Transaction>>,
    pub status: RefCell<HashMap<Hash, ChainTxStatus>>,
    /// Every transaction submitted or finalized.
    pub txs: RefCell<HashMap<Hash, Transaction>>,
    pub min_fee: u64,
    pub id: Hash,
    pub height: RefCell<u64>,
}

impl FakeChain {
    pub fn new(min_fee: u64) -> FakeChain {
        FakeChain {
            utxos: RefCell::new(Vec::new()),
            mempool: RefCell::new(HashMap::new()),
            status: RefCell::new(HashMap::new()),
            txs: RefCell::new(HashMap::new()),
            min_fee,
            id: Hash::of(Domain::Tx, b"test chain"),
            height: RefCell::new(1),
        }
    }

    /// A final output of `amount` to `address` from a made-up transaction.
    pub fn fund(&self, address: Address, amount: Amount) -> OutPoint {
        let n = self.utxos.borrow().len() as u64;
        let outpoint = OutPoint {
            txid: Hash::of(Domain::Tx, &n.to_le_bytes()),
            index: 7,
        };
        self.utxos.borrow_mut().push(WalletUtxo {
            outpoint,
            output: TxOut { amount, address },
            height: Some(1),
        });
        outpoint
    }

    /// Accepts a transaction into the mempool (first seen wins: conflicting spends are refused).
    pub fn submit(&self, tx: &Transaction) -> bool {
        if tx.inputs.iter().any(|i| self.spent_in_mempool(&i.prev)) {
            return false;
        }
        let txid = tx.txid();
        for (i, o) in tx.outputs.iter().enumerate() {
            self.utxos.borrow_mut().push(WalletUtxo {
                outpoint: OutPoint {
                    txid,
                    index: i as u32,
                },
                output: *o,
                height: None,
            });
        }
        self.mempool.borrow_mut().insert(txid, tx.clone());
        self.txs.borrow_mut().insert(txid, tx.clone());
        self.status
            .borrow_mut()
            .insert(txid, ChainTxStatus::Pending);
        true
    }

    /// Includes a transaction in a final block (whether or not it was in the mempool); mempool
    /// transactions spending the same inputs are evicted and forgotten.
    pub fn finalize(&self, tx: &Transaction) {
        let txid = tx.txid();
        self.txs.borrow_mut().insert(txid, tx.clone());
        let mut h = self.height.borrow_mut();
        *h += 1;
        let height = *h;
        let spent: HashSet<OutPoint> = tx.inputs.iter().map(|i| i.prev).collect();
        // Evict conflicting mempool transactions and their outputs.
        let conflicting: Vec<Hash> = self
            .mempool
            .borrow()
            .iter()
            .filter(|(id, m)| **id != txid && m.inputs.iter().any(|i| spent.contains(&i.prev)))
            .map(|(id, _)| *id)
            .collect();
        for c in &conflicting {
            self.mempool.borrow_mut().remove(c);
            self.status.borrow_mut().remove(c);
            self.utxos.borrow_mut().retain(|u| u.outpoint.txid != *c);
        }
        self.mempool.borrow_mut().remove(&txid);
        let mut utxos = self.utxos.borrow_mut();
        utxos.retain(|u| !spent.contains(&u.outpoint) && u.outpoint.txid != txid);
        for (i, o) in tx.outputs.iter().enumerate() {
            utxos.push(WalletUtxo {
                outpoint: OutPoint {
                    txid,
                    index: i as u32,
                },
                output: *o,
                height: Some(height),
            });
        }
        self.status
            .borrow_mut()
            .insert(txid, ChainTxStatus::Final { height });
    }
}

impl WalletChain for FakeChain {
    fn utxos(&self, addrs: &[Address]) -> Vec<WalletUtxo> {
        self.utxos
            .borrow()
            .iter()
            .filter(|u| addrs.contains(&u.output.address))
            .cloned()
            .collect()
    }
    fn spent_in_mempool(&self, o: &OutPoint) -> bool {
        self.mempool
            .borrow()
            .values()
            .any(|t| t.inputs.iter().any(|i| i.prev == *o))
    }
    fn tx_status(&self, txid: &Hash) -> ChainTxStatus {
        self.status
            .borrow()
            .get(txid)
            .copied()
            .unwrap_or(ChainTxStatus::Unknown)
    }
    fn transaction(&self, txid: &Hash) -> Option<Transaction> {
        self.txs.borrow().get(txid).cloned()
    }
    fn chain_id(&self) -> Hash {
        self.id
    }
    fn min_fee_rate(&self) -> u64 {
        self.min_fee
    }
}

/// Checks every input signature (and an owner signature) of `tx` against `chain_id`.
pub fn signatures_valid(tx: &Transaction, chain_id: &Hash) -> bool {
    use timecoin::types::TxKind;
    let msg = tx.signing_hash(chain_id);
    let inputs_ok = tx
        .inputs
        .iter()
        .all(|i| i.pubkey.verify(&msg.0, &i.signature).is_ok());
    let owner_ok = match &tx.kind {
        TxKind::MasternodeRegister(r) => r.owner.verify(&msg.0, &r.owner_signature).is_ok(),
        TxKind::MasternodeExit(x) => x.owner.verify(&msg.0, &x.owner_signature).is_ok(),
        _ => true,
    };
    inputs_ok && owner_ok
}
