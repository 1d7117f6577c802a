//! The mock's mempool: submission, entries and limits.

use super::*;

pub(super) fn submit_tx(m: &MockBackend, tx: Transaction) -> Result<Hash, SubmitError> {
    let txid = tx.txid();
    let mut st = m.lock();
    if st.mempool.iter().any(|(t, _)| t.txid() == txid) {
        return Err(SubmitError::AlreadyKnown);
    }
    if st
        .blocks
        .iter()
        .any(|b| b.block.txs.iter().any(|t| t.txid() == txid))
    {
        return Err(SubmitError::AlreadyInChain);
    }
    if tx.is_coinbase() || tx.inputs.is_empty() {
        return Err(SubmitError::Rejected("bad-txns-vin-empty".into()));
    }
    for i in &tx.inputs {
        if MockBackend::spent_in_mempool(&st, &i.prev) {
            return Err(SubmitError::Conflict(format!(
                "{}:{} already spent in the mempool",
                i.prev.txid, i.prev.index
            )));
        }
        if MockBackend::find_output(&st, &i.prev).is_none()
            || MockBackend::spent_in_chain(&st, &i.prev)
        {
            return Err(SubmitError::MissingInputs(format!(
                "{}:{}",
                i.prev.txid, i.prev.index
            )));
        }
    }
    st.mempool.push((tx, 1_700_000_100));
    Ok(txid)
}

pub(super) fn mempool_entries(m: &MockBackend) -> Vec<MempoolEntry> {
    let st = m.lock();
    st.mempool
        .iter()
        .map(|(t, time)| MempoolEntry {
            txid: t.txid(),
            size: t.size(),
            fee: MockBackend::fee_of(&st, t),
            time_secs: *time,
            depends: vec![],
        })
        .collect()
}

pub(super) fn mempool_info(m: &MockBackend) -> MempoolInfo {
    let entries = m.mempool_entries();
    MempoolInfo {
        count: entries.len(),
        bytes: entries.iter().map(|e| e.size).sum(),
        total_fee: Amount(entries.iter().map(|e| e.fee.0).sum()),
        max_count: 10_000,
        max_bytes: 300_000_000,
        min_fee_rate: 1,
        min_relay_fee_rate: 1,
    }
}
