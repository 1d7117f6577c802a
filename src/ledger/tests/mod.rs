//! Ledger tests: transaction and block validity rules, coinbase, masternode registry, evidence,
//! and property tests of the supply and UTXO invariants under random block sequences.

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

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn addr(k: &SecretKey) -> Address {
    Address::from_pubkey(&k.public())
}

/// Unspent outputs owned by `key`, sorted by outpoint.
fn owned(chain: &TestChain, key: &SecretKey) -> Vec<(OutPoint, Amount)> {
    let a = addr(key);
    let mut v: Vec<(OutPoint, Amount)> = chain
        .state
        .utxos()
        .filter(|(_, u)| u.output.address == a)
        .map(|(o, u)| (*o, u.output.amount))
        .collect();
    v.sort();
    v
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

// ---------------------------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------------------------

#[test]
fn valid_transfer_passes_and_reports_fee_and_size() {
    let mut chain = TestChain::devnet(4);
    let tx = chain.transfer(3).unwrap();
    let c = check(&chain, &tx).unwrap();
    assert_eq!(c.size, tx.size());
    assert!(c.fee.0 >= c.size as u64);
}

#[test]
fn outputs_exceeding_inputs_are_rejected() {
    let chain = TestChain::devnet(4);
    let (o, v) = faucet_utxo(&chain);
    let tx = unsigned(
        &chain.faucet,
        &[o],
        vec![TxOut {
            amount: Amount(v.0 + 1),
            address: addr(&chain.faucet),
        }],
        TxKind::Transfer,
    );
    let tx = sign(&chain, tx, &[&chain.faucet], None);
    assert_eq!(check(&chain, &tx), Err(TxError::OutputsExceedInputs));
    // Exactly equal leaves no fee: rejected by the floor, not by conservation.
    let tx = unsigned(
        &chain.faucet,
        &[o],
        vec![TxOut {
            amount: v,
            address: addr(&chain.faucet),
        }],
        TxKind::Transfer,
    );
    let tx = sign(&chain, tx, &[&chain.faucet], None);
    assert!(matches!(
        check(&chain, &tx),
        Err(TxError::FeeTooLow { fee: 0, .. })
    ));
}

#[test]
fn output_sum_overflow_is_rejected() {
    let chain = TestChain::devnet(4);
    let (o, _) = faucet_utxo(&chain);
    let out = TxOut {
        amount: Amount(u64::MAX / 2 + 1),
        address: addr(&chain.faucet),
    };
    let tx = sign(
        &chain,
        unsigned(&chain.faucet, &[o], vec![out, out], TxKind::Transfer),
        &[&chain.faucet],
        None,
    );
    assert_eq!(check(&chain, &tx), Err(TxError::Overflow));
}

#[test]
fn fee_floor_is_exactly_min_rate_times_size() {
    let chain = TestChain::devnet(4);
    let (o, v) = faucet_utxo(&chain);
    let mk = |fee: u64| {
        let mut tx = unsigned(
            &chain.faucet,
            &[o],
            vec![TxOut {
                amount: Amount(1),
                address: addr(&chain.faucet),
            }],
            TxKind::Transfer,
        );
        tx.outputs[0].amount = Amount(v.0 - fee);
        sign(&chain, tx, &[&chain.faucet], None)
    };
    let size = mk(0).size() as u64;
    let min = size * chain.genesis.params.min_fee_rate;
    assert!(min > 0);
    let low = mk(min - 1);
    assert_eq!(
        check(&chain, &low),
        Err(TxError::FeeTooLow {
            fee: min - 1,
            min,
            size: size as usize
        })
    );
    let ok = mk(min);
    assert_eq!(check(&chain, &ok).unwrap().fee, Amount(min));
}

#[test]
fn duplicate_inputs_are_rejected() {
    let chain = TestChain::devnet(4);
    let (o, v) = faucet_utxo(&chain);
    let tx = unsigned(
        &chain.faucet,
        &[o, o],
        vec![TxOut {
            amount: Amount(v.0 / 2),
            address: addr(&chain.faucet),
        }],
        TxKind::Transfer,
    );
    let tx = sign(&chain, tx, &[&chain.faucet], None);
    assert_eq!(check(&chain, &tx), Err(TxError::DuplicateInput(o)));
}

#[test]
fn zero_outputs_zero_values_no_inputs_and_bad_version_are_rejected() {
    let chain = TestChain::devnet(4);
    let (o, v) = faucet_utxo(&chain);
    let none = sign(
        &chain,
        unsigned(&chain.faucet, &[o], vec![], TxKind::Transfer),
        &[&chain.faucet],
        None,
    );
    assert_eq!(check(&chain, &none), Err(TxError::NoOutputs));

    let zero = sign(
        &chain,
        unsigned(
            &chain.faucet,
            &[o],
            vec![
                TxOut {
                    amount: Amount(v.0 / 2),
                    address: addr(&chain.faucet),
                },
                TxOut {
                    amount: Amount(0),
                    address: addr(&chain.faucet),
                },
            ],
            TxKind::Transfer,
        ),
        &[&chain.faucet],
        None,
    );
    assert_eq!(check(&chain, &zero), Err(TxError::ZeroOutput(1)));

    let no_inputs = unsigned(
        &chain.faucet,
        &[],
        vec![TxOut {
            amount: Amount(1),
            address: addr(&chain.faucet),
        }],
        TxKind::Transfer,
    );
    assert_eq!(check(&chain, &no_inputs), Err(TxError::NoInputs));

    let mut version = pay(&chain, (o, v), &[], TxKind::Transfer, None);
    version.version = 2;
    assert_eq!(check(&chain, &version), Err(TxError::Version));
}

#[test]
fn loose_coinbase_is_rejected() {
    let chain = TestChain::devnet(4);
    let cb = Transaction {
        version: TX_VERSION,
        inputs: vec![],
        outputs: vec![TxOut {
            amount: Amount::from_time(1),
            address: addr(&chain.faucet),
        }],
        lock_time: 0,
        kind: TxKind::Coinbase { height: 1 },
    };
    assert_eq!(check(&chain, &cb), Err(TxError::UnexpectedCoinbase));
}

#[test]
fn bad_signatures_are_rejected() {
    let chain = TestChain::devnet(4);
    let u = faucet_utxo(&chain);
    let good = pay(&chain, u, &[], TxKind::Transfer, None);
    check(&chain, &good).unwrap();

    let mut flipped = good.clone();
    flipped.inputs[0].signature.0[5] ^= 1;
    assert_eq!(check(&chain, &flipped), Err(TxError::BadSignature(0)));

    // A signature over a changed transaction (amount moved to the fee) no longer verifies.
    let mut changed = good.clone();
    changed.outputs[0].amount = Amount(changed.outputs[0].amount.0 - 1);
    assert_eq!(check(&chain, &changed), Err(TxError::BadSignature(0)));

    // Signed for another chain.
    let mut other_chain = good.clone();
    other_chain.sign_inputs(&Hash([7; 32]), &[&chain.faucet], None);
    assert_eq!(check(&chain, &other_chain), Err(TxError::BadSignature(0)));

    // Unsigned.
    let mut unsigned_tx = good;
    unsigned_tx.inputs[0].signature = Signature::default();
    assert_eq!(check(&chain, &unsigned_tx), Err(TxError::BadSignature(0)));
}

#[test]
fn second_input_bad_signature_is_reported_at_its_index() {
    let chain = TestChain::devnet(4);
    let utxos = owned(&chain, &chain.faucet);
    let mut tx = unsigned(
        &chain.faucet,
        &[utxos[0].0, utxos[1].0],
        vec![TxOut {
            amount: Amount(utxos[0].1 .0),
            address: addr(&chain.faucet),
        }],
        TxKind::Transfer,
    );
    tx = sign(&chain, tx, &[&chain.faucet], None);
    check(&chain, &tx).unwrap();
    tx.inputs[1].signature.0[40] ^= 0x10;
    assert_eq!(check(&chain, &tx), Err(TxError::BadSignature(1)));
}

/// Issue 12: an input signature whose R carries a point of order 2 (s computed for that R) got
/// a verdict that depended on the batch it was checked in. Now a two-input transaction gets the
/// same verdict every time, and the same as a one-input transaction carrying such a signature.
#[test]
fn torsion_in_a_signature_r_gets_one_verdict_in_one_and_two_input_transactions() {
    use super::validate::verify_tx_signatures;
    use crate::types::ed25519_rule::craft::{sign_with_torsion_r, torsion_point};
    let chain = TestChain::devnet(4);
    let chain_id = chain.genesis.params.chain_id;
    let utxos = owned(&chain, &chain.faucet);
    let to_self = |amount: Amount| {
        vec![TxOut {
            amount,
            address: addr(&chain.faucet),
        }]
    };
    let torsion = torsion_point(2);
    let shift_r = |mut tx: Transaction, input: usize| {
        let msg = tx.signing_hash(&chain_id);
        tx.inputs[input].signature = sign_with_torsion_r(&chain.faucet, &msg.0, &torsion, 12);
        tx
    };

    let one = unsigned(
        &chain.faucet,
        &[utxos[0].0],
        to_self(utxos[0].1),
        TxKind::Transfer,
    );
    let one = shift_r(sign(&chain, one, &[&chain.faucet], None), 0);
    let two = unsigned(
        &chain.faucet,
        &[utxos[0].0, utxos[1].0],
        to_self(utxos[0].1),
        TxKind::Transfer,
    );
    let two = shift_r(sign(&chain, two, &[&chain.faucet], None), 1);

    let single_verdict = verify_tx_signatures(&one, &chain_id).is_ok();
    for _ in 0..200 {
        assert_eq!(
            verify_tx_signatures(&one, &chain_id).is_ok(),
            single_verdict
        );
        assert_eq!(
            verify_tx_signatures(&two, &chain_id).is_ok(),
            single_verdict
        );
    }
    // Under the cofactored rule such a signature is valid.
    assert!(single_verdict);
}

#[test]
fn input_key_must_own_the_output() {
    let chain = TestChain::devnet(4);
    let (o, v) = faucet_utxo(&chain);
    let thief = SecretKey::from_seed(&[9; 32]);
    let tx = unsigned(
        &thief,
        &[o],
        vec![TxOut {
            amount: Amount(v.0 / 2),
            address: addr(&thief),
        }],
        TxKind::Transfer,
    );
    // Validly signed by the thief's own key, but the thief does not own the output.
    let tx = sign(&chain, tx, &[&thief], None);
    assert_eq!(check(&chain, &tx), Err(TxError::WrongOwner(0)));
}

#[test]
fn missing_input_is_rejected() {
    let chain = TestChain::devnet(4);
    let ghost = OutPoint {
        txid: Hash([3; 32]),
        index: 0,
    };
    let tx = pay(
        &chain,
        (ghost, Amount::from_time(1)),
        &[],
        TxKind::Transfer,
        None,
    );
    assert_eq!(check(&chain, &tx), Err(TxError::MissingInput(ghost)));
}

#[test]
fn lock_time_is_the_earliest_including_height() {
    let chain = TestChain::devnet(4);
    let u = faucet_utxo(&chain);
    let mk = |lock: u64| {
        let mut tx = pay(&chain, u, &[], TxKind::Transfer, None);
        tx.lock_time = lock;
        sign(&chain, tx, &[&chain.faucet], None)
    };
    let next = chain.state.height + 1;
    assert_eq!(check(&chain, &mk(next + 1)), Err(TxError::Locked(next + 1)));
    check(&chain, &mk(next)).unwrap();
    // And in a block.
    let block = build(&chain, vec![mk(next + 5)], vec![]);
    assert_eq!(tx_err(validate(&chain, &block)), TxError::Locked(next + 5));
    let block = build(&chain, vec![mk(next)], vec![]);
    validate(&chain, &block).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Double spends
// ---------------------------------------------------------------------------------------------

#[test]
fn double_spend_within_a_block_is_rejected() {
    let chain = TestChain::devnet(4);
    let u = faucet_utxo(&chain);
    let a = pay(&chain, u, &[], TxKind::Transfer, None);
    let other = SecretKey::from_seed(&[4; 32]);
    let b = pay(
        &chain,
        u,
        &[(Amount::from_time(1), addr(&other))],
        TxKind::Transfer,
        None,
    );
    assert_ne!(a.txid(), b.txid());
    check(&chain, &a).unwrap();
    check(&chain, &b).unwrap();
    let block = build(&chain, vec![a, b], vec![]);
    match validate(&chain, &block) {
        Err(BlockError::DoubleSpend(o)) => assert_eq!(o, u.0),
        Err(BlockError::Tx {
            index: 2,
            err: TxError::MissingInput(o),
            ..
        }) => assert_eq!(o, u.0),
        other => panic!("expected a double spend, got {other:?}"),
    }
}

#[test]
fn double_spend_against_the_set_is_rejected() {
    let mut chain = TestChain::devnet(4);
    let u = faucet_utxo(&chain);
    let a = pay(&chain, u, &[], TxKind::Transfer, None);
    chain.next_block(vec![a]).unwrap();
    let other = SecretKey::from_seed(&[4; 32]);
    let b = pay(
        &chain,
        u,
        &[(Amount::from_time(1), addr(&other))],
        TxKind::Transfer,
        None,
    );
    assert_eq!(check(&chain, &b), Err(TxError::MissingInput(u.0)));
    let block = build(&chain, vec![b.clone()], vec![]);
    assert_eq!(tx_err(validate(&chain, &block)), TxError::MissingInput(u.0));
    // The test kit refuses it too, and leaves the state unchanged.
    let before = chain.state.utxo_set_hash();
    assert!(chain.next_block(vec![b]).is_err());
    assert_eq!(chain.state.utxo_set_hash(), before);
}

#[test]
fn spending_an_output_created_earlier_in_the_same_block_is_allowed() {
    let mut chain = TestChain::devnet(4);
    let u = faucet_utxo(&chain);
    let a = pay(&chain, u, &[], TxKind::Transfer, None);
    let a_out = OutPoint {
        txid: a.txid(),
        index: 0,
    };
    let b = pay(
        &chain,
        (a_out, a.outputs[0].amount),
        &[],
        TxKind::Transfer,
        None,
    );
    let b_out = OutPoint {
        txid: b.txid(),
        index: 0,
    };
    let block = build(&chain, vec![a, b], vec![]);
    let fx = apply(&mut chain, &block);
    // The intermediate output is neither created nor spent in the effects.
    assert!(fx.created.iter().all(|(o, _)| *o != a_out));
    assert!(fx.spent.iter().all(|(o, _)| *o != a_out));
    assert_eq!(fx.spent.len(), 1);
    assert!(chain.state.utxo(&a_out).is_none());
    assert!(chain.state.utxo(&b_out).is_some());
    assert!(chain.state.utxo(&u.0).is_none());
    assert_eq!(total_utxo_value(&chain.state), chain.state.supply.0);
}

// ---------------------------------------------------------------------------------------------
// Blocks: header and coinbase
// ---------------------------------------------------------------------------------------------

fn block_with_fees() -> (TestChain, Block) {
    let mut chain = TestChain::devnet(4);
    chain.next_block(vec![]).unwrap();
    let txs = vec![chain.transfer(2).unwrap(), chain.transfer(1).unwrap()];
    let block = build(&chain, txs, vec![]);
    (chain, block)
}

#[test]
fn valid_block_is_accepted() {
    let (chain, block) = block_with_fees();
    let fx = validate(&chain, &block).unwrap();
    assert_eq!(fx.height, 2);
    assert_eq!(fx.block_hash, block.hash());
    assert_eq!(fx.minted, Amount::from_time(100));
}

#[test]
fn header_fields_are_checked() {
    let (chain, block) = block_with_fees();

    let mut b = block.clone();
    b.header.height = 3;
    assert_eq!(
        validate(&chain, &b),
        Err(BlockError::Height {
            expected: 2,
            got: 3
        })
    );

    let mut b = block.clone();
    b.header.prev_hash = Hash([1; 32]);
    assert_eq!(
        validate(&chain, &b),
        Err(BlockError::PrevHash(chain.state.tip_hash))
    );

    let mut b = block.clone();
    b.header.merkle_root = Hash([2; 32]);
    assert_eq!(validate(&chain, &b), Err(BlockError::MerkleRoot));

    // A changed body without a new merkle root.
    let mut b = block.clone();
    b.txs.pop();
    assert_eq!(validate(&chain, &b), Err(BlockError::MerkleRoot));

    let mut b = block.clone();
    b.header.validator_set_hash = Hash([3; 32]);
    assert_eq!(validate(&chain, &b), Err(BlockError::ValidatorSet));

    let mut b = block.clone();
    b.header.last_commit_hash = Hash([4; 32]);
    assert_eq!(validate(&chain, &b), Err(BlockError::LastCommit));

    let mut b = block.clone();
    let stranger = SecretKey::from_seed(&[8; 32]).public();
    b.header.proposer = stranger;
    assert_eq!(validate(&chain, &b), Err(BlockError::Proposer(stranger)));

    let mut b = block.clone();
    b.header.time_ms = chain.state.tip_time_ms - 1;
    assert_eq!(validate(&chain, &b), Err(BlockError::Time));

    // The validator set used must be the one for this height.
    let wrong_set = chain.state.validator_set_for(0);
    let mut fewer = chain.state.next_validator_set().validators().to_vec();
    fewer.pop();
    let fewer = crate::types::ValidatorSet::new(fewer);
    assert_ne!(fewer.hash(), wrong_set.hash());
    assert_eq!(
        validate_block(
            &block,
            &chain.state,
            &chain.genesis.params,
            &fewer,
            SigPolicy::VerifyAll
        ),
        Err(BlockError::ValidatorSet)
    );

    // The untouched block is still fine.
    validate(&chain, &block).unwrap();
}

#[test]
fn last_commit_hash_must_be_the_tip_certificate() {
    let mut chain = TestChain::devnet(4);
    let (b1, cert1, _) = chain.next_block(vec![]).unwrap();
    assert_eq!(chain.last_cert, cert1);
    let b2 = build(&chain, vec![], vec![]);
    assert_eq!(b2.last_commit, cert1);
    assert_eq!(b2.header.last_commit_hash, cert1.hash());
    assert_eq!(b2.header.prev_hash, b1.hash());
    validate(&chain, &b2).unwrap();
}

#[test]
fn coinbase_pays_reward_plus_fees_split_90_10() {
    let (chain, block) = block_with_fees();
    let fees: u64 = block.txs[1..]
        .iter()
        .map(|tx| check(&chain, tx).unwrap().fee.0)
        .sum();
    assert!(fees > 0);
    let total = Amount::from_time(100).0 + fees;
    let treasury = total / 10;
    let proposer = total - treasury;
    let payout = chain
        .state
        .masternode_by_key(&block.header.proposer)
        .unwrap()
        .payout;
    let cb = &block.txs[0];
    assert_eq!(
        cb.outputs,
        vec![
            TxOut {
                amount: Amount(proposer),
                address: payout
            },
            TxOut {
                amount: Amount(treasury),
                address: chain.genesis.params.treasury
            }
        ]
    );
    let supply_before = chain.state.supply;
    let mut chain = chain;
    let fx = apply(&mut chain, &block);
    // Fees are redistributed, only the subsidy is new.
    assert_eq!(fx.minted, Amount::from_time(100));
    assert_eq!(
        chain.state.supply.0,
        supply_before.0 + Amount::from_time(100).0
    );
    assert_eq!(total_utxo_value(&chain.state), chain.state.supply.0);
}

#[test]
fn split_reward_is_exact_and_rounds_for_the_proposer() {
    let chain = TestChain::devnet(1);
    let p = &chain.genesis.params;
    for total in [0u64, 1, 9, 10, 99, 100, 101, 12_345_678_901, u64::MAX] {
        let (a, b) = p.split_reward(Amount(total));
        assert_eq!(a.0 as u128 + b.0 as u128, total as u128, "total {total}");
        assert_eq!(b.0, (total as u128 * 10 / 100) as u64, "total {total}");
    }
}

#[test]
fn wrong_coinbase_is_rejected() {
    let (chain, block) = block_with_fees();
    let is_coinbase_err = |b: &Block| matches!(validate(&chain, b), Err(BlockError::Coinbase(_)));

    // Swapped split (10/90).
    let mut b = block.clone();
    let (p, t) = (b.txs[0].outputs[0].amount, b.txs[0].outputs[1].amount);
    b.txs[0].outputs[0].amount = t;
    b.txs[0].outputs[1].amount = p;
    reseal(&mut b);
    assert!(is_coinbase_err(&b));

    // One unit too much to the proposer.
    let mut b = block.clone();
    b.txs[0].outputs[0].amount.0 += 1;
    reseal(&mut b);
    assert!(is_coinbase_err(&b));

    // One unit too little (burning is not allowed either: the amount is exact).
    let mut b = block.clone();
    b.txs[0].outputs[1].amount.0 -= 1;
    reseal(&mut b);
    assert!(is_coinbase_err(&b));

    // Reward to another address.
    let mut b = block.clone();
    b.txs[0].outputs[0].address = addr(&chain.faucet);
    reseal(&mut b);
    assert!(is_coinbase_err(&b));

    // Treasury share missing, everything to the proposer.
    let mut b = block.clone();
    let all = b.txs[0].outputs[0].amount.0 + b.txs[0].outputs[1].amount.0;
    b.txs[0].outputs.truncate(1);
    b.txs[0].outputs[0].amount = Amount(all);
    reseal(&mut b);
    assert!(is_coinbase_err(&b));

    // Ignoring the fees (reward only).
    let mut b = block.clone();
    let (p, t) = chain.genesis.params.split_reward(Amount::from_time(100));
    b.txs[0].outputs[0].amount = p;
    b.txs[0].outputs[1].amount = t;
    reseal(&mut b);
    assert!(is_coinbase_err(&b));

    // Coinbase for another height.
    let mut b = block.clone();
    b.txs[0].kind = TxKind::Coinbase { height: 7 };
    reseal(&mut b);
    assert!(is_coinbase_err(&b));

    // Coinbase with a lock time.
    let mut b = block.clone();
    b.txs[0].lock_time = 1;
    reseal(&mut b);
    assert!(is_coinbase_err(&b));

    // Coinbase with an input.
    let mut b = block.clone();
    let u = faucet_utxo(&chain);
    b.txs[0].inputs.push(TxIn {
        prev: u.0,
        pubkey: chain.faucet.public(),
        signature: Signature::default(),
    });
    reseal(&mut b);
    assert!(is_coinbase_err(&b));

    // No coinbase at all.
    let mut b = block.clone();
    b.txs.remove(0);
    reseal(&mut b);
    assert!(is_coinbase_err(&b));
    let mut b = block.clone();
    b.txs.clear();
    reseal(&mut b);
    assert!(is_coinbase_err(&b));

    // A second coinbase later in the block.
    let mut b = block.clone();
    let extra = b.txs[0].clone();
    b.txs.push(extra);
    reseal(&mut b);
    assert_eq!(tx_err(validate(&chain, &b)), TxError::UnexpectedCoinbase);

    validate(&chain, &block).unwrap();
}

#[test]
fn bad_signature_in_a_block_is_found_unless_the_tx_was_verified() {
    let (chain, block) = block_with_fees();
    let mut b = block.clone();
    b.txs[2].inputs[0].signature.0[0] ^= 1;
    reseal(&mut b);
    match validate(&chain, &b) {
        Err(BlockError::Tx {
            index: 2,
            txid,
            err: TxError::BadSignature(0),
        }) => assert_eq!(txid, b.txs[2].txid()),
        other => panic!("expected bad signature at index 2, got {other:?}"),
    }
    let params = &chain.genesis.params;
    let set = chain.state.next_validator_set();
    // Only txids the predicate vouches for are skipped.
    let bad_id = b.txs[2].txid();
    let others = move |id: &Hash| *id != bad_id;
    assert!(matches!(
        validate_block(
            &b,
            &chain.state,
            params,
            &set,
            SigPolicy::SkipVerified(&others)
        ),
        Err(BlockError::Tx { index: 2, .. })
    ));
    let all = |_: &Hash| true;
    let fx_skip = validate_block(
        &block,
        &chain.state,
        params,
        &set,
        SigPolicy::SkipVerified(&all),
    )
    .unwrap();
    let fx_all = validate(&chain, &block).unwrap();
    assert_eq!(fx_skip, fx_all);
}

#[test]
fn many_transactions_with_one_bad_signature_point_at_the_right_one() {
    // Enough signatures to use several parallel batches.
    let mut chain = TestChain::devnet(4);
    let split: Vec<Transaction> = (0..40).map(|_| chain.transfer(8).unwrap()).collect();
    chain.next_block(split).unwrap();
    let txs: Vec<Transaction> = (0..300).map(|_| chain.transfer(1).unwrap()).collect();
    let block = build(&chain, txs, vec![]);
    validate(&chain, &block).unwrap();
    for bad in [1usize, 150, 300] {
        let mut b = block.clone();
        b.txs[bad].inputs[0].signature.0[63] ^= 0x01;
        reseal(&mut b);
        match validate(&chain, &b) {
            Err(BlockError::Tx { index, err, .. }) => {
                assert_eq!(index, bad);
                assert_eq!(err, TxError::BadSignature(0));
            }
            other => panic!("expected bad signature at {bad}, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Masternodes
// ---------------------------------------------------------------------------------------------

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
    TxKind::MasternodeRegister(MasternodeRegistration {
        collateral,
        tier,
        node_key: node.public(),
        p2p_addr: "127.0.0.1:9999".into(),
        payout: addr(owner),
        owner: owner.public(),
        owner_signature: Signature::default(),
    })
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

fn mn_err(r: Result<TxCheck, TxError>) -> String {
    match r {
        Err(TxError::Masternode(m)) => m,
        other => panic!("expected a masternode error, got {other:?}"),
    }
}

#[test]
fn registration_needs_the_exact_collateral_of_its_tier() {
    let mut chain = TestChain::devnet(4);
    let owner = SecretKey::from_seed(&[21; 32]);
    let node = SecretKey::from_seed(&[22; 32]);
    let bronze = fund(&mut chain, &owner, Tier::Bronze.collateral());
    let almost = fund(&mut chain, &owner, Amount(Tier::Bronze.collateral().0 - 1));
    let more = fund(&mut chain, &owner, Amount(Tier::Bronze.collateral().0 + 1));
    // A genesis faucet output holds exactly 10,000 TIME: a Silver collateral owned by the faucet.
    let (silver, _) = *owned(&chain, &chain.faucet)
        .iter()
        .skip(1)
        .rev()
        .find(|(_, a)| *a == Tier::Silver.collateral())
        .unwrap();
    let faucet = SecretKey::from_seed(&super::testkit::TEST_FAUCET_SEED);

    for (c, tier, who) in [
        (almost, Tier::Bronze, &owner),
        (more, Tier::Bronze, &owner),
        (bronze, Tier::Silver, &owner),
        (silver, Tier::Bronze, &faucet),
        (silver, Tier::Gold, &faucet),
        (bronze, Tier::Gold, &owner),
    ] {
        let tx = register_tx(&chain, c, tier, &node, who);
        let m = mn_err(check(&chain, &tx));
        assert!(m.contains("needs exactly"), "{m}");
    }
    check(
        &chain,
        &register_tx(&chain, bronze, Tier::Bronze, &node, &owner),
    )
    .unwrap();
    check(
        &chain,
        &register_tx(&chain, silver, Tier::Silver, &node, &faucet),
    )
    .unwrap();
    // A Silver masternode weighs 10.
    let tx = register_tx(&chain, silver, Tier::Silver, &node, &faucet);
    chain.next_block(vec![tx]).unwrap();
    let h = chain.state.height;
    assert_eq!(
        chain
            .state
            .validator_set_for(h + 2)
            .weight_of(&node.public()),
        Some(10)
    );
}

#[test]
fn registration_collateral_must_be_unspent_and_owned_by_the_owner() {
    let mut chain = TestChain::devnet(4);
    let owner = SecretKey::from_seed(&[21; 32]);
    let node = SecretKey::from_seed(&[22; 32]);
    let c = fund(&mut chain, &owner, Tier::Bronze.collateral());

    // Owned by someone else.
    let stranger = SecretKey::from_seed(&[23; 32]);
    let tx = register_tx(&chain, c, Tier::Bronze, &node, &stranger);
    assert!(mn_err(check(&chain, &tx)).contains("does not own"));

    // Missing collateral.
    let ghost = OutPoint {
        txid: Hash([5; 32]),
        index: 1,
    };
    let tx = register_tx(&chain, ghost, Tier::Bronze, &node, &owner);
    assert!(mn_err(check(&chain, &tx)).contains("missing or spent"));

    // Spent collateral.
    let spend = sign(
        &chain,
        unsigned(
            &owner,
            &[c],
            vec![TxOut {
                amount: Amount(Tier::Bronze.collateral().0 - 1_000),
                address: addr(&owner),
            }],
            TxKind::Transfer,
        ),
        &[&owner],
        None,
    );
    let tx = register_tx(&chain, c, Tier::Bronze, &node, &owner);
    check(&chain, &tx).unwrap();
    chain.next_block(vec![spend]).unwrap();
    let tx = register_tx(&chain, c, Tier::Bronze, &node, &owner);
    assert!(mn_err(check(&chain, &tx)).contains("missing or spent"));
}

#[test]
fn registration_spending_its_own_collateral_is_rejected() {
    let mut chain = TestChain::devnet(4);
    let owner = SecretKey::from_seed(&[21; 32]);
    let node = SecretKey::from_seed(&[22; 32]);
    let c = fund(&mut chain, &owner, Tier::Bronze.collateral());
    let tx = unsigned(
        &owner,
        &[c],
        vec![TxOut {
            amount: Amount(Tier::Bronze.collateral().0 - 10_000),
            address: addr(&owner),
        }],
        registration(c, Tier::Bronze, &node, &owner),
    );
    let tx = sign(&chain, tx, &[&owner], Some(&owner));
    assert!(mn_err(check(&chain, &tx)).contains("spends its own collateral"));
}

#[test]
fn registration_needs_the_owner_signature() {
    let mut chain = TestChain::devnet(4);
    let owner = SecretKey::from_seed(&[21; 32]);
    let node = SecretKey::from_seed(&[22; 32]);
    let c = fund(&mut chain, &owner, Tier::Bronze.collateral());
    let u = faucet_utxo(&chain);
    // Signed by the node key instead of the owner.
    let tx = pay(
        &chain,
        u,
        &[],
        registration(c, Tier::Bronze, &node, &owner),
        Some(&node),
    );
    assert_eq!(check(&chain, &tx), Err(TxError::BadOwnerSignature));
    // Not signed at all.
    let tx = pay(
        &chain,
        u,
        &[],
        registration(c, Tier::Bronze, &node, &owner),
        None,
    );
    assert_eq!(check(&chain, &tx), Err(TxError::BadOwnerSignature));
    // In a block too.
    let block = build(&chain, vec![tx], vec![]);
    assert_eq!(tx_err(validate(&chain, &block)), TxError::BadOwnerSignature);
}

#[test]
fn registration_of_a_known_collateral_or_node_key_is_rejected() {
    let mut chain = TestChain::devnet(4);
    // Node 0's genesis collateral, by its real owner.
    let mn0 = chain
        .state
        .masternode_by_key(&devnet_node_key(0).public())
        .unwrap()
        .clone();
    let owner0 = devnet_owner_key(0);
    let fresh_node = SecretKey::from_seed(&[31; 32]);
    let tx = register_tx(&chain, mn0.collateral, Tier::Bronze, &fresh_node, &owner0);
    assert!(mn_err(check(&chain, &tx)).contains("already registered"));

    // A new collateral with an existing node key.
    let owner = SecretKey::from_seed(&[21; 32]);
    let c = fund(&mut chain, &owner, Tier::Bronze.collateral());
    let tx = register_tx(&chain, c, Tier::Bronze, &devnet_node_key(1), &owner);
    assert!(mn_err(check(&chain, &tx)).contains("node key already registered"));

    // The same registration twice in one block.
    let c2 = fund(&mut chain, &owner, Tier::Bronze.collateral());
    let a = register_tx(&chain, c, Tier::Bronze, &fresh_node, &owner);
    let other_fee = owned(&chain, &chain.faucet)[1];
    let b = pay(
        &chain,
        other_fee,
        &[],
        registration(c2, Tier::Bronze, &fresh_node, &owner),
        Some(&owner),
    );
    let block = build(&chain, vec![a, b], vec![]);
    assert!(matches!(
        tx_err(validate(&chain, &block)),
        TxError::Masternode(m) if m.contains("twice")
    ));
}

#[test]
fn registration_activates_two_blocks_after_inclusion_and_goes_when_collateral_is_spent() {
    let mut chain = TestChain::devnet(4);
    let owner = SecretKey::from_seed(&[21; 32]);
    let node = SecretKey::from_seed(&[22; 32]);
    let c = fund(&mut chain, &owner, Tier::Bronze.collateral());
    let tx = register_tx(&chain, c, Tier::Bronze, &node, &owner);
    let (block, _, fx) = chain.next_block(vec![tx]).unwrap();
    let h = block.header.height;
    assert_eq!(fx.masternodes_upserted.len(), 1);
    let m = chain.state.masternode(&c).unwrap().clone();
    assert_eq!(m.registered_height, h);
    assert_eq!(m.active_from, h + 2);
    assert_eq!(m.tier, Tier::Bronze);
    assert_eq!(m.owner, owner.public());
    assert_eq!(m.node_key, node.public());
    assert!(!m.banned);
    assert_eq!(
        chain
            .state
            .masternode_by_key(&node.public())
            .unwrap()
            .collateral,
        c
    );

    let in_set = |s: &LedgerState, height: u64| {
        s.validator_set_for(height)
            .weight_of(&node.public())
            .is_some()
    };
    assert!(!in_set(&chain.state, h));
    assert!(!in_set(&chain.state, h + 1));
    assert!(in_set(&chain.state, h + 2));
    assert_eq!(chain.state.validator_set_for(h + 2).total_weight(), 5);

    // Blocks at h+1 (set without it) and h+2 (set with it) validate with the right sets.
    let b1 = chain.next_block(vec![]).unwrap().0;
    assert_ne!(
        b1.header.validator_set_hash,
        chain.state.next_validator_set().hash()
    );
    assert!(in_set(&chain.state, chain.state.height + 1));
    chain.next_block(vec![]).unwrap();

    // Spending the collateral removes the masternode.
    let spend = sign(
        &chain,
        unsigned(
            &owner,
            &[c],
            vec![TxOut {
                amount: Amount(Tier::Bronze.collateral().0 - 1_000),
                address: addr(&owner),
            }],
            TxKind::Transfer,
        ),
        &[&owner],
        None,
    );
    let (_, _, fx) = chain.next_block(vec![spend]).unwrap();
    assert_eq!(fx.masternodes_removed, vec![c]);
    assert!(chain.state.masternode(&c).is_none());
    assert!(chain.state.masternode_by_key(&node.public()).is_none());
    assert!(!in_set(&chain.state, chain.state.height + 1));
    assert_eq!(chain.state.next_validator_set().total_weight(), 4);
}

#[test]
fn registration_and_collateral_spend_in_one_block_leave_no_masternode() {
    let mut chain = TestChain::devnet(4);
    let owner = SecretKey::from_seed(&[21; 32]);
    let node = SecretKey::from_seed(&[22; 32]);
    let c = fund(&mut chain, &owner, Tier::Bronze.collateral());
    let reg = register_tx(&chain, c, Tier::Bronze, &node, &owner);
    let spend = sign(
        &chain,
        unsigned(
            &owner,
            &[c],
            vec![TxOut {
                amount: Amount(Tier::Bronze.collateral().0 - 1_000),
                address: addr(&owner),
            }],
            TxKind::Transfer,
        ),
        &[&owner],
        None,
    );
    let block = build(&chain, vec![reg, spend], vec![]);
    let fx = apply(&mut chain, &block);
    assert!(fx.masternodes_upserted.is_empty(), "{fx:?}");
    assert!(chain.state.masternode(&c).is_none());
    assert!(chain.state.masternode_by_key(&node.public()).is_none());
}

#[test]
fn genesis_masternode_collateral_spend_removes_it() {
    let mut chain = TestChain::devnet(4);
    let key3 = devnet_node_key(3);
    let owner3 = devnet_owner_key(3);
    let m = chain
        .state
        .masternode_by_key(&key3.public())
        .unwrap()
        .clone();
    let spend = sign(
        &chain,
        unsigned(
            &owner3,
            &[m.collateral],
            vec![TxOut {
                amount: Amount(Tier::Bronze.collateral().0 - 1_000),
                address: addr(&owner3),
            }],
            TxKind::Transfer,
        ),
        &[&owner3],
        None,
    );
    let (_, _, fx) = chain.next_block(vec![spend]).unwrap();
    assert_eq!(fx.masternodes_removed, vec![m.collateral]);
    assert!(chain
        .state
        .next_validator_set()
        .weight_of(&key3.public())
        .is_none());
    assert_eq!(chain.state.next_validator_set().len(), 3);
}

#[test]
fn exit_and_update_need_the_owner() {
    let mut chain = TestChain::devnet(4);
    let owner = SecretKey::from_seed(&[21; 32]);
    let node = SecretKey::from_seed(&[22; 32]);
    let c = fund(&mut chain, &owner, Tier::Bronze.collateral());
    let tx = register_tx(&chain, c, Tier::Bronze, &node, &owner);
    chain.next_block(vec![tx]).unwrap();

    fn exit(
        chain: &TestChain,
        owner_key: &SecretKey,
        signer: &SecretKey,
        collateral: OutPoint,
    ) -> Transaction {
        let u = faucet_utxo(chain);
        pay(
            chain,
            u,
            &[],
            TxKind::MasternodeExit(MasternodeExit {
                collateral,
                owner: owner_key.public(),
                owner_signature: Signature::default(),
            }),
            Some(signer),
        )
    }
    let stranger = SecretKey::from_seed(&[23; 32]);
    assert!(
        mn_err(check(&chain, &exit(&chain, &stranger, &stranger, c)))
            .contains("not the masternode owner")
    );
    assert_eq!(
        check(&chain, &exit(&chain, &owner, &stranger, c)),
        Err(TxError::BadOwnerSignature)
    );
    let ghost = OutPoint {
        txid: Hash([6; 32]),
        index: 0,
    };
    assert!(mn_err(check(&chain, &exit(&chain, &owner, &owner, ghost))).contains("no masternode"));

    // Update: new payout, kept registration height and activation.
    let new_payout = addr(&stranger);
    let u = faucet_utxo(&chain);
    let update = pay(
        &chain,
        u,
        &[],
        TxKind::MasternodeUpdate(MasternodeUpdate {
            collateral: c,
            p2p_addr: "10.0.0.1:1".into(),
            payout: new_payout,
            owner: owner.public(),
            owner_signature: Signature::default(),
        }),
        Some(&owner),
    );
    let before = chain.state.masternode(&c).unwrap().clone();
    chain.next_block(vec![update]).unwrap();
    let after = chain.state.masternode(&c).unwrap().clone();
    assert_eq!(after.payout, new_payout);
    assert_eq!(after.p2p_addr, "10.0.0.1:1");
    assert_eq!(after.active_from, before.active_from);
    assert_eq!(after.registered_height, before.registered_height);

    // Exit removes it; the collateral stays an ordinary spendable output.
    let tx = exit(&chain, &owner, &owner, c);
    let (_, _, fx) = chain.next_block(vec![tx]).unwrap();
    assert_eq!(fx.masternodes_removed, vec![c]);
    assert!(chain.state.masternode(&c).is_none());
    assert!(chain.state.utxo(&c).is_some());
    assert!(chain
        .state
        .next_validator_set()
        .weight_of(&node.public())
        .is_none());
}

// ---------------------------------------------------------------------------------------------
// Evidence
// ---------------------------------------------------------------------------------------------

fn equivocation(chain: &TestChain, node: u32, height: u64) -> Evidence {
    let k = devnet_node_key(node);
    let id = chain.genesis.params.chain_id;
    let a = Vote::new_signed(id, height, 0, VoteKind::Prevote, Some(Hash([1; 32])), &k);
    let b = Vote::new_signed(id, height, 0, VoteKind::Prevote, Some(Hash([2; 32])), &k);
    Evidence::from_pair(b, a)
}

#[test]
fn evidence_bans_the_offender() {
    let mut chain = TestChain::devnet(4);
    chain.next_block(vec![]).unwrap();
    let offender = devnet_node_key(1).public();
    let ev = equivocation(&chain, 1, 1);
    ev.verify(&chain.genesis.params.chain_id).unwrap();
    assert_eq!(ev.offender(), offender);
    let block = build(&chain, vec![], vec![ev]);
    let fx = apply(&mut chain, &block);
    assert_eq!(fx.masternodes_upserted.len(), 1);
    assert!(fx.masternodes_upserted[0].banned);
    assert!(chain.state.masternode_by_key(&offender).unwrap().banned);
    let set = chain.state.next_validator_set();
    assert!(set.weight_of(&offender).is_none());
    assert_eq!(set.len(), 3);
    // Banned for good: later heights too.
    assert!(chain
        .state
        .validator_set_for(chain.state.height + 100)
        .weight_of(&offender)
        .is_none());
    // Evidence against an already banned masternode is refused.
    let again = build(&chain, vec![], vec![equivocation(&chain, 1, 2)]);
    assert!(matches!(
        validate(&chain, &again),
        Err(BlockError::Evidence(_))
    ));
}

/// Exit, update and re-registration transactions of devnet masternode `node`, its fees paid by
/// the faucet: exit, update, registration of a fresh collateral with its node key, and
/// registration of its collateral with a fresh node key.
fn comeback_attempts(chain: &mut TestChain, node: u32) -> Vec<Transaction> {
    let key = devnet_node_key(node);
    let owner = devnet_owner_key(node);
    let c = chain
        .state
        .masternode_by_key(&key.public())
        .unwrap()
        .collateral;
    let fresh = fund(chain, &owner, Tier::Bronze.collateral());
    let u = faucet_utxo(chain);
    let exit = pay(
        chain,
        u,
        &[],
        TxKind::MasternodeExit(MasternodeExit {
            collateral: c,
            owner: owner.public(),
            owner_signature: Signature::default(),
        }),
        Some(&owner),
    );
    let update = pay(
        chain,
        u,
        &[],
        TxKind::MasternodeUpdate(MasternodeUpdate {
            collateral: c,
            p2p_addr: "10.0.0.1:1".into(),
            payout: addr(&owner),
            owner: owner.public(),
            owner_signature: Signature::default(),
        }),
        Some(&owner),
    );
    let same_key = register_tx(chain, fresh, Tier::Bronze, &key, &owner);
    let same_collateral = register_tx(
        chain,
        c,
        Tier::Bronze,
        &SecretKey::from_seed(&[77; 32]),
        &owner,
    );
    vec![exit, update, same_key, same_collateral]
}

fn is_banned_error(r: Result<TxCheck, TxError>, key: PublicKey) -> bool {
    r == Err(TxError::BannedMasternode { node_key: key })
}

#[test]
fn a_banned_masternode_cannot_exit_update_or_register_again() {
    let mut chain = TestChain::devnet(4);
    chain.next_block(vec![]).unwrap();
    let key = devnet_node_key(1).public();
    let block = build(&chain, vec![], vec![equivocation(&chain, 1, 1)]);
    apply(&mut chain, &block);
    for tx in comeback_attempts(&mut chain, 1) {
        assert!(
            is_banned_error(check(&chain, &tx), key),
            "{:?}",
            check(&chain, &tx)
        );
    }
    // Spending the collateral is allowed, and the ban outlives it.
    let owner = devnet_owner_key(1);
    let c = chain.state.masternode_by_key(&key).unwrap().collateral;
    let u = chain.state.utxo(&c).unwrap();
    let spend = sign(
        &chain,
        unsigned(
            &owner,
            &[c],
            vec![TxOut {
                amount: Amount(u.output.amount.0 - 1_000),
                address: addr(&owner),
            }],
            TxKind::Transfer,
        ),
        &[&owner],
        None,
    );
    chain.next_block(vec![spend]).unwrap();
    assert!(chain.state.masternode_by_key(&key).unwrap().banned);
    let fresh = fund(&mut chain, &owner, Tier::Bronze.collateral());
    let again = register_tx(&chain, fresh, Tier::Bronze, &devnet_node_key(1), &owner);
    assert!(is_banned_error(check(&chain, &again), key));
}

#[test]
fn evidence_bans_a_masternode_that_exits_in_the_same_block() {
    let mut chain = TestChain::devnet(4);
    chain.next_block(vec![]).unwrap();
    let key = devnet_node_key(1).public();
    let exit = comeback_attempts(&mut chain, 1).remove(0);
    let block = build(&chain, vec![exit], vec![equivocation(&chain, 1, 1)]);
    apply(&mut chain, &block);
    assert!(chain.state.masternode_by_key(&key).unwrap().banned);
    let again = comeback_attempts(&mut chain, 1).remove(2);
    assert!(is_banned_error(check(&chain, &again), key));
}

#[test]
fn bad_evidence_is_rejected() {
    let mut chain = TestChain::devnet(4);
    chain.next_block(vec![]).unwrap();
    let id = chain.genesis.params.chain_id;
    let k = devnet_node_key(2);
    let is_ev_err = |chain: &TestChain, ev: Evidence| {
        let b = build(chain, vec![], vec![ev]);
        matches!(validate(chain, &b), Err(BlockError::Evidence(_)))
    };
    // Same vote twice: no conflict.
    let v = Vote::new_signed(id, 1, 0, VoteKind::Prevote, Some(Hash([1; 32])), &k);
    assert!(is_ev_err(
        &chain,
        Evidence {
            a: v.clone(),
            b: v.clone()
        }
    ));
    // Different steps are not an equivocation.
    let w = Vote::new_signed(id, 1, 0, VoteKind::Precommit, Some(Hash([2; 32])), &k);
    assert!(is_ev_err(&chain, Evidence::from_pair(v.clone(), w)));
    // Different rounds neither.
    let w = Vote::new_signed(id, 1, 1, VoteKind::Prevote, Some(Hash([2; 32])), &k);
    assert!(is_ev_err(&chain, Evidence::from_pair(v.clone(), w)));
    // Another chain.
    let other = Hash([9; 32]);
    let x = Vote::new_signed(other, 1, 0, VoteKind::Prevote, Some(Hash([1; 32])), &k);
    let y = Vote::new_signed(other, 1, 0, VoteKind::Prevote, Some(Hash([2; 32])), &k);
    assert!(is_ev_err(&chain, Evidence::from_pair(x, y)));
    // Forged signature.
    let mut ev = equivocation(&chain, 2, 1);
    ev.b.signature.0[3] ^= 1;
    assert!(is_ev_err(&chain, ev));
    // Two votes by different voters.
    let w = Vote::new_signed(
        id,
        1,
        0,
        VoteKind::Prevote,
        Some(Hash([2; 32])),
        &devnet_node_key(3),
    );
    assert!(is_ev_err(&chain, Evidence::from_pair(v, w)));
    // Not a masternode.
    let stranger = SecretKey::from_seed(&[77; 32]);
    let x = Vote::new_signed(id, 1, 0, VoteKind::Prevote, Some(Hash([1; 32])), &stranger);
    let y = Vote::new_signed(id, 1, 0, VoteKind::Prevote, None, &stranger);
    assert!(is_ev_err(&chain, Evidence::from_pair(x, y)));
    // Two pieces of evidence against one masternode in one block.
    let b = build(
        &chain,
        vec![],
        vec![equivocation(&chain, 2, 1), equivocation(&chain, 2, 0)],
    );
    assert!(matches!(validate(&chain, &b), Err(BlockError::Evidence(_))));
    // A nil vote against a block vote is an equivocation.
    let x = Vote::new_signed(id, 1, 0, VoteKind::Precommit, None, &k);
    let y = Vote::new_signed(id, 1, 0, VoteKind::Precommit, Some(Hash([5; 32])), &k);
    let b = build(&chain, vec![], vec![Evidence::from_pair(y, x)]);
    let fx = apply(&mut chain, &b);
    assert!(fx
        .masternodes_upserted
        .iter()
        .any(|m| m.node_key == k.public() && m.banned));
}

#[test]
fn unknown_proposer_is_rejected_even_with_a_valid_body() {
    let chain = TestChain::devnet(4);
    let stranger: PublicKey = SecretKey::from_seed(&[55; 32]).public();
    let set = chain.state.next_validator_set();
    // build_block refuses a proposer that is not a masternode.
    assert!(build_block(
        &chain.state,
        &chain.genesis.params,
        &set,
        stranger,
        vec![],
        Amount::ZERO,
        vec![],
        chain.last_cert.clone(),
        chain.state.tip_time_ms + 1
    )
    .is_none());
}

// ---------------------------------------------------------------------------------------------
// Property tests: invariants under random block sequences
// ---------------------------------------------------------------------------------------------

/// One block of the random sequence: (outputs per transfer), plus an optional attempt to
/// double-spend something already spent (index into the spent list).
#[derive(Debug, Clone)]
struct BlockPlan {
    transfers: Vec<usize>,
    double_spend: Option<usize>,
}

fn block_plan() -> impl Strategy<Value = BlockPlan> {
    (
        proptest::collection::vec(1usize..5, 0..6),
        proptest::option::weighted(0.3, any::<usize>()),
    )
        .prop_map(|(transfers, double_spend)| BlockPlan {
            transfers,
            double_spend,
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        .. ProptestConfig::default()
    })]

    #[test]
    fn ledger_invariants_hold_under_random_blocks(
        nodes in 1u32..6,
        plans in proptest::collection::vec(block_plan(), 1..10),
    ) {
        let mut chain = TestChain::devnet(nodes);
        let genesis_supply = chain.state.supply;
        prop_assert_eq!(total_utxo_value(&chain.state), genesis_supply.0);
        let mut spent: Vec<OutPoint> = Vec::new();
        let mut spent_set: HashSet<OutPoint> = HashSet::new();
        let mut blocks = Vec::new();

        for plan in &plans {
            // An attempt to spend an already spent faucet output must fail and change nothing.
            if let (Some(i), false) = (plan.double_spend, spent.is_empty()) {
                let o = spent[i % spent.len()];
                let tx = pay(&chain, (o, Amount::from_time(1)), &[], TxKind::Transfer, None);
                let before = (chain.state.utxo_set_hash(), chain.state.height);
                prop_assert!(chain.next_block(vec![tx]).is_err());
                prop_assert_eq!((chain.state.utxo_set_hash(), chain.state.height), before);
            }
            let txs: Vec<Transaction> =
                plan.transfers.iter().filter_map(|n| chain.transfer(*n)).collect();
            let (block, cert, fx) = chain.next_block(txs).unwrap();
            for (o, _) in &fx.spent {
                prop_assert!(spent_set.insert(*o), "outpoint {:?} spent twice", o);
                if chain.state.utxo(o).is_none() {
                    spent.push(*o);
                }
            }
            blocks.push((block, cert, fx));

            let n = blocks.len() as u64;
            prop_assert_eq!(
                chain.state.supply.0,
                genesis_supply.0 + n * chain.genesis.params.block_reward.0
            );
            prop_assert_eq!(total_utxo_value(&chain.state), chain.state.supply.0);
            prop_assert_eq!(chain.state.height, n);
        }
        // No spent outpoint is back in the set.
        for o in &spent_set {
            prop_assert!(chain.state.utxo(o).is_none());
        }

        // Replaying the same blocks on a fresh genesis state gives the same state.
        let mut replay = chain.genesis.state();
        for (block, cert, fx) in &blocks {
            let set = replay.next_validator_set();
            cert.verify(&chain.genesis.params.chain_id, block.header.height, &block.hash(), &set)
                .unwrap();
            let fx2 = validate_block(block, &replay, &chain.genesis.params, &set, SigPolicy::VerifyAll)
                .unwrap();
            prop_assert_eq!(&fx2, fx);
            replay.apply(&fx2, block.header.time_ms);
        }
        prop_assert_eq!(replay.utxo_set_hash(), chain.state.utxo_set_hash());
        prop_assert_eq!(replay.utxo_count(), chain.state.utxo_count());
        prop_assert_eq!(replay.supply, chain.state.supply);
        prop_assert_eq!(replay.tip_hash, chain.state.tip_hash);
        prop_assert_eq!(&replay.tip_validators, &chain.state.tip_validators);

        // A block cannot be applied twice.
        if let Some((block, _, _)) = blocks.last() {
            prop_assert!(validate_block(
                block,
                &replay,
                &chain.genesis.params,
                &replay.next_validator_set(),
                SigPolicy::VerifyAll
            )
            .is_err());
        }
    }

    #[test]
    fn utxo_set_hash_is_order_independent_and_sensitive(
        transfers in proptest::collection::vec(1usize..4, 1..6),
    ) {
        let mut chain = TestChain::devnet(2);
        let txs: Vec<Transaction> = transfers.iter().filter_map(|n| chain.transfer(*n)).collect();
        chain.next_block(txs).unwrap();
        let s = &chain.state;
        // Rebuilding the map in another insertion order gives the same hash.
        let mut entries: Vec<(OutPoint, Utxo)> = s.utxos().map(|(o, u)| (*o, *u)).collect();
        entries.reverse();
        let rebuilt = LedgerState::from_parts(
            entries.iter().copied().collect(),
            s.masternodes().cloned().collect(),
            s.height,
            s.tip_hash,
            s.tip_time_ms,
            s.supply,
            s.tip_validators.clone(),
        );
        prop_assert_eq!(rebuilt.utxo_set_hash(), s.utxo_set_hash());
        // Any change of one output's value changes it.
        let mut changed: std::collections::HashMap<OutPoint, Utxo> = entries.iter().copied().collect();
        let (o, u) = entries[0];
        changed.insert(o, Utxo { output: TxOut { amount: Amount(u.output.amount.0 + 1), ..u.output }, ..u });
        let other = LedgerState::from_parts(changed, vec![], 0, Hash::ZERO, 0, Amount::ZERO, Default::default());
        prop_assert_ne!(other.utxo_set_hash(), s.utxo_set_hash());
    }
}

#[test]
fn genesis_supply_equals_its_outputs() {
    let chain = TestChain::devnet(4);
    let g = &chain.genesis;
    assert_eq!(g.effects.minted, chain.state.supply);
    assert_eq!(total_utxo_value(&chain.state), chain.state.supply.0);
    // 100 faucet outputs of 10,000 TIME plus 4 Bronze collaterals.
    assert_eq!(
        chain.state.supply,
        Amount::from_time(100 * 10_000 + 4 * 1_000)
    );
    assert_eq!(chain.state.next_validator_set().total_weight(), 4);
    // Deterministic: the same spec gives the same chain id.
    assert_eq!(
        TestChain::devnet(4).genesis.params.chain_id,
        g.params.chain_id
    );
    assert_ne!(
        TestChain::devnet(5).genesis.params.chain_id,
        g.params.chain_id
    );
    let _ = g.block.to_bytes();
}

/// One operation of the random masternode-churn sequence.
#[derive(Debug, Clone)]
enum ChurnOp {
    /// A test-kit transfer into this many outputs.
    Transfer(usize),
    /// A Free-tier registration whose collateral is a faucet output.
    Register,
    /// Exit of the i-th (mod count) registered non-genesis masternode.
    Exit(usize),
    /// A transfer spending the collateral of the i-th (mod count) registered masternode.
    SpendCollateral(usize),
}

fn churn_op() -> impl Strategy<Value = ChurnOp> {
    prop_oneof![
        3 => (1usize..4).prop_map(ChurnOp::Transfer),
        2 => Just(ChurnOp::Register),
        1 => any::<usize>().prop_map(ChurnOp::Exit),
        1 => any::<usize>().prop_map(ChurnOp::SpendCollateral),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        .. ProptestConfig::default()
    })]

    /// Random registrations, exits and collateral spends (also by ordinary kit transfers that
    /// happen to pick a collateral): every registered masternode's collateral stays unspent,
    /// the validator set is exactly the active unbanned weighted masternodes, supply is
    /// unaffected, and a replay gives the same registry.
    #[test]
    fn masternode_registry_invariants_under_random_churn(
        blocks in proptest::collection::vec(proptest::collection::vec(churn_op(), 0..5), 1..8),
    ) {
        let mut chain = TestChain::devnet(4);
        let genesis_keys: HashSet<PublicKey> =
            chain.state.masternodes().map(|m| m.node_key).collect();
        let faucet = SecretKey::from_seed(&super::testkit::TEST_FAUCET_SEED);
        let mut next_seed = 1u32;
        let mut history = Vec::new();
        let genesis_supply = chain.state.supply;

        for ops in &blocks {
            let mut txs: Vec<Transaction> = ops
                .iter()
                .filter_map(|op| match op {
                    ChurnOp::Transfer(n) => chain.transfer(*n),
                    _ => None,
                })
                .collect();
            let mut used: HashSet<OutPoint> =
                txs.iter().flat_map(|t| t.inputs.iter().map(|i| i.prev)).collect();
            let mut free: Vec<(OutPoint, Amount)> = owned(&chain, &faucet)
                .into_iter()
                .filter(|(o, _)| !used.contains(o) && chain.state.masternode(o).is_none())
                .collect();
            free.reverse();
            let registered: Vec<MasternodeEntry> = chain
                .state
                .masternodes()
                .filter(|m| !genesis_keys.contains(&m.node_key))
                .cloned()
                .collect();
            for op in ops {
                match op {
                    ChurnOp::Transfer(_) => {}
                    ChurnOp::Register => {
                        let (Some(c), Some(fee)) = (free.pop(), free.pop()) else { continue };
                        used.insert(c.0);
                        used.insert(fee.0);
                        let mut seed = [0u8; 32];
                        seed[..4].copy_from_slice(&next_seed.to_le_bytes());
                        seed[31] = 0xee;
                        next_seed += 1;
                        let node = SecretKey::from_seed(&seed);
                        txs.push(pay(
                            &chain,
                            fee,
                            &[],
                            registration(c.0, Tier::Free, &node, &faucet),
                            Some(&faucet),
                        ));
                    }
                    ChurnOp::Exit(i) if !registered.is_empty() => {
                        let m = &registered[i % registered.len()];
                        let Some(fee) = free.pop() else { continue };
                        used.insert(fee.0);
                        txs.push(pay(
                            &chain,
                            fee,
                            &[],
                            TxKind::MasternodeExit(MasternodeExit {
                                collateral: m.collateral,
                                owner: faucet.public(),
                                owner_signature: Signature::default(),
                            }),
                            Some(&faucet),
                        ));
                    }
                    ChurnOp::SpendCollateral(i) if !registered.is_empty() => {
                        let m = &registered[i % registered.len()];
                        if !used.insert(m.collateral) {
                            continue;
                        }
                        let u = chain.state.utxo(&m.collateral).unwrap();
                        txs.push(pay(&chain, (m.collateral, u.output.amount), &[], TxKind::Transfer, None));
                    }
                    ChurnOp::Exit(_) | ChurnOp::SpendCollateral(_) => {}
                }
            }
            let (block, cert, fx) = chain.next_block(txs).unwrap();
            history.push((block, cert, fx));

            let s = &chain.state;
            let h = s.height;
            for m in s.masternodes() {
                prop_assert!(s.utxo(&m.collateral).is_some(), "collateral of {:?} is spent", m.node_key);
                if !genesis_keys.contains(&m.node_key) {
                    prop_assert_eq!(
                        m.active_from,
                        m.registered_height + chain.genesis.params.activation_delay
                    );
                }
            }
            // Genesis masternodes are untouched (their collaterals are never spent here).
            prop_assert_eq!(s.next_validator_set().total_weight(), 4);
            let want: Vec<PublicKey> = {
                let mut v: Vec<PublicKey> = s
                    .masternodes()
                    .filter(|m| !m.banned && m.active_from <= h + 1 && m.tier.weight() > 0)
                    .map(|m| m.node_key)
                    .collect();
                v.sort();
                v
            };
            let got: Vec<PublicKey> =
                s.next_validator_set().validators().iter().map(|v| v.key).collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(
                s.supply.0,
                genesis_supply.0 + h * chain.genesis.params.block_reward.0
            );
            prop_assert_eq!(total_utxo_value(s), s.supply.0);
        }

        let mut replay = chain.genesis.state();
        for (block, _, _) in &history {
            let set = replay.next_validator_set();
            let fx = validate_block(block, &replay, &chain.genesis.params, &set, SigPolicy::VerifyAll)
                .unwrap();
            replay.apply(&fx, block.header.time_ms);
        }
        let a: Vec<MasternodeEntry> = replay.masternodes().cloned().collect();
        let b: Vec<MasternodeEntry> = chain.state.masternodes().cloned().collect();
        prop_assert_eq!(a, b);
        prop_assert_eq!(replay.utxo_set_hash(), chain.state.utxo_set_hash());
    }
}

#[test]
fn oversized_transactions_and_blocks_are_rejected() {
    use crate::types::block::MAX_BLOCK_SIZE;
    use crate::types::tx::{MAX_TX_OUTPUTS, MAX_TX_SIZE};
    let chain = TestChain::devnet(4);
    let u = faucet_utxo(&chain);
    // A transaction above the size limit (2,000 inputs of 132 bytes).
    let ins: Vec<OutPoint> = (0..2_000u32)
        .map(|index| OutPoint {
            txid: u.0.txid,
            index,
        })
        .collect();
    let big = unsigned(
        &chain.faucet,
        &ins,
        vec![TxOut {
            amount: Amount(1),
            address: addr(&chain.faucet),
        }],
        TxKind::Transfer,
    );
    assert!(big.size() > MAX_TX_SIZE);
    assert_eq!(check(&chain, &big), Err(TxError::TooLarge(big.size())));

    // A block above 2 MB (checked before anything else about its transactions).
    let wide = unsigned(
        &chain.faucet,
        &[u.0],
        vec![
            TxOut {
                amount: Amount(1),
                address: addr(&chain.faucet),
            };
            MAX_TX_OUTPUTS
        ],
        TxKind::Transfer,
    );
    let mut txs = Vec::new();
    let mut size = 0;
    let mut lock = 0;
    while size <= MAX_BLOCK_SIZE {
        let mut t = wide.clone();
        t.lock_time = lock;
        lock += 1;
        size += t.size();
        txs.push(t);
    }
    let block = build(&chain, txs, vec![]);
    assert!(matches!(validate(&chain, &block), Err(BlockError::TooLarge(n)) if n > MAX_BLOCK_SIZE));
}

#[test]
fn skipping_verified_signatures_still_checks_everything_else() {
    let chain = TestChain::devnet(4);
    let u = faucet_utxo(&chain);
    let a = pay(&chain, u, &[], TxKind::Transfer, None);
    let other = SecretKey::from_seed(&[4; 32]);
    let b = pay(
        &chain,
        u,
        &[(Amount::from_time(1), addr(&other))],
        TxKind::Transfer,
        None,
    );
    let block = build(&chain, vec![a, b], vec![]);
    let all = |_: &Hash| true;
    let r = validate_block(
        &block,
        &chain.state,
        &chain.genesis.params,
        &chain.state.next_validator_set(),
        SigPolicy::SkipVerified(&all),
    );
    assert!(
        matches!(
            r,
            Err(BlockError::DoubleSpend(_))
                | Err(BlockError::Tx {
                    err: TxError::MissingInput(_),
                    ..
                })
        ),
        "{r:?}"
    );
}

#[test]
fn evidence_is_committed_by_the_merkle_root() {
    let mut chain = TestChain::devnet(4);
    chain.next_block(vec![]).unwrap();
    let block = build(&chain, vec![], vec![equivocation(&chain, 1, 1)]);
    let mut b = block.clone();
    b.evidence = vec![equivocation(&chain, 2, 1)];
    assert_eq!(validate(&chain, &b), Err(BlockError::MerkleRoot));
    let mut b = block.clone();
    b.evidence.clear();
    assert_eq!(validate(&chain, &b), Err(BlockError::MerkleRoot));
    validate(&chain, &block).unwrap();
}
