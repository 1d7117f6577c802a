//! A database of another chain, of an unknown schema or in use by another process is refused
//! with a clear error and left untouched.

use super::*;

#[test]
fn database_of_another_chain_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, _) = db_with_blocks(dir.path(), 4);
    let before = dump(dir.path());

    // Another devnet (other node count), and testnet and mainnet.
    let other_devnet = TestChain::devnet(5).genesis;
    let mut others = vec![other_devnet];
    for net in [Network::Testnet, Network::Mainnet] {
        others.push(Genesis::for_network(net).unwrap().unwrap());
    }
    for g in &others {
        let e = open_err(dir.path(), g);
        match &e {
            StorageError::WrongChain {
                found, expected, ..
            } => {
                assert_eq!(*found, chain.genesis.params.chain_id.to_hex());
                assert_eq!(*expected, g.params.chain_id.to_hex());
            }
            other => panic!("expected WrongChain, got {other}"),
        }
        assert!(e.to_string().contains("another chain"), "{e}");
        // sled may rewrite its files on open; the content must be exactly the same.
        assert!(
            dump(dir.path()) == before,
            "database content changed by a refused open"
        );
    }

    // `--reindex` with the wrong genesis must not wipe the database either.
    for g in &others {
        match Storage::reindex(dir.path(), g) {
            Err(StorageError::WrongChain { .. }) => {}
            Err(e) => panic!("expected WrongChain from reindex, got {e}"),
            Ok(_) => panic!("reindex accepted a database of another chain"),
        }
        assert!(
            dump(dir.path()) == before,
            "database content changed by a refused reindex"
        );
    }

    let (s, _) = open_holding(dir.path(), &chain.genesis, &chain.state);
    assert_eq!(s.block(0).unwrap().unwrap(), chain.genesis.block);
}

#[test]
fn unknown_schema_is_refused_with_a_reindex_hint() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, _) = db_with_blocks(dir.path(), 2);
    {
        let (s, _) = Storage::open(dir.path(), &chain.genesis).unwrap();
        s.chain
            .insert(keys::key(Table::Meta, META_SCHEMA), 99u32.to_bytes())
            .unwrap();
        // A table of an older schema (2 kept UTXOs by address under 'A').
        s.chain.insert(b"Aold-utxo", &b"x"[..]).unwrap();
        s.flush().unwrap();
    }
    let e = open_err(dir.path(), &chain.genesis);
    assert!(
        matches!(
            e,
            StorageError::Schema {
                found: 99,
                expected: SCHEMA_VERSION,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("--reindex"), "{e}");
    // Reindex is the way out, and drops the old schema's tables.
    let (s, state) = Storage::reindex(dir.path(), &chain.genesis).unwrap();
    same_state(&state, &chain.state);
    assert_eq!(s.chain.get(b"Aold-utxo").unwrap(), None);
}

#[test]
fn second_open_of_a_database_in_use_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let chain = TestChain::devnet(4);
    let (_s, _) = Storage::open(dir.path(), &chain.genesis).unwrap();
    let e = open_err(dir.path(), &chain.genesis);
    assert!(matches!(e, StorageError::Sled { .. }), "{e}");
    assert!(e.to_string().contains("another timed"), "{e}");
}
