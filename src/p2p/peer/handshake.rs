//! The handshake of a new connection, inbound or dialed: TLS 1.3, then a Hello each way, each
//! signed over the TLS session's exporter so a node key is bound to this very session, on the
//! same chain and protocol version. All of it within `handshake_timeout`.

use super::disconnect::HandshakeError;
use super::Shared;
use crate::p2p::frame;
use crate::p2p::message::{self, Hello, Message, ROLE_DIALER, ROLE_LISTENER};
use crate::p2p::tls;
use crate::types::encoding::Encode;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsStream;

/// Largest frame accepted before the Hello is verified.
const HELLO_MAX_FRAME: usize = 1024;

/// A finished handshake: the TLS stream and the peer's verified Hello.
pub(super) type Handshaken = (TlsStream<TcpStream>, Hello);

/// The listener's side: TLS accept, then the Hellos.
pub(super) async fn inbound(
    sh: &Arc<Shared>,
    stream: TcpStream,
) -> Result<Handshaken, HandshakeError> {
    within_timeout(sh, async {
        let tls = sh
            .acceptor
            .accept(stream)
            .await
            .map_err(HandshakeError::Tls)?;
        let exp = tls::exporter(&**tls.get_ref().1).map_err(HandshakeError::Exporter)?;
        hello_exchange(sh, TlsStream::Server(tls), exp, ROLE_LISTENER).await
    })
    .await
}

/// The dialer's side: TCP connect (refused before any TLS work if the address is banned), TLS
/// connect, then the Hellos. Returns the remote address too.
pub(super) async fn outbound(
    sh: &Arc<Shared>,
    addr: &str,
) -> Result<(Handshaken, SocketAddr), HandshakeError> {
    within_timeout(sh, async {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(HandshakeError::Connect)?;
        let remote = tcp.peer_addr().map_err(HandshakeError::PeerAddr)?;
        if sh.is_banned(remote.ip(), None) {
            return Err(HandshakeError::Banned(remote.ip()));
        }
        let _ = tcp.set_nodelay(true);
        let tls = sh
            .connector
            .connect(tls::server_name(), tcp)
            .await
            .map_err(HandshakeError::Tls)?;
        let exp = tls::exporter(&**tls.get_ref().1).map_err(HandshakeError::Exporter)?;
        let done = hello_exchange(sh, TlsStream::Client(tls), exp, ROLE_DIALER).await?;
        Ok((done, remote))
    })
    .await
}

async fn within_timeout<T>(
    sh: &Shared,
    f: impl std::future::Future<Output = Result<T, HandshakeError>>,
) -> Result<T, HandshakeError> {
    tokio::time::timeout(sh.cfg.handshake_timeout, f)
        .await
        .unwrap_or(Err(HandshakeError::Timeout))
}

/// Sends our Hello, reads and checks theirs.
async fn hello_exchange<S>(
    sh: &Shared,
    mut tls: S,
    exporter: [u8; 32],
    our_role: u8,
) -> Result<(S, Hello), HandshakeError>
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
        .map_err(HandshakeError::SendHello)?;
    tls.flush().await.map_err(HandshakeError::FlushHello)?;
    let bytes = frame::read_frame(&mut tls, HELLO_MAX_FRAME)
        .await
        .map_err(HandshakeError::ReadHello)?;
    let hello = match Message::decode(&bytes) {
        Ok(Message::Hello(h)) => h,
        Ok(other) => return Err(HandshakeError::NotHello(other.kind())),
        Err(e) => return Err(HandshakeError::MalformedHello(e)),
    };
    if hello.protocol_version != message::PROTOCOL_VERSION {
        return Err(HandshakeError::ProtocolVersion {
            theirs: hello.protocol_version,
            ours: message::PROTOCOL_VERSION,
        });
    }
    if hello.chain_id != sh.cfg.chain_id {
        return Err(HandshakeError::WrongChain {
            theirs: hello.chain_id,
            ours: sh.cfg.chain_id,
        });
    }
    let their_role = if our_role == ROLE_DIALER {
        ROLE_LISTENER
    } else {
        ROLE_DIALER
    };
    if !hello.verify(&exporter, their_role) {
        return Err(HandshakeError::BadSignature(hello.node_key));
    }
    Ok((tls, hello))
}
