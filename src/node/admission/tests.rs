//! Admission tests: the order of checks, what is verified, who is penalised, what is buffered.

use super::*;
use crate::ledger::testkit::{coins_of, TestChain};
use crate::ledger::TxError;
use crate::mempool::MempoolLimits;
use crate::node::io::Network;
use crate::types::tx::MasternodeExit;
use crate::types::{Amount, OutPoint, SecretKey, TxKind};
use std::cell::RefCell;
use std::time::Instant;

/// Records what admission would send to the network.
#[derive(Default)]
struct Recorder {
    relayed: RefCell<Vec<Hash>>,
    requested: RefCell<Vec<(PeerId, Vec<Hash>)>>,
    sent: RefCell<Vec<(PeerId, Hash)>>,
    penalised: RefCell<Vec<PeerId>>,
}

impl TxNet for Recorder {
    fn relay(&self, tx: &Transaction, txid: Hash, _from: Source) {
        assert_eq!(tx.txid(), txid);
        self.relayed.borrow_mut().push(txid);
    }

    fn request(&self, peer: PeerId, ids: Vec<Hash>) {
        self.requested.borrow_mut().push((peer, ids));
    }

    fn send_tx(&self, peer: PeerId, tx: Transaction) -> bool {
        self.sent.borrow_mut().push((peer, tx.txid()));
        true
    }

    fn penalise(&self, peer: PeerId) {
        self.penalised.borrow_mut().push(peer);
    }
}

fn peer(n: u8) -> PeerId {
    SecretKey::from_seed(&[n; 32]).public()
}

/// A devnet chain, its faucet coins, admission with an empty pool, and a recording network.
fn setup() -> (
    TestChain,
    Vec<(OutPoint, Amount)>,
    Admission,
    Mempool,
    Recorder,
) {
    let chain = TestChain::devnet(4);
    let outs = chain.faucet_coins();
    let adm = Admission::new(chain.genesis.params.clone());
    let pool = Mempool::new(MempoolLimits::default());
    (chain, outs, adm, pool, Recorder::default())
}

/// A transfer paying `fee` from a coin that does not exist.
fn missing_input_tx(chain: &TestChain, fee: u64) -> Transaction {
    let unknown = OutPoint {
        txid: Hash([7; 32]),
        index: 0,
    };
    chain.transfer_from(&[(unknown, Amount(1_000_000))], 1, fee)
}

fn admit_from(
    adm: &mut Admission,
    from: PeerId,
    txs: Vec<Transaction>,
    pool: &mut Mempool,
    chain: &TestChain,
    net: &Recorder,
) {
    for tx in txs {
        assert!(adm.enqueue(from, tx));
    }
    while adm.has_pending() {
        adm.admit_pending(pool, &chain.state, net, Instant::now());
    }
}

#[test]
fn cheap_checks_run_before_signatures() {
    let (chain, outs, mut adm, mut pool, net) = setup();
    let first = chain.transfer_from(&outs[1..2], 1, 1_000);
    assert!(adm.submit(vec![first], &mut pool, &chain.state, &net, Instant::now())[0].is_ok());
    let before = adm.stats().sig_checked_txs;

    let missing = missing_input_tx(&chain, 1_000);
    let fee_too_low = chain.transfer_from(&outs[0..1], 1, 10);
    let conflict = chain.transfer_from(&outs[1..2], 1, 5_000);
    let mut zero_output = chain.transfer_from(&outs[3..4], 2, 1_000);
    zero_output.outputs[1].amount = Amount(0);
    let good = chain.transfer_from(&outs[2..3], 1, 1_000);
    let good_id = good.txid();
    admit_from(
        &mut adm,
        peer(1),
        vec![missing, fee_too_low, conflict, zero_output, good],
        &mut pool,
        &chain,
        &net,
    );
    assert!(pool.contains(&good_id));
    assert_eq!(
        adm.stats().sig_checked_txs - before,
        1,
        "only the transaction that passed the cheap checks had its signatures verified"
    );
}

#[test]
fn missing_input_tx_is_not_verified_again() {
    let (chain, outs, mut adm, mut pool, net) = setup();
    let parent = chain.transfer_from(&outs[0..1], 2, 1_000);
    let child = chain.transfer_from(&coins_of(&parent)[0..1], 1, 1_000);
    let child_id = child.txid();
    for _ in 0..3 {
        let r = adm.submit(
            vec![child.clone()],
            &mut pool,
            &chain.state,
            &net,
            Instant::now(),
        );
        assert!(matches!(
            r[0],
            Err(MempoolError::Invalid(TxError::MissingInput(_)))
        ));
    }
    assert_eq!(adm.stats().sig_checked_txs, 0);
    // Once the parent is in the pool, the child is admissible.
    assert!(adm.submit(vec![parent], &mut pool, &chain.state, &net, Instant::now())[0].is_ok());
    assert_eq!(
        adm.submit(vec![child], &mut pool, &chain.state, &net, Instant::now())[0],
        Ok(child_id)
    );
}

#[test]
fn a_parent_and_its_child_in_one_batch_are_both_admitted() {
    let (chain, outs, mut adm, mut pool, net) = setup();
    let parent = chain.transfer_from(&outs[0..1], 2, 1_000);
    let child = chain.transfer_from(&coins_of(&parent)[0..1], 1, 1_000);
    let r = adm.submit(
        vec![parent, child],
        &mut pool,
        &chain.state,
        &net,
        Instant::now(),
    );
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    assert_eq!(net.relayed.borrow().len(), 2);
}

#[test]
fn a_double_spend_in_one_batch_is_not_verified() {
    let (chain, outs, mut adm, mut pool, net) = setup();
    let a = chain.transfer_from(&outs[0..1], 1, 1_000);
    let a_id = a.txid();
    let b = chain.transfer_from(&outs[0..1], 1, 2_000);
    let r = adm.submit(vec![a, b], &mut pool, &chain.state, &net, Instant::now());
    assert_eq!(r[0], Ok(a_id));
    assert_eq!(r[1], Err(MempoolError::Conflict(a_id)));
    assert_eq!(adm.stats().sig_checked_txs, 1);
}

#[test]
fn a_valid_spend_behind_a_forged_one_in_the_same_batch_is_admitted() {
    let (chain, outs, mut adm, mut pool, net) = setup();
    let mut forged = chain.transfer_from(&outs[0..1], 1, 5_000);
    forged.inputs[0].signature.0[0] ^= 1;
    let honest = chain.transfer_from(&outs[0..1], 1, 1_000);
    let honest_id = honest.txid();
    admit_from(
        &mut adm,
        peer(1),
        vec![forged, honest],
        &mut pool,
        &chain,
        &net,
    );
    assert!(pool.contains(&honest_id));
    assert_eq!(*net.penalised.borrow(), vec![peer(1)]);
}

/// A parent with `n` outputs in the pool, and a child spending all of them under one key.
fn wide_child(n: usize) -> (TestChain, Admission, Mempool, Recorder, Transaction) {
    let (chain, outs, mut adm, mut pool, net) = setup();
    let parent = chain.transfer_from(&outs[0..1], n, 100_000);
    assert!(adm.submit(
        vec![parent.clone()],
        &mut pool,
        &chain.state,
        &net,
        Instant::now()
    )[0]
    .is_ok());
    let child = chain.transfer_from(&coins_of(&parent), 1, 200_000);
    (chain, adm, pool, net, child)
}

#[test]
fn many_inputs_one_key_is_refused_by_policy() {
    let n = crate::mempool::MAX_STANDARD_TX_INPUTS + 1;
    let (chain, mut adm, mut pool, net, child) = wide_child(n);
    let before = adm.stats();
    let id = child.txid();
    admit_from(&mut adm, peer(1), vec![child], &mut pool, &chain, &net);
    assert!(!pool.contains(&id));
    assert_eq!(adm.stats(), before, "no signature was verified");
    assert_eq!(
        *net.penalised.borrow(),
        vec![peer(1)],
        "no honest node relays it"
    );
}

#[test]
fn identical_signatures_of_one_transaction_are_verified_once() {
    let n = crate::mempool::MAX_STANDARD_TX_INPUTS;
    let (chain, mut adm, mut pool, net, child) = wide_child(n);
    let before = adm.stats().sig_items;
    let r = adm.submit(vec![child], &mut pool, &chain.state, &net, Instant::now());
    assert!(r[0].is_ok(), "{r:?}");
    assert_eq!(adm.stats().sig_items - before, 1);
}

#[test]
fn tip_dependent_failures_are_not_penalised() {
    let (chain, outs, mut adm, _, net) = setup();
    // A local fee floor above the chain's: another node may well admit what this one refuses.
    let mut pool = Mempool::new(MempoolLimits {
        min_fee_rate: 50,
        ..MempoolLimits::default()
    });
    let pooled = chain.transfer_from(&outs[0..1], 1, 100_000);
    assert!(adm.submit(vec![pooled], &mut pool, &chain.state, &net, Instant::now())[0].is_ok());

    let mut locked = chain.transfer_from(&outs[1..2], 1, 100_000);
    locked.lock_time = chain.state.height + 10;
    locked.sign_inputs(&chain.genesis.params.chain_id, &[&chain.faucet], None);
    let missing = missing_input_tx(&chain, 100_000);
    let double_spend = chain.transfer_from(&outs[0..1], 1, 200_000);
    let below_local_floor = chain.transfer_from(&outs[2..3], 1, 1_000);
    let mut exit_unregistered = chain.transfer_from(&outs[3..4], 1, 100_000);
    exit_unregistered.kind = TxKind::MasternodeExit(Box::new(MasternodeExit {
        collateral: outs[4].0,
        owner: chain.faucet.public(),
        owner_signature: Default::default(),
    }));
    exit_unregistered.sign_inputs(
        &chain.genesis.params.chain_id,
        &[&chain.faucet],
        Some(&chain.faucet),
    );
    let txs = vec![
        locked,
        missing,
        double_spend,
        below_local_floor,
        exit_unregistered,
    ];
    admit_from(&mut adm, peer(1), txs, &mut pool, &chain, &net);
    assert!(
        net.penalised.borrow().is_empty(),
        "{:?}",
        net.penalised.borrow()
    );

    // A forged signature is a context-free fault.
    let mut forged = chain.transfer_from(&outs[5..6], 1, 100_000);
    forged.inputs[0].signature.0[0] ^= 1;
    admit_from(&mut adm, peer(2), vec![forged], &mut pool, &chain, &net);
    assert_eq!(*net.penalised.borrow(), vec![peer(2)]);
}

#[test]
fn pending_buffer_is_bounded_per_peer_and_in_bytes() {
    let (chain, outs, mut adm, ..) = setup();
    let tx = chain.transfer_from(&outs[0..1], 1, 1_000);
    let mut queued = 0usize;
    while adm.enqueue(peer(1), tx.clone()) {
        queued += 1;
        assert!(
            queued < 1_000_000,
            "one peer filled the buffer without bound"
        );
    }
    assert!(queued * crate::p2p::heap::tx_bytes(&tx) <= PENDING_PEER_MAX_BYTES);
    // Another peer still has room.
    assert!(adm.enqueue(peer(2), tx.clone()));
    assert_eq!(adm.pending_len(), queued + 1);
}

#[test]
fn announced_ids_are_asked_for_once_unless_pooled_and_again_of_the_next_announcer() {
    let (chain, outs, mut adm, mut pool, net) = setup();
    let pooled = chain.transfer_from(&outs[0..1], 1, 1_000);
    let pooled_id = pooled.txid();
    let t0 = Instant::now();
    assert!(adm.submit(vec![pooled], &mut pool, &chain.state, &net, t0)[0].is_ok());
    let wanted = chain.transfer_from(&outs[1..2], 1, 1_000);
    let wanted_id = wanted.txid();

    adm.on_announce(peer(1), vec![pooled_id, wanted_id], &pool, &net, t0);
    adm.on_announce(peer(2), vec![wanted_id], &pool, &net, t0);
    assert_eq!(
        *net.requested.borrow(),
        vec![(peer(1), vec![wanted_id])],
        "the pooled id is not asked for, the wanted one of its first announcer only"
    );
    adm.poll_fetches(&net, t0 + FETCH_TIMEOUT);
    assert_eq!(net.requested.borrow()[1], (peer(2), vec![wanted_id]));

    // Once it arrives, nobody is asked again.
    admit_from(&mut adm, peer(2), vec![wanted], &mut pool, &chain, &net);
    adm.poll_fetches(&net, t0 + 3 * FETCH_TIMEOUT);
    assert_eq!(net.requested.borrow().len(), 2);
    assert_eq!(adm.fetching(), 0);
    assert_eq!(adm.stats().fetched, 2);
}

#[test]
fn asks_are_answered_from_the_pool_only() {
    let (chain, outs, mut adm, mut pool, net) = setup();
    let pooled = chain.transfer_from(&outs[0..1], 1, 1_000);
    let pooled_id = pooled.txid();
    assert!(adm.submit(vec![pooled], &mut pool, &chain.state, &net, Instant::now())[0].is_ok());
    adm.on_get_txs(peer(3), &[Hash([9; 32]), pooled_id], &pool, &net);
    assert_eq!(*net.sent.borrow(), vec![(peer(3), pooled_id)]);
    assert_eq!(adm.stats().served, 1);
    assert!(net.penalised.borrow().is_empty(), "asking is no offence");
}

#[test]
fn an_id_named_many_times_in_one_ask_is_sent_once() {
    let (chain, outs, mut adm, mut pool, net) = setup();
    let pooled = chain.transfer_from(&outs[0..1], 1, 1_000);
    let pooled_id = pooled.txid();
    assert!(adm.submit(vec![pooled], &mut pool, &chain.state, &net, Instant::now())[0].is_ok());
    adm.on_get_txs(peer(3), &[pooled_id; 1_000], &pool, &net);
    assert_eq!(*net.sent.borrow(), vec![(peer(3), pooled_id)]);
}

/// A [`Network`] that records what is broadcast, to see what the node's [`TxNet`] sends.
#[derive(Default)]
struct Wire(std::sync::Mutex<Vec<(Option<PeerId>, Message)>>);

impl Network for Wire {
    fn broadcast(&self, msg: Message) {
        self.0.lock().unwrap().push((None, msg));
    }
    fn broadcast_except(&self, peer: PeerId, msg: Message) {
        self.0.lock().unwrap().push((Some(peer), msg));
    }
    fn send(&self, peer: PeerId, msg: Message) -> bool {
        self.0.lock().unwrap().push((Some(peer), msg));
        true
    }
    fn report(&self, _: PeerId, _: Misbehaviour) {}
    fn is_connected(&self, _: &PeerId) -> bool {
        true
    }
    fn connected(&self) -> Vec<PeerId> {
        vec![]
    }
}

#[test]
fn our_transactions_are_pushed_and_a_peers_announced() {
    let (chain, outs, mut adm, mut pool, _) = setup();
    let wire = Wire::default();
    let ours = chain.transfer_from(&outs[0..1], 1, 1_000);
    let theirs = chain.transfer_from(&outs[1..2], 1, 1_000);
    let theirs_id = theirs.txid();
    assert!(adm.submit(
        vec![ours.clone()],
        &mut pool,
        &chain.state,
        &wire,
        Instant::now()
    )[0]
    .is_ok());
    assert!(adm.enqueue(peer(1), theirs));
    adm.admit_pending(&mut pool, &chain.state, &wire, Instant::now());
    assert_eq!(
        *wire.0.lock().unwrap(),
        vec![
            (None, Message::Tx(ours)),
            (Some(peer(1)), Message::TxAnnounce(vec![theirs_id])),
        ]
    );
}
