//! Signature verification of many transactions on all cores.

use crate::ledger::parallel;
use crate::ledger::validate::{distinct_signature_items, verify_tx_signatures};
use crate::ledger::TxError;
use crate::types::keys::verify_batch;
use crate::types::{Hash, PublicKey, Signature, Transaction};

/// Verifies the signatures of `txs`: one batch per core (a batch accepts exactly what single
/// verification accepts; a failed batch falls back to single checks to find the bad items), each
/// distinct (message, signature, key) item of a transaction once. Returns one verdict per
/// transaction, in order, and the number of items verified.
pub fn verify_txs(txs: &[&Transaction], chain_id: &Hash) -> (Vec<Result<(), TxError>>, u64) {
    if txs.len() < 8 {
        let items = txs
            .iter()
            .map(|t| distinct_signature_items(t, chain_id).len() as u64)
            .sum();
        let verdicts = txs
            .iter()
            .map(|t| verify_tx_signatures(t, chain_id))
            .collect();
        return (verdicts, items);
    }
    let threads = parallel::cores();
    let mut out = Vec::with_capacity(txs.len());
    let mut items = 0;
    for (v, n) in parallel::parallel_chunks(txs, threads, 1, |c| verify_chunk(c, chain_id)) {
        out.extend(v);
        items += n;
    }
    (out, items)
}

/// One batch over the items of `chunk`; a bad transaction gets its precise error from the
/// single path.
fn verify_chunk(chunk: &[&Transaction], chain_id: &Hash) -> (Vec<Result<(), TxError>>, u64) {
    let items: Vec<(usize, Hash, Signature, PublicKey)> = chunk
        .iter()
        .enumerate()
        .flat_map(|(i, t)| {
            distinct_signature_items(t, chain_id)
                .into_iter()
                .map(move |(m, s, k)| (i, m, s, k))
        })
        .collect();
    let refs: Vec<(&[u8], &Signature, &PublicKey)> =
        items.iter().map(|(_, m, s, k)| (&m.0[..], s, k)).collect();
    let ok = verify_batch(&refs);
    let mut bad = vec![false; chunk.len()];
    for ((i, ..), good) in items.iter().zip(ok) {
        if !good {
            bad[*i] = true;
        }
    }
    let verdicts = chunk
        .iter()
        .zip(bad)
        .map(|(t, b)| {
            if b {
                verify_tx_signatures(t, chain_id)
            } else {
                Ok(())
            }
        })
        .collect();
    (verdicts, items.len() as u64)
}
