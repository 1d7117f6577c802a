//! The running p2p layer, by role (as reth splits its network crate):
//!
//! - this module: the state shared by every task ([`Shared`], one [`Peer`] per session),
//!   [`start`], and sending to peers;
//! - [`listener`]: the accept loop and the limits checked before any TLS work;
//! - [`dialer`]: fixed peers, outbound slots spread across groups, backoff;
//! - [`handshake`]: TLS and the Hello exchange, both directions;
//! - [`session`]: admission of a handshaken peer, its lifetime and cleanup;
//! - [`reader`] and [`writer`]: the session's read and write loops, with [`budget`] (inbound
//!   memory budgets) and [`coalesce`] (outgoing `Tx` frames batched as `Txs`);
//! - [`status`]: peer snapshots and our height to every peer;
//! - [`bans`]: misbehaviour scores and bans; [`addrs`]: address exchange with peers;
//! - [`disconnect`]: why a session or a handshake ended.
//!
//! Gossip deduplication and rate limits are [`super::gossip`] (shared with the simulation);
//! the address book is [`super::addr_book`].

mod addrs;
mod bans;
mod budget;
mod coalesce;
mod dialer;
pub mod disconnect;
mod handshake;
mod listener;
mod proposal_asks;
mod reader;
mod session;
mod status;
mod writer;

pub(crate) use budget::InboundBudget;
use budget::BUDGET_UNIT;
use dialer::Backoff;

use super::addr_book::{valid_addr, AddrBook, SharedBook, MAX_ADDR_BOOK};
use super::exchange::AddrExchange;
use super::frame;
use super::gossip::{self, SeenSet};
use super::message::{gossip_key, is_proposal, Message};
use super::netgroup::{gossipable, InboundLimiter};
use super::proposal_relay::ProposalRelay;
use super::store::{BanEntry, PeerStore};
use super::{tls, Direction, InboundMessage, P2pConfig, P2pError, PeerId, PeerInfo};
use crate::types::encoding::Encode;
use crate::types::Hash;
use dashmap::DashMap;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_util::sync::CancellationToken;

/// Gossip ids remembered node-wide (already delivered to the node or sent by it).
const SEEN_CAP: usize = 65_536;
/// Proposals one peer can get on request in a connection (it asks only for what it lacks).
const PEER_SERVED_CAP: usize = 16;
/// Consecutive queue-full drops after which a slow peer is disconnected.
const MAX_CONSECUTIVE_DROPS: u32 = 1_024;

/// Locks `m`; a lock poisoned by a panicking holder is taken as it is.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One encoded frame (length prefix included), shared by every peer it is queued for.
type Frame = Arc<Vec<u8>>;

/// One connected, handshaken peer.
pub(crate) struct Peer {
    id: PeerId,
    conn_id: u64,
    addr: SocketAddr,
    direction: Direction,
    connected_since: SystemTime,
    queue: mpsc::Sender<Frame>,
    queued_bytes: Arc<AtomicUsize>,
    cancel: CancellationToken,
    known: Mutex<SeenSet>,
    /// Proposals sent to this peer on its request.
    served: Mutex<SeenSet>,
    exchange: Mutex<AddrExchange>,
    bytes_in: AtomicU64,
    bytes_out: Arc<AtomicU64>,
    msgs_in: AtomicU64,
    msgs_out: Arc<AtomicU64>,
    dropped: AtomicU64,
    consecutive_drops: AtomicU32,
    score: AtomicI32,
    latency_ms: AtomicU64,
    height: AtomicU64,
    ping: Arc<Mutex<Option<(u64, Instant)>>>,
    /// This peer's share of the inbound budget (KiB).
    inbound: Arc<Semaphore>,
}

/// The value of `latency_ms` and `height` before anything is known.
const UNKNOWN: u64 = u64::MAX;

impl Peer {
    fn info(&self) -> PeerInfo {
        let opt = |v: u64| (v != UNKNOWN).then_some(v);
        PeerInfo {
            id: self.id,
            conn_id: self.conn_id,
            addr: self.addr,
            direction: self.direction,
            latency_ms: opt(self.latency_ms.load(Ordering::Relaxed)),
            height: opt(self.height.load(Ordering::Relaxed)),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            msgs_in: self.msgs_in.load(Ordering::Relaxed),
            msgs_out: self.msgs_out.load(Ordering::Relaxed),
            score: self.score.load(Ordering::Relaxed),
            connected_since: self.connected_since,
        }
    }

    /// Queues a frame; drops it (counted) when the queue is full, and disconnects a peer whose
    /// queue stays full.
    fn enqueue(&self, frame: Frame, max_bytes: usize) -> bool {
        let len = frame.len();
        if self.queued_bytes.load(Ordering::Relaxed) + len > max_bytes {
            self.note_drop();
            return false;
        }
        self.queued_bytes.fetch_add(len, Ordering::Relaxed);
        match self.queue.try_send(frame) {
            Ok(()) => {
                self.consecutive_drops.store(0, Ordering::Relaxed);
                true
            }
            Err(_) => {
                self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
                self.note_drop();
                false
            }
        }
    }

    fn note_drop(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        let n = self.consecutive_drops.fetch_add(1, Ordering::Relaxed) + 1;
        if n == MAX_CONSECUTIVE_DROPS {
            tracing::warn!(target: "p2p::peer", peer = %self.id.short(), addr = %self.addr,
                "disconnecting slow peer: its send queue stayed full ({} messages dropped)",
                self.dropped.load(Ordering::Relaxed));
            self.cancel.cancel();
        }
    }
}

/// State shared by all tasks and handles.
pub(crate) struct Shared {
    cfg: P2pConfig,
    pub(crate) local_id: PeerId,
    pub(crate) local_addr: SocketAddr,
    advertised: String,
    pub(crate) peers: DashMap<PeerId, Arc<Peer>>,
    bans: Mutex<Vec<BanEntry>>,
    book: Arc<SharedBook>,
    /// Held from the inbound limit checks to the registration of a new peer, so that
    /// handshakes finishing together cannot overshoot the limits.
    admission: Mutex<()>,
    fixed: Mutex<Vec<String>>,
    self_addrs: Mutex<HashSet<String>>,
    addr_keys: DashMap<String, PeerId>,
    dialing: Mutex<HashSet<String>>,
    backoff: Mutex<HashMap<String, Backoff>>,
    pending_inbound: AtomicUsize,
    pending_per_ip: Mutex<HashMap<IpAddr, usize>>,
    /// Scores of disconnected peers, restored when they reconnect (bounded).
    scores: Mutex<HashMap<PeerId, i32>>,
    inbound_tx: mpsc::Sender<InboundMessage>,
    /// Node-wide inbound budget (KiB of decoded messages not yet dropped by the node).
    inbound_budget: Arc<Semaphore>,
    seen: Mutex<SeenSet>,
    /// Proposals received, and those relayed by announcement, for peers that ask.
    relay: Mutex<ProposalRelay>,
    store: Arc<dyn PeerStore>,
    height: watch::Receiver<(u64, Hash)>,
    pub(crate) peers_tx: watch::Sender<Vec<PeerInfo>>,
    changed: Notify,
    dial_wake: Notify,
    acceptor: TlsAcceptor,
    connector: TlsConnector,
    shutdown: CancellationToken,
    next_conn_id: AtomicU64,
    nonce: AtomicU64,
}

/// Loads the TLS identity, binds the listener, loads bans and addresses from `store`, and spawns
/// the listener, dialer, status and snapshot loops and the address book's persister.
pub(crate) async fn start(
    cfg: P2pConfig,
    store: Arc<dyn PeerStore>,
    height: watch::Receiver<(u64, Hash)>,
    shutdown: CancellationToken,
) -> Result<(Arc<Shared>, mpsc::Receiver<InboundMessage>), P2pError> {
    let dir = cfg.data_dir.clone();
    let (cert, key) = tokio::task::spawn_blocking(move || tls::load_or_create_identity(&dir))
        .await
        .map_err(|e| P2pError::Tls(format!("certificate task failed: {e}")))??;
    let acceptor = TlsAcceptor::from(tls::server_config(cert, key)?);
    let connector = TlsConnector::from(tls::client_config()?);
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| P2pError::Bind {
            addr: cfg.listen,
            source: e,
        })?;
    let local_addr = listener.local_addr().map_err(|e| P2pError::Bind {
        addr: cfg.listen,
        source: e,
    })?;
    let st = store.clone();
    let (bans, addrs) = tokio::task::spawn_blocking(move || (st.load_bans(), st.load_addrs()))
        .await
        .unwrap_or_default();
    let network = cfg.network;
    let book = AddrBook::loaded(MAX_ADDR_BOOK, cfg.max_addrs_per_source, addrs, |a| {
        valid_addr(a) && gossipable(a, network)
    });
    let (inbound_tx, inbound_rx) = mpsc::channel(cfg.inbound_queue.max(1));
    let (peers_tx, _) = watch::channel(Vec::new());
    let advertised = cfg
        .advertised_addr
        .clone()
        .unwrap_or_else(|| local_addr.to_string());
    let mut fixed: Vec<String> = Vec::new();
    for a in &cfg.fixed_peers {
        if !fixed.contains(a) {
            fixed.push(a.clone());
        }
    }
    let shared = Arc::new(Shared {
        local_id: cfg.node_key.public(),
        local_addr,
        advertised,
        peers: DashMap::new(),
        bans: Mutex::new(bans),
        book: Arc::new(SharedBook::new(book)),
        admission: Mutex::new(()),
        fixed: Mutex::new(fixed),
        self_addrs: Mutex::new(HashSet::new()),
        addr_keys: DashMap::new(),
        dialing: Mutex::new(HashSet::new()),
        backoff: Mutex::new(HashMap::new()),
        pending_inbound: AtomicUsize::new(0),
        pending_per_ip: Mutex::new(HashMap::new()),
        scores: Mutex::new(HashMap::new()),
        inbound_tx,
        inbound_budget: Arc::new(Semaphore::new((cfg.inbound_bytes / BUDGET_UNIT).max(1))),
        seen: Mutex::new(SeenSet::new(SEEN_CAP)),
        relay: Mutex::new(ProposalRelay::default()),
        store,
        height,
        peers_tx,
        changed: Notify::new(),
        dial_wake: Notify::new(),
        acceptor,
        connector,
        shutdown,
        next_conn_id: AtomicU64::new(1),
        nonce: AtomicU64::new(rand::random()),
        cfg,
    });
    tracing::info!(target: "p2p", "listening for peers on {local_addr} as {} ({})",
        shared.local_id.short(), shared.cfg.network);
    tokio::spawn(listener::accept_loop(shared.clone(), listener));
    tokio::spawn(dialer::dial_loop(shared.clone()));
    tokio::spawn(status::snapshot_loop(shared.clone()));
    tokio::spawn(status::status_loop(shared.clone()));
    tokio::spawn(proposal_asks::retry_loop(shared.clone()));
    tokio::spawn(
        shared
            .book
            .clone()
            .persist_loop(shared.store.clone(), shared.shutdown.clone()),
    );
    Ok((shared, inbound_rx))
}

impl Shared {
    /// The most bytes one peer's queue holds: `peer_queue_bytes`, but room for one frame.
    pub(super) fn max_queue_bytes(&self) -> usize {
        self.cfg.peer_queue_bytes.max(self.cfg.max_frame + 4)
    }

    /// See [`crate::p2p::P2pHandle::broadcast_except`].
    pub(crate) fn broadcast(&self, msg: Message, except: Option<PeerId>) {
        let payload = msg.to_bytes();
        if payload.len() > self.cfg.max_frame {
            tracing::warn!(target: "p2p", "not broadcasting a {}-byte {} message: above the frame limit",
                payload.len(), msg.kind());
            return;
        }
        let key = gossip_key(&msg, &payload);
        if let Some(k) = key {
            gossip::on_broadcast(&mut lock(&self.seen), k);
        }
        let mut frame = Arc::new(frame::encode_frame(&payload));
        // A proposal it sent is one the node need not ask for; a relayed one goes out as its
        // announcement, and peers that lack it ask.
        if let (Some(k), true) = (key, is_proposal(&payload)) {
            let mut relay = lock(&self.relay);
            relay.on_received(k);
            if except.is_some() {
                relay.hold(k, frame);
                frame = Arc::new(frame::encode_frame(&Message::Have(k).to_bytes()));
            }
        }
        for p in self.peers.iter() {
            if Some(p.id) == except {
                continue;
            }
            if let Some(k) = key {
                if !gossip::should_send(&mut lock(&p.known), k) {
                    continue;
                }
            }
            p.enqueue(frame.clone(), self.max_queue_bytes());
        }
    }

    /// Queues a control message of this module (ping, pong, status, peer exchange) to `peer`,
    /// without the frame-limit check of [`Shared::send`] (they are small by construction).
    fn queue_control(&self, peer: &Peer, msg: &Message) -> bool {
        peer.enqueue(
            Arc::new(frame::encode_frame(&msg.to_bytes())),
            self.max_queue_bytes(),
        )
    }

    /// See [`crate::p2p::P2pHandle::send_to_each`]: the message is encoded, keyed and framed once.
    pub(crate) fn send_to_each(&self, peers: &[PeerId], msg: Message) -> usize {
        let targets: Vec<Arc<Peer>> = peers
            .iter()
            .filter_map(|id| self.peers.get(id).map(|p| p.clone()))
            .collect();
        if targets.is_empty() {
            return 0;
        }
        let payload = msg.to_bytes();
        if payload.len() > self.cfg.max_frame {
            tracing::warn!(target: "p2p", "not sending a {}-byte {} message: above the frame limit",
                payload.len(), msg.kind());
            return 0;
        }
        let key = gossip_key(&msg, &payload);
        let frame = Arc::new(frame::encode_frame(&payload));
        let mut queued = 0;
        for p in targets {
            if let Some(k) = key {
                lock(&p.known).insert(k);
            }
            if p.enqueue(frame.clone(), self.max_queue_bytes()) {
                queued += 1;
            }
        }
        queued
    }

    pub(super) fn inbound_limiter(&self) -> InboundLimiter {
        InboundLimiter {
            per_ip: self.cfg.max_inbound_per_ip,
            per_group: self.cfg.max_inbound_per_group,
        }
    }

    pub(super) fn inbound_ips(&self) -> Vec<IpAddr> {
        self.peers
            .iter()
            .filter(|p| p.direction == Direction::Inbound)
            .map(|p| p.addr.ip())
            .collect()
    }

    pub(super) fn outbound_count(&self) -> usize {
        self.peers
            .iter()
            .filter(|p| p.direction == Direction::Outbound)
            .count()
    }

    pub(super) fn inbound_count(&self) -> usize {
        self.peers
            .iter()
            .filter(|p| p.direction == Direction::Inbound)
            .count()
    }

    pub(super) fn snapshot(&self) -> Vec<PeerInfo> {
        let mut v: Vec<PeerInfo> = self.peers.iter().map(|p| p.info()).collect();
        v.sort_by_key(|p| p.connected_since);
        v
    }
}
