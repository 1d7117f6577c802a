//! The mock's chain: the tip, blocks, headers, transactions and unspent outputs.

use super::*;

pub(super) fn chain_info(m: &MockBackend) -> ChainInfo {
    let st = m.lock();
    let tip = st.blocks.last().map(|b| &b.block.header);
    ChainInfo {
        network: Network::Devnet,
        chain_id: Hash([9; 32]),
        height: tip.map(|h| h.height).unwrap_or(0),
        best_hash: tip.map(|h| h.hash()).unwrap_or(Hash::ZERO),
        best_time_ms: tip.map(|h| h.time_ms).unwrap_or(0),
        best_known_height: tip.map(|h| h.height),
        synced: st.synced,
        total_supply: Amount::from_time(100 * st.blocks.len() as u64),
        size_on_disk: 12345,
    }
}

pub(super) fn block_hash(m: &MockBackend, height: u64) -> Option<Hash> {
    m.lock()
        .blocks
        .get(usize::try_from(height).ok()?)
        .map(|b| b.block.hash())
}

pub(super) fn block(m: &MockBackend, hash: &Hash) -> Option<BlockWithCert> {
    m.lock()
        .blocks
        .iter()
        .find(|b| b.block.hash() == *hash)
        .cloned()
}

pub(super) fn header(m: &MockBackend, hash: &Hash) -> Option<BlockHeader> {
    m.block(hash).map(|b| b.block.header)
}

pub(super) fn transaction(m: &MockBackend, txid: &Hash) -> Option<TxLookup> {
    let st = m.lock();
    for b in &st.blocks {
        for t in &b.block.txs {
            if t.txid() == *txid {
                return Some(TxLookup {
                    tx: t.clone(),
                    block: Some(ContainingBlock {
                        height: b.block.header.height,
                        hash: b.block.hash(),
                        time_ms: b.block.header.time_ms,
                    }),
                });
            }
        }
    }
    st.mempool
        .iter()
        .find(|(t, _)| t.txid() == *txid)
        .map(|(t, _)| TxLookup {
            tx: t.clone(),
            block: None,
        })
}

pub(super) fn address_utxos(
    m: &MockBackend,
    addrs: &[Address],
    include_mempool: bool,
) -> Vec<AddressUtxo> {
    let st = m.lock();
    let mut out = Vec::new();
    let blocks = st
        .blocks
        .iter()
        .map(|b| (&b.block.txs, Some(b.block.header.height)));
    let pool = st.mempool.iter().map(|(t, _)| (t, None));
    let mut txs: Vec<(&Transaction, Option<u64>)> = Vec::new();
    for (list, h) in blocks {
        txs.extend(list.iter().map(|t| (t, h)));
    }
    if include_mempool {
        txs.extend(pool);
    }
    for (t, height) in txs {
        let txid = t.txid();
        for (i, o) in t.outputs.iter().enumerate() {
            let op = OutPoint {
                txid,
                index: i as u32,
            };
            if addrs.contains(&o.address) && !MockBackend::spent_in_chain(&st, &op) {
                out.push(AddressUtxo {
                    outpoint: op,
                    output: *o,
                    height,
                    spent_in_mempool: MockBackend::spent_in_mempool(&st, &op),
                });
            }
        }
    }
    out
}

pub(super) fn utxo(
    m: &MockBackend,
    outpoint: &OutPoint,
    include_mempool: bool,
) -> Option<UtxoEntry> {
    let st = m.lock();
    let (output, height, coinbase) = MockBackend::find_output(&st, outpoint)?;
    if height.is_none() && !include_mempool {
        return None;
    }
    if MockBackend::spent_in_chain(&st, outpoint)
        || (include_mempool && MockBackend::spent_in_mempool(&st, outpoint))
    {
        return None;
    }
    Some(UtxoEntry {
        output,
        height,
        coinbase,
    })
}
