//! Ledger tests: property tests of the invariants under random block sequences.

use super::*;

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
        let mut changed: crate::types::id_map::IdMap<OutPoint, Utxo> = entries.iter().copied().collect();
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
        let faucet = SecretKey::from_seed(&crate::ledger::testkit::TEST_FAUCET_SEED);
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
                            TxKind::MasternodeExit(Box::new(MasternodeExit {
                                collateral: m.collateral,
                                owner: faucet.public(),
                                owner_signature: Signature::default(),
                            })),
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
    let b = second_spend(&chain, u);
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
