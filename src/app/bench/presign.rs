//! Presigning (not timed): every transaction of the timed phase built and signed on all cores.

use super::transfer::build_transfer;
use crate::types::{Amount, Hash, OutPoint, SecretKey, Transaction};

/// The pre-signed transactions of the timed phase and where each goes.
pub(super) struct Plan {
    /// The signed transactions, in submission order.
    pub(super) txs: Vec<Transaction>,
    /// Their ids, in the same order.
    pub(super) txids: Vec<Hash>,
}

/// Builds and signs `n` transactions from distinct coins, on all cores.
pub(super) fn presign(
    coins: &[(OutPoint, Amount)],
    n: usize,
    inputs: usize,
    outputs: usize,
    key: &SecretKey,
    chain_id: &Hash,
) -> Result<Plan, String> {
    let groups: Vec<&[(OutPoint, Amount)]> = coins.chunks_exact(inputs).take(n).collect();
    if groups.len() < n {
        return Err(format!(
            "funding produced {} outputs, {} needed",
            coins.len(),
            n * inputs
        ));
    }
    let signed: Vec<Option<(Transaction, Hash)>> =
        crate::ledger::parallel::parallel_map(&groups, |g| {
            build_transfer(g, outputs, key, chain_id).map(|t| {
                let id = t.txid();
                (t, id)
            })
        });
    let mut txs = Vec::with_capacity(n);
    let mut txids = Vec::with_capacity(n);
    for s in signed {
        let (t, id) = s.ok_or("a prepared output is too small for a transaction")?;
        txs.push(t);
        txids.push(id);
    }
    Ok(Plan { txs, txids })
}
