//! Sending, coin selection, fees, change, balances, lock state, history status and masternode
//! registration against a fake chain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::wallet_support::{signatures_valid, FakeChain};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use timecoin::types::{Address, Amount, Network, PublicKey, SecretKey, Tier, TxKind, COIN};
use timecoin::wallet::{
    devnet_faucet_address, devnet_faucet_key, Direction, KdfParams, MasternodeStep, TxStatus,
    Wallet, WalletError, DEVNET_FAUCET_MNEMONIC, DEVNET_FAUCET_NAME, DUST_LIMIT,
};

const FAST: KdfParams = KdfParams::insecure_fast();
const NET: Network = Network::Devnet;

fn new_wallet(dir: &tempfile::TempDir, name: &str) -> (Wallet, PathBuf) {
    let path = dir.path().join(name);
    let (mut w, _words) = Wallet::create(&path, "correct horse", NET, FAST).unwrap();
    w.unlock("correct horse", Duration::ZERO).unwrap();
    (w, path)
}

fn stranger(n: u8) -> Address {
    Address::from_pubkey(&SecretKey::from_seed(&[n; 32]).public())
}

fn time(t: u64) -> Amount {
    Amount::from_time(t)
}

#[test]
fn largest_first_exact_fee_and_fresh_change() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = new_wallet(&dir, "w.dat");
    let chain = FakeChain::new(2);
    let a0 = w.receive_address().unwrap();
    let a1 = w.new_address("second").unwrap();
    chain.fund(a0, time(5));
    chain.fund(a1, time(3));
    chain.fund(a0, time(1));
    let before: Vec<Address> = w.addresses().iter().map(|e| e.address).collect();

    let to = stranger(1);
    let p = w.prepare_send(&chain, to, time(6), 10).unwrap();
    // Largest first: 5 + 3.
    let mut picked: Vec<Amount> = p.inputs.iter().map(|u| u.output.amount).collect();
    picked.sort();
    assert_eq!(picked, vec![time(3), time(5)]);
    assert_eq!(p.fee, Amount(10 * p.size as u64));
    assert_eq!(p.change, Amount(time(8).0 - time(6).0 - p.fee.0));
    let change_addr = p.change_address.unwrap();
    assert!(
        !before.contains(&change_addr),
        "change goes to a fresh address"
    );

    let tx = w.confirm_send(p.clone()).unwrap();
    assert_eq!(
        tx.size(),
        p.size,
        "fee was computed from the exact signed size"
    );
    assert!(signatures_valid(&tx, &chain.id));
    assert_eq!(tx.outputs[0].address, to);
    assert_eq!(tx.outputs[0].amount, time(6));
    assert_eq!(tx.outputs[1].address, change_addr);
    let in_total: u64 = p.inputs.iter().map(|u| u.output.amount.0).sum();
    let out_total: u64 = tx.outputs.iter().map(|o| o.amount.0).sum();
    assert_eq!(in_total - out_total, p.fee.0);
    let entry = w
        .addresses()
        .into_iter()
        .find(|e| e.address == change_addr)
        .unwrap();
    assert!(entry.change);
    assert_eq!(entry.index, 0);

    // Recorded as pending once the node has it; balances follow.
    assert!(chain.submit(&tx));
    let h = w.history(&chain);
    assert_eq!(h[0].txid, tx.txid());
    assert_eq!(h[0].status, TxStatus::Pending);
    assert_eq!(h[0].direction, Direction::Outgoing);
    assert_eq!(h[0].amount, time(6));
    assert_eq!(h[0].fee, Some(p.fee));
    let b = w.balances(&chain);
    assert_eq!(b.finalized, time(1));
    assert_eq!(b.outgoing, time(8));
    assert_eq!(b.pending, p.change);

    // The next send skips outputs spent in the mempool and uses a new change address.
    let p2 = w.prepare_send(&chain, to, Amount(50_000_000), 10).unwrap();
    assert_eq!(p2.inputs.len(), 1);
    assert_eq!(p2.inputs[0].output.amount, time(1));
    assert_ne!(p2.change_address, Some(change_addr));

    chain.finalize(&tx);
    let h = w.history(&chain);
    assert!(matches!(h[0].status, TxStatus::Final { .. }));
    let b = w.balances(&chain);
    assert_eq!(b.finalized.0, time(1).0 + p.change.0);
    assert_eq!(b.pending, Amount::ZERO);
    assert_eq!(b.outgoing, Amount::ZERO);
}

#[test]
fn dust_change_goes_to_fee() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = new_wallet(&dir, "w.dat");
    let chain = FakeChain::new(1);
    // Learn the no-change size: one input, one output.
    chain.fund(w.receive_address().unwrap(), time(100));
    let probe = w.prepare_send(&chain, stranger(2), time(1), 1).unwrap();
    let size_nc = probe.size - 29; // minus the change output
    let chain = FakeChain::new(1);
    let amount = time(1);
    let left = DUST_LIMIT.0 - 1;
    chain.fund(
        w.receive_address().unwrap(),
        Amount(amount.0 + size_nc as u64 + left),
    );
    let p = w.prepare_send(&chain, stranger(2), amount, 1).unwrap();
    assert_eq!(p.change, Amount::ZERO);
    assert_eq!(p.change_address, None);
    assert_eq!(p.size, size_nc);
    assert_eq!(p.fee.0, size_nc as u64 + left);
    let tx = w.confirm_send(p).unwrap();
    assert_eq!(tx.outputs.len(), 1);

    // One unit more than the dust limit above: now a change output exists.
    let chain = FakeChain::new(1);
    chain.fund(
        w.receive_address().unwrap(),
        Amount(amount.0 + size_nc as u64 + 29 + DUST_LIMIT.0),
    );
    let p = w.prepare_send(&chain, stranger(2), amount, 1).unwrap();
    assert_eq!(p.change, DUST_LIMIT);
}

#[test]
fn insufficient_funds_fee_too_low_dust_and_locked() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = new_wallet(&dir, "w.dat");
    let chain = FakeChain::new(5);
    chain.fund(w.receive_address().unwrap(), time(2));
    chain.fund(w.receive_address().unwrap(), time(1));
    match w.prepare_send(&chain, stranger(3), time(3), 5) {
        Err(WalletError::InsufficientFunds { needed, available }) => {
            assert_eq!(available, time(3));
            assert!(needed > time(3));
        }
        other => panic!("{other:?}"),
    }
    match w.prepare_send(&chain, stranger(3), time(1), 4) {
        Err(WalletError::FeeTooLow {
            fee_rate: 4,
            min: 5,
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        w.prepare_send(&chain, stranger(3), Amount(999), 5),
        Err(WalletError::AmountTooSmall { .. })
    ));
    // Pending incoming funds are not spendable.
    let chain2 = FakeChain::new(5);
    chain2.fund(w.receive_address().unwrap(), time(10));
    chain2.utxos.borrow_mut()[0].height = None;
    assert!(matches!(
        w.prepare_send(&chain2, stranger(3), time(1), 5),
        Err(WalletError::InsufficientFunds {
            available: Amount(0),
            ..
        })
    ));
    assert_eq!(w.balances(&chain2).pending, time(10));

    w.lock();
    assert!(w.is_locked());
    assert!(matches!(
        w.prepare_send(&chain, stranger(3), time(1), 5),
        Err(WalletError::Locked)
    ));
    assert!(matches!(w.new_address("x"), Err(WalletError::Locked)));
    // Addresses and balances stay visible while locked.
    assert!(!w.addresses().is_empty());
    assert_eq!(w.balances(&chain).finalized, time(3));
}

#[test]
fn auto_lock_with_injected_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.dat");
    let (mut w, _) = Wallet::create(&path, "pw", NET, FAST).unwrap();
    assert!(w.is_locked());
    let t0 = Instant::now();
    w.unlock_at("pw", Duration::from_secs(300), t0).unwrap();
    assert_eq!(
        w.auto_lock_remaining(t0 + Duration::from_secs(100)),
        Some(Duration::from_secs(200))
    );
    assert!(!w.tick(t0 + Duration::from_secs(299)));
    assert!(!w.is_locked());
    assert!(w.tick(t0 + Duration::from_secs(300)));
    assert!(w.is_locked());
    assert_eq!(w.auto_lock_remaining(t0), None);
    let chain = FakeChain::new(1);
    assert!(matches!(
        w.prepare_send(&chain, stranger(1), time(1), 1),
        Err(WalletError::Locked)
    ));
    // Zero means no auto-lock.
    w.unlock_at("pw", Duration::ZERO, t0).unwrap();
    assert_eq!(w.auto_lock_remaining(t0), None);
    assert!(!w.tick(t0 + Duration::from_secs(1_000_000)));
    // Wrong passphrase: typed error, state unchanged.
    w.lock();
    assert!(matches!(
        w.unlock_at("nope", Duration::ZERO, t0),
        Err(WalletError::WrongPassphrase)
    ));
    assert!(w.is_locked());
}

/// Two wallets from one phrase spend the same coin: exactly one becomes final, the other is
/// reported conflicted.
#[test]
fn conflicting_spends_one_final_one_conflicted() {
    let dir = tempfile::tempdir().unwrap();
    let p1 = dir.path().join("a.dat");
    let (w1, words) = Wallet::create(&p1, "pw", NET, FAST).unwrap();
    let mut w1 = w1;
    w1.unlock("pw", Duration::ZERO).unwrap();
    let mut w2 = Wallet::restore(&dir.path().join("b.dat"), &words, "pw2", NET, FAST).unwrap();
    w2.unlock("pw2", Duration::ZERO).unwrap();
    assert_eq!(w1.receive_address(), w2.receive_address());

    let chain = FakeChain::new(1);
    chain.fund(w1.receive_address().unwrap(), time(10));
    let a = w1.prepare_send(&chain, stranger(4), time(4), 1).unwrap();
    let a = w1.confirm_send(a).unwrap();
    let b = w2.prepare_send(&chain, stranger(5), time(5), 1).unwrap();
    let b = w2.confirm_send(b).unwrap();
    assert_eq!(a.inputs[0].prev, b.inputs[0].prev);
    // Neither submitted yet: dropped (coins still spendable).
    assert_eq!(w1.history(&chain)[0].status, TxStatus::Dropped);

    assert!(chain.submit(&b));
    assert!(!chain.submit(&a), "first seen wins");
    assert_eq!(w1.history(&chain)[0].status, TxStatus::Conflicted);
    assert_eq!(w2.history(&chain)[0].status, TxStatus::Pending);
    chain.finalize(&b);
    let h1 = w1.history(&chain);
    let h2 = w2.history(&chain);
    let s1 = h1.iter().find(|e| e.txid == a.txid()).unwrap().status;
    let s2 = h2.iter().find(|e| e.txid == b.txid()).unwrap().status;
    assert_eq!(s1, TxStatus::Conflicted);
    assert!(matches!(s2, TxStatus::Final { .. }));
}

#[test]
fn incoming_history_and_persistence() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, path) = new_wallet(&dir, "w.dat");
    let chain = FakeChain::new(1);
    let addr = w.new_address("from alice").unwrap();
    chain.fund(addr, time(2));
    chain.utxos.borrow_mut()[0].height = Some(9);
    chain.fund(addr, time(3));
    chain.utxos.borrow_mut()[1].height = None;
    let h = w.history(&chain);
    assert_eq!(h.len(), 2);
    assert!(h
        .iter()
        .all(|e| e.direction == Direction::Incoming && e.fee.is_none()));
    assert_eq!(h[0].status, TxStatus::Pending);
    assert_eq!(h[1].status, TxStatus::Final { height: 9 });

    w.add_contact("bob", stranger(9)).unwrap();
    w.add_contact("bobby", stranger(9)).unwrap();
    w.add_contact("carol", stranger(10)).unwrap();
    let p = w.prepare_send(&chain, stranger(9), time(1), 1).unwrap();
    let tx = w.confirm_send(p).unwrap();
    let addrs = w.addresses();
    drop(w);

    let w = Wallet::open(&path, NET).unwrap();
    assert!(w.is_locked());
    assert_eq!(w.addresses(), addrs);
    let c = w.contacts();
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].label, "bobby");
    assert_eq!(w.raw_transaction(&tx.txid()).unwrap(), {
        use timecoin::types::Encode;
        tx.to_bytes()
    });
    assert!(w
        .addresses()
        .iter()
        .any(|e| e.label == "from alice" && !e.change));
    assert!(matches!(
        Wallet::open(&path, Network::Mainnet),
        Err(WalletError::WrongNetwork { .. })
    ));
}

#[test]
fn masternode_collateral_then_registration_then_exit() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = new_wallet(&dir, "mn.dat");
    let chain = FakeChain::new(1);
    chain.fund(w.receive_address().unwrap(), time(1_500));
    chain.fund(w.receive_address().unwrap(), time(10));
    let node_key = SecretKey::from_seed(&[42; 32]).public();

    assert!(matches!(
        w.prepare_register_masternode(&chain, Tier::Free, node_key, "127.0.0.1:24300", None, None),
        Err(WalletError::FreeTier)
    ));
    // A dry run builds what the real step builds and leaves no trace in the wallet.
    let history_before = w.history(&chain).len();
    let preview = w
        .dry_run(|c| {
            c.prepare_register_masternode(
                &chain,
                Tier::Bronze,
                node_key,
                "127.0.0.1:24300",
                None,
                None,
            )
        })
        .unwrap();
    assert_eq!(w.history(&chain).len(), history_before);
    assert!(w.collaterals().is_empty());
    // Step 1: the exact collateral is created by a self-transfer.
    let step = w
        .prepare_register_masternode(
            &chain,
            Tier::Bronze,
            node_key,
            "127.0.0.1:24300",
            None,
            None,
        )
        .unwrap();
    let MasternodeStep::FundCollateral { tx, collateral } = step else {
        panic!("expected the collateral step first");
    };
    assert_eq!(
        preview.tx().txid(),
        tx.txid(),
        "the dry run built the same transaction"
    );
    assert!(signatures_valid(&tx, &chain.id));
    assert_eq!(tx.outputs[0].amount, Tier::Bronze.collateral());
    assert!(w.is_mine(&tx.outputs[0].address));
    assert_eq!(collateral.txid, tx.txid());
    assert!(chain.submit(&tx));
    // Not final yet.
    assert!(matches!(
        w.prepare_register_masternode(&chain, Tier::Bronze, node_key, "127.0.0.1:24300", None, None),
        Err(WalletError::CollateralPending(o)) if o == collateral
    ));
    chain.finalize(&tx);

    // A chosen collateral is checked: not ours, wrong amount.
    let foreign = timecoin::types::OutPoint::default();
    assert!(matches!(
        w.dry_run(|c| c.prepare_register_masternode(
            &chain,
            Tier::Bronze,
            node_key,
            "127.0.0.1:24300",
            None,
            Some(foreign)
        )),
        Err(WalletError::BadCollateral { .. })
    ));
    assert!(matches!(
        w.dry_run(|c| c.prepare_register_masternode(&chain, Tier::Silver, node_key, "127.0.0.1:24300", None, Some(collateral))),
        Err(WalletError::BadCollateral { reason, .. }) if reason.contains("exactly")
    ));

    // Step 2: the registration references it, is signed by its owner, pays the fee elsewhere.
    let payout = stranger(7);
    let step = w
        .prepare_register_masternode(
            &chain,
            Tier::Bronze,
            node_key,
            "127.0.0.1:24300",
            Some(payout),
            None,
        )
        .unwrap();
    let MasternodeStep::Register {
        tx: reg,
        collateral: c2,
    } = step
    else {
        panic!("expected the registration");
    };
    assert_eq!(c2, collateral);
    assert!(signatures_valid(&reg, &chain.id));
    let TxKind::MasternodeRegister(r) = &reg.kind else {
        panic!("not a registration");
    };
    assert_eq!(r.collateral, collateral);
    assert_eq!(r.tier, Tier::Bronze);
    assert_eq!(r.node_key, node_key);
    assert_eq!(r.payout, payout);
    assert_eq!(Address::from_pubkey(&r.owner), tx.outputs[0].address);
    assert!(reg.inputs.iter().all(|i| i.prev != collateral));
    assert!(!reg.inputs.is_empty(), "the fee comes from other outputs");
    assert!(chain.submit(&reg));
    chain.finalize(&reg);

    // Sends never touch the collateral.
    let b = w.balances(&chain);
    assert_eq!(b.collateral, Tier::Bronze.collateral());
    match w.prepare_send(&chain, stranger(8), time(600), 1) {
        Err(WalletError::InsufficientFunds { available, .. }) => {
            assert!(available < time(600));
            assert_eq!(available, b.spendable());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(w.collaterals()[0].2, Some(reg.txid()));

    // Update: new address, payout kept; signed by the owner, the collateral untouched.
    let upd = w
        .prepare_update_masternode(
            &chain,
            collateral,
            ("127.0.0.1:24300", payout),
            Some("10.0.0.1:24000"),
            None,
        )
        .unwrap();
    assert!(signatures_valid(&upd, &chain.id));
    let TxKind::MasternodeUpdate(u) = &upd.kind else {
        panic!("not an update");
    };
    assert_eq!((u.p2p_addr.as_str(), u.payout), ("10.0.0.1:24000", payout));
    assert!(upd.inputs.iter().all(|i| i.prev != collateral));
    assert!(matches!(
        w.prepare_update_masternode(
            &chain,
            collateral,
            ("", payout),
            Some(&"x".repeat(65)),
            None
        ),
        Err(WalletError::InvalidInput(_))
    ));
    chain.submit(&upd);
    chain.finalize(&upd);

    // Exit: signed by the owner; the collateral is released.
    let exit = w.prepare_exit_masternode(&chain, collateral).unwrap();
    assert!(signatures_valid(&exit, &chain.id));
    let TxKind::MasternodeExit(x) = &exit.kind else {
        panic!("not an exit");
    };
    assert_eq!(x.collateral, collateral);
    assert!(exit.inputs.iter().all(|i| i.prev != collateral));
    assert!(w.collaterals().is_empty());
    let unknown = timecoin::types::OutPoint::default();
    assert!(matches!(
        w.prepare_exit_masternode(&chain, unknown),
        Err(WalletError::UnknownCollateral(_))
    ));
}

#[test]
fn a_restored_wallet_adopts_its_registered_collateral() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, words) =
        Wallet::create(&dir.path().join("a.dat"), "correct horse", NET, FAST).unwrap();
    w.unlock("correct horse", Duration::ZERO).unwrap();
    let chain = FakeChain::new(1);
    chain.fund(w.receive_address().unwrap(), time(1_500));
    let node_key = SecretKey::from_seed(&[42; 32]).public();
    let step = w
        .prepare_register_masternode(&chain, Tier::Bronze, node_key, "127.0.0.1:1", None, None)
        .unwrap();
    let MasternodeStep::FundCollateral { tx, collateral } = step else {
        panic!("expected the collateral step");
    };
    assert!(chain.submit(&tx));
    chain.finalize(&tx);
    let owner = w
        .addresses()
        .iter()
        .find(|a| a.address == tx.outputs[0].address)
        .unwrap()
        .pubkey;

    // The same keys without the records: the collateral looks spendable.
    let mut r = Wallet::restore(
        &dir.path().join("b.dat"),
        &words,
        "correct horse",
        NET,
        FAST,
    )
    .unwrap();
    r.unlock("correct horse", Duration::ZERO).unwrap();
    r.discover(&chain, 20).unwrap();
    assert_eq!(r.balances(&chain).collateral, Amount::ZERO);
    let someone = SecretKey::from_seed(&[3; 32]).public();
    let registry = [
        (collateral, Tier::Bronze, owner),
        (timecoin::types::OutPoint::default(), Tier::Gold, someone),
    ];
    assert_eq!(r.adopt_collaterals(&registry).unwrap(), 1, "only its own");
    assert_eq!(r.adopt_collaterals(&registry).unwrap(), 0, "once");
    assert_eq!(r.balances(&chain).collateral, Tier::Bronze.collateral());
    assert!(matches!(
        r.prepare_send(&chain, stranger(8), time(1_000), 1),
        Err(WalletError::InsufficientFunds { .. })
    ));
}

#[test]
fn devnet_faucet_is_fixed_and_labelled() {
    assert!(matches!(
        Wallet::devnet_faucet(Network::Mainnet),
        Err(WalletError::FaucetNotDevnet(Network::Mainnet))
    ));
    let mut f = Wallet::devnet_faucet(NET).unwrap();
    assert_eq!(f.name(), DEVNET_FAUCET_NAME);
    assert!(f.name().contains("INSECURE"));
    assert!(!f.is_locked());
    assert!(f.is_insecure_faucet());
    assert_eq!(f.receive_address(), Some(devnet_faucet_address(0)));
    assert_eq!(
        Address::from_pubkey(&devnet_faucet_key(3).public()),
        devnet_faucet_address(3)
    );
    assert_ne!(devnet_faucet_address(0), devnet_faucet_address(1));
    assert_eq!(
        f.reveal_mnemonic("").unwrap().as_str(),
        DEVNET_FAUCET_MNEMONIC
    );
    // It can fund other wallets right away.
    let chain = FakeChain::new(1);
    chain.fund(devnet_faucet_address(0), time(1_000_000));
    let p = f.prepare_send(&chain, stranger(1), time(100), 1).unwrap();
    let tx = f.confirm_send(p).unwrap();
    assert!(signatures_valid(&tx, &chain.id));
    // Pinned: the faucet key must never change (the devnet genesis funds it, users' scripts and
    // docs use its address). Literals computed once from DEVNET_FAUCET_MNEMONIC at account 0,
    // index 0; a change to the mnemonic, the seed or key derivation or the address encoding
    // fails here.
    const FAUCET_ADDRESS: &str = "dtime1qzn4tafmvtfycrh26uw8yw95jljlvaajmslnguyd";
    const FAUCET_PUBKEY: &str = "98394d23b3cbe421a9ee09fe10dc01f252b0eaf1d07d43d57d479c35ff55f9c3";
    const FAUCET_SEED: &str = "e41c7fb3bd3ce5741135d84d4de4b162a44bf1f179b604ed6e215a7c6b9b8a36";
    let key = devnet_faucet_key(0);
    assert_eq!(hex::encode(*key.seed()), FAUCET_SEED);
    assert_eq!(key.public().to_hex(), FAUCET_PUBKEY);
    assert_eq!(devnet_faucet_address(0).encode(NET), FAUCET_ADDRESS);
    let pk: PublicKey = PublicKey::from_hex(FAUCET_PUBKEY).unwrap();
    assert_eq!(f.addresses()[0].pubkey, pk);
    assert_eq!(
        Wallet::devnet_faucet(NET)
            .unwrap()
            .receive_address()
            .unwrap()
            .encode(NET),
        FAUCET_ADDRESS
    );
    let _ = COIN;
}

#[test]
fn mnemonic_reveal_and_restore_give_same_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.dat");
    let (w, words) = Wallet::create(&path, "pw", NET, FAST).unwrap();
    assert_eq!(words.split(' ').count(), 24);
    assert_eq!(w.reveal_mnemonic("pw").unwrap().as_str(), words.as_str());
    assert!(matches!(
        w.reveal_mnemonic("wrong"),
        Err(WalletError::WrongPassphrase)
    ));
    let r = Wallet::restore(&dir.path().join("r.dat"), &words, "other", NET, FAST).unwrap();
    assert_eq!(r.receive_address(), w.receive_address());
    assert!(matches!(
        Wallet::restore(
            &dir.path().join("x.dat"),
            "abandon abandon",
            "pw",
            NET,
            FAST
        ),
        Err(WalletError::InvalidMnemonic(_))
    ));
    // Debug output of a wallet holds no secrets.
    let mut u = Wallet::open(&path, NET).unwrap();
    u.unlock("pw", Duration::ZERO).unwrap();
    let d = format!("{u:?}");
    assert!(!d.contains(words.as_str()));
    assert!(d.contains("locked: false"));
}

#[test]
fn restore_discovers_used_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = new_wallet(&dir, "w.dat");
    let words = w.reveal_mnemonic("correct horse").unwrap();
    let chain = FakeChain::new(1);
    let mut last = None;
    for i in 0..6 {
        last = Some(w.new_address(&format!("a{i}")).unwrap());
    }
    chain.fund(last.unwrap(), time(4));
    let change = w.new_change_address().unwrap();
    let change2 = w.new_change_address().unwrap();
    chain.fund(change2, time(1));
    let _ = change;

    let mut r = Wallet::restore(&dir.path().join("r.dat"), &words, "pw", NET, FAST).unwrap();
    assert_eq!(r.balances(&chain).finalized, Amount::ZERO);
    assert!(matches!(r.discover(&chain, 20), Err(WalletError::Locked)));
    r.unlock("pw", Duration::ZERO).unwrap();
    // Receive index 6 is beyond a gap of 3 after index 0; change index 1 is within it.
    assert_eq!(r.discover(&chain, 3).unwrap(), 2);
    assert_eq!(r.discover(&chain, 10).unwrap(), 6);
    assert_eq!(r.balances(&chain).finalized, time(5));
    assert_eq!(r.discover(&chain, 3).unwrap(), 0);
    let uri = r.receive_uri(Some(time(1)), Some("tip jar")).unwrap();
    assert!(uri.starts_with("timecoin:dtime1"), "{uri}");
    assert!(
        uri.contains("amount=1.0") && uri.contains("label=tip%20jar"),
        "{uri}"
    );
}

/// A fee far above any sane one (a fee rate in the wrong unit) is refused by default, naming
/// the config key; a raised cap lets it through.
#[test]
fn fee_above_max_fee_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = new_wallet(&dir, "w.dat");
    let chain = FakeChain::new(1);
    chain.fund(w.receive_address().unwrap(), time(1_000));
    // 1 TIME per byte, as if the rate were TIME/kB read as units/byte times 1e5.
    let rate = COIN;
    let e = w
        .prepare_send(&chain, stranger(4), time(1), rate)
        .unwrap_err();
    assert!(e.to_string().contains("[wallet] max_fee"), "{e}");
    assert!(matches!(e, WalletError::FeeAboveMax { .. }), "{e:?}");
    // The ordinary rate is far below the default cap.
    w.prepare_send(&chain, stranger(4), time(1), 1).unwrap();
    w.set_max_fee(time(500));
    let p = w.prepare_send(&chain, stranger(4), time(1), rate).unwrap();
    assert!(p.fee > time(100));
}

/// An incoming transaction's history amount is what it paid the wallet, not what is left of
/// it: two outputs of one payment, one of them spent since, still read as the full payment.
#[test]
fn incoming_history_amount_is_what_the_transaction_moved() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = new_wallet(&dir, "w.dat");
    let chain = FakeChain::new(1);
    let me = w.receive_address().unwrap();
    let funding = chain.fund(stranger(8), time(100));
    let payer = SecretKey::from_seed(&[8; 32]);
    let payment = timecoin::types::Transaction {
        version: timecoin::types::tx::TX_VERSION,
        inputs: vec![timecoin::types::TxIn {
            prev: funding,
            pubkey: payer.public(),
            signature: timecoin::types::Signature([0; 64]),
        }],
        outputs: vec![
            timecoin::types::TxOut {
                amount: time(30),
                address: me,
            },
            timecoin::types::TxOut {
                amount: time(20),
                address: me,
            },
            timecoin::types::TxOut {
                amount: time(49),
                address: stranger(8),
            },
        ],
        lock_time: 0,
        kind: TxKind::Transfer,
    };
    chain.finalize(&payment);
    let entry = |w: &Wallet| {
        w.history(&chain)
            .into_iter()
            .find(|h| h.txid == payment.txid())
            .unwrap()
    };
    assert_eq!(entry(&w).amount, time(50));
    assert_eq!(entry(&w).direction, Direction::Incoming);
    // Spend the 30 (largest first): the payment still moved 50.
    let p = w.prepare_send(&chain, stranger(9), time(25), 1).unwrap();
    let tx = w.confirm_send(p).unwrap();
    chain.finalize(&tx);
    assert_eq!(entry(&w).amount, time(50));
}
