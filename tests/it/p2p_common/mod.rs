//! Helpers shared by the p2p integration tests: nodes on 127.0.0.1 with ephemeral ports,
//! raw TLS clients, and waiting for conditions with a deadline.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::support::rerun;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use timecoin::p2p::message::{Hello, ROLE_DIALER, ROLE_LISTENER};
use timecoin::p2p::{
    frame, tls, InboundMessage, MemoryPeerStore, Message, P2pConfig, P2pHandle, PeerStore,
};
use timecoin::types::encoding::Encode;
use timecoin::types::{Hash, Network, SecretKey, Transaction, Vote, VoteKind};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
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

/// The first peer snapshot of `n` computed after this call. The node republishes its snapshot
/// at least once a second; the first publication after the call may have been computed just
/// before it, the next one was computed after the first was published, so after the call.
pub async fn fresh_peers(n: &TestNode) -> Vec<timecoin::p2p::PeerInfo> {
    let mut rx = n.handle.peers(); // the current value counts as seen
    for _ in 0..2 {
        tokio::time::timeout(DEADLINE, rx.changed())
            .await
            .expect("a new peer snapshot within the deadline")
            .expect("the node is running");
    }
    let peers = rx.borrow_and_update().clone();
    peers
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

/// A block at `height` by `proposer` carrying the transactions `tx(0..txs)`.
pub fn block(
    height: u64,
    txs: u64,
    proposer: timecoin::types::PublicKey,
) -> timecoin::types::Block {
    use timecoin::types::*;
    Block {
        header: BlockHeader {
            version: block::BLOCK_VERSION,
            height,
            prev_hash: Hash([1; 32]),
            time_ms: 1,
            merkle_root: Hash([2; 32]),
            proposer,
            validator_set_hash: Hash([4; 32]),
            last_commit_hash: Hash([5; 32]),
        },
        txs: (0..txs).map(tx).collect(),
        evidence: vec![],
        last_commit: Default::default(),
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
    tls_over(TcpStream::connect(addr).await.unwrap()).await
}

async fn tls_over(tcp: TcpStream) -> TlsStream<TcpStream> {
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
    let s = raw_tls(addr).await;
    hello_as_dialer(s, key, chain_id, exporter_override).await
}

/// Like [`raw_peer`] (real exporter), from the local address `src` (an address of a network
/// namespace made by [`in_netns`]); `None` if the node closes the connection before the TLS
/// handshake is done.
pub async fn raw_peer_from(
    src: IpAddr,
    addr: SocketAddr,
    key: &SecretKey,
) -> Option<(TlsStream<TcpStream>, Option<Hello>)> {
    let sock = if src.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .unwrap();
    sock.bind(SocketAddr::new(src, 0)).unwrap();
    let tcp = sock.connect(addr).await.unwrap();
    let s = tokio_rustls::TlsConnector::from(tls::client_config().unwrap())
        .connect(tls::server_name(), tcp)
        .await
        .ok()?;
    Some(hello_as_dialer(s, key, chain(), None).await)
}

async fn hello_as_dialer(
    mut s: TlsStream<TcpStream>,
    key: &SecretKey,
    chain_id: Hash,
    exporter_override: Option<[u8; 32]>,
) -> (TlsStream<TcpStream>, Option<Hello>) {
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

pub async fn send<S: AsyncWrite + Unpin>(s: &mut S, m: &Message) {
    let _ = s.write_all(&frame::encode_frame(&m.to_bytes())).await;
    let _ = s.flush().await;
}

/// Reads frames until the connection closes (true) or the deadline passes (false).
pub async fn closed_by_node<S: AsyncRead + Unpin>(s: &mut S) -> bool {
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

/// Reads messages until one satisfies `want` (returned), the connection closes or the
/// deadline passes (`None`).
pub async fn read_until<S: AsyncRead + Unpin>(
    s: &mut S,
    want: impl Fn(&Message) -> bool,
) -> Option<Message> {
    let end = tokio::time::Instant::now() + DEADLINE;
    loop {
        match tokio::time::timeout_at(end, frame::read_frame(s, 64 * 1024 * 1024)).await {
            Ok(Ok(b)) => match Message::decode(&b) {
                Ok(m) if want(&m) => return Some(m),
                _ => continue,
            },
            _ => return None,
        }
    }
}

/// A peer the node dials: a TLS listener on 127.0.0.1 that answers the Hello with `key`.
pub struct RawListener {
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    _dir: tempfile::TempDir,
}

impl RawListener {
    pub async fn bind() -> RawListener {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = tls::load_or_create_identity(dir.path()).unwrap();
        RawListener {
            listener: TcpListener::bind("127.0.0.1:0").await.unwrap(),
            acceptor: tokio_rustls::TlsAcceptor::from(tls::server_config(cert, key).unwrap()),
            _dir: dir,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap()
    }

    /// Accepts one connection and completes the handshake as the listener.
    pub async fn accept(
        &self,
        key: &SecretKey,
    ) -> (tokio_rustls::server::TlsStream<TcpStream>, Option<Hello>) {
        self.accept_with(|exp| {
            Hello::new_signed(key, chain(), exp, ROLE_LISTENER, String::new(), 0)
        })
        .await
    }

    /// Accepts one connection and answers the dialer's Hello with `make(exporter)`: a
    /// listener that lies in its Hello.
    pub async fn accept_with(
        &self,
        make: impl FnOnce(&[u8; 32]) -> Hello,
    ) -> (tokio_rustls::server::TlsStream<TcpStream>, Option<Hello>) {
        let (tcp, _) = tokio::time::timeout(DEADLINE, self.listener.accept())
            .await
            .expect("the node dials the raw listener")
            .unwrap();
        let mut s = self.acceptor.accept(tcp).await.unwrap();
        let exp = tls::exporter(&**s.get_ref().1).unwrap();
        let theirs = match tokio::time::timeout(DEADLINE, frame::read_frame(&mut s, 4096)).await {
            Ok(Ok(b)) => match Message::decode(&b) {
                Ok(Message::Hello(h)) => Some(h),
                _ => None,
            },
            _ => None,
        };
        send(&mut s, &Message::Hello(make(&exp))).await;
        (s, theirs)
    }
}

/// Non-loopback addresses of the network namespace made by [`in_netns`]: the first two share
/// an IPv4 /16, the third is in another. They exist only inside that namespace.
pub const NETNS_ADDRS: [&str; 3] = ["198.51.100.1", "198.51.100.2", "203.0.113.1"];

/// Gives the test `name` (its full name, see [`rerun::test_name`]) non-loopback addresses
/// without touching the host's network: unless already inside, re-runs this test binary (only
/// `name`) in a new network namespace (`unshare --net`, root) with loopback up and a veth pair
/// holding [`NETNS_ADDRS`], asserts that the run passed, and returns `false` (the caller
/// returns: its body ran inside). Inside, returns `true` (the caller runs its body). Fails
/// loudly when the namespace cannot be made: such a test never passes by skipping.
pub fn in_netns(name: &str) -> bool {
    let adds: String = NETNS_ADDRS
        .iter()
        .map(|a| format!("ip addr add {a}/32 dev tcv0 && "))
        .collect();
    // `sh -c SCRIPT sh EXE ARGS...`: the script sets the namespace up, then execs "$@".
    let script = format!(
        "ip link set lo up && ip link add tcv0 type veth peer name tcv1 && \
         ip link set tcv0 up && ip link set tcv1 up && {adds} exec \"$@\""
    );
    rerun::alone_in(
        name,
        &["unshare", "--net", "--", "sh", "-c", &script, "sh"],
        "a network namespace: root, util-linux (unshare) and iproute2 with veth; CI runs as root",
    )
}
