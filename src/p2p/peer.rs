//! The running p2p layer: shared state, listener, dialer, per-connection handshake and
//! reader/writer tasks.

use super::addr_book::{valid_addr, AddrBook, SharedBook, MAX_ADDR_BOOK};
use super::exchange::{AddrExchange, PeersVerdict};
use super::frame::{self, FrameError};
use super::gossip;
use super::link_delay::{DelayLine, LinkDelay};
use super::message::{self, gossip_key, Hello, Message, ROLE_DIALER, ROLE_LISTENER};
use super::netgroup::{gossipable, Group, InboundLimiter};
use super::score::Misbehaviour;
use super::store::{BanEntry, PeerStore};
use super::{tls, Direction, InboundMessage, P2pConfig, P2pError, PeerId, PeerInfo};
use crate::types::encoding::Encode;
use crate::types::{Hash, PublicKey};
use dashmap::DashMap;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::{TlsAcceptor, TlsConnector, TlsStream};
use tokio_util::sync::CancellationToken;

/// Gossip ids remembered per peer (sent to or received from it).
const PEER_KNOWN_CAP: usize = 8_192;
/// Gossip ids remembered node-wide (already delivered to the node or sent by it).
const SEEN_CAP: usize = 65_536;
/// Handshakes one non-loopback IP may have in progress at once.
const MAX_PENDING_PER_IP: usize = 8;
/// Disconnected peers whose scores are remembered.
const SCORES_CAP: usize = 1_000;
/// Largest frame accepted before the Hello is verified.
const HELLO_MAX_FRAME: usize = 1024;
/// Consecutive queue-full drops after which a slow peer is disconnected.
const MAX_CONSECUTIVE_DROPS: u32 = 1_024;
/// A single frame write may take at most this long.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) use super::gossip::SeenSet;
use super::gossip::{Rate, RateGate};

/// The dialer (a child module, so it shares this module's private state).
#[path = "dialer.rs"]
mod dialer;
use dialer::{dial_loop, Backoff};

type Frame = Arc<Vec<u8>>;

/// Units of the inbound budgets: the semaphores count KiB.
const BUDGET_UNIT: usize = 1024;

/// Shares of the node-wide and the peer's inbound budgets held by one received frame (shared
/// by the messages it unpacks into); released when the last of them is dropped.
#[derive(Debug)]
pub(crate) struct InboundBudget {
    _global: OwnedSemaphorePermit,
    _peer: OwnedSemaphorePermit,
}

/// Budget units for `bytes`, at most `cap` (a message larger than a whole budget still fits).
fn units(bytes: usize, cap: usize) -> u32 {
    (bytes.div_ceil(BUDGET_UNIT).max(1))
        .min(cap.max(1))
        .min(u32::MAX as usize) as u32
}

/// Waits until `bytes` fit in both budgets; `None` when the peer is closed meanwhile.
async fn take_budget(
    sh: &Shared,
    peer: &Peer,
    bytes: usize,
) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
    let g = units(bytes, sh.cfg.inbound_bytes / BUDGET_UNIT);
    let p = units(bytes, sh.cfg.peer_inbound_bytes / BUDGET_UNIT);
    tokio::select! {
        _ = peer.cancel.cancelled() => None,
        r = async {
            let peer_part = peer.inbound.clone().acquire_many_owned(p).await.ok()?;
            let global = sh.inbound_budget.clone().acquire_many_owned(g).await.ok()?;
            Some((global, peer_part))
        } => r,
    }
}

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

const UNKNOWN: u64 = u64::MAX;

impl Peer {
    fn info(&self) -> PeerInfo {
        let opt = |v: u64| (v != UNKNOWN).then_some(v);
        PeerInfo {
            id: self.id,
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
    tokio::spawn(accept_loop(shared.clone(), listener));
    tokio::spawn(dial_loop(shared.clone()));
    tokio::spawn(snapshot_loop(shared.clone()));
    tokio::spawn(status_loop(shared.clone()));
    tokio::spawn(
        shared
            .book
            .clone()
            .persist_loop(shared.store.clone(), shared.shutdown.clone()),
    );
    Ok((shared, inbound_rx))
}

impl Shared {
    fn max_queue_bytes(&self) -> usize {
        self.cfg.peer_queue_bytes.max(self.cfg.max_frame + 4)
    }

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
        let frame = Arc::new(frame::encode_frame(&payload));
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

    pub(crate) fn send(&self, peer: PeerId, msg: Message) -> bool {
        let Some(p) = self.peers.get(&peer).map(|p| p.clone()) else {
            return false;
        };
        let payload = msg.to_bytes();
        if payload.len() > self.cfg.max_frame {
            tracing::warn!(target: "p2p", "not sending a {}-byte {} message: above the frame limit",
                payload.len(), msg.kind());
            return false;
        }
        if let Some(k) = gossip_key(&msg, &payload) {
            lock(&p.known).insert(k);
        }
        p.enqueue(
            Arc::new(frame::encode_frame(&payload)),
            self.max_queue_bytes(),
        )
    }

    pub(crate) fn report(&self, peer: &PeerId, offence: Misbehaviour) {
        let Some(p) = self.peers.get(peer).map(|p| p.clone()) else {
            // Gone already: remember the points for a reconnect; an offence worth a ban on
            // its own bans the node key wherever it comes from.
            let (score, ban) = {
                let mut scores = lock(&self.scores);
                let s = scores.entry(*peer).or_insert(0);
                let (after, ban) = gossip::score_after(*s, offence, self.cfg.ban_threshold);
                *s = after;
                (after, ban)
            };
            tracing::info!(target: "p2p", peer = %peer.short(), "misbehaviour by a disconnected peer: {} (score {score})", offence.name());
            if ban {
                lock(&self.scores).remove(peer);
                self.ban(
                    IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                    Some(*peer),
                    self.cfg.ban_duration,
                    format!("score {score}, last offence: {}", offence.name()),
                );
            }
            return;
        };
        self.report_peer(&p, offence);
    }

    fn report_peer(&self, p: &Peer, offence: Misbehaviour) {
        let pts = offence.score();
        let before = p.score.fetch_add(pts, Ordering::Relaxed);
        let (score, ban) = gossip::score_after(before, offence, self.cfg.ban_threshold);
        tracing::info!(target: "p2p::peer", peer = %p.id.short(), addr = %p.addr,
            "misbehaviour: {} (+{pts}, score {score})", offence.name());
        if ban {
            let node = p.addr.ip().is_loopback().then_some(p.id);
            self.ban(
                p.addr.ip(),
                node,
                self.cfg.ban_duration,
                format!("score {score}, last offence: {}", offence.name()),
            );
            p.cancel.cancel();
        }
        self.changed.notify_one();
    }

    /// Bans `ip` (with `node`: only that node key at `ip`) for `d`, at most
    /// [`super::store::MAX_BAN`].
    pub(crate) fn ban(&self, ip: IpAddr, node: Option<PublicKey>, d: Duration, reason: String) {
        let prefix = super::store::full_prefix(ip);
        if let Some(entry) = BanEntry::new(ip, prefix, node, d, reason) {
            self.ban_entry(entry);
        }
    }

    /// Imposes `entry` (replacing a ban on the same address, prefix and node key), persists it
    /// and disconnects the peers it matches.
    pub(crate) fn ban_entry(&self, entry: BanEntry) {
        let secs = entry
            .until
            .duration_since(SystemTime::now())
            .map(|d| d.as_secs())
            .unwrap_or(0);
        tracing::warn!(target: "p2p", "banning {}/{}{} for {secs}s: {}",
            entry.ip, entry.prefix,
            entry.node.map(|k| format!(" node {}", k.short())).unwrap_or_default(),
            entry.reason);
        {
            let mut bans = lock(&self.bans);
            bans.retain(|b| {
                !(b.ip == entry.ip && b.prefix == entry.prefix && b.node == entry.node)
            });
            bans.push(entry.clone());
        }
        let store = self.store.clone();
        let e = entry.clone();
        tokio::task::spawn_blocking(move || store.save_ban(&e));
        for p in self.peers.iter() {
            if entry.matches(p.addr.ip(), Some(&p.id)) {
                p.cancel.cancel();
            }
        }
    }

    /// Lifts the bans on a node key (wherever it was banned) or, without one, the bans on
    /// exactly `ip/prefix` (an address with its node-key bans, or one subnet); whether any
    /// existed.
    pub(crate) fn unban(&self, ip: IpAddr, prefix: u8, node: Option<PublicKey>) -> bool {
        let (removed, keep_same_ip) = {
            let mut bans = lock(&self.bans);
            let before = bans.len();
            let ip_of_node: Vec<IpAddr> = match node {
                Some(k) => bans
                    .iter()
                    .filter(|b| b.node == Some(k))
                    .map(|b| b.ip)
                    .collect(),
                None => vec![ip],
            };
            bans.retain(|b| match node {
                Some(k) => b.node != Some(k),
                None => !(b.ip == ip && b.prefix == prefix),
            });
            // The store removes by network address: the bans left under the same address
            // (another prefix, another node key) are written again.
            let keep: Vec<BanEntry> = bans
                .iter()
                .filter(|b| ip_of_node.contains(&b.ip))
                .cloned()
                .collect();
            (before != bans.len(), (ip_of_node, keep))
        };
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let (ips, keep) = keep_same_ip;
            for ip in ips {
                store.remove_ban(ip);
            }
            for b in keep {
                store.save_ban(&b);
            }
        });
        removed
    }

    pub(crate) fn active_bans(&self) -> Vec<BanEntry> {
        let now = SystemTime::now();
        let mut bans = lock(&self.bans);
        bans.retain(|b| b.active_at(now));
        bans.clone()
    }

    fn is_banned(&self, ip: IpAddr, node: Option<&PublicKey>) -> bool {
        let now = SystemTime::now();
        lock(&self.bans)
            .iter()
            .any(|b| b.active_at(now) && b.matches(ip, node))
    }

    pub(crate) fn add_fixed(&self, addr: String) {
        {
            let mut f = lock(&self.fixed);
            if !f.contains(&addr) {
                f.push(addr.clone());
            }
        }
        lock(&self.backoff).remove(&addr);
        self.dial_wake.notify_one();
    }

    /// Adds up to `limit` new addresses told by `from` to the book, in `from`'s source
    /// group; addresses this network does not gossip (see [`gossipable`]) and our own are
    /// skipped. Returns how many were new.
    fn learn_addrs(&self, from: &Peer, addrs: Vec<String>, limit: usize) -> usize {
        let source = Group::of_ip(from.addr.ip());
        let self_addrs = lock(&self.self_addrs).clone();
        let keep = |a: &String| {
            valid_addr(a)
                && gossipable(a, self.cfg.network)
                && *a != self.advertised
                && !self_addrs.contains(a)
        };
        self.book.update(|b| {
            let mut added = 0;
            for a in addrs.iter().filter(|a| keep(a)) {
                if added >= limit {
                    break;
                }
                added += usize::from(b.insert(a, source.clone()));
            }
            added
        })
    }

    /// A `Peers` message from `p`: taken only as the reply to our `GetPeers`.
    fn on_peers(&self, p: &Peer, addrs: Vec<String>) {
        let verdict = lock(&p.exchange).on_peers();
        match verdict {
            PeersVerdict::Take => {
                let n = self.learn_addrs(p, addrs, self.cfg.max_addrs_per_reply);
                tracing::debug!(target: "p2p::peer", peer = %p.id.short(), "learned {n} addresses");
            }
            PeersVerdict::Ignore => {
                tracing::debug!(target: "p2p::peer", peer = %p.id.short(), "ignoring unsolicited addresses");
            }
            PeersVerdict::Offence => self.report_peer(p, Misbehaviour::UnsolicitedAddrs),
        }
    }

    pub(crate) fn known_addresses(&self) -> usize {
        self.book.read(AddrBook::len)
    }

    /// Addresses of connected peers (up to half the reply), then random book entries.
    fn peers_reply(&self) -> Vec<String> {
        let mut out: HashSet<String> = HashSet::new();
        for e in self.addr_keys.iter() {
            if out.len() >= message::MAX_PEERS_REPLY / 2 {
                break;
            }
            if self.peers.contains_key(e.value()) {
                out.insert(e.key().clone());
            }
        }
        for a in self.book.read(|b| b.sample(message::MAX_PEERS_REPLY)) {
            if out.len() >= message::MAX_PEERS_REPLY {
                break;
            }
            out.insert(a);
        }
        out.into_iter().collect()
    }

    fn inbound_limiter(&self) -> InboundLimiter {
        InboundLimiter {
            per_ip: self.cfg.max_inbound_per_ip,
            per_group: self.cfg.max_inbound_per_group,
        }
    }

    fn inbound_ips(&self) -> Vec<IpAddr> {
        self.peers
            .iter()
            .filter(|p| p.direction == Direction::Inbound)
            .map(|p| p.addr.ip())
            .collect()
    }

    fn outbound_count(&self) -> usize {
        self.peers
            .iter()
            .filter(|p| p.direction == Direction::Outbound)
            .count()
    }

    fn inbound_count(&self) -> usize {
        self.peers
            .iter()
            .filter(|p| p.direction == Direction::Inbound)
            .count()
    }

    fn snapshot(&self) -> Vec<PeerInfo> {
        let mut v: Vec<PeerInfo> = self.peers.iter().map(|p| p.info()).collect();
        v.sort_by_key(|p| p.connected_since);
        v
    }
}

/// Releases a pending-handshake slot (global and per IP) when the handshake ends.
struct PendingGuard<'a> {
    sh: &'a Shared,
    ip: IpAddr,
}
impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.sh.pending_inbound.fetch_sub(1, Ordering::Relaxed);
        let mut per_ip = lock(&self.sh.pending_per_ip);
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

async fn accept_loop(sh: Arc<Shared>, listener: TcpListener) {
    loop {
        let (stream, remote) = tokio::select! {
            _ = sh.shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(target: "p2p", "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // IP-wide bans are refused before any TLS work.
        if sh.is_banned(remote.ip(), None) {
            tracing::debug!(target: "p2p", "refusing banned {remote}");
            continue;
        }
        if sh.pending_inbound.load(Ordering::Relaxed) >= sh.cfg.max_pending_handshakes {
            tracing::debug!(target: "p2p", "refusing {remote}: too many handshakes in progress");
            continue;
        }
        if sh.inbound_count() >= sh.cfg.max_inbound {
            tracing::debug!(target: "p2p", "refusing {remote}: {} inbound peers (max_inbound)", sh.cfg.max_inbound);
            continue;
        }
        // Checked again when the handshake is done; this saves the TLS work.
        if let Err(why) = sh.inbound_limiter().admit(sh.inbound_ips(), remote.ip()) {
            tracing::debug!(target: "p2p", "refusing {remote}: {why}");
            continue;
        }
        // One remote IP may not hold every handshake slot (loopback is exempt: all devnet
        // nodes share it).
        if !remote.ip().is_loopback() {
            let mut per_ip = lock(&sh.pending_per_ip);
            let n = per_ip.entry(remote.ip()).or_insert(0);
            if *n >= MAX_PENDING_PER_IP {
                tracing::debug!(target: "p2p", "refusing {remote}: too many handshakes from this IP");
                continue;
            }
            *n += 1;
        } else {
            *lock(&sh.pending_per_ip).entry(remote.ip()).or_insert(0) += 1;
        }
        sh.pending_inbound.fetch_add(1, Ordering::Relaxed);
        let sh2 = sh.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let handshake = {
                let _g = PendingGuard {
                    sh: &sh2,
                    ip: remote.ip(),
                };
                let sh3 = sh2.clone();
                tokio::time::timeout(sh2.cfg.handshake_timeout, async move {
                    let tls = sh3
                        .acceptor
                        .accept(stream)
                        .await
                        .map_err(|e| format!("TLS handshake failed: {e}"))?;
                    let tls = TlsStream::Server(tls);
                    let exp = match &tls {
                        TlsStream::Server(s) => tls::exporter(&**s.get_ref().1),
                        TlsStream::Client(s) => tls::exporter(&**s.get_ref().1),
                    }
                    .map_err(|e| e.to_string())?;
                    hello_exchange(&sh3, tls, exp, ROLE_LISTENER).await
                })
                .await
            };
            match handshake {
                Ok(Ok((tls, hello))) => {
                    run_peer(sh2, tls, remote, Direction::Inbound, hello, None).await
                }
                Ok(Err(reason)) if reason.starts_with("TLS") => {
                    tracing::info!(target: "p2p::tls", "inbound {remote} rejected: {reason}")
                }
                Ok(Err(reason)) => {
                    tracing::info!(target: "p2p::peer", "inbound {remote} rejected: {reason}")
                }
                Err(_) => {
                    tracing::info!(target: "p2p::peer", "inbound {remote} rejected: handshake timeout")
                }
            }
        });
    }
}

/// Sends our Hello, reads and checks theirs.
async fn hello_exchange<S>(
    sh: &Shared,
    mut tls: S,
    exporter: [u8; 32],
    our_role: u8,
) -> Result<(S, Hello), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let height = sh.height.borrow().0;
    let ours = Hello::new_signed(
        &sh.cfg.node_key,
        sh.cfg.chain_id,
        &exporter,
        our_role,
        sh.advertised.clone(),
        height,
    );
    frame::write_frame(&mut tls, &Message::Hello(ours).to_bytes(), HELLO_MAX_FRAME)
        .await
        .map_err(|e| format!("sending hello: {e}"))?;
    tls.flush()
        .await
        .map_err(|e| format!("sending hello: {e}"))?;
    let bytes = frame::read_frame(&mut tls, HELLO_MAX_FRAME)
        .await
        .map_err(|e| format!("reading hello: {e}"))?;
    let hello = match Message::decode(&bytes) {
        Ok(Message::Hello(h)) => h,
        Ok(other) => return Err(format!("expected hello, got {}", other.kind())),
        Err(e) => return Err(format!("malformed hello: {e}")),
    };
    if hello.protocol_version != message::PROTOCOL_VERSION {
        return Err(format!(
            "protocol version {} (we speak {})",
            hello.protocol_version,
            message::PROTOCOL_VERSION
        ));
    }
    if hello.chain_id != sh.cfg.chain_id {
        return Err(format!(
            "wrong chain id {} (ours {}): the peer is on another network or genesis",
            hello.chain_id.short(),
            sh.cfg.chain_id.short()
        ));
    }
    let their_role = if our_role == ROLE_DIALER {
        ROLE_LISTENER
    } else {
        ROLE_DIALER
    };
    if !hello.verify(&exporter, their_role) {
        return Err(format!(
            "hello signature by {} does not verify for this TLS session",
            hello.node_key.short()
        ));
    }
    Ok((tls, hello))
}

/// Registers the peer and runs its reader and writer until either ends.
async fn run_peer(
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
    let writer = tokio::spawn(write_loop(
        wr,
        Outbox::new(qrx, sh.cfg.link_delay, sh.cfg.peer_queue),
        peer.clone(),
        sh.cfg.ping_interval,
        sh.nonce.fetch_add(1 << 32, Ordering::Relaxed),
        sh.cfg.max_frame,
    ));
    if direction == Direction::Outbound {
        lock(&peer.exchange).asked();
        peer.enqueue(
            Arc::new(frame::encode_frame(&Message::GetPeers.to_bytes())),
            sh.max_queue_bytes(),
        );
    }
    {
        let (h, tip) = *sh.height.borrow();
        peer.enqueue(
            Arc::new(frame::encode_frame(
                &Message::Status { height: h, tip }.to_bytes(),
            )),
            sh.max_queue_bytes(),
        );
    }
    let reason = read_loop(&sh, rd, &peer).await;
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

fn listen_addr_of(announced: &str, remote: SocketAddr) -> Option<String> {
    let sa: SocketAddr = announced.parse().ok()?;
    if sa.port() == 0 {
        return None;
    }
    let ip = if sa.ip().is_unspecified() {
        remote.ip()
    } else {
        sa.ip()
    };
    Some(SocketAddr::new(ip, sa.port()).to_string())
}

/// Where the writer takes its frames from: the peer's queue, through a [`DelayLine`] when the
/// configuration has a [`LinkDelay`]. A frame counts in the peer's queued bytes until it leaves
/// here, so delayed frames stay within `peer_queue_bytes`, and at most `peer_queue` frames wait
/// in the line (then the queue fills and further frames are dropped as for a slow peer).
struct Outbox {
    rx: mpsc::Receiver<Frame>,
    line: Option<DelayLine<Frame>>,
    line_cap: usize,
    /// The queue's senders are gone: only the line is left to drain.
    closed: bool,
}

impl Outbox {
    fn new(rx: mpsc::Receiver<Frame>, delay: Option<LinkDelay>, line_cap: usize) -> Outbox {
        Outbox {
            rx,
            line: delay.map(DelayLine::new),
            line_cap: line_cap.max(1),
            closed: false,
        }
    }

    /// A frame the writer made itself (a ping): `Some` to send now, `None` when it went into
    /// the delay line like every other frame (and counts as queued until it leaves).
    fn own(&mut self, f: Frame, peer: &Peer) -> Option<Frame> {
        match &mut self.line {
            None => Some(f),
            Some(line) => {
                peer.queued_bytes.fetch_add(f.len(), Ordering::Relaxed);
                line.push(f, Instant::now());
                None
            }
        }
    }

    /// The next frame due now, without waiting.
    fn try_next(&mut self, peer: &Peer) -> Option<Frame> {
        let f = match &mut self.line {
            None => self.rx.try_recv().ok(),
            Some(line) => {
                let now = Instant::now();
                while line.len() < self.line_cap {
                    let Ok(f) = self.rx.try_recv() else { break };
                    line.push(f, now);
                }
                line.pop_ready(now)
            }
        }?;
        peer.queued_bytes.fetch_sub(f.len(), Ordering::Relaxed);
        Some(f)
    }

    /// Waits for the next frame due; `None` once the queue is closed and nothing waits.
    /// Cancel-safe: a frame taken from the queue is in the line before any await.
    async fn next(&mut self, peer: &Peer) -> Option<Frame> {
        let f = match &mut self.line {
            None => self.rx.recv().await?,
            Some(line) => loop {
                if let Some(f) = line.pop_ready(Instant::now()) {
                    break f;
                }
                if self.closed && line.is_empty() {
                    return None;
                }
                let due = line.next_release();
                let room = !self.closed && line.len() < self.line_cap;
                tokio::select! {
                    r = self.rx.recv(), if room => match r {
                        Some(f) => line.push(f, Instant::now()),
                        None => self.closed = true,
                    },
                    _ = sleep_until_opt(due) => {}
                }
            },
        };
        peer.queued_bytes.fetch_sub(f.len(), Ordering::Relaxed);
        Some(f)
    }
}

/// Sleeps until `at`, forever when `None`.
async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut wr: W,
    mut out: Outbox,
    peer: Arc<Peer>,
    ping_every: Duration,
    nonce_base: u64,
    max_frame: usize,
) {
    let mut tick = tokio::time::interval(ping_every.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut nonce = nonce_base;
    let mut held: Option<Frame> = None;
    loop {
        let first: Frame = match held.take() {
            Some(f) => f,
            None => tokio::select! {
                _ = peer.cancel.cancelled() => break,
                _ = tick.tick() => {
                    nonce = nonce.wrapping_add(1);
                    *lock(&peer.ping) = Some((nonce, Instant::now()));
                    match out.own(Arc::new(frame::encode_frame(&Message::Ping(nonce).to_bytes())), &peer) {
                        Some(f) => f,
                        None => continue,
                    }
                }
                f = out.next(&peer) => match f {
                    Some(f) => f,
                    None => break,
                },
            },
        };
        let frame = coalesce_txs(first, || out.try_next(&peer), &mut held, max_frame);
        if write_one(&mut wr, &frame, &peer).await.is_err() {
            break;
        }
        // Keep writing whatever is due; flush once nothing is.
        if held.is_none() {
            held = out.try_next(&peer);
        }
        if held.is_some() {
            continue;
        }
        let flushed = tokio::select! {
            _ = peer.cancel.cancelled() => break,
            r = tokio::time::timeout(WRITE_TIMEOUT, wr.flush()) => r,
        };
        if !matches!(flushed, Ok(Ok(()))) {
            break;
        }
    }
    peer.cancel.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(1), wr.shutdown()).await;
}

/// Transaction frames due right behind `first` (from `next`) are sent as one `Txs` batch, so
/// a busy network needs few messages per second (the receiver unpacks the batch). Nothing
/// waits for a batch to fill: only what is already due is combined.
fn coalesce_txs(
    first: Frame,
    mut next: impl FnMut() -> Option<Frame>,
    held: &mut Option<Frame>,
    max_frame: usize,
) -> Frame {
    const HEADER: usize = 5; // length prefix + tag
    if first.get(4) != Some(&message::TX_TAG) {
        return first;
    }
    let cap = message::TX_BATCH_BYTES.min(max_frame.saturating_sub(16));
    let mut total = first.len() - HEADER;
    let mut parts = vec![first];
    while parts.len() < message::MAX_TX_BATCH {
        let Some(f) = next() else { break };
        if f.get(4) != Some(&message::TX_TAG) || total + (f.len() - HEADER) > cap {
            *held = Some(f);
            break;
        }
        total += f.len() - HEADER;
        parts.push(f);
    }
    if parts.len() == 1 {
        return parts.swap_remove(0);
    }
    let mut payload = Vec::with_capacity(total + 5);
    payload.push(message::TXS_TAG);
    crate::types::encoding::put::len(&mut payload, parts.len());
    for p in &parts {
        payload.extend_from_slice(&p[HEADER..]);
    }
    Arc::new(frame::encode_frame(&payload))
}

async fn write_one<W: AsyncWrite + Unpin>(wr: &mut W, f: &[u8], peer: &Peer) -> Result<(), ()> {
    let res = tokio::select! {
        _ = peer.cancel.cancelled() => return Err(()),
        r = tokio::time::timeout(WRITE_TIMEOUT, wr.write_all(f)) => r,
    };
    match res {
        Ok(Ok(())) => {
            peer.bytes_out.fetch_add(f.len() as u64, Ordering::Relaxed);
            peer.msgs_out.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Ok(Err(e)) => {
            tracing::debug!(target: "p2p::peer", peer = %peer.id.short(), "write failed: {e}");
            Err(())
        }
        Err(_) => {
            tracing::info!(target: "p2p::peer", peer = %peer.id.short(), "write timed out: peer not reading");
            Err(())
        }
    }
}

async fn read_loop<R: AsyncRead + Unpin>(sh: &Shared, mut rd: R, peer: &Arc<Peer>) -> String {
    let cfg = &sh.cfg;
    let mut rate = RateGate::new(cfg.msg_rate, cfg.byte_rate, Instant::now());
    loop {
        let res = tokio::select! {
            _ = peer.cancel.cancelled() => return "closed locally".into(),
            r = tokio::time::timeout(cfg.idle_timeout, frame::read_frame(&mut rd, cfg.max_frame)) => r,
        };
        let bytes = match res {
            Err(_) => return format!("idle for {}s", cfg.idle_timeout.as_secs()),
            Ok(Err(FrameError::Closed)) => return "closed by peer".into(),
            Ok(Err(e @ FrameError::Oversized { .. })) => {
                sh.report_peer(peer, Misbehaviour::OversizedFrame);
                return e.to_string();
            }
            Ok(Err(e @ FrameError::Empty)) => {
                sh.report_peer(peer, Misbehaviour::MalformedFrame);
                return e.to_string();
            }
            Ok(Err(e)) => return e.to_string(),
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
                return "banned: rate limit".into();
            }
            continue;
        }
        // The frame's share of the inbound budgets, by its decoded size (taken before decoding
        // by its wire size, then topped up): reading pauses while the node holds too much.
        let Some((mut global, mut own)) = take_budget(sh, peer, bytes.len()).await else {
            return "closed locally".into();
        };
        let msg = match Message::decode(&bytes) {
            Ok(m) => m,
            Err(e) => {
                sh.report_peer(peer, Misbehaviour::MalformedFrame);
                return format!("malformed message: {e}");
            }
        };
        let decoded = super::heap::message_bytes(&msg);
        if decoded > bytes.len() {
            let Some((g, p)) = take_budget(sh, peer, decoded - bytes.len()).await else {
                return "closed locally".into();
            };
            global.merge(g);
            own.merge(p);
        }
        let budget = Arc::new(InboundBudget {
            _global: global,
            _peer: own,
        });
        match msg {
            Message::Hello(_) => {
                sh.report_peer(peer, Misbehaviour::MalformedFrame);
                return "second hello".into();
            }
            Message::Ping(n) => {
                peer.enqueue(
                    Arc::new(frame::encode_frame(&Message::Pong(n).to_bytes())),
                    sh.max_queue_bytes(),
                );
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
                    peer.enqueue(
                        Arc::new(frame::encode_frame(&reply.to_bytes())),
                        sh.max_queue_bytes(),
                    );
                }
            }
            Message::Peers(addrs) => sh.on_peers(peer, addrs),
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
            other => {
                if let Message::Status { height, .. } = &other {
                    peer.height.store(*height, Ordering::Relaxed);
                }
                if let Some(k) = gossip_key(&other, &bytes) {
                    if !gossip::on_receive(&mut lock(&sh.seen), &mut lock(&peer.known), &other, k) {
                        continue;
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
) -> Result<(), String> {
    let m = InboundMessage {
        peer: peer.id,
        msg,
        _budget: Some(budget.clone()),
    };
    tokio::select! {
        _ = peer.cancel.cancelled() => Err("closed locally".into()),
        r = sh.inbound_tx.send(m) => r.map_err(|_| "node stopped receiving".into()),
    }
}

async fn snapshot_loop(sh: Arc<Shared>) {
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = sh.shutdown.cancelled() => break,
            _ = sh.changed.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                ticks += 1;
                if ticks % 60 == 0 {
                    // Scores decay by one point a minute.
                    for p in sh.peers.iter() {
                        let _ = p.score.fetch_update(Ordering::Relaxed, Ordering::Relaxed,
                            |s| (s > 0).then(|| s - 1));
                    }
                }
            }
        }
        sh.peers_tx.send_replace(sh.snapshot());
    }
    sh.peers_tx.send_replace(Vec::new());
}

async fn status_loop(sh: Arc<Shared>) {
    let mut rx = sh.height.clone();
    loop {
        tokio::select! {
            _ = sh.shutdown.cancelled() => break,
            r = rx.changed() => if r.is_err() { break },
        }
        let (height, tip) = *rx.borrow_and_update();
        sh.broadcast(Message::Status { height, tip }, None);
    }
}
