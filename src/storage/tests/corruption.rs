//! A damaged database (missing or mismatched tip block or certificate, bad counters, garbage
//! entries, damaged sled files) gives `Corrupt` with a reindex hint, never a panic.

use super::*;

/// Applies `damage` to the chain tree of a database with 5 blocks, then expects `Corrupt`.
fn expect_corrupt(damage: impl FnOnce(&kv::Tree, &Committed)) -> (tempfile::TempDir, TestChain) {
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
