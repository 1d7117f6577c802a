//! The session's read loop: frames from the peer, rate-limited (offences scored), held in the
//! inbound budgets, decoded, deduplicated as gossip, and handed to the node with backpressure.
//! Returns why the session ended.

use super::budget::{take_budget, InboundBudget};
use super::disconnect::DisconnectReason;
use super::{lock, Peer, Shared};
use crate::p2p::frame::{self, FrameError};
use crate::p2p::gossip::{self, Rate, RateGate};
use crate::p2p::message::{consensus_key_of_encoded, gossip_key, is_proposal, Message};
use crate::p2p::score::Misbehaviour;
use crate::p2p::InboundMessage;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::AsyncRead;

/// Reads, rate-limits, budgets, decodes and dispatches the peer's frames until the session
/// ends; answers pings and `GetPeers` itself and hands the rest to the node.
pub(super) async fn read_loop<R: AsyncRead + Unpin>(
    sh: &Shared,
    mut rd: R,
    peer: &Arc<Peer>,
) -> DisconnectReason {
    let cfg = &sh.cfg;
    let mut rate = RateGate::new(cfg.msg_rate, cfg.byte_rate, Instant::now());
    loop {
        let res = tokio::select! {
            _ = peer.cancel.cancelled() => return DisconnectReason::ClosedLocally,
            r = tokio::time::timeout(cfg.idle_timeout, frame::read_frame(&mut rd, cfg.max_frame)) => r,
        };
        let bytes = match res {
            Err(_) => return DisconnectReason::Idle(cfg.idle_timeout),
            Ok(Err(FrameError::Closed)) => return DisconnectReason::ClosedByPeer,
            Ok(Err(e @ FrameError::Oversized { .. })) => {
                sh.report_peer(peer, Misbehaviour::OversizedFrame);
                return DisconnectReason::Frame(e);
            }
            Ok(Err(e @ FrameError::Empty)) => {
                sh.report_peer(peer, Misbehaviour::MalformedFrame);
                return DisconnectReason::Frame(e);
            }
            Ok(Err(e)) => return DisconnectReason::Frame(e),
            Ok(Ok(b)) => b,
        };
        let wire = bytes.len() as u64 + 4;
        peer.bytes_in.fetch_add(wire, Ordering::Relaxed);
        peer.msgs_in.fetch_add(1, Ordering::Relaxed);
        if let Rate::Drop { report } = rate.check(wire, Instant::now()) {
            if report {
                sh.report_peer(peer, Misbehaviour::RateLimited);
            }
            if peer.cancel.is_cancelled() {
                return DisconnectReason::RateLimitBanned;
            }
            continue;
        }
        // A vote, proposal or evidence the node relayed itself goes no further than its hash.
        let consensus_key = consensus_key_of_encoded(&bytes);
        if let Some(k) = consensus_key {
            if !gossip::on_receive_consensus(&mut lock(&sh.seen), &mut lock(&peer.known), k) {
                continue;
            }
            if is_proposal(&bytes) {
                sh.on_proposal_received(k);
            }
        }
        // The frame's share of the inbound budgets, by its decoded size (taken before decoding
        // by its wire size, then topped up): reading pauses while the node holds too much.
        let Some((mut global, mut own)) = take_budget(sh, peer, bytes.len()).await else {
            return DisconnectReason::ClosedLocally;
        };
        let msg = match Message::decode(&bytes) {
            Ok(m) => m,
            Err(e) => {
                sh.report_peer(peer, Misbehaviour::MalformedFrame);
                return DisconnectReason::Malformed(e);
            }
        };
        let decoded = crate::p2p::heap::message_bytes(&msg);
        if decoded > bytes.len() {
            let Some((g, p)) = take_budget(sh, peer, decoded - bytes.len()).await else {
                return DisconnectReason::ClosedLocally;
            };
            global.merge(g);
            own.merge(p);
        }
        let budget = Arc::new(InboundBudget::new(global, own));
        match msg {
            Message::Hello(_) => {
                sh.report_peer(peer, Misbehaviour::MalformedFrame);
                return DisconnectReason::SecondHello;
            }
            Message::Ping(n) => {
                sh.queue_control(peer, &Message::Pong(n));
            }
            Message::Pong(n) => {
                let mut g = lock(&peer.ping);
                if let Some((want, at)) = *g {
                    if want == n {
                        peer.latency_ms
                            .store(at.elapsed().as_millis() as u64, Ordering::Relaxed);
                        *g = None;
                    }
                }
            }
            Message::GetPeers => {
                if lock(&peer.exchange).answer_get_peers() {
                    let reply = Message::Peers(sh.peers_reply());
                    sh.queue_control(peer, &reply);
                }
            }
            Message::Peers(addrs) => sh.on_peers(peer, addrs),
            Message::Have(k) => sh.on_have(peer, k),
            Message::GetProposal(k) => sh.on_get_proposal(peer, k),
            Message::Txs(txs) => {
                // A batch is delivered to the node as individual transactions.
                for tx in txs {
                    let k = tx.txid();
                    let m = Message::Tx(tx);
                    if !gossip::on_receive(&mut lock(&sh.seen), &mut lock(&peer.known), &m, k) {
                        continue;
                    }
                    if let Err(reason) = deliver(sh, peer, m, &budget).await {
                        return reason;
                    }
                }
            }
            Message::TxAnnounce(ids) => {
                // Only ids whose transactions never reached the node go on, as one message.
                let unseen = gossip::on_announce(&lock(&sh.seen), &mut lock(&peer.known), ids);
                if unseen.is_empty() {
                    continue;
                }
                if let Err(reason) = deliver(sh, peer, Message::TxAnnounce(unseen), &budget).await {
                    return reason;
                }
            }
            other => {
                if let Message::Status { height, .. } = &other {
                    peer.height.store(*height, Ordering::Relaxed);
                }
                // Consensus messages passed the check on their bytes above; the rest of the
                // gossip kinds (a single transaction) are checked here.
                if consensus_key.is_none() {
                    if let Some(k) = gossip_key(&other, &bytes) {
                        if !gossip::on_receive(
                            &mut lock(&sh.seen),
                            &mut lock(&peer.known),
                            &other,
                            k,
                        ) {
                            continue;
                        }
                    }
                }
                if let Err(reason) = deliver(sh, peer, other, &budget).await {
                    return reason;
                }
            }
        }
    }
}

/// Hands a message to the node, waiting while its channel is full (backpressure).
async fn deliver(
    sh: &Shared,
    peer: &Peer,
    msg: Message,
    budget: &Arc<InboundBudget>,
) -> Result<(), DisconnectReason> {
    let m = InboundMessage {
        peer: peer.id,
        msg,
        _budget: Some(budget.clone()),
    };
    tokio::select! {
        _ = peer.cancel.cancelled() => Err(DisconnectReason::ClosedLocally),
        r = sh.inbound_tx.send(m) => r.map_err(|_| DisconnectReason::NodeStopped),
    }
}
