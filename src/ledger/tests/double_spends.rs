//! Ledger tests: double spends.

use super::*;

#[test]
fn double_spend_within_a_block_is_rejected() {
    let chain = TestChain::devnet(4);
    let u = faucet_utxo(&chain);
    let a = pay(&chain, u, &[], TxKind::Transfer, None);
    let b = second_spend(&chain, u);
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
    let b = second_spend(&chain, u);
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
