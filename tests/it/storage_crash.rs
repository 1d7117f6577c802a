//! Crash test: a child process commits blocks in a loop and prints each height only after
//! `commit_block` returned; the parent kills it with SIGKILL at random moments and checks on
//! reopen that every printed height is present, that no block is half-applied (the consistency
//! check at open passes: tip block present, UTXO counter matches the UTXOs) and that the UTXO
//! set equals a replay from genesis of the stored blocks. The child also writes state snapshots
//! (with a block and on their own), so kills land in those too. The chain continues across kills.
//!
//! A second pair does the same to the consensus signer: a child signs votes in a loop through
//! `SignerStore::authorize_and_persist` and prints each one after the call returned (as the
//! node sends it only then); after each SIGKILL the reopened signer state must cover every
//! printed vote, and the vote of the slot it names must be in the WAL (state and message are
//! never apart on disk, so a restarted node never forgets a lock a peer holds a vote for).
//!
//! The children are this test binary re-invoked with `--exact storage_crash::<child> --ignored`.
//! `TIMECOIN_CRASH_ITERS` sets the number of kills (default 50), `TIMECOIN_CRASH_SEED` the seed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::rerun::{only, test_name};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use timecoin::consensus::{DoubleSignGuard, SignStep};
use timecoin::ledger::testkit::TestChain;
use timecoin::ledger::{validate_block, LedgerState, SigPolicy};
use timecoin::node::signer_store::SignerStore;
use timecoin::p2p::Message;
use timecoin::storage::{BlockCommit, Storage};
use timecoin::test_utils::copy_dir;
use timecoin::types::tx::TX_VERSION;
use timecoin::types::{
    Address, Amount, Domain, Hash, OutPoint, SecretKey, Signature, Transaction, TxIn, TxKind,
    TxOut, Vote, VoteKind,
};

/// Environment variable giving the child its data directory.
const DIR_ENV: &str = "TIMECOIN_CRASH_CHILD_DIR";
/// Prefix of the child's progress lines.
const COMMITTED: &str = "COMMITTED ";
/// Prefix of the signer child's progress lines: `SIGNED <height> <round> <precommit 0/1>`.
const SIGNED: &str = "SIGNED ";

fn devnet() -> TestChain {
    TestChain::devnet(4)
}

/// Faucet transfers for the next block, built from the state alone (so a child can continue
/// any chain it finds on disk): `n` transactions, alternately 2 inputs -> 2 outputs and
/// 1 input -> 1 output, fee 1 unit per byte plus a little.
fn transfers(chain: &TestChain, n: usize) -> Vec<Transaction> {
    let faucet = &chain.faucet;
    let addr = Address::from_pubkey(&faucet.public());
    let mut utxos: Vec<(OutPoint, Amount)> = chain
        .state
        .utxos()
        .filter(|(_, u)| u.output.address == addr)
        .map(|(o, u)| (*o, u.output.amount))
        .collect();
    utxos.sort();
    let mut utxos = utxos.into_iter();
    let mut txs = Vec::new();
    for i in 0..n {
        let ins: Vec<(OutPoint, Amount)> = utxos.by_ref().take(1 + (i % 2)).collect();
        if ins.is_empty() {
            break;
        }
        let total: u64 = ins.iter().map(|(_, a)| a.0).sum();
        let outs = ins.len();
        let mut tx = Transaction {
            version: TX_VERSION,
            inputs: ins
                .iter()
                .map(|(o, _)| TxIn {
                    prev: *o,
                    pubkey: faucet.public(),
                    signature: Signature::default(),
                })
                .collect(),
            outputs: vec![
                TxOut {
                    amount: Amount(1),
                    address: addr,
                };
                outs
            ],
            lock_time: 0,
            kind: TxKind::Transfer,
        };
        let fee = tx.size() as u64 + 100;
        let each = (total - fee) / outs as u64;
        for o in &mut tx.outputs {
            o.amount = Amount(each);
        }
        tx.sign_inputs(&chain.genesis.params.chain_id, &[faucet], None);
        txs.push(tx);
    }
    txs
}

/// The child: reopen the database, continue the chain from its tip, print each height after
/// its commit returned. Runs until killed.
#[test]
#[ignore = "child process of storage_survives_sigkill; runs only when that test invokes it"]
fn crash_child() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let mut chain = devnet();
    let (storage, state) = Storage::open(Path::new(&dir), &chain.genesis).unwrap();
    // Continue from the stored tip: its state and the certificate the next block carries.
    if state.height > 0 {
        chain.last_cert = storage.certificate(state.height).unwrap().unwrap();
    }
    chain.state = state;
    let stdout = std::io::stdout();
    // Bounded, in case the parent goes away without killing us.
    for _ in 0..100_000 {
        let n = 1 + (chain.state.height as usize % 4);
        let txs = transfers(&chain, n);
        let before = chain.state.clone();
        let (block, cert, fx) = chain.next_block(txs).unwrap();
        let commit = BlockCommit::on(&block, &cert, &fx, &before);
        // Every fifth block carries a state snapshot, as the node's writer does now and then;
        // every seventh state is snapshotted on its own after the commit.
        let h = block.header.height;
        let snapshot = (h % 5 == 0).then_some(&chain.state);
        storage.commit_blocks(&[commit], snapshot).unwrap();
        if h % 7 == 0 {
            storage.write_snapshot(&chain.state).unwrap();
        }
        let mut out = stdout.lock();
        if writeln!(out, "{COMMITTED}{}", block.header.height).is_err() || out.flush().is_err() {
            return;
        }
    }
}

/// Replays stored blocks `replay.height + 1 ..= tip` onto `replay`, verifying each certificate
/// and validating each block fully.
fn replay_to(storage: &Storage, replay: &mut LedgerState, chain: &TestChain, tip: u64) {
    let params = &chain.genesis.params;
    for h in replay.height + 1..=tip {
        let block = storage
            .block(h)
            .unwrap()
            .unwrap_or_else(|| panic!("block {h} missing below the tip {tip}"));
        let cert = storage
            .certificate(h)
            .unwrap()
            .unwrap_or_else(|| panic!("certificate {h} missing"));
        let set = replay.next_validator_set();
        cert.verify(&params.chain_id, h, &block.hash(), &set)
            .unwrap_or_else(|e| panic!("certificate {h}: {e}"));
        let fx = validate_block(&block, replay, params, &set, SigPolicy::VerifyAll)
            .unwrap_or_else(|e| panic!("stored block {h} does not replay: {e}"));
        replay.apply(&fx, block.header.time_ms);
        for tx in &block.txs {
            let (_, loc) = storage.transaction(&tx.txid()).unwrap().unwrap();
            assert_eq!(loc.height, h, "tx index of block {h}");
        }
    }
}

fn assert_same(a: &LedgerState, b: &LedgerState, what: &str) {
    assert_eq!(a.height, b.height, "{what}: height");
    assert_eq!(a.tip_hash, b.tip_hash, "{what}: tip");
    assert_eq!(a.tip_validators, b.tip_validators, "{what}: tip validators");
    assert_eq!(a.supply, b.supply, "{what}: supply");
    assert_eq!(a.utxo_count(), b.utxo_count(), "{what}: utxo count");
    assert_eq!(
        a.utxo_set_hash(),
        b.utxo_set_hash(),
        "{what}: utxo set hash"
    );
    let ma: Vec<_> = a.masternodes().cloned().collect();
    let mb: Vec<_> = b.masternodes().cloned().collect();
    assert_eq!(ma, mb, "{what}: masternodes");
}

/// Starts this test binary as the child test `name` (a [`test_name`]) on the database in `db`, its stderr to
/// `log`; returns it and its stdout lines.
fn spawn_child(
    name: &str,
    db: &Path,
    log: &Path,
) -> (
    std::process::Child,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(only(name))
        .arg("--ignored")
        .env(DIR_ENV, db)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

fn child_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn storage_survives_sigkill() {
    let (iters, mut rng) = crash_params("storage_survives_sigkill");
    let started = Instant::now();

    let tmp = tempfile::tempdir().unwrap();
    let db: PathBuf = tmp.path().join("data");
    std::fs::create_dir_all(&db).unwrap();
    let log: PathBuf = tmp.path().join("child.stderr");
    let chain = devnet();
    let faucet = Address::from_pubkey(&chain.faucet.public());
    // The parent creates the database, so every child run is a restart.
    drop(Storage::open(&db, &chain.genesis).unwrap());

    let mut replay = chain.genesis.state();
    let mut printed_total = 0usize;
    let mut max_printed = 0u64;
    let mut killed_before_first_commit = 0usize;

    for i in 0..iters {
        let (mut child, mut lines) =
            spawn_child(&test_name(module_path!(), "crash_child"), &db, &log);
        let mut printed: Vec<u64> = Vec::new();

        // Let it commit a random number of blocks (0: kill it while it opens and recovers)...
        let wait_for = rng.gen_range(0..6usize);
        while printed.len() < wait_for {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(h) = l.strip_prefix(COMMITTED) {
                        printed.push(h.trim().parse().unwrap());
                    }
                }
                _ => break,
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "iteration {i}: the child exited by itself ({status}):\n{}",
                child_log(&log)
            );
        }
        // ...then kill it at a random moment, typically in the middle of the next commit.
        // (The delay only spreads the kill over the commit; no result depends on timing.)
        std::thread::sleep(Duration::from_micros(rng.gen_range(0..4_000)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "iteration {i}: child was not killed");
        // Heights printed before the kill but not read yet were reported final too.
        for l in lines.map_while(Result::ok) {
            if let Some(h) = l.strip_prefix(COMMITTED) {
                printed.push(h.trim().parse().unwrap());
            }
        }
        if printed.is_empty() {
            killed_before_first_commit += 1;
        }
        printed_total += printed.len();

        // Reopen: the consistency check (tip present, UTXO counter) runs inside `open`.
        let (storage, state) = Storage::open(&db, &chain.genesis).unwrap_or_else(|e| {
            panic!(
                "iteration {i}: reopen after SIGKILL failed: {e}\nchild stderr:\n{}",
                child_log(&log)
            )
        });
        for &h in &printed {
            assert!(
                h <= state.height,
                "iteration {i}: height {h} was reported committed but the tip is {}",
                state.height
            );
            assert!(storage.block(h).unwrap().is_some(), "block {h} lost");
            assert!(storage.certificate(h).unwrap().is_some(), "cert {h} lost");
            max_printed = max_printed.max(h);
        }
        assert!(state.height >= max_printed, "iteration {i}: tip went back");
        assert!(
            state.height >= replay.height,
            "iteration {i}: tip went back"
        );
        // Blocks already replayed are unchanged.
        if replay.height > 0 {
            let b = storage.block(replay.height).unwrap().unwrap();
            assert_eq!(
                b.hash(),
                replay.tip_hash,
                "iteration {i}: old block changed"
            );
        }
        // The state equals a replay from genesis of the stored blocks (kept incrementally).
        replay_to(&storage, &mut replay, &chain, state.height);
        assert_same(&state, &replay, &format!("iteration {i}"));
        let total: u64 = state.utxos().map(|(_, u)| u.output.amount.0).sum();
        assert_eq!(
            total, state.supply.0,
            "iteration {i}: utxo values vs supply"
        );
        // The address index agrees with the UTXO set.
        let mut listed: Vec<OutPoint> = state
            .utxos_of(&faucet)
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        listed.sort();
        let mut want: Vec<OutPoint> = state
            .utxos()
            .filter(|(_, u)| u.output.address == faucet)
            .map(|(o, _)| *o)
            .collect();
        want.sort();
        assert_eq!(listed, want, "iteration {i}: address index");
        drop(storage);
    }

    // Finally: a full replay from genesis, and a reindex of a copy, give the same state.
    let (storage, state) = Storage::open(&db, &chain.genesis).unwrap();
    let mut full = chain.genesis.state();
    replay_to(&storage, &mut full, &chain, state.height);
    assert_same(&state, &full, "full replay");
    assert!(storage.block(state.height + 1).unwrap().is_none());
    drop(storage);
    let copy = tmp.path().join("copy");
    copy_dir(&db, &copy).unwrap();
    let (_, reindexed) = Storage::reindex(&copy, &chain.genesis).unwrap();
    assert_same(&reindexed, &state, "reindex");
    assert_eq!(
        state.supply.0,
        chain.genesis.state().supply.0 + state.height * chain.genesis.params.block_reward.0
    );

    eprintln!(
        "storage_survives_sigkill: {iters} kills in {:.1}s, {} blocks committed, {} heights \
         printed, {} kills before the first commit of a run, final UTXO set {} entries",
        started.elapsed().as_secs_f64(),
        state.height,
        printed_total,
        killed_before_first_commit,
        state.utxo_count()
    );
}

/// The number of kills and the random generator of a crash test (both from the environment).
fn crash_params(name: &str) -> (usize, ChaCha8Rng) {
    let iters: usize = std::env::var("TIMECOIN_CRASH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let seed: u64 = std::env::var("TIMECOIN_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("{name}: {iters} kills, TIMECOIN_CRASH_SEED={seed}");
    (iters, ChaCha8Rng::seed_from_u64(seed))
}

/// The vote the signer child signs in slot (height, round, kind): a block that depends on the
/// slot, so two runs of the child never sign different votes for one slot by accident.
fn slot_vote(chain: &TestChain, height: u64, round: u32, kind: VoteKind) -> Vote {
    let mut seed = height.to_be_bytes().to_vec();
    seed.extend_from_slice(&round.to_be_bytes());
    let block = Hash::of(Domain::BlockHeader, &seed);
    let key = SecretKey::from_seed(&[42; 32]);
    Vote::new_signed(
        chain.genesis.params.chain_id,
        height,
        round,
        kind,
        Some(block),
        &key,
    )
}

/// The slot after (height, round, step): prevote then precommit, two rounds per height.
fn next_slot(last: Option<(u64, u32, SignStep)>) -> (u64, u32, VoteKind) {
    match last {
        None => (1, 0, VoteKind::Prevote),
        Some((h, r, SignStep::Prevote)) => (h, r, VoteKind::Precommit),
        Some((h, 0, _)) => (h, 1, VoteKind::Prevote),
        Some((h, _, _)) => (h + 1, 0, VoteKind::Prevote),
    }
}

/// The signer child: resume from the signer state on disk and sign the next slots, printing
/// each vote after `authorize_and_persist` returned. Runs until killed.
#[test]
#[ignore = "child process of signer_survives_sigkill; runs only when that test invokes it"]
fn signer_crash_child() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let chain = devnet();
    let (storage, _) = Storage::open(Path::new(&dir), &chain.genesis).unwrap();
    let signer = SignerStore::new(storage.tree("signer").unwrap());
    let mut guard = DoubleSignGuard::new(signer.load_state());
    let stdout = std::io::stdout();
    for _ in 0..100_000 {
        let last = guard.state().last.map(|l| (l.height, l.round, l.step));
        let (h, r, kind) = next_slot(last);
        let msg = Message::Vote(slot_vote(&chain, h, r, kind));
        signer.authorize_and_persist(&mut guard, &msg).unwrap();
        let mut out = stdout.lock();
        let pc = u8::from(kind == VoteKind::Precommit);
        if writeln!(out, "{SIGNED}{h} {r} {pc}").is_err() || out.flush().is_err() {
            return;
        }
    }
}

#[test]
fn signer_survives_sigkill() {
    let (iters, mut rng) = crash_params("signer_survives_sigkill");
    let tmp = tempfile::tempdir().unwrap();
    let db: PathBuf = tmp.path().join("data");
    std::fs::create_dir_all(&db).unwrap();
    let log: PathBuf = tmp.path().join("child.stderr");
    let chain = devnet();
    drop(Storage::open(&db, &chain.genesis).unwrap());
    let mut max_printed: Option<(u64, u32, SignStep)> = None;
    for i in 0..iters {
        let (mut child, mut lines) =
            spawn_child(&test_name(module_path!(), "signer_crash_child"), &db, &log);
        let parse = |l: &str| -> Option<(u64, u32, SignStep)> {
            let mut it = l.strip_prefix(SIGNED)?.split(' ');
            let h = it.next()?.parse().ok()?;
            let r = it.next()?.parse().ok()?;
            let step = match it.next()? {
                "1" => SignStep::Precommit,
                _ => SignStep::Prevote,
            };
            Some((h, r, step))
        };
        let wait_for = rng.gen_range(0..6usize);
        let mut printed = 0;
        while printed < wait_for {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(slot) = parse(&l) {
                        max_printed = max_printed.max(Some(slot));
                        printed += 1;
                    }
                }
                _ => break,
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "iteration {i}: the signer child exited by itself ({status}):\n{}",
                child_log(&log)
            );
        }
        std::thread::sleep(Duration::from_micros(rng.gen_range(0..4_000)));
        child.kill().unwrap();
        assert!(
            !child.wait().unwrap().success(),
            "iteration {i}: not killed"
        );
        for l in lines.map_while(Result::ok) {
            if let Some(slot) = parse(&l) {
                max_printed = max_printed.max(Some(slot));
            }
        }

        let (storage, _) = Storage::open(&db, &chain.genesis).unwrap();
        let signer = SignerStore::new(storage.tree("signer").unwrap());
        let state = signer.load_state();
        let on_disk = state.last.map(|l| (l.height, l.round, l.step));
        assert!(
            on_disk >= max_printed,
            "iteration {i}: sent {max_printed:?} but the signer state on disk is {on_disk:?}"
        );
        // The state's slot has its message in the WAL, and every printed vote is there.
        if let Some(last) = state.last {
            let wal = signer.wal(last.height);
            assert!(
                wal.iter().any(|m| matches!(m, Message::Vote(v)
                    if (v.round, SignStep::from(v.kind), v.signing_bytes())
                        == (last.round, last.step, last.signing_hash))),
                "iteration {i}: the signer state names {last:?} but its vote is not in the WAL"
            );
        }
        if let Some((h, r, step)) = max_printed {
            let kind = match step {
                SignStep::Precommit => VoteKind::Precommit,
                _ => VoteKind::Prevote,
            };
            let want = Message::Vote(slot_vote(&chain, h, r, kind));
            assert!(
                signer.wal(h).contains(&want),
                "iteration {i}: sent vote {h}/{r}/{step:?} is not in the WAL"
            );
        }
        drop(signer);
        drop(storage);
    }
    eprintln!("signer_survives_sigkill: last vote sent {max_printed:?}");
}
