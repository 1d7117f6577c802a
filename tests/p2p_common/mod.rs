//! Helpers shared by the p2p integration tests: nodes on 127.0.0.1 with ephemeral ports,
//! raw TLS clients, and waiting for conditions with a deadline.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use timecoin::p2p::message::{Hello, ROLE_DIALER};
use timecoin::p2p::{
    frame, tls, InboundMessage, MemoryPeerStore, Message, P2pConfig, P2pHandle, PeerStore,
};
use timecoin::types::encoding::Encode;
use timecoin::types::{Hash, Network, SecretKey, Transaction, Vote, VoteKind};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_rustls::client::TlsStream;
use tokio_util::sync::CancellationToken;

pub const DEADLINE: Duration = Duration::from_secs(20);

pub fn chain() -> Hash {
    Hash([0xC4; 32])
}

pub struct TestNode {
    pub handle: P2pHandle,
    pub key: SecretKey,
    pub got: Arc<Mutex<Vec<InboundMessage>>>,
    pub shutdown: CancellationToken,
    pub height_tx: watch::Sender<(u64, Hash)>,
    pub dir: tempfile::TempDir,
}

pub fn config(seed: u8, dir: &std::path::Path) -> P2pConfig {
    let mut c = P2pConfig::new(
        Network::Devnet,
        chain(),
        SecretKey::from_seed(&[seed; 32]),
        "127.0.0.1:0".parse().unwrap(),
        dir.to_path_buf(),
    );
    c.handshake_timeout = Duration::from_secs(2);
    c.ping_interval = Duration::from_millis(300);
    c
}

/// Starts a node; `relay` makes it re-broadcast every gossip message it receives to all other
/// peers (what a naive node would do), to show that gossip does not storm.
pub async fn start_node(
    seed: u8,
    tweak: impl FnOnce(&mut P2pConfig),
    store: Arc<dyn PeerStore>,
    relay: bool,
) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(seed, dir.path());
    tweak(&mut cfg);
    let key = cfg.node_key.clone();
    let (height_tx, height_rx) = watch::channel((seed as u64, Hash::ZERO));
    let shutdown = CancellationToken::new();
    let (handle, rx) = timecoin::p2p::start(cfg, store, height_rx, shutdown.clone())
        .await
        .unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(collect(rx, got.clone(), relay.then(|| handle.clone())));
    TestNode {
        handle,
        key,
        got,
        shutdown,
        height_tx,
        dir,
    }
}

pub async fn node(seed: u8) -> TestNode {
    start_node(seed, |_| {}, Arc::new(MemoryPeerStore::new()), false).await
}

async fn collect(
    mut rx: mpsc::Receiver<InboundMessage>,
    got: Arc<Mutex<Vec<InboundMessage>>>,
    relay: Option<P2pHandle>,
) {
    while let Some(m) = rx.recv().await {
        if let Some(h) = &relay {
            if matches!(m.msg, Message::Vote(_) | Message::Tx(_)) {
                h.broadcast_except(m.peer, m.msg.clone());
            }
        }
        got.lock().unwrap().push(m.without_budget());
    }
}

impl TestNode {
    /// How many messages satisfying `f` this node has received.
    pub fn count(&self, f: impl Fn(&Message) -> bool) -> usize {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|m| f(&m.msg))
            .count()
    }
    pub fn addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Waits until `cond` holds, failing the test at the deadline.
pub async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the async condition holds.
pub async fn wait_for_async<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let end = Instant::now() + DEADLINE;
    while !cond().await {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn connect_pair(a: &TestNode, b: &TestNode) {
    b.handle.connect(a.addr().to_string());
    let (ha, hb) = (a.handle.clone(), b.handle.clone());
    let (ka, kb) = (a.key.public(), b.key.public());
    wait_for("connection", || {
        ha.peers().borrow().iter().any(|p| p.id == kb)
            && hb.peers().borrow().iter().any(|p| p.id == ka)
    })
    .await;
}

pub fn vote(n: u64) -> Vote {
    let k = SecretKey::from_seed(&[0x77; 32]);
    Vote::new_signed(
        chain(),
        n,
        0,
        VoteKind::Prevote,
        Some(Hash([n as u8; 32])),
        &k,
    )
}

pub fn tx(n: u64) -> Transaction {
    use timecoin::types::*;
    Transaction {
        version: tx::TX_VERSION,
        inputs: vec![],
        outputs: vec![TxOut {
            amount: Amount(n),
            address: Address::from_pubkey(&PublicKey([1; 32])),
        }],
        lock_time: n,
        kind: TxKind::Transfer,
    }
}

pub fn is_vote(n: u64) -> impl Fn(&Message) -> bool {
    let v = vote(n);
    move |m| matches!(m, Message::Vote(x) if *x == v)
}

pub fn is_tx(n: u64) -> impl Fn(&Message) -> bool {
    let t = tx(n);
    move |m| matches!(m, Message::Tx(x) if *x == t)
}

/// A TLS client that accepts any certificate, as an attacker would use.
pub async fn raw_tls(addr: SocketAddr) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tokio_rustls::TlsConnector::from(tls::client_config().unwrap())
        .connect(tls::server_name(), tcp)
        .await
        .unwrap()
}

pub fn exporter(s: &TlsStream<TcpStream>) -> [u8; 32] {
    tls::exporter(&**s.get_ref().1).unwrap()
}

/// Completes the handshake as a dialer with `key` (signing `exporter_override` instead of the
/// real exporter value if given), returning the stream and the node's Hello.
pub async fn raw_peer(
    addr: SocketAddr,
    key: &SecretKey,
    chain_id: Hash,
    exporter_override: Option<[u8; 32]>,
) -> (TlsStream<TcpStream>, Option<Hello>) {
    let mut s = raw_tls(addr).await;
    let exp = exporter_override.unwrap_or_else(|| exporter(&s));
    let h = Hello::new_signed(key, chain_id, &exp, ROLE_DIALER, String::new(), 0);
    send(&mut s, &Message::Hello(h)).await;
    let theirs = match tokio::time::timeout(DEADLINE, frame::read_frame(&mut s, 4096)).await {
        Ok(Ok(b)) => match Message::decode(&b) {
            Ok(Message::Hello(h)) => Some(h),
            _ => None,
        },
        _ => None,
    };
    (s, theirs)
}

pub async fn send(s: &mut TlsStream<TcpStream>, m: &Message) {
    let _ = s.write_all(&frame::encode_frame(&m.to_bytes())).await;
    let _ = s.flush().await;
}

/// Reads frames until the connection closes (true) or the deadline passes (false).
pub async fn closed_by_node(s: &mut TlsStream<TcpStream>) -> bool {
    let end = tokio::time::Instant::now() + DEADLINE;
    loop {
        match tokio::time::timeout_at(end, frame::read_frame(s, 64 * 1024 * 1024)).await {
            Err(_) => return false,
            Ok(Ok(_)) => continue,
            Ok(Err(_)) => return true,
        }
    }
}

/// Peak resident set size of this test process in KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Asserts that `good` (connected to `a`) still gets `a`'s broadcasts.
pub async fn good_peer_still_served(a: &TestNode, good: &TestNode, n: u64) {
    a.handle.broadcast(Message::Vote(vote(n)));
    let f = is_vote(n);
    wait_for("good peer receives broadcast", || good.count(&f) == 1).await;
}
