//! Two conflicting spends of one output, sent at the same moment to two different nodes of a
//! real 4-node devnet over TLS: exactly one becomes final, the other's wallet reports it
//! conflicted, and balances add up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::time::{Duration, Instant};
use timecoin::app::wallet_service::NodeChainView;
use timecoin::consensus::ConsensusParams;
use timecoin::mempool::MempoolLimits;
use timecoin::node::devnet::DevnetLayout;
use timecoin::node::{self, NodeHandle};
use timecoin::types::{Address, Amount, Network, SecretKey};
use timecoin::wallet::{TxStatus, Wallet};
use tokio_util::sync::CancellationToken;

async fn wait_for(what: &str, deadline: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_spends_to_two_nodes_one_final_one_conflicted() {
    let dir = tempfile::tempdir().unwrap();
    let ports = support::ports::range(40);
    let layout = DevnetLayout {
        nodes: 4,
        base_port: ports.base(),
        dir: dir.path().to_path_buf(),
    };
    let genesis = layout.genesis();
    let shutdown = CancellationToken::new();
    let mut nodes: Vec<NodeHandle> = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..4 {
        let spec = layout.node_spec(
            i,
            &genesis,
            ConsensusParams::devnet(),
            MempoolLimits::default(),
        );
        let (h, t) = node::start(spec, shutdown.child_token()).await.unwrap();
        nodes.push(h);
        tasks.push(t);
    }
    wait_for(
        "a first finalized block on every node",
        Duration::from_secs(30),
        || nodes.iter().all(|n| n.height() >= 1),
    )
    .await;

    // Two wallets from the same (faucet) phrase pick the same coin for different payments.
    let mut w1 = Wallet::devnet_faucet(Network::Devnet).unwrap();
    let mut w2 = Wallet::devnet_faucet(Network::Devnet).unwrap();
    let alice = Address::from_pubkey(&SecretKey::from_seed(&[0xa1; 32]).public());
    let bob = Address::from_pubkey(&SecretKey::from_seed(&[0xb0; 32]).public());
    let amount = Amount::from_time(7);
    let c1 = NodeChainView::fetch(&nodes[0], &w1).await.unwrap();
    let before = w1.balances(&c1).finalized;
    let p1 = w1.prepare_send(&c1, alice, amount, 1).unwrap();
    let c2 = NodeChainView::fetch(&nodes[1], &w2).await.unwrap();
    let p2 = w2.prepare_send(&c2, bob, amount, 1).unwrap();
    assert_eq!(
        p1.inputs[0].outpoint, p2.inputs[0].outpoint,
        "both spend the same output"
    );
    let fee = p1.fee;
    let t1 = w1.confirm_send(p1).unwrap();
    let t2 = w2.confirm_send(p2).unwrap();
    let (id1, id2) = (t1.txid(), t2.txid());

    // At the same moment, to two different nodes.
    let (r1, r2) = tokio::join!(nodes[0].submit_tx(t1), nodes[1].submit_tx(t2));
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert!(
        r1.is_ok() || r2.is_ok(),
        "at least one is admitted: {r1:?} {r2:?}"
    );

    // Exactly one becomes final on every node.
    let store: Vec<_> = nodes.iter().map(|n| n.storage.clone()).collect();
    wait_for(
        "one of the two spends final on every node",
        Duration::from_secs(30),
        || {
            store.iter().all(|s| {
                s.tx_location(&id1).unwrap().is_some() || s.tx_location(&id2).unwrap().is_some()
            })
        },
    )
    .await;
    let final1 = store[0].tx_location(&id1).unwrap().is_some();
    let final2 = store[0].tx_location(&id2).unwrap().is_some();
    assert!(
        final1 ^ final2,
        "exactly one final (1: {final1}, 2: {final2})"
    );
    for s in &store {
        assert_eq!(s.tx_location(&id1).unwrap().is_some(), final1);
        assert_eq!(s.tx_location(&id2).unwrap().is_some(), final2);
    }
    // A few more blocks: the loser never becomes final and leaves every mempool.
    let h = nodes[0].height();
    wait_for("three more blocks", Duration::from_secs(30), || {
        nodes.iter().all(|n| n.height() >= h + 3)
    })
    .await;
    assert_eq!(store[0].tx_location(&id1).unwrap().is_some(), final1);
    assert_eq!(store[0].tx_location(&id2).unwrap().is_some(), final2);

    // The wallets see one final and one conflicted.
    let c1 = NodeChainView::fetch(&nodes[2], &w1).await.unwrap();
    let c2 = NodeChainView::fetch(&nodes[3], &w2).await.unwrap();
    let status = |w: &Wallet, c: &NodeChainView, id| {
        w.history(c)
            .into_iter()
            .find(|e| e.txid == id)
            .unwrap()
            .status
    };
    let (s1, s2) = (status(&w1, &c1, id1), status(&w2, &c2, id2));
    let (winner, loser) = if final1 { (s1, s2) } else { (s2, s1) };
    assert!(matches!(winner, TxStatus::Final { .. }), "{winner:?}");
    assert_eq!(loser, TxStatus::Conflicted);

    // Balances add up: the faucet paid one amount and one fee; one recipient got it.
    let after = w1.balances(&c1);
    assert_eq!(after.pending, Amount::ZERO);
    assert_eq!(after.finalized, Amount(before.0 - amount.0 - fee.0));
    let paid = |data: timecoin::node::WalletChainData| -> u64 {
        data.finalized.iter().map(|(_, u)| u.output.amount.0).sum()
    };
    let paid_alice = paid(nodes[0].wallet_data(vec![alice]).await.unwrap());
    let paid_bob = paid(nodes[0].wallet_data(vec![bob]).await.unwrap());
    if final1 {
        assert_eq!((paid_alice, paid_bob), (amount.0, 0));
    } else {
        assert_eq!((paid_alice, paid_bob), (0, amount.0));
    }
    assert_eq!(
        after.finalized,
        w2.balances(&c2).finalized,
        "both views of the faucet agree"
    );

    shutdown.cancel();
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
}
