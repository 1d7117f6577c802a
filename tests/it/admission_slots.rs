//! Admission's verification slots on a real devnet: a node admits gossiped transactions only
//! while it holds a slot, and consensus does not wait for one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::adversary::{until, Net};
use std::time::Duration;
use timecoin::app::wallet_service::NodeChainView;
use timecoin::node::verify_slots::VerifySlots;
use timecoin::types::{Address, Amount, Network, SecretKey};
use timecoin::wallet::Wallet;

const T: Duration = Duration::from_secs(60);

/// Both nodes share one slot, which the test holds: node1 gets node0's transaction by gossip
/// and may not verify it, yet the block that carries it is final on both (node1 validates the
/// block's transactions itself). Before, there were no slots: gossip was admitted at once and
/// a node busy verifying a flood of it held back the votes and proposals behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_waits_for_a_verification_slot_and_consensus_does_not() {
    let mut net = Net::new(2);
    net.verify_slots = VerifySlots::new(1);
    for i in 0..2 {
        net.start(i).await;
    }
    for i in 0..2 {
        net.connect(i);
    }
    net.wait_height(1, T).await;
    let slots = net.verify_slots.clone();
    let held = slots.acquire().await.unwrap();
    assert_eq!(slots.available(), 0);

    let mut wallet = Wallet::devnet_faucet(Network::Devnet).unwrap();
    let to = Address::from_pubkey(&SecretKey::from_seed(&[0x5a; 32]).public());
    let chain = NodeChainView::fetch(net.node(0), &wallet).await.unwrap();
    let prepared = wallet
        .prepare_send(&chain, to, Amount::from_time(3), 1)
        .unwrap();
    let tx = wallet.confirm_send(prepared).unwrap();
    let id = tx.txid();
    // A local submission is verified at once (it is the caller's, not gossip).
    net.node(0).submit_tx(tx).await.unwrap().unwrap();

    let stores = [net.node(0).storage.clone(), net.node(1).storage.clone()];
    let node1 = net.node(1).snapshot.clone();
    let mut node1_pooled = 0;
    until("the transaction final on both nodes", T, || {
        node1_pooled = node1_pooled.max(node1.borrow().mempool.count);
        stores.iter().all(|s| s.tx_location(&id).unwrap().is_some())
    })
    .await;
    assert_eq!(
        node1_pooled, 0,
        "node1 admitted a gossiped transaction without a verification slot"
    );
    drop(held);
    net.shutdown().await;
}
