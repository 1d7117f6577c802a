//! What a commit writes reads back the same after a reopen: state, indexes, snapshots,
//! masternode changes.

use super::*;

#[test]
fn fresh_database_holds_the_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let chain = TestChain::devnet(4);
    let (s, state) = open_holding(dir.path(), &chain.genesis, &chain.genesis.state());
    assert_eq!(s.block(0).unwrap().unwrap(), chain.genesis.block);
    assert_eq!(s.height_of(&chain.genesis.block.hash()).unwrap(), Some(0));
    assert_eq!(s.block(1).unwrap(), None);
    drop(s);
    // Opening again does not re-initialise anything.
    open_holding(dir.path(), &chain.genesis, &state);
}

#[test]
fn reopen_gives_the_same_state_and_readable_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, blocks) = db_with_blocks(dir.path(), 12);
    let (s, state) = open_holding(dir.path(), &chain.genesis, &chain.state);
    assert_eq!(state.height, 12);
    assert_eq!(
        state.supply.0,
        chain.genesis.state().supply.0 + 12 * chain.genesis.params.block_reward.0
    );

    for (b, c, _) in &blocks {
        let h = b.header.height;
        assert_eq!(s.block(h).unwrap().as_ref(), Some(b));
        assert_eq!(s.block_bytes(h).unwrap(), Some(b.to_bytes()));
        assert_eq!(s.certificate(h).unwrap().as_ref(), Some(c));
        assert_eq!(s.height_of(&b.hash()).unwrap(), Some(h));
        for (i, tx) in b.txs.iter().enumerate() {
            let (got, loc) = s.transaction(&tx.txid()).unwrap().unwrap();
            assert_eq!(&got, tx);
            assert_eq!(
                loc,
                TxLocation {
                    height: h,
                    index: i as u32
                }
            );
        }
    }
    assert_eq!(s.block(13).unwrap(), None);
    assert_eq!(s.certificate(13).unwrap(), None);
    assert_eq!(s.transaction(&Hash([1; 32])).unwrap(), None);
    assert_eq!(s.height_of(&Hash([1; 32])).unwrap(), None);

    // The state's address index lists exactly the unspent outputs of each address.
    let mut addresses: Vec<Address> = state.utxos().map(|(_, u)| u.output.address).collect();
    addresses.sort();
    addresses.dedup();
    assert!(addresses.len() >= 6, "faucet, treasury and 4 payouts");
    for a in addresses {
        let mut want: Vec<(OutPoint, Utxo)> = state
            .utxos()
            .filter(|(_, u)| u.output.address == a)
            .map(|(o, u)| (*o, *u))
            .collect();
        want.sort_by_key(|(o, _)| *o);
        let mut got = state.utxos_of(&a);
        got.sort_by_key(|(o, _)| *o);
        assert_eq!(got, want);
    }
    // Spent outputs are gone from the index.
    let spent: Vec<OutPoint> = blocks
        .iter()
        .flat_map(|(_, _, fx)| fx.spent.iter().map(|(o, _)| *o))
        .collect();
    assert!(!spent.is_empty());
    let faucet = Address::from_pubkey(&chain.faucet.public());
    let listed: Vec<OutPoint> = state
        .utxos_of(&faucet)
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    assert!(spent.iter().all(|o| !listed.contains(o)));
}

#[test]
fn state_is_the_snapshot_plus_the_blocks_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut chain, _) = db_with_blocks(dir.path(), 4);
    let (s, state) = Storage::open(dir.path(), &chain.genesis).unwrap();
    s.write_snapshot(&state).unwrap();
    let at_snapshot = state.clone();
    commit_blocks(&mut chain, &s, 3, 4);
    drop(s);
    // Snapshot at 4, blocks 5..=7 replayed.
    let (s, _) = open_holding(dir.path(), &chain.genesis, &chain.state);
    // A snapshot committed together with a block, as the node's writer does.
    let txs: Vec<Transaction> = (0..3).filter_map(|_| chain.transfer(2)).collect();
    let before = chain.state.clone();
    let (b, c, fx) = chain.next_block(txs).unwrap();
    s.commit_blocks(&[BlockCommit::on(&b, &c, &fx, &before)], Some(&chain.state))
        .unwrap();
    drop(s);
    let (s, _) = open_holding(dir.path(), &chain.genesis, &chain.state);
    // A snapshot above the stored tip is inconsistent.
    let mut ahead = chain.state.clone();
    ahead.height += 1;
    s.write_snapshot(&ahead).unwrap();
    drop(s);
    let e = open_err(dir.path(), &chain.genesis);
    assert!(e.to_string().contains("above the tip"), "{e}");
    // Reindex recovers, and the old snapshot's shape does not matter.
    let (_, state) = Storage::reindex(dir.path(), &chain.genesis).unwrap();
    same_state(&state, &chain.state);
    assert!(at_snapshot.height < state.height);
}

#[test]
fn a_smaller_snapshot_removes_the_stale_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, _) = db_with_blocks(dir.path(), 1);
    let (s, state) = Storage::open(dir.path(), &chain.genesis).unwrap();
    // A big state (3,500 UTXOs, 4 chunks), then the real one (1 chunk).
    let mut big = state.clone();
    let extra: Vec<(OutPoint, Utxo)> = (0..3_500u32)
        .map(|i| {
            let (_, u) = state.utxos().next().map(|(o, u)| (*o, *u)).unwrap();
            (
                OutPoint {
                    txid: Hash([9; 32]),
                    index: i,
                },
                u,
            )
        })
        .collect();
    big.apply(
        &BlockEffects {
            height: state.height,
            block_hash: state.tip_hash,
            created: extra,
            validators: state.tip_validators.clone(),
            ..Default::default()
        },
        state.tip_time_ms,
    );
    s.write_snapshot(&big).unwrap();
    assert_eq!(s.snapshot_chunks().unwrap(), 4);
    s.write_snapshot(&state).unwrap();
    assert_eq!(s.snapshot_chunks().unwrap(), 1);
    let chunks = s.chain.scan_prefix([Table::Snapshot as u8]).count();
    assert_eq!(chunks, 1);
    drop(s);
    open_holding(dir.path(), &chain.genesis, &chain.state);
}

#[test]
fn committing_continues_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (mut chain, _) = db_with_blocks(dir.path(), 3);
    let (s, _) = open_holding(dir.path(), &chain.genesis, &chain.state);
    commit_blocks(&mut chain, &s, 3, 2);
    drop(s);
    let (_, state) = open_holding(dir.path(), &chain.genesis, &chain.state);
    assert_eq!(state.height, 6);
}

#[test]
fn commit_reports_the_flush_and_persists_masternode_changes() {
    use crate::ledger::genesis::{devnet_node_key, devnet_owner_key};
    use crate::types::{Signature, TxIn, TxKind, TxOut};
    let dir = tempfile::tempdir().unwrap();
    let mut chain = TestChain::devnet(4);
    let (s, _) = Storage::open(dir.path(), &chain.genesis).unwrap();
    // Node 3's owner spends its collateral: the masternode goes away.
    let owner = devnet_owner_key(3);
    let m = chain
        .state
        .masternode_by_key(&devnet_node_key(3).public())
        .unwrap()
        .clone();
    let mut tx = Transaction {
        version: crate::types::tx::TX_VERSION,
        inputs: vec![TxIn {
            prev: m.collateral,
            pubkey: owner.public(),
            signature: Signature::default(),
        }],
        outputs: vec![TxOut {
            amount: Amount(m.tier.collateral().0 - 10_000),
            address: Address::from_pubkey(&owner.public()),
        }],
        lock_time: 0,
        kind: TxKind::Transfer,
    };
    tx.sign_inputs(&chain.genesis.params.chain_id, &[&owner], None);
    let before = chain.state.clone();
    let (b, c, fx) = chain.next_block(vec![tx]).unwrap();
    assert_eq!(fx.masternodes_removed, vec![m.collateral]);
    s.commit_block(&b, &c, &fx, &before).unwrap();
    // What is on disk the moment commit returns, with the database still open (nothing has
    // closed it, so only the commit's own flush can have written the block): a copy of the files
    // opens with the block and its effects.
    let copy = tempfile::tempdir().unwrap();
    crate::test_utils::copy_dir(
        &dir.path().join("chain.sled"),
        &copy.path().join("chain.sled"),
    )
    .unwrap();
    let (_, state) = open_holding(copy.path(), &chain.genesis, &chain.state);
    assert!(state.masternode(&m.collateral).is_none());
    assert_eq!(state.next_validator_set().len(), 3);
    drop(s);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8,
        .. ProptestConfig::default()
    })]

    /// Apply-then-reload: random blocks committed, the database reopened, the same UTXO set hash.
    #[test]
    fn apply_then_reload_gives_the_same_utxo_set_hash(
        plan in proptest::collection::vec(proptest::collection::vec(1usize..4, 0..4), 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut chain = TestChain::devnet(3);
        let (s, _) = Storage::open(dir.path(), &chain.genesis).unwrap();
        for outs in &plan {
            let txs: Vec<Transaction> = outs.iter().filter_map(|n| chain.transfer(*n)).collect();
            let before = chain.state.clone();
            let (b, c, fx) = chain.next_block(txs).unwrap();
            s.commit_block(&b, &c, &fx, &before).unwrap();
        }
        drop(s);
        let (_, state) = Storage::open(dir.path(), &chain.genesis).unwrap();
        prop_assert_eq!(state.utxo_set_hash(), chain.state.utxo_set_hash());
        prop_assert_eq!(state.supply, chain.state.supply);
        prop_assert_eq!(state.height, plan.len() as u64);
    }
}
