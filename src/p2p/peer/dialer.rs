//! The dialer: keeps fixed peers connected and fills the outbound slots from the seeds and
//! the address book, spread across address groups, with backoff on failures.

use super::session::run_peer;
use super::{handshake, lock, Shared};
use crate::p2p::addr_book::valid_addr;
use crate::p2p::netgroup::{spread_outbound, Group};
use crate::p2p::Direction;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest backoff between dials of a fixed peer.
const FIXED_BACKOFF_CAP: Duration = Duration::from_secs(30);
/// Longest backoff between dials of other addresses.
const BACKOFF_CAP: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
pub(super) struct Backoff {
    failures: u32,
    next: Instant,
}

impl Shared {
    /// Groups of the outbound peers connected or being dialed.
    fn outbound_groups(&self) -> HashSet<Group> {
        let mut g: HashSet<Group> = self
            .peers
            .iter()
            .filter(|p| p.direction == Direction::Outbound)
            .map(|p| Group::of_ip(p.addr.ip()))
            .collect();
        g.extend(lock(&self.dialing).iter().map(|a| Group::of_addr(a)));
        g
    }

    /// Whether `addr` may be dialed now: not us, not connected, not backing off, not being
    /// dialed already.
    fn dialable(&self, addr: &str, now: Instant) -> bool {
        if addr == self.advertised || lock(&self.self_addrs).contains(addr) {
            return false;
        }
        if let Some(k) = self.addr_keys.get(addr).map(|k| *k) {
            if self.peers.contains_key(&k) {
                return false;
            }
        }
        let backing_off = lock(&self.backoff).get(addr).is_some_and(|b| b.next > now);
        !backing_off && !lock(&self.dialing).contains(addr)
    }

    /// Adds `addr` to the fixed peers (see [`crate::p2p::P2pHandle::connect`]) and wakes the dialer.
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

    /// Whether `addr` is one of the fixed peers.
    pub(crate) fn is_fixed(&self, addr: &str) -> bool {
        lock(&self.fixed).iter().any(|a| a == addr)
    }

    /// Takes `addr` off the fixed peers (see [`crate::p2p::P2pHandle::disconnect_fixed`]);
    /// whether it was one.
    pub(crate) fn remove_fixed(&self, addr: &str) -> bool {
        let removed = {
            let mut f = lock(&self.fixed);
            let before = f.len();
            f.retain(|a| a != addr);
            f.len() != before
        };
        if removed {
            lock(&self.backoff).remove(addr);
            tracing::info!(target: "p2p", "{addr} is no longer a fixed peer");
        }
        removed
    }

    /// One dial of `addr` now unless it is connected or being dialed already (see
    /// [`crate::p2p::P2pHandle::connect_once`]); a past failure's backoff does not hold it.
    pub(crate) fn dial_once(self: &Arc<Self>, addr: String) {
        lock(&self.backoff).remove(&addr);
        if self.dialable(&addr, Instant::now()) && lock(&self.dialing).insert(addr.clone()) {
            tokio::spawn(dial(self.clone(), addr, false));
        }
    }
}

/// Dials fixed peers and fills free outbound slots, every 500 ms or when woken, until shutdown.
pub(super) async fn dial_loop(sh: Arc<Shared>) {
    sh.book.update(|b| {
        for s in sh.cfg.seeds.iter().filter(|s| valid_addr(s)) {
            b.insert(s, Group::of_addr(s));
        }
    });
    loop {
        let now = Instant::now();
        let mut candidates: Vec<(String, bool)> =
            lock(&sh.fixed).iter().map(|a| (a.clone(), true)).collect();
        let outbound = sh.outbound_count() + lock(&sh.dialing).len();
        let room = sh.cfg.max_outbound.saturating_sub(outbound);
        if room > 0 {
            let mut others: Vec<String> = sh.cfg.seeds.clone();
            others.extend(sh.book.read(|b| b.addresses().cloned().collect::<Vec<_>>()));
            others.sort_unstable();
            others.dedup();
            others.retain(|a| sh.dialable(a, now));
            use rand::seq::SliceRandom;
            others.shuffle(&mut rand::thread_rng());
            let picked = spread_outbound(others, &sh.outbound_groups(), room);
            candidates.extend(picked.into_iter().map(|a| (a, false)));
        }
        for (addr, fixed) in candidates {
            if !sh.dialable(&addr, now) || !lock(&sh.dialing).insert(addr.clone()) {
                continue;
            }
            tokio::spawn(dial(sh.clone(), addr, fixed));
        }
        tokio::select! {
            _ = sh.shutdown.cancelled() => break,
            _ = sh.dial_wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

fn record_failure(sh: &Shared, addr: &str, fixed: bool) {
    let mut b = lock(&sh.backoff);
    let e = b.entry(addr.to_owned()).or_insert(Backoff {
        failures: 0,
        next: Instant::now(),
    });
    e.failures = e.failures.saturating_add(1);
    let cap = if fixed {
        FIXED_BACKOFF_CAP
    } else {
        BACKOFF_CAP
    };
    let d = Duration::from_millis(500)
        .saturating_mul(1u32 << e.failures.min(12))
        .min(cap);
    e.next = Instant::now() + d;
}

async fn dial(sh: Arc<Shared>, addr: String, fixed: bool) {
    let res = handshake::outbound(&sh, &addr).await;
    lock(&sh.dialing).remove(&addr);
    match res {
        Ok(((tls, hello), remote)) => {
            if hello.node_key == sh.local_id {
                lock(&sh.self_addrs).insert(addr.clone());
                sh.book.update(|b| b.remove(&addr));
                tracing::info!(target: "p2p::peer", "{addr} is ourselves; not dialing it again");
                return;
            }
            sh.addr_keys.insert(addr.clone(), hello.node_key);
            lock(&sh.backoff).remove(&addr);
            run_peer(
                sh.clone(),
                tls,
                remote,
                Direction::Outbound,
                hello,
                Some(addr.clone()),
            )
            .await;
            // Allow a redial after a short pause.
            lock(&sh.backoff).insert(
                addr,
                Backoff {
                    failures: 0,
                    next: Instant::now() + Duration::from_secs(1),
                },
            );
        }
        Err(reason) => {
            tracing::debug!(target: "p2p::peer", "dial {addr}: {reason}");
            record_failure(&sh, &addr, fixed);
        }
    }
}
