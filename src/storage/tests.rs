//! Storage tests: reopen gives the same state, indexes are readable, reindex rebuilds the same
//! state, a database of another chain or a damaged one is refused with a clear error.

use super::keys::{
    self, Table, META_SCHEMA, META_SNAPSHOT, META_SUPPLY, META_TIP, META_UTXO_COUNT,
};
use super::*;
use crate::ledger::testkit::TestChain;
use crate::ledger::Utxo;
use crate::types::{Address, Network, OutPoint, Transaction};
use proptest::prelude::*;
use std::collections::BTreeMap;

type Committed = Vec<(Block, CommitCertificate, BlockEffects)>;

/// Commits `n` blocks of the test chain (with `transfers` transfers of 2 outputs each) to `s`.
fn commit_blocks(chain: &mut TestChain, s: &Storage, n: usize, transfers: usize) -> Committed {
    let mut out = Vec::new();
    for _ in 0..n {
        let txs: Vec<Transaction> = (0..transfers).filter_map(|_| chain.transfer(2)).collect();
        let before = chain.state.clone();
        let (b, c, fx) = chain.next_block(txs).unwrap();
        s.commit_block(&b, &c, &fx, &before).unwrap();
        out.push((b, c, fx));
    }
    out
}

fn same_state(a: &LedgerState, b: &LedgerState) {
    assert_eq!(a.height, b.height);
    assert_eq!(a.tip_hash, b.tip_hash);
    assert_eq!(a.tip_time_ms, b.tip_time_ms);
    assert_eq!(a.tip_validators, b.tip_validators);
    assert_eq!(a.supply, b.supply);
    assert_eq!(a.utxo_count(), b.utxo_count());
    assert_eq!(a.utxo_set_hash(), b.utxo_set_hash());
    let ma: Vec<_> = a.masternodes().cloned().collect();
    let mb: Vec<_> = b.masternodes().cloned().collect();
    assert_eq!(ma, mb);
}

/// Every key and value of every tree of the database in `dir` (opened raw, no checks).
fn dump(dir: &Path) -> BTreeMap<(Vec<u8>, Vec<u8>), Vec<u8>> {
    let s = Storage::open_raw(dir).unwrap();
    let mut out = BTreeMap::new();
    for name in s.db.tree_names() {
        let t = s.db.open_tree(&name).unwrap();
        for kv in t.iter() {
            let (k, v) = kv.unwrap();
            out.insert((name.to_vec(), k.to_vec()), v.to_vec());
        }
    }
    out
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn open_err(dir: &Path, g: &Genesis) -> StorageError {
    match Storage::open(dir, g) {
        Ok(_) => panic!("open succeeded on a bad database"),
        Err(e) => e,
    }
}

/// A database with `n` committed blocks; returns the chain (at the tip) and the blocks.
fn db_with_blocks(dir: &Path, n: usize) -> (TestChain, Committed) {
    let mut chain = TestChain::devnet(4);
    let (s, state) = Storage::open(dir, &chain.genesis).unwrap();
    same_state(&state, &chain.state);
    let blocks = commit_blocks(&mut chain, &s, n, 3);
    (chain, blocks)
}

#[test]
fn fresh_database_holds_the_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let chain = TestChain::devnet(4);
    let (s, state) = Storage::open(dir.path(), &chain.genesis).unwrap();
    same_state(&state, &chain.genesis.state());
    assert_eq!(s.block(0).unwrap().unwrap(), chain.genesis.block);
    assert_eq!(s.height_of(&chain.genesis.block.hash()).unwrap(), Some(0));
    assert_eq!(s.block(1).unwrap(), None);
    drop(s);
    // Opening again does not re-initialise anything.
    let (_, again) = Storage::open(dir.path(), &chain.genesis).unwrap();
    same_state(&again, &state);
}

#[test]
fn reopen_gives_the_same_state_and_readable_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, blocks) = db_with_blocks(dir.path(), 12);
    let (s, state) = Storage::open(dir.path(), &chain.genesis).unwrap();
    same_state(&state, &chain.state);
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
    let (s, state) = Storage::open(dir.path(), &chain.genesis).unwrap();
    same_state(&state, &chain.state);
    // A snapshot committed together with a block, as the node's writer does.
    let txs: Vec<Transaction> = (0..3).filter_map(|_| chain.transfer(2)).collect();
    let before = chain.state.clone();
    let (b, c, fx) = chain.next_block(txs).unwrap();
    s.commit_blocks(&[BlockCommit::on(&b, &c, &fx, &before)], Some(&chain.state))
        .unwrap();
    drop(s);
    let (s, state) = Storage::open(dir.path(), &chain.genesis).unwrap();
    same_state(&state, &chain.state);
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
    let (_, reopened) = Storage::open(dir.path(), &chain.genesis).unwrap();
    same_state(&reopened, &chain.state);
}

#[test]
fn committing_continues_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (mut chain, _) = db_with_blocks(dir.path(), 3);
    let (s, state) = Storage::open(dir.path(), &chain.genesis).unwrap();
    same_state(&state, &chain.state);
    commit_blocks(&mut chain, &s, 3, 2);
    drop(s);
    let (_, state) = Storage::open(dir.path(), &chain.genesis).unwrap();
    same_state(&state, &chain.state);
    assert_eq!(state.height, 6);
}

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
    let (_, reopened) = Storage::open(dir.path(), &chain.genesis).unwrap();
    same_state(&reopened, &chain.state);
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
    let (_, state) = Storage::open(dir.path(), &chain.genesis).unwrap();
    same_state(&state, &chain.state);
}

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

    let (s, state) = Storage::open(dir.path(), &chain.genesis).unwrap();
    same_state(&state, &chain.state);
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

/// Applies `damage` to the chain tree of a database with 5 blocks, then expects `Corrupt`.
fn expect_corrupt(damage: impl FnOnce(&sled::Tree, &Committed)) -> (tempfile::TempDir, TestChain) {
    let dir = tempfile::tempdir().unwrap();
    let (chain, blocks) = db_with_blocks(dir.path(), 5);
    {
        let (s, _) = Storage::open(dir.path(), &chain.genesis).unwrap();
        damage(&s.chain, &blocks);
        s.flush().unwrap();
    }
    let r = std::panic::catch_unwind(|| Storage::open(dir.path(), &chain.genesis).map(|_| ()));
    match r {
        Ok(Err(e @ StorageError::Corrupt { .. })) => {
            let msg = e.to_string();
            assert!(msg.contains("timed --reindex"), "{msg}");
            assert!(msg.contains("chain.sled"), "{msg}");
        }
        Ok(Err(e)) => panic!("expected Corrupt, got {e}"),
        Ok(Ok(())) => panic!("a damaged database opened"),
        Err(_) => panic!("open panicked on a damaged database"),
    }
    (dir, chain)
}

#[test]
fn missing_tip_block_is_reported_and_reindex_recovers_the_prefix() {
    let (dir, chain) = expect_corrupt(|t, _| {
        t.remove(keys::key(Table::Block, &5u64.to_be_bytes()))
            .unwrap();
    });
    // Reindex rebuilds from the blocks that remain: heights 1..=4.
    let (_, state) = Storage::reindex(dir.path(), &chain.genesis).unwrap();
    assert_eq!(state.height, 4);
    assert_eq!(
        state.supply.0,
        chain.genesis.state().supply.0 + 4 * chain.genesis.params.block_reward.0
    );
    let total: u64 = state.utxos().map(|(_, u)| u.output.amount.0).sum();
    assert_eq!(total, state.supply.0);
}

#[test]
fn tip_block_that_does_not_match_is_reported() {
    expect_corrupt(|t, blocks| {
        // Block 4 stored where block 5 should be.
        t.insert(
            keys::key(Table::Block, &5u64.to_be_bytes()),
            blocks[3].0.to_bytes(),
        )
        .unwrap();
    });
}

#[test]
fn undecodable_tip_block_is_reported() {
    expect_corrupt(|t, _| {
        t.insert(
            keys::key(Table::Block, &5u64.to_be_bytes()),
            &[1u8, 2, 3][..],
        )
        .unwrap();
    });
}

fn cert_key(h: u64) -> Vec<u8> {
    keys::key(Table::Cert, &h.to_be_bytes())
}

#[test]
fn missing_tip_certificate_is_reported_and_reindex_recovers_the_prefix() {
    let (dir, chain) = expect_corrupt(|t, _| {
        t.remove(cert_key(5)).unwrap();
    });
    let (s, state) = Storage::reindex(dir.path(), &chain.genesis).unwrap();
    assert_eq!(state.height, 4);
    assert!(s.certificate(4).unwrap().is_some());
}

#[test]
fn tip_certificate_of_another_block_is_reported() {
    expect_corrupt(|t, blocks| {
        t.insert(cert_key(5), blocks[3].1.to_bytes()).unwrap();
    });
}

#[test]
fn replayed_block_with_a_bad_certificate_is_reported() {
    // The snapshot is the genesis: blocks 1..=5 are replayed at open, block 3's is checked too.
    let (dir, chain) = expect_corrupt(|t, blocks| {
        let mut forged = blocks[2].1.clone();
        forged.sigs.truncate(2);
        t.insert(cert_key(3), forged.to_bytes()).unwrap();
    });
    // Reindex verifies every certificate and keeps the blocks before the bad one.
    let (_, state) = Storage::reindex(dir.path(), &chain.genesis).unwrap();
    assert_eq!(state.height, 2);
}

#[test]
fn tip_certificate_is_checked_when_the_snapshot_is_at_the_tip() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, _) = db_with_blocks(dir.path(), 3);
    {
        let (s, state) = Storage::open(dir.path(), &chain.genesis).unwrap();
        s.write_snapshot(&state).unwrap();
        let mut forged = s.certificate(3).unwrap().unwrap();
        forged.round += 1;
        s.chain.insert(cert_key(3), forged.to_bytes()).unwrap();
        s.flush().unwrap();
    }
    let e = open_err(dir.path(), &chain.genesis);
    assert!(matches!(e, StorageError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("certificate"), "{e}");
    assert!(e.to_string().contains("--reindex"), "{e}");
}

#[test]
fn utxo_counter_mismatch_is_reported() {
    expect_corrupt(|t, _| {
        t.insert(keys::key(Table::Meta, META_UTXO_COUNT), 1u64.to_bytes())
            .unwrap();
    });
}

#[test]
fn garbage_meta_and_entries_are_reported() {
    expect_corrupt(|t, _| {
        t.insert(keys::key(Table::Meta, META_TIP), &b"garbage"[..])
            .unwrap();
    });
    expect_corrupt(|t, _| {
        t.remove(keys::key(Table::Meta, META_TIP)).unwrap();
    });
    expect_corrupt(|t, _| {
        t.insert(keys::key(Table::Meta, META_SUPPLY), &b"x"[..])
            .unwrap();
    });
    expect_corrupt(|t, _| {
        t.insert(state_snapshot::chunk_key(0), &b"bad"[..]).unwrap();
    });
    expect_corrupt(|t, _| {
        t.insert(keys::key(Table::Meta, META_SNAPSHOT), &b"bad"[..])
            .unwrap();
    });
    expect_corrupt(|t, _| {
        t.remove(keys::key(Table::Meta, META_SNAPSHOT)).unwrap();
    });
    expect_corrupt(|t, _| {
        t.remove(keys::key(Table::Meta, b"chain_id")).unwrap();
    });
}

/// Overwrites the sled files of a closed database in various ways; opening must fail with an
/// error naming `--reindex` or yield a consistent state, and never panic. (sled treats a damaged
/// log tail as a torn write and recovers the prefix before it: a consistent, older state.)
#[test]
fn damaged_sled_files_give_an_error_not_a_panic() {
    type Damage = fn(&Path);
    fn files(dir: &Path) -> Vec<PathBuf> {
        snapshot(&dir.join("chain.sled")).into_keys().collect()
    }
    fn garbage(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ 0xa5)
            .collect()
    }
    let damages: Vec<(&str, Damage)> = vec![
        ("every file overwritten with garbage", |d| {
            for f in files(d) {
                let len = std::fs::metadata(&f).unwrap().len() as usize;
                std::fs::write(&f, garbage(len.max(64), 7)).unwrap();
            }
        }),
        ("conf overwritten", |d| {
            std::fs::write(d.join("chain.sled").join("conf"), garbage(100, 3)).unwrap();
        }),
        ("db overwritten", |d| {
            let p = d.join("chain.sled").join("db");
            let len = std::fs::metadata(&p).unwrap().len() as usize;
            std::fs::write(&p, garbage(len, 9)).unwrap();
        }),
        ("db truncated to zero", |d| {
            std::fs::write(d.join("chain.sled").join("db"), b"").unwrap();
        }),
        ("db truncated to half", |d| {
            let p = d.join("chain.sled").join("db");
            let b = std::fs::read(&p).unwrap();
            std::fs::write(&p, &b[..b.len() / 2]).unwrap();
        }),
        ("db middle bytes flipped", |d| {
            let p = d.join("chain.sled").join("db");
            let mut b = std::fs::read(&p).unwrap();
            let n = b.len();
            for x in &mut b[n / 3..n / 3 + 4096.min(n / 3)] {
                *x ^= 0xff;
            }
            std::fs::write(&p, b).unwrap();
        }),
        ("snapshots overwritten", |d| {
            for f in files(d) {
                if f.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("snap."))
                {
                    std::fs::write(&f, garbage(200, 1)).unwrap();
                }
            }
        }),
    ];
    for (what, damage) in damages {
        let dir = tempfile::tempdir().unwrap();
        let (chain, _) = db_with_blocks(dir.path(), 5);
        damage(dir.path());
        let r = std::panic::catch_unwind(|| Storage::open(dir.path(), &chain.genesis));
        match r {
            Err(_) => panic!("{what}: open panicked"),
            Ok(Err(e)) => {
                let msg = e.to_string();
                assert!(
                    matches!(e, StorageError::Corrupt { .. } | StorageError::Sled { .. }),
                    "{what}: {msg}"
                );
                assert!(msg.contains("--reindex"), "{what}: {msg}");
                eprintln!("{what}: refused: {msg}");
            }
            Ok(Ok((s, state))) => {
                assert!(
                    ![
                        "every file overwritten with garbage",
                        "conf overwritten",
                        "db overwritten",
                        "db truncated to zero"
                    ]
                    .contains(&what),
                    "{what}: a destroyed database opened"
                );
                // sled recovered a prefix of its log: whatever it kept must be consistent
                // (the consistency check passed) and equal to a replay of the stored blocks.
                let mut replay = chain.genesis.state();
                for h in 1..=state.height {
                    let b = s.block(h).unwrap().unwrap();
                    assert!(s.certificate(h).unwrap().is_some());
                    let fx = crate::ledger::validate_block(
                        &b,
                        &replay,
                        &chain.genesis.params,
                        &replay.next_validator_set(),
                        SigPolicy::VerifyAll,
                    )
                    .unwrap();
                    replay.apply(&fx, b.header.time_ms);
                }
                same_state(&replay, &state);
                eprintln!(
                    "{what}: recovered a consistent state at height {}",
                    state.height
                );
            }
        }
    }
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
    copy_dir(
        &dir.path().join("chain.sled"),
        &copy.path().join("chain.sled"),
    );
    let (_, state) = Storage::open(copy.path(), &chain.genesis).unwrap();
    same_state(&state, &chain.state);
    assert!(state.masternode(&m.collateral).is_none());
    assert_eq!(state.next_validator_set().len(), 3);
    drop(s);
}

/// Copies a directory tree (a sled database's files).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
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
    let (_, state) = Storage::open(dir.path(), &chain.genesis).unwrap();
    same_state(&state, &chain.genesis.state());
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
    let (_, reopened) = Storage::open(dir.path(), &chain.genesis).unwrap();
    same_state(&reopened, &replay);
}
