//! Criterion micro-benchmarks of the foundation: signature verification (single, batch, and a
//! batch with one invalid item),
//! transaction validation, block validation + apply (1,000 transactions; 3,000 of which half
//! spend outputs of the other half), encoding and decoding,
//! the durable commit of a 1,000-transaction block, a 100,000-UTXO state snapshot, and opening a
//! database that replays 10 blocks after its snapshot.
//!
//! `cargo bench --bench core` (add `-- --quick` for a fast pass).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use timecoin::ledger::testkit::TestChain;
use timecoin::ledger::{validate_block, validate_tx, BlockEffects, LedgerState, SigPolicy};
use timecoin::storage::Storage;
use timecoin::types::keys::verify_batch;
use timecoin::types::{
    Block, CommitCertificate, Decode, Encode, Hash, PublicKey, SecretKey, Signature, Transaction,
};

/// A chain whose state holds enough faucet outputs, plus the next block of `n` transfers
/// (valid against `before`) with its certificate and effects.
struct Fixture {
    chain: TestChain,
    before: LedgerState,
    block: Block,
    cert: CommitCertificate,
    fx: BlockEffects,
    tx: Transaction,
}

fn fixture(n: usize) -> Fixture {
    let mut chain = TestChain::devnet(4);
    // 100 genesis outputs -> 100 transfers of 11 outputs each.
    let split: Vec<Transaction> = (0..100).map(|_| chain.transfer(11).unwrap()).collect();
    chain.next_block(split).unwrap();
    // One loose transfer for the single-tx benchmarks, valid against the state below.
    let tx = chain.transfer(2).unwrap();
    let txs: Vec<Transaction> = (0..n).map(|_| chain.transfer(1).unwrap()).collect();
    let before = chain.state.clone();
    let (block, cert, fx) = chain.next_block(txs).unwrap();
    Fixture {
        chain,
        before,
        block,
        cert,
        fx,
        tx,
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

fn bench_signatures(c: &mut Criterion) {
    let keys: Vec<SecretKey> = (0..64u8).map(|i| SecretKey::from_seed(&[i; 32])).collect();
    let msgs: Vec<Hash> = (0..64u8)
        .map(|i| Hash::of(timecoin::types::Domain::SigHash, &[i]))
        .collect();
    let sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(&m.0)).collect();
    let pubs: Vec<PublicKey> = keys.iter().map(SecretKey::public).collect();

    let mut g = c.benchmark_group("signature");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify_single", |b| {
        b.iter(|| pubs[0].verify(black_box(&msgs[0].0), black_box(&sigs[0])))
    });
    let items: Vec<(&[u8], &Signature, &PublicKey)> = msgs
        .iter()
        .zip(&sigs)
        .zip(&pubs)
        .map(|((m, s), k)| (&m.0[..], s, k))
        .collect();
    g.throughput(Throughput::Elements(64));
    g.bench_function("verify_batch_64", |b| {
        b.iter(|| {
            let v = verify_batch(black_box(&items));
            assert!(v.iter().all(|ok| *ok));
        })
    });
    // One bad item: the combination fails and every item is checked singly.
    let mut bad = sigs.clone();
    bad[63].0[40] ^= 1;
    let items_one_bad: Vec<(&[u8], &Signature, &PublicKey)> = msgs
        .iter()
        .zip(&bad)
        .zip(&pubs)
        .map(|((m, s), k)| (&m.0[..], s, k))
        .collect();
    g.bench_function("verify_batch_64_one_invalid", |b| {
        b.iter(|| {
            let v = verify_batch(black_box(&items_one_bad));
            assert_eq!(v.iter().filter(|ok| !**ok).count(), 1);
        })
    });
    g.finish();
}

fn bench_ledger(c: &mut Criterion, f: &Fixture) {
    let params = &f.chain.genesis.params;
    let h = f.before.height + 1;
    let mut g = c.benchmark_group("ledger");
    g.throughput(Throughput::Elements(1));
    g.bench_function("validate_tx", |b| {
        b.iter(|| validate_tx(black_box(&f.tx), &f.before, &f.before, params, h).unwrap())
    });
    let n = f.block.txs.len() as u64 - 1;
    g.throughput(Throughput::Elements(n));
    let set = f.before.next_validator_set();
    g.bench_function(format!("block_apply_{n}/verify_all"), |b| {
        b.iter_batched(
            || f.before.clone(),
            |mut state| {
                let fx =
                    validate_block(&f.block, &state, params, &set, SigPolicy::VerifyAll).unwrap();
                state.apply(&fx, f.block.header.time_ms);
                state
            },
            BatchSize::LargeInput,
        )
    });
    let verified = |_: &Hash| true;
    g.bench_function(format!("block_apply_{n}/skip_verified"), |b| {
        b.iter_batched(
            || f.before.clone(),
            |mut state| {
                let fx = validate_block(
                    &f.block,
                    &state,
                    params,
                    &set,
                    SigPolicy::SkipVerified(&verified),
                )
                .unwrap();
                state.apply(&fx, f.block.header.time_ms);
                state
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// A chain and its next block of `2 * n` transfers: `n` from the chain's outputs, then one
/// spending the output of each of those in turn, with the state before that block.
fn block_spending_its_own_outputs(n: usize) -> (TestChain, LedgerState, Block) {
    let mut chain = TestChain::devnet(4);
    let split: Vec<Transaction> = (0..100)
        .map(|_| chain.transfer(n.div_ceil(100)).unwrap())
        .collect();
    chain.next_block(split).unwrap();
    let fee = Transaction::transfer_size(1, 1) as u64 * chain.genesis.params.min_fee_rate;
    let first: Vec<Transaction> = (0..n).map(|_| chain.transfer(1).unwrap()).collect();
    let second: Vec<Transaction> = first
        .iter()
        .map(|tx| {
            let (o, out) = tx.outputs_at(tx.txid()).next().unwrap();
            chain.transfer_from(&[(o, out.amount)], 1, fee)
        })
        .collect();
    let before = chain.state.clone();
    let (block, _, _) = chain.next_block([first, second].concat()).unwrap();
    (chain, before, block)
}

/// Validation of a block whose second half spends the outputs its first half created: what it
/// costs beyond the signatures (skipped as verified) grows with the block, not its square.
fn bench_block_spending_its_own_outputs(c: &mut Criterion) {
    let (chain, before, block) = block_spending_its_own_outputs(1_500);
    let params = &chain.genesis.params;
    let set = before.next_validator_set();
    let verified = |_: &Hash| true;
    let mut g = c.benchmark_group("ledger");
    g.throughput(Throughput::Elements(block.txs.len() as u64 - 1));
    g.bench_function("validate_3000_spending_own_outputs/skip_verified", |b| {
        b.iter(|| {
            validate_block(
                black_box(&block),
                &before,
                params,
                &set,
                SigPolicy::SkipVerified(&verified),
            )
            .unwrap()
        })
    });
    g.finish();
}

fn bench_encoding(c: &mut Criterion, f: &Fixture) {
    let mut g = c.benchmark_group("encoding");
    let tx_bytes = f.tx.to_bytes();
    g.throughput(Throughput::Bytes(tx_bytes.len() as u64));
    g.bench_function("encode_tx", |b| b.iter(|| black_box(&f.tx).to_bytes()));
    g.bench_function("decode_tx", |b| {
        b.iter(|| Transaction::from_bytes(black_box(&tx_bytes)).unwrap())
    });
    let block_bytes = f.block.to_bytes();
    let n = f.block.txs.len() - 1;
    g.throughput(Throughput::Bytes(block_bytes.len() as u64));
    g.bench_function(format!("encode_block_{n}"), |b| {
        b.iter(|| black_box(&f.block).to_bytes())
    });
    g.bench_function(format!("decode_block_{n}"), |b| {
        b.iter(|| Block::from_bytes(black_box(&block_bytes)).unwrap())
    });
    g.finish();
}

fn bench_storage(c: &mut Criterion, f: &Fixture) {
    let dir = tempfile::tempdir().unwrap();
    let (storage, _) = Storage::open(dir.path(), &f.chain.genesis).unwrap();
    let n = f.block.txs.len() as u64 - 1;
    let mut g = c.benchmark_group("storage");
    g.throughput(Throughput::Elements(n));
    // The same block rewritten each time: same keys, same batch size, one flush each.
    g.bench_function(format!("commit_block_{n}"), |b| {
        b.iter(|| {
            storage
                .commit_block(&f.block, &f.cert, &f.fx, &f.before)
                .unwrap()
        })
    });
    // A state snapshot of 100,000 UTXOs (what the node writes now and then, and at shutdown).
    let big = state_with_utxos(&f.before, 100_000);
    g.throughput(Throughput::Elements(big.utxo_count() as u64));
    g.bench_function("write_snapshot_100k_utxos", |b| {
        b.iter(|| storage.write_snapshot(&big).unwrap())
    });
    g.finish();
    bench_open_replay(c);
}

/// `state` plus `n` made-up UTXOs (for snapshot sizes only: not a state any chain reached).
fn state_with_utxos(state: &LedgerState, n: u32) -> LedgerState {
    let (_, template) = state.utxos().next().map(|(o, u)| (*o, *u)).unwrap();
    let created = (0..n)
        .map(|i| {
            let txid = Hash::of(timecoin::types::Domain::Tx, &i.to_le_bytes());
            (timecoin::types::OutPoint { txid, index: 0 }, template)
        })
        .collect();
    let mut big = state.clone();
    big.apply(
        &BlockEffects {
            height: state.height,
            block_hash: state.tip_hash,
            created,
            validators: state.tip_validators.clone(),
            ..Default::default()
        },
        state.tip_time_ms,
    );
    big
}

/// Opening a database whose state snapshot is 10 blocks of 1,000 transfers behind its tip: the
/// replay a node does at start after a crash. Each iteration opens a fresh copy.
fn bench_open_replay(c: &mut Criterion) {
    const BLOCKS: usize = 10;
    const TXS: usize = 1_000;
    let src = tempfile::tempdir().unwrap();
    let mut chain = TestChain::devnet(4);
    {
        let (storage, _) = Storage::open(src.path(), &chain.genesis).unwrap();
        let split: Vec<Transaction> = (0..100).map(|_| chain.transfer(31).unwrap()).collect();
        let commit = |chain: &mut TestChain, txs: Vec<Transaction>| {
            let before = chain.state.clone();
            let (b, cert, fx) = chain.next_block(txs).unwrap();
            storage.commit_block(&b, &cert, &fx, &before).unwrap();
        };
        commit(&mut chain, split);
        storage.write_snapshot(&chain.state).unwrap();
        for _ in 0..BLOCKS {
            let txs: Vec<Transaction> = (0..TXS).map(|_| chain.transfer(2).unwrap()).collect();
            commit(&mut chain, txs);
        }
    }
    let mut g = c.benchmark_group("storage");
    g.throughput(Throughput::Elements((BLOCKS * TXS) as u64));
    g.bench_function(format!("open_replay_{BLOCKS}_blocks_of_{TXS}"), |b| {
        b.iter_batched(
            || {
                let copy = tempfile::tempdir().unwrap();
                timecoin::test_utils::copy_dir(src.path(), copy.path()).unwrap();
                copy
            },
            |copy| {
                let (_, state) = Storage::open(copy.path(), &chain.genesis).unwrap();
                assert_eq!(state.height, chain.state.height);
                copy
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Mempool admission of the block's 1,000 transfers into an empty pool, with full validation
/// (signatures included) and without (signatures verified beforehand, as the node does in
/// parallel batches).
fn bench_mempool(c: &mut Criterion, f: &Fixture) {
    use timecoin::mempool::{Mempool, MempoolLimits};
    let txs: Vec<Transaction> = f.block.txs[1..].to_vec();
    let params = &f.chain.genesis.params;
    let mut g = c.benchmark_group("mempool");
    g.throughput(Throughput::Elements(txs.len() as u64));
    g.bench_function("insert_1000_full_validation", |b| {
        b.iter_batched(
            || (Mempool::new(MempoolLimits::default()), txs.clone()),
            |(mut pool, txs)| {
                let now = std::time::Instant::now();
                for tx in txs {
                    pool.insert(tx, &f.before, params, now).unwrap();
                }
                pool
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("insert_1000_presigned", |b| {
        b.iter_batched(
            || (Mempool::new(MempoolLimits::default()), txs.clone()),
            |(mut pool, txs)| {
                let now = std::time::Instant::now();
                for tx in txs {
                    let id = tx.txid();
                    pool.insert_verified(tx, id, &f.before, params, now)
                        .unwrap();
                }
                pool
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_signatures(c);
    let f = fixture(1_000);
    assert_eq!(f.block.txs.len(), 1_001);
    bench_ledger(c, &f);
    bench_block_spending_its_own_outputs(c);
    bench_encoding(c, &f);
    bench_storage(c, &f);
    bench_mempool(c, &f);
}

// `criterion_group!` declares a public function it cannot document.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group! {
        name = core;
        config = config();
        targets = benches
    }
}
use group::core;
criterion_main!(core);
