//! Proposal relay by announcement: a node pushes its own proposal in full, and announces one it
//! relays (`Have`); a peer asks for it (`GetProposal`) only if it never received it, and is
//! answered once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::p2p_common::*;
use std::sync::Arc;
use timecoin::p2p::message::gossip_key;
use timecoin::p2p::{MemoryPeerStore, Message};
use timecoin::types::encoding::Encode;
use timecoin::types::{Hash, Proposal, SecretKey};

fn proposal(key: &SecretKey) -> Message {
    let block = block(5, 200, key.public());
    let proposal = Proposal::new_signed(chain(), 5, 0, None, block.hash(), key);
    Message::Proposal { proposal, block }
}

/// A node that dials only the peers a test connects it to, so the topology is the test's.
async fn node_of(seed: u8) -> TestNode {
    start_node(
        seed,
        |c| c.max_outbound = 0,
        Arc::new(MemoryPeerStore::new()),
        false,
    )
    .await
}

fn is_proposal(m: &Message) -> bool {
    matches!(m, Message::Proposal { .. })
}

/// Sends a marker vote `n` from `from` to `to` and waits for it: everything `from` queued for
/// `to` before it has been read by `to`.
async fn flush(from: &TestNode, to: &TestNode, n: u64) {
    assert!(from.handle.send(to.key.public(), Message::Vote(vote(n))));
    wait_for("the marker vote", || to.count(is_vote(n)) == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayed_proposal_is_announced_and_fetched_only_where_it_is_missing() {
    // a proposes to its peers b and c; b relays to c (which has it) and to d (which does not).
    let a = node_of(111).await;
    let b = node_of(112).await;
    let c = node_of(113).await;
    let d = node_of(114).await;
    connect_pair(&a, &b).await;
    connect_pair(&a, &c).await;
    connect_pair(&b, &c).await;
    connect_pair(&b, &d).await;
    let msg = proposal(&a.key);
    let key = gossip_key(&msg, &msg.to_bytes()).unwrap();
    a.handle.broadcast(msg.clone());
    wait_for("the proposal at b and c", || {
        b.count(is_proposal) == 1 && c.count(is_proposal) == 1
    })
    .await;

    b.handle.broadcast_except(a.key.public(), msg.clone());
    wait_for("d fetched the proposal from b", || {
        d.count(is_proposal) == 1
    })
    .await;
    // c read b's announcement before the marker; a request it sent would reach b before c's
    // marker, and b's answer reach c before b's next one.
    flush(&b, &c, 1).await;
    flush(&c, &b, 2).await;
    flush(&b, &c, 3).await;
    assert_eq!(
        c.count(is_proposal),
        1,
        "c had it: the block was not sent again"
    );

    // Asking again, as a peer that wants the block twice would, gets nothing.
    for _ in 0..3 {
        assert!(d.handle.send(b.key.public(), Message::GetProposal(key)));
    }
    assert!(d
        .handle
        .send(b.key.public(), Message::GetProposal(Hash([9; 32]))));
    flush(&d, &b, 4).await;
    flush(&b, &d, 5).await;
    assert_eq!(d.count(is_proposal), 1, "served once per peer");
    assert_eq!(a.count(is_proposal), 0);
    // The peers that asked and answered blame nobody.
    for n in [&b, &d] {
        let peers = fresh_peers(n).await;
        assert!(peers.iter().all(|p| p.score == 0), "nobody was blamed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announcer_that_does_not_serve_is_passed_over_for_the_next() {
    // d hears of the proposal first from x, which does not have it, then from b, which does.
    let a = node_of(121).await;
    let b = node_of(122).await;
    let d = node_of(124).await;
    let x = node_of(125).await;
    connect_pair(&a, &b).await;
    connect_pair(&b, &d).await;
    connect_pair(&x, &d).await;
    let msg = proposal(&a.key);
    let key = gossip_key(&msg, &msg.to_bytes()).unwrap();
    a.handle.broadcast(msg.clone());
    wait_for("the proposal at b", || b.count(is_proposal) == 1).await;

    assert!(x.handle.send(d.key.public(), Message::Have(key)));
    flush(&x, &d, 11).await;
    b.handle.broadcast_except(a.key.public(), msg.clone());
    wait_for(
        "d fetched the proposal from b after x did not answer",
        || d.count(is_proposal) == 1,
    )
    .await;
    assert_eq!(x.count(is_proposal), 0);
}
