//! Why a session with a handshaken peer ended ([`DisconnectReason`]) and why a connection was
//! dropped before it became one ([`HandshakeError`]). Both only reach the logs (`p2p::peer`,
//! `p2p::tls`); their text is the one the node has always logged.

use crate::p2p::frame::FrameError;
use crate::p2p::P2pError;
use crate::types::encoding::DecodeError;
use crate::types::{Hash, PublicKey};
use std::net::IpAddr;
use std::time::Duration;
use thiserror::Error;

/// Why the read loop of a handshaken peer stopped (logged as "disconnected <addr>: <reason>").
#[derive(Debug, Error)]
pub enum DisconnectReason {
    /// The connection was cancelled on our side: shutdown, a ban, a slow peer, or a newer
    /// connection to the same node key.
    #[error("closed locally")]
    ClosedLocally,
    /// The peer closed the connection cleanly between frames.
    #[error("closed by peer")]
    ClosedByPeer,
    /// Nothing arrived within the idle timeout.
    #[error("idle for {}s", .0.as_secs())]
    Idle(Duration),
    /// A frame could not be read: oversized or empty (both scored as misbehaviour) or an I/O
    /// error.
    #[error("{0}")]
    Frame(FrameError),
    /// The rate limiter's report pushed the peer over the ban threshold.
    #[error("banned: rate limit")]
    RateLimitBanned,
    /// A frame did not decode as a message (scored as misbehaviour).
    #[error("malformed message: {0}")]
    Malformed(DecodeError),
    /// The peer sent a second Hello (scored as misbehaviour).
    #[error("second hello")]
    SecondHello,
    /// The node's receiver of peer messages is gone (the node is stopping).
    #[error("node stopped receiving")]
    NodeStopped,
}

/// Why a connection was dropped before the Hello exchange completed (inbound or dialed).
#[derive(Debug, Error)]
pub enum HandshakeError {
    /// The TCP connection could not be opened (dialing only).
    #[error("connect failed: {0}")]
    Connect(std::io::Error),
    /// The socket has no peer address (dialing only).
    #[error("{0}")]
    PeerAddr(std::io::Error),
    /// The dialed address is banned (dialing only; checked before any TLS work).
    #[error("{0} is banned")]
    Banned(IpAddr),
    /// The TLS handshake failed.
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
    /// The TLS session gives no keying material to bind the Hello to.
    #[error("{0}")]
    Exporter(P2pError),
    /// Our Hello could not be written.
    #[error("sending hello: {0}")]
    SendHello(FrameError),
    /// Our Hello could not be flushed to the socket.
    #[error("sending hello: {0}")]
    FlushHello(std::io::Error),
    /// Their Hello could not be read.
    #[error("reading hello: {0}")]
    ReadHello(FrameError),
    /// The first message was not a Hello.
    #[error("expected hello, got {0}")]
    NotHello(&'static str),
    /// The first message did not decode.
    #[error("malformed hello: {0}")]
    MalformedHello(DecodeError),
    /// The peer speaks another protocol version.
    #[error("protocol version {theirs} (we speak {ours})")]
    ProtocolVersion {
        /// The version in their Hello.
        theirs: u32,
        /// The version we speak, [`crate::p2p::message::PROTOCOL_VERSION`].
        ours: u32,
    },
    /// The peer is on another chain.
    #[error("wrong chain id {} (ours {}): the peer is on another network or genesis", .theirs.short(), .ours.short())]
    WrongChain {
        /// The chain id in their Hello.
        theirs: Hash,
        /// Our chain id, from our genesis.
        ours: Hash,
    },
    /// The Hello's signature does not bind its node key to this TLS session.
    #[error("hello signature by {} does not verify for this TLS session", .0.short())]
    BadSignature(PublicKey),
    /// The whole handshake (TCP for dials, TLS, Hellos) took longer than `handshake_timeout`.
    #[error("handshake timeout")]
    Timeout,
}

impl HandshakeError {
    /// Whether the failure is in TLS (logged under `p2p::tls` rather than `p2p::peer`).
    pub fn is_tls(&self) -> bool {
        matches!(self, HandshakeError::Tls(_) | HandshakeError::Exporter(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_the_logs_always_did() {
        assert_eq!(
            DisconnectReason::Idle(Duration::from_secs(60)).to_string(),
            "idle for 60s"
        );
        assert_eq!(
            DisconnectReason::Frame(FrameError::Empty).to_string(),
            "peer sent an empty frame"
        );
        assert_eq!(
            DisconnectReason::RateLimitBanned.to_string(),
            "banned: rate limit"
        );
        let v = HandshakeError::ProtocolVersion { theirs: 2, ours: 1 };
        assert_eq!(v.to_string(), "protocol version 2 (we speak 1)");
        assert!(!v.is_tls());
        let tls = HandshakeError::Exporter(P2pError::Tls("TLS exporter unavailable: x".into()));
        assert!(tls.is_tls());
        assert!(tls.to_string().starts_with("TLS"));
        assert_eq!(HandshakeError::Timeout.to_string(), "handshake timeout");
    }
}
