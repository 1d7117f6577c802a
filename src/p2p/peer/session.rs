//! One session with a handshaken peer: admission against the limits (under the admission
//! lock, so handshakes finishing together cannot overshoot), one connection per node key,
//! registration, then its writer task and read loop until either ends, and the score kept
//! for a reconnect.

use super::addrs::listen_addr_of;
use super::{lock, reader, writer, Frame, Peer, Shared, BUDGET_UNIT, UNKNOWN};
use crate::p2p::exchange::AddrExchange;
use crate::p2p::gossip::SeenSet;
use crate::p2p::message::{Hello, Message};
use crate::p2p::Direction;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::TlsStream;

/// Gossip ids remembered per peer (sent to or received from it).
const PEER_KNOWN_CAP: usize = 8_192;
/// Disconnected peers whose scores are remembered.
const SCORES_CAP: usize = 1_000;

/// Registers the peer and runs its reader and writer until either ends.
pub(crate) async fn run_peer(
    sh: Arc<Shared>,
    tls: TlsStream<TcpStream>,
    remote: SocketAddr,
    direction: Direction,
    hello: Hello,
    dialed: Option<String>,
) {
    let id = hello.node_key;
    if id == sh.local_id {
        tracing::info!(target: "p2p::peer", "dropping connection to ourselves from {remote}");
        return;
    }
    if sh.is_banned(remote.ip(), Some(&id)) {
        tracing::info!(target: "p2p::peer", peer = %id.short(), "refusing banned peer at {remote}");
        return;
    }
    let is_fixed = dialed.as_ref().is_some_and(|a| lock(&sh.fixed).contains(a));
    let admission = lock(&sh.admission);
    match direction {
        Direction::Inbound if sh.inbound_count() >= sh.cfg.max_inbound => {
            tracing::info!(target: "p2p::peer", "refusing {remote}: max_inbound reached");
            return;
        }
        Direction::Inbound => {
            if let Err(why) = sh.inbound_limiter().admit(sh.inbound_ips(), remote.ip()) {
                tracing::info!(target: "p2p::peer", peer = %id.short(), "refusing {remote}: {why}");
                return;
            }
        }
        Direction::Outbound if !is_fixed && sh.outbound_count() >= sh.cfg.max_outbound => {
            tracing::debug!(target: "p2p::peer", "dropping {remote}: max_outbound reached");
            return;
        }
        _ => {}
    }
    let (qtx, qrx) = mpsc::channel::<Frame>(sh.cfg.peer_queue.max(16));
    let conn_id = sh.next_conn_id.fetch_add(1, Ordering::Relaxed);
    let cancel = sh.shutdown.child_token();
    let peer = Arc::new(Peer {
        id,
        conn_id,
        addr: remote,
        direction,
        connected_since: SystemTime::now(),
        queue: qtx,
        queued_bytes: Arc::new(AtomicUsize::new(0)),
        cancel: cancel.clone(),
        known: Mutex::new(SeenSet::new(PEER_KNOWN_CAP)),
        served: Mutex::new(SeenSet::new(super::PEER_SERVED_CAP)),
        exchange: Mutex::new(AddrExchange::new()),
        bytes_in: AtomicU64::new(0),
        bytes_out: Arc::new(AtomicU64::new(0)),
        msgs_in: AtomicU64::new(0),
        msgs_out: Arc::new(AtomicU64::new(0)),
        dropped: AtomicU64::new(0),
        consecutive_drops: AtomicU32::new(0),
        score: AtomicI32::new(0),
        latency_ms: AtomicU64::new(UNKNOWN),
        height: AtomicU64::new(hello.height),
        ping: Arc::new(Mutex::new(None)),
        inbound: Arc::new(Semaphore::new(
            (sh.cfg.peer_inbound_bytes / BUDGET_UNIT).max(1),
        )),
    });
    // One connection per node key. When both sides dialed each other at once, both keep the
    // connection dialed by the smaller node key, so they agree on which one survives.
    let dialer = |d: Direction| {
        if d == Direction::Outbound {
            sh.local_id
        } else {
            id
        }
    };
    {
        use dashmap::mapref::entry::Entry;
        match sh.peers.entry(id) {
            Entry::Occupied(mut e) => {
                let old = e.get().clone();
                let keep_new =
                    old.direction != direction && dialer(direction) < dialer(old.direction);
                if !keep_new {
                    tracing::debug!(target: "p2p::peer", peer = %id.short(), "duplicate connection from {remote} dropped");
                    return;
                }
                old.cancel.cancel();
                peer.score
                    .store(old.score.load(Ordering::Relaxed), Ordering::Relaxed);
                e.insert(peer.clone());
            }
            Entry::Vacant(e) => {
                // Reconnecting does not reset a score.
                if let Some(s) = lock(&sh.scores).remove(&id) {
                    peer.score.store(s, Ordering::Relaxed);
                }
                e.insert(peer.clone());
            }
        }
    }
    drop(admission);
    tracing::info!(target: "p2p::peer", peer = %id.short(), "connected {direction:?} {remote} (height {})", hello.height);
    // Addresses: the peer's advertised listen address goes to the book.
    if let Some(a) = listen_addr_of(&hello.listen_addr, remote) {
        // Only an address at the peer's own IP is taken as "this key is connected there", so
        // a peer cannot stop us dialing someone else by claiming their address.
        if a.parse::<SocketAddr>()
            .is_ok_and(|sa| sa.ip() == remote.ip())
        {
            sh.addr_keys.insert(a.clone(), id);
        }
        sh.learn_addrs(&peer, vec![a], 1);
    }
    if let Some(a) = &dialed {
        sh.addr_keys.insert(a.clone(), id);
    }
    sh.changed.notify_one();

    let (rd, wr) = tokio::io::split(tls);
    let writer = tokio::spawn(writer::write_loop(
        wr,
        writer::Outbox::new(qrx, sh.cfg.link_delay, sh.cfg.peer_queue),
        peer.clone(),
        sh.cfg.ping_interval,
        sh.nonce.fetch_add(1 << 32, Ordering::Relaxed),
        sh.cfg.max_frame,
        writer::FramePace::under(sh.cfg.msg_rate),
    ));
    if direction == Direction::Outbound {
        lock(&peer.exchange).asked();
        sh.queue_control(&peer, &Message::GetPeers);
    }
    let (height, tip) = *sh.height.borrow();
    sh.queue_control(&peer, &Message::Status { height, tip });
    let reason = reader::read_loop(&sh, rd, &peer).await;
    cancel.cancel();
    sh.peers.remove_if(&id, |_, p| p.conn_id == conn_id);
    let score = peer.score.load(Ordering::Relaxed);
    if score > 0 {
        let mut scores = lock(&sh.scores);
        if scores.len() >= SCORES_CAP {
            scores.retain(|_, s| *s >= sh.cfg.ban_threshold / 2);
            if scores.len() >= SCORES_CAP {
                scores.clear();
            }
        }
        scores.insert(id, score);
    }
    let _ = writer.await;
    sh.changed.notify_one();
    tracing::info!(target: "p2p::peer", peer = %id.short(), "disconnected {remote}: {reason}");
}
