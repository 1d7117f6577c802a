//! Cheap estimates of the memory a decoded message holds, for budgets that bound what peers
//! can make the node keep (decoded structures are larger than their encoding: a minimal
//! transaction is a few bytes on the wire and a few hundred in memory).

use super::Message;
use crate::types::{Block, CommitSig, Evidence, Transaction, TxIn, TxOut};
use std::mem::size_of;

/// Estimated bytes `msg` holds: its enum and the heap parts of what it carries.
pub fn message_bytes(msg: &Message) -> usize {
    let own = size_of::<Message>();
    own + match msg {
        Message::Tx(tx) => tx_bytes(tx),
        Message::Txs(txs) => txs.iter().map(tx_bytes).sum(),
        Message::Proposal { block, .. } => block_bytes(block),
        Message::Blocks(bs) => bs
            .iter()
            .map(|(b, c)| block_bytes(b) + c.sigs.len() * size_of::<CommitSig>())
            .sum(),
        Message::Peers(addrs) => addrs.iter().map(|a| size_of::<String>() + a.len()).sum(),
        Message::TxAnnounce(ids) | Message::GetTxs(ids) => ids.len() * 32,
        _ => 0,
    }
}

/// Estimated bytes a block holds.
pub fn block_bytes(block: &Block) -> usize {
    size_of::<Block>()
        + block.txs.iter().map(tx_bytes).sum::<usize>()
        + block.evidence.len() * size_of::<Evidence>()
        + block.last_commit.sigs.len() * size_of::<CommitSig>()
}

/// Estimated bytes a transaction holds.
pub fn tx_bytes(tx: &Transaction) -> usize {
    size_of::<Transaction>()
        + tx.inputs.len() * size_of::<TxIn>()
        + tx.outputs.len() * size_of::<TxOut>()
}
