//! Addresses exchanged with peers: what a peer's `Peers` reply (to our `GetPeers` only) and
//! its Hello add to the address book, and what we answer a `GetPeers` with.

use super::{lock, Peer, Shared};
use crate::p2p::addr_book::{valid_addr, AddrBook};
use crate::p2p::exchange::PeersVerdict;
use crate::p2p::message;
use crate::p2p::netgroup::{gossipable, Group};
use crate::p2p::score::Misbehaviour;
use std::collections::HashSet;
use std::net::SocketAddr;

impl Shared {
    /// Adds up to `limit` new addresses told by `from` to the book, in `from`'s source
    /// group; addresses this network does not gossip (see [`gossipable`]) and our own are
    /// skipped. Returns how many were new.
    pub(super) fn learn_addrs(&self, from: &Peer, addrs: Vec<String>, limit: usize) -> usize {
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
    pub(super) fn on_peers(&self, p: &Peer, addrs: Vec<String>) {
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
    pub(super) fn peers_reply(&self) -> Vec<String> {
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
}

/// The address a peer announced in its Hello, as we can dial it: an unspecified IP means the
/// one it connected from; `None` without a port.
pub(super) fn listen_addr_of(announced: &str, remote: SocketAddr) -> Option<String> {
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
