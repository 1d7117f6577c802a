//! Misbehaviour scores and bans: an offence adds points (remembered for a disconnected peer's
//! reconnect); at the threshold the peer is banned (on loopback by IP and node key, elsewhere
//! the whole IP) and disconnected. Bans are persisted and checked before and after handshakes.

use super::{gossip, lock, Peer, Shared};
use crate::p2p::score::Misbehaviour;
use crate::p2p::store::BanEntry;
use crate::p2p::PeerId;
use crate::types::PublicKey;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

impl Shared {
    /// Records an offence by `peer`; see [`crate::p2p::P2pHandle::report`].
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

    pub(super) fn report_peer(&self, p: &Peer, offence: Misbehaviour) {
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
    /// [`crate::p2p::store::MAX_BAN`].
    pub(crate) fn ban(&self, ip: IpAddr, node: Option<PublicKey>, d: Duration, reason: String) {
        let prefix = crate::p2p::store::full_prefix(ip);
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

    pub(super) fn is_banned(&self, ip: IpAddr, node: Option<&PublicKey>) -> bool {
        let now = SystemTime::now();
        lock(&self.bans)
            .iter()
            .any(|b| b.active_at(now) && b.matches(ip, node))
    }
}
