//! `--reindex` rebuilds the same state, repairs the indexes, initialises a database without
//! a schema, and stops at the first missing or invalid block.

use super::*;

#[test]
fn reindex_rebuilds_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, blocks) = db_with_blocks(dir.path(), 8);
    let (s, state) = Storage::reindex(dir.path(), &chain.genesis).unwrap();
    same_state(&state, &chain.state);
    let faucet = Address::from_pubkey(&chain.faucet.public());
    assert_eq!(
        state.utxos_of(&faucet).len(),
        state
            .utxos()
            .filter(|(_, u)| u.output.address == faucet)
            .count()
    );
    let last = &blocks.last().unwrap().0;
    assert_eq!(s.height_of(&last.hash()).unwrap(), Some(8));
    drop(s);
    open_holding(dir.path(), &chain.genesis, &chain.state);
}

#[test]
fn reindex_repairs_damaged_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, _) = db_with_blocks(dir.path(), 6);
    {
        let (s, _) = Storage::open(dir.path(), &chain.genesis).unwrap();
        // Lose the state snapshot's UTXOs.
        s.chain.remove(state_snapshot::chunk_key(0)).unwrap();
        s.flush().unwrap();
    }
    let e = open_err(dir.path(), &chain.genesis);
    assert!(matches!(e, StorageError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("--reindex"), "{e}");

    let (s, state) = Storage::reindex(dir.path(), &chain.genesis).unwrap();
    same_state(&state, &chain.state);
    let faucet = Address::from_pubkey(&chain.faucet.public());
    assert!(!state.utxos_of(&faucet).is_empty());
    drop(s);
    open_holding(dir.path(), &chain.genesis, &chain.state);
}

#[test]
fn existing_database_without_a_schema_is_refused_and_reindex_initialises_it() {
    // What a crash during the very first initialisation (or a wiped log) leaves behind.
    let dir = tempfile::tempdir().unwrap();
    let chain = TestChain::devnet(4);
    {
        let s = Storage::open_raw(dir.path()).unwrap();
        s.flush().unwrap();
    }
    let e = open_err(dir.path(), &chain.genesis);
    assert!(matches!(e, StorageError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("--reindex"), "{e}");
    let (s, state) = Storage::reindex(dir.path(), &chain.genesis).unwrap();
    same_state(&state, &chain.genesis.state());
    assert_eq!(s.block(0).unwrap().unwrap(), chain.genesis.block);
    drop(s);
    open_holding(dir.path(), &chain.genesis, &chain.genesis.state());
}

#[test]
fn reindex_stops_at_a_missing_or_invalid_block_with_a_consistent_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, blocks) = db_with_blocks(dir.path(), 6);
    {
        let (s, _) = Storage::open(dir.path(), &chain.genesis).unwrap();
        // Block 4 replaced by a tampered copy (its certificate no longer matches).
        let mut b = blocks[3].0.clone();
        b.header.time_ms += 1;
        s.chain
            .insert(keys::key(Table::Block, &4u64.to_be_bytes()), b.to_bytes())
            .unwrap();
        s.flush().unwrap();
    }
    let (s, state) = Storage::reindex(dir.path(), &chain.genesis).unwrap();
    assert_eq!(state.height, 3);
    assert_eq!(state.tip_hash, blocks[2].0.hash());
    let mut replay = chain.genesis.state();
    for (b, _, fx) in &blocks[..3] {
        replay.apply(fx, b.header.time_ms);
    }
    same_state(&state, &replay);
    // The tampered block's transactions are not indexed.
    for tx in &blocks[3].0.txs {
        assert_eq!(s.tx_location(&tx.txid()).unwrap(), None);
    }
    drop(s);
    open_holding(dir.path(), &chain.genesis, &replay);
}
