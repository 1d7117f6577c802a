//! Block assembly: the coinbase and header for a set of already-validated transactions.

use super::params::ChainParams;
use super::state::LedgerState;
use crate::types::block::BLOCK_VERSION;
use crate::types::tx::TX_VERSION;
use crate::types::{
    Amount, Block, BlockHeader, CommitCertificate, Evidence, Hash, PublicKey, Transaction, TxKind,
    TxOut, ValidatorSet,
};

/// Builds the next block on `state` proposed by `proposer` with `txs` (valid, in order) whose fees
/// add up to `fees`, carrying `last_commit` (the tip's certificate; empty at height 1). Returns `None` if the proposer is not a registered masternode.
#[allow(clippy::too_many_arguments)]
pub fn build_block(
    state: &LedgerState,
    params: &ChainParams,
    validators: &ValidatorSet,
    proposer: PublicKey,
    txs: Vec<Transaction>,
    fees: Amount,
    evidence: Vec<Evidence>,
    last_commit: CommitCertificate,
    time_ms: u64,
) -> Option<Block> {
    let height = state.height + 1;
    let payout = state.masternode_by_key(&proposer)?.payout;
    let total = params.block_reward.checked_add(fees)?;
    let (p, t) = params.split_reward(total);
    let outputs = [
        TxOut {
            amount: p,
            address: payout,
        },
        TxOut {
            amount: t,
            address: params.treasury,
        },
    ]
    .into_iter()
    .filter(|o| o.amount.0 > 0)
    .collect();
    let coinbase = Transaction {
        version: TX_VERSION,
        inputs: vec![],
        outputs,
        lock_time: 0,
        kind: TxKind::Coinbase { height },
    };
    let mut all = Vec::with_capacity(txs.len() + 1);
    all.push(coinbase);
    all.extend(txs);
    let mut block = Block {
        header: BlockHeader {
            version: BLOCK_VERSION,
            height,
            prev_hash: state.tip_hash,
            time_ms: time_ms.max(state.tip_time_ms),
            merkle_root: Hash::ZERO,
            proposer,
            validator_set_hash: validators.hash(),
            last_commit_hash: last_commit.hash(),
        },
        txs: all,
        evidence,
        last_commit,
    };
    block.header.merkle_root = block.compute_merkle_root();
    Some(block)
}
