//! Ledger tests: transaction and block validity rules, coinbase, masternode registry, evidence,
//! and property tests of the supply and UTXO invariants under random block sequences: one module
//! per area, the helpers they share here.

use super::genesis::{devnet_node_key, devnet_owner_key};
use super::testkit::TestChain;
use super::*;
use crate::types::tx::{MasternodeExit, MasternodeRegistration, MasternodeUpdate, TX_VERSION};
use crate::types::{
    Address, Amount, Block, Encode, Evidence, Hash, OutPoint, PublicKey, SecretKey, Signature,
    Tier, Transaction, TxIn, TxKind, TxOut, Vote, VoteKind,
};
use proptest::prelude::*;
use std::collections::HashSet;

mod blocks;
mod double_spends;
mod evidence;
mod masternodes;
mod properties;
mod transactions;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn addr(k: &SecretKey) -> Address {
    Address::from_pubkey(&k.public())
}

/// Unspent outputs owned by `key`, sorted by outpoint.
fn owned(chain: &TestChain, key: &SecretKey) -> Vec<(OutPoint, Amount)> {
    chain.coins_owned(&addr(key))
}

/// The smallest-outpoint faucet output (the kit's `transfer` pops from the other end).
fn faucet_utxo(chain: &TestChain) -> (OutPoint, Amount) {
    owned(chain, &chain.faucet)[0]
}

/// An unsigned transaction spending `inputs` (owned by `key`) into `outputs`.
fn unsigned(
    key: &SecretKey,
    inputs: &[OutPoint],
    outputs: Vec<TxOut>,
    kind: TxKind,
) -> Transaction {
    Transaction {
        version: TX_VERSION,
        inputs: inputs
            .iter()
            .map(|prev| TxIn {
                prev: *prev,
                pubkey: key.public(),
                signature: Signature::default(),
            })
            .collect(),
        outputs,
        lock_time: 0,
        kind,
    }
}

fn sign(
    chain: &TestChain,
    mut tx: Transaction,
    keys: &[&SecretKey],
    owner: Option<&SecretKey>,
) -> Transaction {
    tx.sign_inputs(&chain.genesis.params.chain_id, keys, owner);
    tx
}

/// A transfer of `u` that differs from `pay(chain, u, &[], ..)`: it also pays 1 TIME to
/// another key, so the two are conflicting spends with different ids.
fn second_spend(chain: &TestChain, u: (OutPoint, Amount)) -> Transaction {
    let other = SecretKey::from_seed(&[4; 32]);
    pay(
        chain,
        u,
        &[(Amount::from_time(1), addr(&other))],
        TxKind::Transfer,
        None,
    )
}

/// A signed faucet transaction spending `input` (worth `value`) into the given payments plus
/// change back to the faucet, paying exactly `fee_rate` units per byte.
fn pay(
    chain: &TestChain,
    input: (OutPoint, Amount),
    payments: &[(Amount, Address)],
    kind: TxKind,
    owner: Option<&SecretKey>,
) -> Transaction {
    let faucet = &chain.faucet;
    let mut outputs: Vec<TxOut> = payments
        .iter()
        .map(|(amount, address)| TxOut {
            amount: *amount,
            address: *address,
        })
        .collect();
    outputs.push(TxOut {
        amount: Amount(1),
        address: addr(faucet),
    });
    let mut tx = unsigned(faucet, &[input.0], outputs, kind);
    let fee = tx.size() as u64 * chain.genesis.params.min_fee_rate;
    let paid: u64 = payments.iter().map(|(a, _)| a.0).sum();
    let change = input.1 .0 - paid - fee;
    let last = tx.outputs.len() - 1;
    tx.outputs[last].amount = Amount(change);
    sign(chain, tx, &[faucet], owner)
}

fn check(chain: &TestChain, tx: &Transaction) -> Result<TxCheck, TxError> {
    let h = chain.state.height + 1;
    validate_tx(tx, &chain.state, &chain.state, &chain.genesis.params, h)
}

/// Builds (without applying) the next block with `txs` and `evidence`; the proposer is the one
/// the test kit would pick. Fees are computed from the current state.
fn build(chain: &TestChain, txs: Vec<Transaction>, evidence: Vec<Evidence>) -> Block {
    let height = chain.state.height + 1;
    let set = chain.state.next_validator_set();
    let proposer = chain.node_keys[(height as usize) % chain.node_keys.len()].public();
    let mut fees = 0u64;
    let mut created: Vec<(OutPoint, Amount)> = Vec::new();
    for tx in &txs {
        // Fees of valid txs; inputs may come from earlier txs of the same block.
        let mut inputs = 0u64;
        for i in &tx.inputs {
            inputs += chain
                .state
                .utxo_amount(&i.prev)
                .or_else(|| created.iter().find(|(o, _)| *o == i.prev).map(|(_, a)| *a))
                .map(|a| a.0)
                .unwrap_or(0);
        }
        let outs = tx.output_total().map(|a| a.0).unwrap_or(0);
        fees += inputs.saturating_sub(outs);
        let txid = tx.txid();
        for (i, o) in tx.outputs.iter().enumerate() {
            created.push((
                OutPoint {
                    txid,
                    index: i as u32,
                },
                o.amount,
            ));
        }
    }
    let time = chain.state.tip_time_ms + 1000;
    build_block(
        &chain.state,
        &chain.genesis.params,
        &set,
        proposer,
        txs,
        Amount(fees),
        evidence,
        chain.last_cert.clone(),
        time,
    )
    .unwrap()
}

trait UtxoAmount {
    fn utxo_amount(&self, o: &OutPoint) -> Option<Amount>;
}
impl UtxoAmount for LedgerState {
    fn utxo_amount(&self, o: &OutPoint) -> Option<Amount> {
        self.utxo(o).map(|u| u.output.amount)
    }
}

fn validate(chain: &TestChain, block: &Block) -> Result<BlockEffects, BlockError> {
    validate_block(
        block,
        &chain.state,
        &chain.genesis.params,
        &chain.state.next_validator_set(),
        SigPolicy::VerifyAll,
    )
}

/// Validates, certifies and applies `block` to the chain state.
fn apply(chain: &mut TestChain, block: &Block) -> BlockEffects {
    let fx = validate(chain, block).unwrap();
    let cert = chain.certify(block, 0);
    chain.state.apply(&fx, block.header.time_ms);
    chain.last_cert = cert;
    fx
}

fn reseal(block: &mut Block) {
    block.header.merkle_root = block.compute_merkle_root();
}

fn tx_err(r: Result<BlockEffects, BlockError>) -> TxError {
    match r {
        Err(BlockError::Tx { err, .. }) => err,
        other => panic!("expected a transaction error, got {other:?}"),
    }
}

fn total_utxo_value(s: &LedgerState) -> u64 {
    s.utxos().map(|(_, u)| u.output.amount.0).sum()
}

/// Funds `owner` with one output of exactly `amount` in a block; returns the outpoint.
fn fund(chain: &mut TestChain, owner: &SecretKey, amount: Amount) -> OutPoint {
    let u = owned(chain, &chain.faucet)
        .into_iter()
        .max_by_key(|(o, a)| (*a, std::cmp::Reverse(*o)))
        .unwrap();
    let tx = pay(chain, u, &[(amount, addr(owner))], TxKind::Transfer, None);
    let o = OutPoint {
        txid: tx.txid(),
        index: 0,
    };
    chain.next_block(vec![tx]).unwrap();
    o
}

fn registration(collateral: OutPoint, tier: Tier, node: &SecretKey, owner: &SecretKey) -> TxKind {
    TxKind::MasternodeRegister(Box::new(MasternodeRegistration {
        collateral,
        tier,
        node_key: node.public(),
        p2p_addr: "127.0.0.1:9999".into(),
        payout: addr(owner),
        owner: owner.public(),
        owner_signature: Signature::default(),
    }))
}

/// A registration transaction whose fee is paid by a faucet output.
fn register_tx(
    chain: &TestChain,
    collateral: OutPoint,
    tier: Tier,
    node: &SecretKey,
    owner: &SecretKey,
) -> Transaction {
    let u = faucet_utxo(chain);
    pay(
        chain,
        u,
        &[],
        registration(collateral, tier, node, owner),
        Some(owner),
    )
}

/// `owner` spends its unspent `collateral` back to itself with a 1,000-unit fee (which ends a
/// masternode, or is allowed after a ban).
fn spend_collateral(chain: &TestChain, owner: &SecretKey, collateral: OutPoint) -> Transaction {
    let value = chain
        .state
        .utxo(&collateral)
        .expect("the collateral is unspent")
        .output
        .amount;
    sign(
        chain,
        unsigned(
            owner,
            &[collateral],
            vec![TxOut {
                amount: Amount(value.0 - 1_000),
                address: addr(owner),
            }],
            TxKind::Transfer,
        ),
        &[owner],
        None,
    )
}

fn equivocation(chain: &TestChain, node: u32, height: u64) -> Evidence {
    let k = devnet_node_key(node);
    let id = chain.genesis.params.chain_id;
    let a = Vote::new_signed(id, height, 0, VoteKind::Prevote, Some(Hash([1; 32])), &k);
    let b = Vote::new_signed(id, height, 0, VoteKind::Prevote, Some(Hash([2; 32])), &k);
    Evidence::from_pair(b, a)
}
