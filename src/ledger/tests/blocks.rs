//! Ledger tests: blocks: header and coinbase.

use super::*;

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

#[test]
fn outputs_created_and_spent_within_a_block_are_in_neither_list_of_its_effects() {
    let mut chain = TestChain::devnet(4);
    chain.next_block(vec![]).unwrap();
    let first = chain.transfer(2).unwrap();
    let fee = Transaction::transfer_size(1, 1) as u64 * chain.genesis.params.min_fee_rate;
    let outputs_of = |tx: &Transaction| -> Vec<(OutPoint, Amount)> {
        let id = tx.txid();
        tx.outputs_at(id).map(|(o, out)| (o, out.amount)).collect()
    };
    let a = outputs_of(&first);
    let second = chain.transfer_from(&a[..1], 1, fee);
    let b = outputs_of(&second);
    let third = chain.transfer_from(&b, 1, fee);
    let c = outputs_of(&third);
    let spent_from_state = first.inputs[0].prev;
    let block = build(&chain, vec![first, second, third], vec![]);
    let fx = validate(&chain, &block).unwrap();

    let spent: Vec<OutPoint> = fx.spent.iter().map(|(o, _)| *o).collect();
    assert_eq!(spent, vec![spent_from_state]);
    // The chain's intermediate outputs (a[0], b[0]) are gone; what is left keeps block order,
    // the coinbase's outputs last.
    let created: Vec<OutPoint> = fx.created.iter().map(|(o, _)| *o).collect();
    let coinbase = block.txs[0].txid();
    assert_eq!(created[..2], [a[1].0, c[0].0]);
    assert!(created[2..].iter().all(|o| o.txid == coinbase));
    assert!(!created.contains(&a[0].0) && !created.contains(&b[0].0));
}
