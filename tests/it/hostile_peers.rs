//! Attacks by a peer with a throwaway key (no stake) against a devnet of real in-process nodes
//! over TLS. Each test mounts one attack from issue 12 and checks that the network keeps
//! finalizing, that no honest node bans another, and that nothing the attacker made up is
//! passed on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::p2p_common;

use crate::adversary::{until, Adversary, Net};
use std::time::{Duration, Instant};
use timecoin::node::sync::REQUEST_TIMEOUT;
use timecoin::p2p::Message;
use timecoin::types::{Hash, PublicKey, SecretKey};

const T: Duration = Duration::from_secs(60);

fn signed_by(key: PublicKey) -> impl Fn(&Message) -> bool {
    move |m| match m {
        Message::Proposal { proposal, .. } => proposal.proposer == key,
        Message::Vote(v) => v.voter == key,
        Message::Evidence(e) => e.offender() == key,
        _ => false,
    }
}

/// Junk proposals signed by a stranger, for the running and the next height: before, the
/// receiving node relayed them after they failed validation and every receiver banned it (the
/// honest relayer) for an invalid block, cutting the network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_proposals_are_not_relayed_and_ban_no_honest_node() {
    let net = Net::started(4).await;
    net.wait_height(2, T).await;
    let mut attacker = Adversary::connect(net.addr(0), net.chain_id()).await;
    let observer = Adversary::connect(net.addr(1), net.chain_id()).await;
    let h = net.height(0) + 1;
    for (i, height) in [h, h + 1, h, h + 1].into_iter().enumerate() {
        for round in 0..3 {
            let block = attacker.junk_block(height, i as u8 * 3 + round as u8);
            let m = attacker.proposal(round, block);
            attacker.send(&m).await;
        }
    }
    let target = h + 4;
    until("4 more heights, or a ban", T, || {
        net.running().iter().all(|i| net.height(*i) >= target)
            || net
                .running()
                .iter()
                .any(|i| !net.honest_bans(*i).is_empty())
    })
    .await;
    net.assert_no_honest_bans();
    let relayed = observer.count(signed_by(attacker.key.public()));
    assert_eq!(
        relayed, 0,
        "node1 passed on {relayed} of the stranger's proposals"
    );
    net.shutdown().await;
}

/// One `Status` claiming a huge height: before, the lagging node asked only the liar for
/// blocks, forever, and reported headers = the lie. Now it syncs from the honest peers (its
/// request to the liar is hedged to one of them) and drops the lie once the liar's request
/// times out unserved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_lie_does_not_hijack_sync() {
    let mut net = Net::new(4);
    for i in 0..3 {
        net.start(i).await;
    }
    for i in 0..3 {
        net.connect(i);
    }
    net.wait_height(6, T).await;
    net.start(3).await;
    let lie = 1u64 << 60;
    let mut liar = Adversary::connect(net.addr(3), net.chain_id()).await;
    liar.send(&Message::Status {
        height: lie,
        tip: Hash([9; 32]),
    })
    .await;
    let mut snap = net.node(3).snapshot.clone();
    until("node3 hears the claim", T, || {
        snap.borrow_and_update().best_peer_height == Some(lie)
    })
    .await;
    net.connect(3);
    let goal = net.height(0);
    until(
        &format!("node3 syncs to {goal}"),
        Duration::from_secs(40),
        || net.height(3) >= goal,
    )
    .await;
    // The claim counts until the liar fails to serve it: at most one request timeout after
    // it was asked (the sync above may finish sooner, by the hedge).
    until(
        "node3 stops reporting the lie as the best height",
        REQUEST_TIMEOUT + T,
        || {
            let best = net.node(3).snapshot.borrow().best_peer_height;
            best.is_some_and(|b| b < lie)
        },
    )
    .await;
    net.assert_no_honest_bans();
    drop(liar);
    net.shutdown().await;
}

/// Valid evidence about a key that is not a masternode: before, it stayed in the pool forever
/// and made every node start heights back to back (hundreds of empty blocks a second, each
/// minting the reward) instead of one per idle interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_about_a_stranger_does_not_start_heights() {
    let net = Net::started(4).await;
    net.wait_height(2, T).await;
    let mut attacker = Adversary::connect(net.addr(0), net.chain_id()).await;
    let observer = Adversary::connect(net.addr(1), net.chain_id()).await;
    let stranger = SecretKey::generate();
    let h0 = net.height(0);
    let m = attacker.evidence_by(&stranger, h0);
    attacker.send(&m).await;
    let started = Instant::now();
    until("3 more blocks", T, || net.height(0) >= h0 + 3).await;
    let took = started.elapsed();
    // The devnet is idle: one block per 1 s interval (the first may come at once).
    assert!(
        took >= Duration::from_millis(1500),
        "3 idle blocks in {took:?}: heights started back to back"
    );
    assert_eq!(
        observer.count(signed_by(stranger.public())),
        0,
        "evidence relayed"
    );
    net.shutdown().await;
}

/// Prevotes signed by 200 keys outside the validator set: before, each was verified, kept in
/// `last_votes` and relayed to every peer (whose rate limits then punished the relayer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_of_strangers_are_neither_kept_nor_relayed() {
    let net = Net::started(4).await;
    net.wait_height(2, T).await;
    let mut attacker = Adversary::connect(net.addr(0), net.chain_id()).await;
    let observer = Adversary::connect(net.addr(1), net.chain_id()).await;
    let strangers: Vec<SecretKey> = (0..200).map(|_| SecretKey::generate()).collect();
    let h = net.height(0) + 1;
    for (i, k) in strangers.iter().enumerate() {
        let m = attacker.vote_by(k, h + (i % 2) as u64, 0);
        attacker.send(&m).await;
    }
    net.wait_height(h + 3, T).await;
    let keys: Vec<PublicKey> = strangers.iter().map(|k| k.public()).collect();
    let relayed = observer.count(|m| matches!(m, Message::Vote(v) if keys.contains(&v.voter)));
    assert_eq!(relayed, 0, "strangers' votes relayed");
    let kept = net
        .node(0)
        .snapshot
        .borrow()
        .last_votes
        .iter()
        .filter(|(k, _)| keys.contains(k))
        .count();
    assert_eq!(kept, 0, "strangers' votes kept in last_votes");
    net.assert_no_honest_bans();
    net.shutdown().await;
}

/// A consensus message the node dropped unused must be taken when a peer sends it again:
/// before, the p2p layer marked it seen on receipt and discarded every later copy, so a node
/// that dropped a vote (a height it had not reached) could never get it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consensus_message_sent_again_is_delivered_again() {
    let node = p2p_common::node(1).await;
    let mut peer = Adversary::connect(node.addr(), p2p_common::chain()).await;
    let vote = Message::Vote(p2p_common::vote(5));
    peer.send(&vote).await;
    until("first copy", T, || node.count(p2p_common::is_vote(5)) == 1).await;
    peer.send(&vote).await;
    until("second copy", Duration::from_secs(10), || {
        node.count(p2p_common::is_vote(5)) == 2
    })
    .await;
}
