//! Ledger tests: transactions.

use super::*;

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
    use crate::ledger::validate::verify_tx_signatures;
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
