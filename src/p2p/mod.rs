//! Peer-to-peer layer: TCP + TLS 1.3, a Hello that binds each node key to its TLS session,
//! length-prefixed frames, gossip with per-peer deduplication, rate limits, misbehaviour scores
//! with persisted timed bans, inbound/outbound limits (inbound also per IP and per /16 or /64
//! group, outbound spread across groups) and an address book filled only from replies to our
//! own `GetPeers`, bucketed by source group and persisted in batches.
//!
//! [`start`] binds the listener and spawns the tasks; it returns a [`P2pHandle`] to send to
//! peers and a bounded receiver of [`InboundMessage`]s for the node (consensus, transactions,
//! blocks, status, evidence; handshake, ping and peer exchange stay inside this module).
//!
//! Ban policy: a peer whose score reaches the threshold is banned for `ban_duration`. For
//! non-loopback peers the ban covers the whole IP. All devnet nodes share 127.0.0.1, so a
//! loopback peer is banned by (IP, node key) and honest local peers stay connected.
//!
//! Delivery rules the node can rely on:
//! - Gossip items are never echoed back after the node broadcast (or relayed) them itself, and
//!   per-peer sets make sure one peer never gets the same item twice, so the node may relay
//!   every item it accepts with [`P2pHandle::broadcast_except`] without causing storms.
//! - Consensus gossip (`Vote`, `Proposal`, `Evidence`) the node has not broadcast itself is
//!   delivered every time it arrives: nothing is remembered as seen on receipt, so a message
//!   the node dropped unused (a height it had not reached yet) is taken when a peer re-sends
//!   it. The node deduplicates what it accepted.
//! - Transactions are deduplicated node-wide on receipt (a bounded recent-items cache): each
//!   is delivered once.
//! - Queued transactions are sent in `Txs` batches and unpacked on receipt: the node only ever
//!   sees `Message::Tx`.
//! - A message whose encoding exceeds `max_frame` is not sent (logged): a `Blocks` reply must
//!   be sized to fit.
//! - When the node's channel is full, reading from peers pauses (backpressure); nothing
//!   the node should see is dropped, except rate-limited messages.
//! - With [`P2pConfig::link_delay`] (benchmarks and tests only) every frame we send leaves
//!   no earlier than its delay after the writer took it from the peer's queue, in queue order.
//!
//! Tracing targets: `p2p` (listener, dialer, bans), `p2p::peer` (per connection), `p2p::tls`.
//! A session's end is logged with its [`DisconnectReason`], a refused handshake with its
//! [`HandshakeError`].

mod addr_book;
mod exchange;
pub mod frame;
pub mod gossip;
pub mod heap;
pub mod link_delay;
pub mod message;
mod netgroup;
mod peer;
pub mod proposal_relay;
pub mod score;
pub mod store;
pub mod tls;

pub use link_delay::LinkDelay;
pub use message::{Hello, Message};
pub use peer::disconnect::{DisconnectReason, HandshakeError};
pub use score::{Misbehaviour, TokenBucket};
pub use store::{BanEntry, DbPeerStore, MemoryPeerStore, PeerStore};

use crate::types::{Hash, Network, PublicKey, SecretKey};
use peer::Shared;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// A peer is identified by its node key; there is at most one connection per node key.
pub type PeerId = PublicKey;

/// Who opened the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The peer dialed us.
    Inbound,
    /// We dialed the peer.
    Outbound,
}

/// A snapshot of one connected peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's node key, proven in the handshake.
    pub id: PeerId,
    /// This node's number for the connection: counted from 1 per connection since the node
    /// started, fixed while the connection lasts; a reconnect gets a new one (Bitcoin Core's
    /// peer id).
    pub conn_id: u64,
    /// Remote socket address, `ip:port`.
    pub addr: SocketAddr,
    /// Which side dialed.
    pub direction: Direction,
    /// Last measured ping round trip; `None` until the first pong.
    pub latency_ms: Option<u64>,
    /// Height from the Hello or the latest Status; `None` if unknown.
    pub height: Option<u64>,
    /// Bytes received (frames, before TLS).
    pub bytes_in: u64,
    /// Bytes sent (frames, before TLS).
    pub bytes_out: u64,
    /// Messages received from the peer since it connected.
    pub msgs_in: u64,
    /// Messages sent to the peer since it connected.
    pub msgs_out: u64,
    /// Misbehaviour points (0 is clean; reaching the ban threshold bans the peer).
    pub score: i32,
    /// When the connection was established.
    pub connected_since: SystemTime,
}

/// A message from a peer for the node. It holds its share of the inbound memory budgets
/// (see [`P2pConfig::inbound_bytes`]) until it is dropped.
#[derive(Debug)]
pub struct InboundMessage {
    /// The peer the message came from.
    pub peer: PeerId,
    /// The decoded message.
    pub msg: Message,
    /// Budget held while the message exists.
    pub(crate) _budget: Option<Arc<peer::InboundBudget>>,
}

impl InboundMessage {
    /// A message from `peer` that holds no share of the inbound budgets (the simulation's
    /// links bound what they deliver themselves).
    pub fn new(peer: PeerId, msg: Message) -> InboundMessage {
        InboundMessage {
            peer,
            msg,
            _budget: None,
        }
    }

    /// The message without its share of the inbound budgets, for a receiver that keeps
    /// messages (a test recorder) and bounds them itself.
    pub fn without_budget(mut self) -> InboundMessage {
        self._budget = None;
        self
    }
}

/// A token-bucket rate: `per_sec` sustained, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Tokens added per second: the sustained rate.
    pub per_sec: f64,
    /// Bucket size: the most tokens spent at once.
    pub burst: f64,
}

/// Configuration of the p2p layer.
#[derive(Clone, Debug)]
pub struct P2pConfig {
    /// Network (for logs and defaults).
    pub network: Network,
    /// Chain id every peer must share.
    pub chain_id: Hash,
    /// Our node key (our peer id); signs the Hello.
    pub node_key: SecretKey,
    /// Listen address (`--p2p-bind`, `[p2p] bind`).
    pub listen: SocketAddr,
    /// Address announced to peers; defaults to the bound address.
    pub advertised_addr: Option<String>,
    /// Addresses dialed at start to find peers.
    pub seeds: Vec<String>,
    /// Addresses always kept connected (`--connect`), redialed forever.
    pub fixed_peers: Vec<String>,
    /// Most inbound connections at once.
    pub max_inbound: usize,
    /// Most outbound connections (fixed peers are dialed regardless).
    pub max_outbound: usize,
    /// Most established inbound connections from one IP address (loopback is exempt: every
    /// devnet node shares 127.0.0.1).
    pub max_inbound_per_ip: usize,
    /// Most established inbound connections from one address group: an IPv4 /16 or an IPv6
    /// /64 (loopback exempt). Filling every inbound slot then takes many networks, not one.
    pub max_inbound_per_group: usize,
    /// Most new addresses taken from one `Peers` reply to our `GetPeers`.
    pub max_addrs_per_reply: usize,
    /// Most address-book entries learned from one source group (the /16 or /64 of the peer
    /// that told us); further ones replace that group's oldest, never another group's.
    pub max_addrs_per_source: usize,
    /// Largest frame payload in bytes.
    pub max_frame: usize,
    /// Time allowed for TCP connect + TLS + Hello exchange.
    pub handshake_timeout: Duration,
    /// A peer silent for this long is disconnected.
    pub idle_timeout: Duration,
    /// Time between two pings to a peer; each pong updates [`PeerInfo::latency_ms`].
    pub ping_interval: Duration,
    /// Where the TLS certificate and key live.
    pub data_dir: PathBuf,
    /// Messages per second a peer may send.
    pub msg_rate: RateLimit,
    /// Bytes per second a peer may send.
    pub byte_rate: RateLimit,
    /// Score at which a peer is banned.
    pub ban_threshold: i32,
    /// How long a misbehaviour ban lasts.
    pub ban_duration: Duration,
    /// Most inbound connections still in the TLS/Hello handshake.
    pub max_pending_handshakes: usize,
    /// Frames queued per peer before messages to it are dropped.
    pub peer_queue: usize,
    /// Bytes queued per peer before messages to it are dropped.
    pub peer_queue_bytes: usize,
    /// Capacity of the channel to the node, in messages.
    pub inbound_queue: usize,
    /// Decoded bytes of messages from all peers waiting for (or being handled by) the node;
    /// reading from peers pauses above it.
    pub inbound_bytes: usize,
    /// Decoded bytes of messages from one peer waiting for the node; reading from that peer
    /// pauses above it, so one peer cannot take the whole of `inbound_bytes`.
    pub peer_inbound_bytes: usize,
    /// Emulated latency of every message we send (benchmarks and tests only: no config key
    /// or flag of a node sets it). `None`: frames leave as soon as the socket takes them.
    pub link_delay: Option<LinkDelay>,
}

impl P2pConfig {
    /// A configuration with the defaults: 64 inbound (at most 4 per IP and 8 per /16 or /64),
    /// 16 outbound, 32 addresses taken per `Peers` reply and 64 kept per source group, 4 MiB
    /// frames, 10 s handshake, 60 s idle timeout with pings every 10 s, 2,000 msgs/s (burst
    /// 4,000) and 32 MiB/s (burst 64 MiB) per peer, bans of 24 h at 100 points.
    pub fn new(
        network: Network,
        chain_id: Hash,
        node_key: SecretKey,
        listen: SocketAddr,
        data_dir: PathBuf,
    ) -> P2pConfig {
        P2pConfig {
            network,
            chain_id,
            node_key,
            listen,
            advertised_addr: None,
            seeds: Vec::new(),
            fixed_peers: Vec::new(),
            max_inbound: 64,
            max_outbound: 16,
            max_inbound_per_ip: 4,
            max_inbound_per_group: 8,
            max_addrs_per_reply: 32,
            max_addrs_per_source: 64,
            max_frame: frame::DEFAULT_MAX_FRAME,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            ping_interval: Duration::from_secs(10),
            data_dir,
            msg_rate: RateLimit {
                per_sec: 2_000.0,
                burst: 4_000.0,
            },
            byte_rate: RateLimit {
                per_sec: 32.0 * 1024.0 * 1024.0,
                burst: 64.0 * 1024.0 * 1024.0,
            },
            ban_threshold: 100,
            ban_duration: Duration::from_secs(24 * 3600),
            max_pending_handshakes: 128,
            peer_queue: 4096,
            peer_queue_bytes: 64 * 1024 * 1024,
            inbound_queue: 8192,
            inbound_bytes: 256 * 1024 * 1024,
            peer_inbound_bytes: 48 * 1024 * 1024,
            link_delay: None,
        }
    }
}

/// Errors of the p2p layer; each says what to do.
#[derive(Debug, Error)]
pub enum P2pError {
    /// The listen address could not be bound.
    #[error("cannot listen for peers on {addr}: {source}; choose another address with --p2p-bind or the [p2p] bind key")]
    Bind {
        /// The address the listener tried to bind.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The data dir (certificate, key) is not usable.
    #[error(
        "cannot use {path} for the p2p certificate: {source}; check --datadir and its permissions"
    )]
    DataDir {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// TLS setup failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// A configuration value is unusable.
    #[error("invalid p2p configuration: {0}")]
    Config(String),
    /// An address, IP, subnet or node key given to ban/unban could not be parsed.
    #[error("{0:?} is neither an IP address, a socket address, a subnet (ip/bits) nor a node key in hex")]
    BadTarget(String),
}

/// Handle to the running p2p layer; cheap to clone.
#[derive(Clone)]
pub struct P2pHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for P2pHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P2pHandle")
            .field("local_addr", &self.shared.local_addr)
            .field("peers", &self.shared.peers.len())
            .finish()
    }
}

/// Binds the listener, loads or creates the TLS identity, and spawns the listener, dialer,
/// status and snapshot tasks. Everything stops when `shutdown` is cancelled.
pub async fn start(
    config: P2pConfig,
    store: Arc<dyn PeerStore>,
    height: watch::Receiver<(u64, Hash)>,
    shutdown: CancellationToken,
) -> Result<(P2pHandle, mpsc::Receiver<InboundMessage>), P2pError> {
    if config.max_frame < 1024 || config.max_frame > u32::MAX as usize {
        return Err(P2pError::Config(format!(
            "max_frame {} must be between 1 KiB and 4 GiB",
            config.max_frame
        )));
    }
    if config.max_inbound_per_ip == 0
        || config.max_inbound_per_group == 0
        || config.max_addrs_per_source == 0
    {
        return Err(P2pError::Config(
            "max_inbound_per_ip, max_inbound_per_group and max_addrs_per_source must be at least 1"
                .into(),
        ));
    }
    let (shared, rx) = peer::start(config, store, height, shutdown).await?;
    Ok((P2pHandle { shared }, rx))
}

impl P2pHandle {
    /// Sends `msg` to every connected peer (gossip kinds at most once per peer).
    pub fn broadcast(&self, msg: Message) {
        self.shared.broadcast(msg, None);
    }

    /// Sends `msg` to every connected peer except `peer` (usually the one it came from).
    pub fn broadcast_except(&self, peer: PeerId, msg: Message) {
        self.shared.broadcast(msg, Some(peer));
    }

    /// Sends `msg` to one peer; `false` if it is not connected or its queue is full.
    pub fn send(&self, peer: PeerId, msg: Message) -> bool {
        self.shared.send_to_each(&[peer], msg) == 1
    }

    /// Sends `msg` to each of `peers`, encoded once; returns how many queued it.
    pub fn send_to_each(&self, peers: &[PeerId], msg: Message) -> usize {
        self.shared.send_to_each(peers, msg)
    }

    /// Records an offence; at the threshold the peer is banned and disconnected.
    pub fn report(&self, peer: PeerId, offence: Misbehaviour) {
        self.shared.report(&peer, offence);
    }

    /// Dials `addr` now and keeps it connected like a `--connect` peer (RPC `addnode`).
    pub fn connect(&self, addr: String) {
        self.shared.add_fixed(addr);
    }

    /// Whether `addr` is a fixed peer (given to [`P2pHandle::connect`] or `--connect`).
    pub fn is_fixed_peer(&self, addr: &str) -> bool {
        self.shared.is_fixed(addr)
    }

    /// Stops keeping `addr` connected (RPC `addnode <addr> remove`): it is no longer redialed
    /// as a fixed peer, and a connection open now stays until it ends by itself (as in Bitcoin
    /// Core; the address may still be dialed as an ordinary outbound peer later). `false` if
    /// `addr` was not a fixed peer (added with [`P2pHandle::connect`] or `--connect`).
    pub fn disconnect_fixed(&self, addr: &str) -> bool {
        self.shared.remove_fixed(addr)
    }

    /// Dials `addr` once, now (RPC `addnode <addr> onetry`), without adding it to the fixed
    /// peers: a failure is not retried, and the connection counts as an ordinary outbound one
    /// (dropped when the outbound slots are full).
    pub fn connect_once(&self, addr: String) {
        self.shared.dial_once(addr);
    }

    /// Bans an IP (or `ip:port`, whose port is ignored), a subnet (`10.0.0.0/8`,
    /// `2001:db8::/32`) or a node key (64 hex digits, alone or as `ip/<key>` as `listbanned`
    /// prints it) for `duration` (at most [`store::MAX_BAN`]), disconnecting matching peers.
    pub fn ban(&self, target: &str, duration: Duration) -> Result<(), P2pError> {
        let (ip, prefix, node) = parse_target(target)?;
        let entry = BanEntry::new(ip, prefix, node, duration, "banned by the operator".into())
            .ok_or_else(|| P2pError::BadTarget(target.to_owned()))?;
        self.shared.ban_entry(entry);
        Ok(())
    }

    /// Lifts the bans on a target as [`P2pHandle::ban`] takes it: an IP (every ban on it), one
    /// subnet, or a node key; `Ok(false)` if none existed.
    pub fn unban(&self, target: &str) -> Result<bool, P2pError> {
        let (ip, prefix, node) = parse_target(target)?;
        Ok(self.shared.unban(ip, prefix, node))
    }

    /// Bans whose end time has not passed; expired ones are dropped here.
    pub fn bans(&self) -> Vec<BanEntry> {
        self.shared.active_bans()
    }

    /// Snapshots of the connected peers, refreshed on change and at least every second.
    pub fn peers(&self) -> watch::Receiver<Vec<PeerInfo>> {
        self.shared.peers_tx.subscribe()
    }

    /// Whether `peer` is connected (handshaken) now.
    pub fn is_connected(&self, peer: &PeerId) -> bool {
        self.shared.peers.contains_key(peer)
    }

    /// Number of connected (handshaken) peers.
    pub fn peer_count(&self) -> usize {
        self.shared.peers.len()
    }

    /// Number of addresses in the address book (learned from peers' replies and Hellos, and
    /// the seeds): what the dialer may pick from.
    pub fn known_addresses(&self) -> usize {
        self.shared.known_addresses()
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Our node key, as peers know us.
    pub fn local_id(&self) -> PeerId {
        self.shared.local_id
    }
}

/// Parses a ban target: `ip`, `ip:port`, `ip/bits`, `ip/<node key>` or `<node key>`; returns
/// the address, the prefix length and the node key.
pub fn parse_target(s: &str) -> Result<(IpAddr, u8, Option<PublicKey>), P2pError> {
    let s = s.trim();
    let bad = || P2pError::BadTarget(s.to_owned());
    if let Some((ip, rest)) = s.split_once('/') {
        let ip: IpAddr = ip.parse().map_err(|_| bad())?;
        if let Some(k) = PublicKey::from_hex(rest) {
            return Ok((ip, store::full_prefix(ip), Some(k)));
        }
        let bits: u8 = rest.parse().map_err(|_| bad())?;
        if bits > store::full_prefix(ip) {
            return Err(bad());
        }
        return Ok((ip, bits, None));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok((ip, store::full_prefix(ip), None));
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok((sa.ip(), store::full_prefix(sa.ip()), None));
    }
    if let Some(k) = PublicKey::from_hex(s) {
        return Ok((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 32, Some(k)));
    }
    Err(bad())
}

#[cfg(test)]
mod tests;
