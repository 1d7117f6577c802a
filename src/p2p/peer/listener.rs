//! The listener: the accept loop and the limits applied before any TLS work (bans on the
//! whole IP, pending handshakes overall and per IP, inbound slots overall, per IP and per
//! group). Admitted connections are handshaken, then handed to [`run_peer`].

use super::session::run_peer;
use super::{handshake, lock, Shared};
use crate::p2p::Direction;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Handshakes one non-loopback IP may have in progress at once.
const MAX_PENDING_PER_IP: usize = 8;

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

/// Accepts connections until shutdown; each handshake runs in its own task, then the session.
pub(super) async fn accept_loop(sh: Arc<Shared>, listener: TcpListener) {
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
                handshake::inbound(&sh2, stream).await
            };
            match handshake {
                Ok((tls, hello)) => {
                    run_peer(sh2, tls, remote, Direction::Inbound, hello, None).await
                }
                Err(reason) if reason.is_tls() => {
                    tracing::info!(target: "p2p::tls", "inbound {remote} rejected: {reason}")
                }
                Err(reason) => {
                    tracing::info!(target: "p2p::peer", "inbound {remote} rejected: {reason}")
                }
            }
        });
    }
}
