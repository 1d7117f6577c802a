//! Ledger tests: evidence.

use super::*;

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
        TxKind::MasternodeExit(Box::new(MasternodeExit {
            collateral: c,
            owner: owner.public(),
            owner_signature: Signature::default(),
        })),
        Some(&owner),
    );
    let update = pay(
        chain,
        u,
        &[],
        TxKind::MasternodeUpdate(Box::new(MasternodeUpdate {
            collateral: c,
            p2p_addr: "10.0.0.1:1".into(),
            payout: addr(&owner),
            owner: owner.public(),
            owner_signature: Signature::default(),
        })),
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
    let spend = spend_collateral(&chain, &owner, c);
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
