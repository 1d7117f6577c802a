//! Mempool tests: admission rules, eviction, selection, block handling, and property tests.

use super::*;
use crate::ledger::testkit::{coins_of, TestChain};
use crate::types::tx::TX_VERSION;
use crate::types::{Address, TxIn, TxKind, TxOut};
use proptest::prelude::*;

fn pool(max_txs: usize) -> Mempool {
    Mempool::new(MempoolLimits {
        max_txs,
        max_bytes: 10 * 1024 * 1024,
        min_fee_rate: 1,
    })
}

/// A transfer spending `prev` (owned by the chain's faucet) with `fee` to the faucet.
fn spend(chain: &TestChain, prev: OutPoint, amount: Amount, fee: u64) -> Transaction {
    let addr = Address::from_pubkey(&chain.faucet.public());
    let mut tx = Transaction {
        version: TX_VERSION,
        inputs: vec![TxIn {
            prev,
            pubkey: chain.faucet.public(),
            signature: Default::default(),
        }],
        outputs: vec![TxOut {
            amount: Amount(amount.0 - fee),
            address: addr,
        }],
        lock_time: 0,
        kind: TxKind::Transfer,
    };
    tx.sign_inputs(&chain.genesis.params.chain_id, &[&chain.faucet], None);
    tx
}

#[test]
fn admits_valid_and_rejects_duplicates_and_conflicts() {
    let chain = TestChain::devnet(4);
    let outs = chain.faucet_coins();
    let mut p = pool(100);
    let now = Instant::now();
    let a = spend(&chain, outs[0].0, outs[0].1, 1_000);
    let id = p
        .insert(a.clone(), &chain.state, &chain.genesis.params, now)
        .unwrap();
    assert_eq!(
        p.insert(a, &chain.state, &chain.genesis.params, now),
        Err(MempoolError::AlreadyKnown)
    );
    // A second spend of the same outpoint is rejected: first seen wins.
    let b = spend(&chain, outs[0].0, outs[0].1, 5_000);
    assert_eq!(
        p.insert(b, &chain.state, &chain.genesis.params, now),
        Err(MempoolError::Conflict(id))
    );
    assert_eq!(p.len(), 1);
}

#[test]
fn verdicts_are_counted_by_reason_but_duplicates_are_not() {
    let chain = TestChain::devnet(4);
    let outs = chain.faucet_coins();
    let mut p = pool(100);
    let now = Instant::now();
    let params = &chain.genesis.params;
    let a = spend(&chain, outs[0].0, outs[0].1, 1_000);
    p.insert(a.clone(), &chain.state, params, now).unwrap();
    let _ = p.insert(a, &chain.state, params, now);
    let _ = p.insert(
        spend(&chain, outs[0].0, outs[0].1, 5_000),
        &chain.state,
        params,
        now,
    );
    let mut bad = spend(&chain, outs[1].0, outs[1].1, 1_000);
    bad.inputs[0].signature.0[3] ^= 1;
    let _ = p.insert(bad.clone(), &chain.state, params, now);
    let _ = p.insert(bad, &chain.state, params, now);
    assert_eq!(
        p.snapshot(now, 0).rejected,
        vec![("conflict", 1), ("invalid", 1), ("recently_rejected", 1)]
    );
}

#[test]
fn rejected_transactions_are_cached() {
    let chain = TestChain::devnet(4);
    let outs = chain.faucet_coins();
    let mut p = pool(100);
    let now = Instant::now();
    let mut bad = spend(&chain, outs[0].0, outs[0].1, 1_000);
    bad.inputs[0].signature.0[3] ^= 1;
    assert!(matches!(
        p.insert(bad.clone(), &chain.state, &chain.genesis.params, now),
        Err(MempoolError::Invalid(TxError::BadSignature(0)))
    ));
    assert!(matches!(
        p.insert(bad.clone(), &chain.state, &chain.genesis.params, now),
        Err(MempoolError::RecentlyRejected(_))
    ));
    // After the TTL it is validated again.
    let later = now + Duration::from_secs(3601);
    assert!(matches!(
        p.insert(bad, &chain.state, &chain.genesis.params, later),
        Err(MempoolError::Invalid(_))
    ));
}

#[test]
fn fee_floor_and_eviction_by_fee_rate() {
    let chain = TestChain::devnet(4);
    let outs = chain.faucet_coins();
    let mut p = pool(3);
    let now = Instant::now();
    // Below the floor of 1 unit/byte.
    let cheap = spend(&chain, outs[0].0, outs[0].1, 10);
    assert!(matches!(
        p.insert(cheap, &chain.state, &chain.genesis.params, now),
        Err(MempoolError::Invalid(TxError::FeeTooLow { .. }))
    ));
    let fees = [1_000u64, 2_000, 3_000];
    let mut ids = vec![];
    for (i, f) in fees.iter().enumerate() {
        ids.push(
            p.insert(
                spend(&chain, outs[i + 1].0, outs[i + 1].1, *f),
                &chain.state,
                &chain.genesis.params,
                now,
            )
            .unwrap(),
        );
    }
    // Full: a lower fee rate than the lowest is refused, a higher one evicts the lowest.
    let low = spend(&chain, outs[5].0, outs[5].1, 500);
    assert!(matches!(
        p.insert(low, &chain.state, &chain.genesis.params, now),
        Err(MempoolError::FeeRateTooLow { .. })
    ));
    let high = spend(&chain, outs[6].0, outs[6].1, 9_000);
    p.insert(high, &chain.state, &chain.genesis.params, now)
        .unwrap();
    assert_eq!(p.len(), 3);
    assert!(!p.contains(&ids[0]), "the lowest fee rate was evicted");
    assert!(
        p.entry_fee_rate() > 1,
        "the entry fee rate rose after eviction"
    );
}

/// The byte bound evicts as the count bound does: with room for two transactions' bytes (and
/// for 100 by count), a third of a higher fee rate evicts the lowest, one of a lower rate is
/// refused, and the pool's bytes never exceed max_bytes.
#[test]
fn eviction_by_bytes() {
    let chain = TestChain::devnet(4);
    let outs = chain.faucet_coins();
    let now = Instant::now();
    let params = &chain.genesis.params;
    let size = {
        let mut scratch = pool(100);
        scratch
            .insert(
                spend(&chain, outs[0].0, outs[0].1, 1_000),
                &chain.state,
                params,
                now,
            )
            .unwrap();
        scratch.bytes()
    };
    let max_bytes = size * 2 + size / 2;
    let mut p = Mempool::new(MempoolLimits {
        max_txs: 100,
        max_bytes,
        min_fee_rate: 1,
    });
    let a = p
        .insert(
            spend(&chain, outs[1].0, outs[1].1, 1_000),
            &chain.state,
            params,
            now,
        )
        .unwrap();
    let b = p
        .insert(
            spend(&chain, outs[2].0, outs[2].1, 2_000),
            &chain.state,
            params,
            now,
        )
        .unwrap();
    assert_eq!(p.bytes(), 2 * size);
    // No room for a third by bytes: a lower fee rate than the lowest is refused.
    assert!(matches!(
        p.insert(
            spend(&chain, outs[3].0, outs[3].1, 500),
            &chain.state,
            params,
            now
        ),
        Err(MempoolError::FeeRateTooLow { .. })
    ));
    let c = p
        .insert(
            spend(&chain, outs[4].0, outs[4].1, 3_000),
            &chain.state,
            params,
            now,
        )
        .unwrap();
    assert_eq!(p.len(), 2, "evicted by bytes, far below max_txs");
    assert!(!p.contains(&a), "the lowest fee rate was evicted");
    assert!(p.contains(&b) && p.contains(&c));
    assert!(p.bytes() <= max_bytes, "{} > {max_bytes}", p.bytes());
}

#[test]
fn selection_takes_highest_fee_rate_first_and_parents_before_children() {
    let chain = TestChain::devnet(4);
    let outs = chain.faucet_coins();
    let mut p = pool(100);
    let now = Instant::now();
    let parent = spend(&chain, outs[0].0, outs[0].1, 300);
    let pid = p
        .insert(parent.clone(), &chain.state, &chain.genesis.params, now)
        .unwrap();
    // The child spends the parent's pending output with a high fee.
    let child = spend(
        &chain,
        OutPoint {
            txid: pid,
            index: 0,
        },
        parent.outputs[0].amount,
        50_000,
    );
    let cid = p
        .insert(child, &chain.state, &chain.genesis.params, now)
        .unwrap();
    let other = spend(&chain, outs[1].0, outs[1].1, 10_000);
    let oid = p
        .insert(other, &chain.state, &chain.genesis.params, now)
        .unwrap();
    assert_eq!(p.snapshot(now, 3).total_fee, Amount(300 + 50_000 + 10_000));
    let (txs, fees) = p.select(usize::MAX, usize::MAX);
    let order: Vec<Hash> = txs.iter().map(Transaction::txid).collect();
    assert_eq!(order.len(), 3);
    assert_eq!(fees, Amount(300 + 50_000 + 10_000));
    let pos = |id: &Hash| order.iter().position(|x| x == id).unwrap();
    assert!(pos(&pid) < pos(&cid), "parent before child");
    assert!(pos(&oid) < pos(&pid), "higher fee rate first");
}

#[test]
fn block_removes_included_and_conflicting() {
    let mut chain = TestChain::devnet(4);
    let outs = chain.faucet_coins();
    let mut p = pool(100);
    let now = Instant::now();
    let mine = spend(&chain, outs[0].0, outs[0].1, 1_000);
    let mine_id = p
        .insert(mine, &chain.state, &chain.genesis.params, now)
        .unwrap();
    let kept = spend(&chain, outs[1].0, outs[1].1, 1_000);
    let kept_id = p
        .insert(kept, &chain.state, &chain.genesis.params, now)
        .unwrap();
    // The chain finalizes a different spend of outs[0].
    let winner = spend(&chain, outs[0].0, outs[0].1, 2_000);
    let (block, _, fx) = chain.next_block(vec![winner]).unwrap();
    let dropped = p.on_block(&block, &fx.txids, &chain.state, &chain.genesis.params);
    assert_eq!(dropped, vec![mine_id]);
    assert!(p.contains(&kept_id));
    assert_eq!(p.len(), 1);
}

#[test]
fn tables_a_burst_grew_are_shrunk_once_mostly_empty() {
    let mut chain = TestChain::devnet(4);
    let outs = chain.faucet_coins();
    let mut p = pool(100);
    let tx = spend(&chain, outs[0].0, outs[0].1, 1_000);
    let params = &chain.genesis.params;
    let id = p.insert(tx, &chain.state, params, Instant::now()).unwrap();
    // The slots a burst of 20,000 transactions left behind.
    p.entries.reserve(20_000);
    p.spends.reserve(20_000);
    p.created.reserve(20_000);
    let (block, _, fx) = chain.next_block(vec![]).unwrap();
    let dropped = p.on_block(&block, &fx.txids, &chain.state, &chain.genesis.params);
    assert!(dropped.is_empty());
    for cap in [
        p.entries.capacity(),
        p.spends.capacity(),
        p.created.capacity(),
    ] {
        assert!(
            cap <= 4 * SHRINK_FLOOR,
            "{cap} slots left for one transaction"
        );
    }
    assert!(p.contains(&id));
    assert_eq!(p.spender_of(&outs[0].0), Some(id));
    assert_eq!(p.pending_outputs().count(), 1);
}

#[test]
fn missing_input_verdict_is_kept_until_the_input_appears() {
    let mut chain = TestChain::devnet(4);
    let outs = chain.faucet_coins();
    let mut p = pool(100);
    let now = Instant::now();
    let parent = chain.transfer_from(&outs[0..1], 2, 1_000);
    let child = chain.transfer_from(&coins_of(&parent)[0..1], 1, 1_000);
    let missing = Err(MempoolError::Invalid(TxError::MissingInput(
        coins_of(&parent)[0].0,
    )));
    assert_eq!(
        p.insert(child.clone(), &chain.state, &chain.genesis.params, now),
        missing
    );
    assert_eq!(
        p.missing.get(&child.txid(), now),
        Some(coins_of(&parent)[0].0)
    );
    assert_eq!(
        p.insert(child.clone(), &chain.state, &chain.genesis.params, now),
        missing
    );
    // The verdict expires.
    assert_eq!(p.missing.get(&child.txid(), now + MISSING_TTL), None);
    // Once a block creates the input, the child is admissible at once.
    chain.next_block(vec![parent]).unwrap();
    assert_eq!(
        p.insert(child.clone(), &chain.state, &chain.genesis.params, now),
        Ok(child.txid())
    );
}

#[test]
fn tip_dependent_rejections_are_not_cached() {
    let chain = TestChain::devnet(4);
    let outs = chain.faucet_coins();
    let mut p = pool(100);
    let now = Instant::now();
    let mut locked = chain.transfer_from(&outs[0..1], 1, 1_000);
    locked.lock_time = chain.state.height + 5;
    locked.sign_inputs(&chain.genesis.params.chain_id, &[&chain.faucet], None);
    for _ in 0..2 {
        assert!(matches!(
            p.insert(locked.clone(), &chain.state, &chain.genesis.params, now),
            Err(MempoolError::Invalid(TxError::Locked(_)))
        ));
    }
}

#[test]
fn more_inputs_than_relay_policy_allows_are_refused_but_valid_in_blocks() {
    let mut chain = TestChain::devnet(4);
    let outs = chain.faucet_coins();
    let parent = chain.transfer_from(&outs[0..1], MAX_STANDARD_TX_INPUTS + 1, 100_000);
    chain.next_block(vec![parent.clone()]).unwrap();
    let wide = chain.transfer_from(&coins_of(&parent), 1, 200_000);
    let mut p = pool(100);
    let now = Instant::now();
    let refused = p.insert(wide.clone(), &chain.state, &chain.genesis.params, now);
    assert_eq!(
        refused,
        Err(MempoolError::TooManyInputs {
            inputs: MAX_STANDARD_TX_INPUTS + 1,
            max: MAX_STANDARD_TX_INPUTS
        })
    );
    assert!(refused.is_err_and(|e| e.is_context_free()));
    // Policy, not consensus: a block may hold it.
    assert!(chain.next_block(vec![wide]).is_ok());
}

#[derive(Clone, Debug)]
enum Op {
    Insert { out: usize, fee: u64 },
    Child { fee: u64 },
    Block { take: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..40, 200u64..20_000).prop_map(|(out, fee)| Op::Insert { out, fee }),
        2 => (200u64..20_000).prop_map(|fee| Op::Child { fee }),
        1 => (0usize..6).prop_map(|take| Op::Block { take }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Within bounds after any sequence; never two pooled spends of one outpoint; after a
    /// block nothing in the pool conflicts with the chain and everything still validates.
    #[test]
    fn pool_invariants(ops in prop::collection::vec(op(), 1..40), max_txs in 2usize..8) {
        let mut chain = TestChain::devnet(4);
        let outs = chain.faucet_coins();
        let mut p = pool(max_txs);
        let now = Instant::now();
        let mut last: Option<(Hash, Amount)> = None;
        for o in ops {
            match o {
                Op::Insert { out, fee } => {
                    let (prev, amount) = outs[out % outs.len()];
                    if chain.state.utxo(&prev).is_some() {
                        let tx = spend(&chain, prev, amount, fee);
                        let a = tx.outputs[0].amount;
                        if let Ok(id) = p.insert(tx, &chain.state, &chain.genesis.params, now) {
                            last = Some((id, a));
                        }
                    }
                }
                Op::Child { fee } => {
                    if let Some((id, amount)) = last {
                        if p.contains(&id) && amount.0 > fee {
                            let tx = spend(&chain, OutPoint { txid: id, index: 0 }, amount, fee);
                            let a = tx.outputs[0].amount;
                            if let Ok(cid) = p.insert(tx, &chain.state, &chain.genesis.params, now) {
                                last = Some((cid, a));
                            }
                        }
                    }
                }
                Op::Block { take } => {
                    let (txs, _) = p.select(usize::MAX, take);
                    let (block, _, fx) = chain.next_block(txs).unwrap();
                    p.on_block(&block, &fx.txids, &chain.state, &chain.genesis.params);
                    for id in p.txids() {
                        let e = p.get(&id).unwrap();
                        for i in &e.tx.inputs {
                            let in_chain = chain.state.utxo(&i.prev).is_some();
                            let in_pool = p.contains(&i.prev.txid);
                            prop_assert!(in_chain || in_pool, "pooled tx spends an outpoint the chain spent");
                        }
                    }
                }
            }
            prop_assert!(p.len() <= max_txs);
            let mut seen = std::collections::HashSet::new();
            for id in p.txids() {
                for i in &p.get(&id).unwrap().tx.inputs {
                    prop_assert!(seen.insert(i.prev), "two pooled spends of one outpoint");
                }
            }
        }
    }
}
