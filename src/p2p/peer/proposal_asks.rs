//! The p2p side of proposal relay by announcement ([`crate::p2p::proposal_relay`]): noting
//! received proposals, asking announcers for the ones the node lacks (the next announcer when
//! one does not answer), and answering asks.

use super::{gossip, lock, Peer, Shared};
use crate::p2p::proposal_relay::ASK_TIMEOUT;
use crate::p2p::Message;
use crate::types::Hash;
use std::sync::Arc;
use std::time::Instant;

impl Shared {
    /// Notes that the proposal `key` reached the node from a peer.
    pub(super) fn on_proposal_received(&self, key: Hash) {
        lock(&self.relay).on_received(key);
    }

    /// `peer` announced the proposal `key`: it is not sent one, and is asked for it unless the
    /// node has it or asked another peer less than [`ASK_TIMEOUT`] ago.
    pub(super) fn on_have(&self, peer: &Peer, key: Hash) {
        gossip::on_have(&mut lock(&peer.known), key);
        if lock(&self.relay).should_ask(key, peer.id, Instant::now()) {
            self.queue_control(peer, &Message::GetProposal(key));
        }
    }

    /// `peer` asked for the proposal `key`: sent if the node relayed it lately, at most once
    /// per peer and proposal (a request costs 33 bytes, the answer up to 4 MiB).
    pub(super) fn on_get_proposal(&self, peer: &Peer, key: Hash) {
        let Some(frame) = lock(&self.relay).held(&key) else {
            return;
        };
        if lock(&peer.served).insert(key) {
            peer.enqueue(frame, self.max_queue_bytes());
        }
    }
}

/// Asks the next announcer of each proposal whose ask went unanswered for [`ASK_TIMEOUT`]
/// (one that announced a proposal and does not serve it delays it by that much, not a round).
pub(super) async fn retry_loop(sh: Arc<Shared>) {
    let mut tick = tokio::time::interval(ASK_TIMEOUT / 4);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = sh.shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let due = lock(&sh.relay).due_asks(Instant::now());
        for (key, id) in due {
            if let Some(p) = sh.peers.get(&id) {
                sh.queue_control(&p, &Message::GetProposal(key));
            }
        }
    }
}
