//! Ledger tests: masternodes.

use super::*;

fn mn_err(r: Result<TxCheck, TxError>) -> String {
    match r {
        Err(TxError::Masternode(m)) => m,
        other => panic!("expected a masternode error, got {other:?}"),
    }
}

/// A devnet chain on which `owner` holds one output of exactly the Bronze collateral, for the
/// key `node`: (chain, owner, node, collateral).
fn bronze_candidate() -> (TestChain, SecretKey, SecretKey, OutPoint) {
    let mut chain = TestChain::devnet(4);
    let owner = SecretKey::from_seed(&[21; 32]);
    let node = SecretKey::from_seed(&[22; 32]);
    let c = fund(&mut chain, &owner, Tier::Bronze.collateral());
    (chain, owner, node, c)
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
    let faucet = SecretKey::from_seed(&crate::ledger::testkit::TEST_FAUCET_SEED);

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
    let (mut chain, owner, node, c) = bronze_candidate();

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
    let spend = spend_collateral(&chain, &owner, c);
    let tx = register_tx(&chain, c, Tier::Bronze, &node, &owner);
    check(&chain, &tx).unwrap();
    chain.next_block(vec![spend]).unwrap();
    let tx = register_tx(&chain, c, Tier::Bronze, &node, &owner);
    assert!(mn_err(check(&chain, &tx)).contains("missing or spent"));
}

#[test]
fn registration_spending_its_own_collateral_is_rejected() {
    let (chain, owner, node, c) = bronze_candidate();
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
    let (chain, owner, node, c) = bronze_candidate();
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
    let (mut chain, owner, node, c) = bronze_candidate();
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
    let spend = spend_collateral(&chain, &owner, c);
    let (_, _, fx) = chain.next_block(vec![spend]).unwrap();
    assert_eq!(fx.masternodes_removed, vec![c]);
    assert!(chain.state.masternode(&c).is_none());
    assert!(chain.state.masternode_by_key(&node.public()).is_none());
    assert!(!in_set(&chain.state, chain.state.height + 1));
    assert_eq!(chain.state.next_validator_set().total_weight(), 4);
}

#[test]
fn registration_and_collateral_spend_in_one_block_leave_no_masternode() {
    let (mut chain, owner, node, c) = bronze_candidate();
    let reg = register_tx(&chain, c, Tier::Bronze, &node, &owner);
    let spend = spend_collateral(&chain, &owner, c);
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
    let spend = spend_collateral(&chain, &owner3, m.collateral);
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
    let (mut chain, owner, node, c) = bronze_candidate();
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
            TxKind::MasternodeExit(Box::new(MasternodeExit {
                collateral,
                owner: owner_key.public(),
                owner_signature: Signature::default(),
            })),
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
        TxKind::MasternodeUpdate(Box::new(MasternodeUpdate {
            collateral: c,
            p2p_addr: "10.0.0.1:1".into(),
            payout: new_payout,
            owner: owner.public(),
            owner_signature: Signature::default(),
        })),
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
