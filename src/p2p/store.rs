//! Persistence of bans and the address book.
//!
//! Bans are timed and keyed by IP address. Because every devnet node shares 127.0.0.1, a ban
//! that the node imposes on a loopback peer also names the peer's node key and applies only to
//! that (IP, node key) pair; bans of non-loopback peers (and bans the operator sets on an IP)
//! apply to the whole IP. The operator may also ban a whole subnet (`10.0.0.0/8`,
//! `2001:db8::/32`): such a ban holds the network address and a prefix length and matches every
//! address whose first `prefix` bits are the same. [`PeerStore::remove_ban`] lifts every ban
//! stored under one network address (host and subnet bans alike).

use crate::storage::kv::{Batch, Tree};
use crate::types::encoding::{put, Decode, Encode, Reader};
use crate::types::PublicKey;
use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest ban: a longer one (a huge `setban` bantime, an absolute time far away) is cut to
/// this, as the clock cannot represent every `u64` of seconds.
pub const MAX_BAN: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// One timed ban of an address, a subnet or a node key, with its expiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BanEntry {
    /// Banned IP address; for a subnet ban, its network address (host bits zero).
    pub ip: IpAddr,
    /// Prefix length in bits: 32 (IPv4) or 128 (IPv6) for a single address, less for a subnet.
    /// Bans by node key always use the full length.
    pub prefix: u8,
    /// When set, the ban applies only to this node key at `ip` (used for loopback peers, and
    /// for bans by node key, where `ip` is the unspecified address).
    pub node: Option<PublicKey>,
    /// When the ban lapses.
    pub until: SystemTime,
    /// Why (for `listbanned` and logs).
    pub reason: String,
}

/// The prefix length of a single address of `ip`'s family: 32 or 128.
pub fn full_prefix(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `ip` with every bit after the first `prefix` cleared; `None` if `prefix` is longer than the
/// address.
pub fn network_of(ip: IpAddr, prefix: u8) -> Option<IpAddr> {
    fn mask<const N: usize>(mut b: [u8; N], prefix: u8) -> Option<[u8; N]> {
        let prefix = usize::from(prefix);
        if prefix > N * 8 {
            return None;
        }
        for (i, byte) in b.iter_mut().enumerate() {
            let keep = prefix.saturating_sub(i * 8).min(8);
            // `keep` high bits survive: 0xFF << (8 - keep) in u16 arithmetic avoids the shift
            // overflow at keep = 0.
            *byte &= (0xFF00u16 >> keep) as u8;
        }
        Some(b)
    }
    match ip {
        IpAddr::V4(a) => mask(a.octets(), prefix).map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        IpAddr::V6(a) => mask(a.octets(), prefix).map(|b| IpAddr::V6(Ipv6Addr::from(b))),
    }
}

impl BanEntry {
    /// A ban of `ip` (with `node`: of that node key at `ip`) or, with `prefix` shorter than the
    /// address, of the subnet `ip/prefix` (its host bits are cleared), lasting `d` from now, at
    /// most [`MAX_BAN`]. `None` if `prefix` is longer than the address.
    pub fn new(
        ip: IpAddr,
        prefix: u8,
        node: Option<PublicKey>,
        d: Duration,
        reason: String,
    ) -> Option<BanEntry> {
        let ip = network_of(ip, prefix)?;
        let now = SystemTime::now();
        // MAX_BAN from now is representable wherever SystemTime is 64-bit seconds.
        let until = now.checked_add(d.min(MAX_BAN)).unwrap_or(now);
        Some(BanEntry {
            ip,
            prefix,
            node,
            until,
            reason,
        })
    }

    /// The ban as the operator names it, which [`crate::p2p::parse_target`] (and so `setban
    /// remove`) takes back: `network/bits` for an address or subnet ban, `ip/<node key>` for a
    /// node key banned at one address, the bare node key for a node key banned anywhere.
    pub fn target(&self) -> String {
        match self.node {
            Some(k) if self.ip.is_unspecified() => k.to_hex(),
            Some(k) => format!("{}/{}", self.ip, k.to_hex()),
            None => format!("{}/{}", self.ip, self.prefix),
        }
    }

    /// Whether the ban covers one address rather than a subnet.
    pub fn is_host(&self) -> bool {
        self.prefix >= full_prefix(self.ip)
    }

    /// Whether the ban is still in force at `now`.
    pub fn active_at(&self, now: SystemTime) -> bool {
        self.until > now
    }

    /// Whether the ban applies to a peer at `ip` with `node` (when known).
    pub fn matches(&self, ip: IpAddr, node: Option<&PublicKey>) -> bool {
        match &self.node {
            None => network_of(ip, self.prefix).is_some_and(|net| net == self.ip),
            Some(k) => (self.ip == ip || self.ip.is_unspecified()) && node.is_some_and(|n| n == k),
        }
    }

    fn key(&self) -> Vec<u8> {
        let mut k = ip_key(self.ip);
        if !self.is_host() {
            k.push(self.prefix);
        }
        if let Some(n) = &self.node {
            n.encode_to(&mut k);
        }
        k
    }

    fn value(&self) -> Vec<u8> {
        let mut v = Vec::new();
        put::u64(&mut v, to_secs(self.until));
        put::bytes(&mut v, self.reason.as_bytes());
        v
    }

    fn from_kv(k: &[u8], v: &[u8]) -> Option<BanEntry> {
        let mut r = Reader::new(k);
        let ip = match r.u8().ok()? {
            4 => IpAddr::V4(Ipv4Addr::from(r.array::<4>().ok()?)),
            6 => IpAddr::V6(Ipv6Addr::from(r.array::<16>().ok()?)),
            _ => return None,
        };
        // Key layout: family, address, then a prefix byte for a subnet, then a node key.
        let prefix = if r.remaining() % 32 == 1 {
            let p = r.u8().ok()?;
            if p >= full_prefix(ip) || network_of(ip, p)? != ip {
                return None;
            }
            p
        } else {
            full_prefix(ip)
        };
        let node = if r.remaining() == 32 {
            Some(PublicKey::decode_from(&mut r).ok()?)
        } else {
            None
        };
        r.finish().ok()?;
        let mut r = Reader::new(v);
        let until = UNIX_EPOCH + Duration::from_secs(r.u64().ok()?);
        let reason = r.string("ban reason", 1024).ok()?;
        Some(BanEntry {
            ip,
            prefix,
            node,
            until,
            reason,
        })
    }
}

fn ip_key(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => {
            let mut v = vec![4u8];
            v.extend_from_slice(&a.octets());
            v
        }
        IpAddr::V6(a) => {
            let mut v = vec![6u8];
            v.extend_from_slice(&a.octets());
            v
        }
    }
}

fn to_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Where the p2p layer keeps bans and known addresses across restarts.
pub trait PeerStore: Send + Sync {
    /// Bans still in force (expired ones are dropped).
    fn load_bans(&self) -> Vec<BanEntry>;
    /// Stores or replaces a ban.
    fn save_ban(&self, b: &BanEntry);
    /// Removes every ban stored under the address `ip`: on that address, on subnets whose
    /// network address it is, and on node keys at it.
    fn remove_ban(&self, ip: IpAddr);
    /// Known peer addresses (host:port) as last saved, in no set order.
    fn load_addrs(&self) -> Vec<String>;
    /// Applies one batch of address-book changes: `added` are remembered, `removed`
    /// forgotten. The p2p layer's address book decides what to keep (and bounds it); the
    /// store mirrors it, in one write per call.
    fn save_addrs(&self, added: &[String], removed: &[String]);
}

/// A store that forgets everything at exit (tests, ephemeral nodes).
#[derive(Debug, Default)]
pub struct MemoryPeerStore {
    bans: Mutex<HashMap<Vec<u8>, BanEntry>>,
    addrs: Mutex<BTreeSet<String>>,
    addr_writes: AtomicU64,
}

impl MemoryPeerStore {
    /// An empty store; nothing it holds survives the process.
    pub fn new() -> MemoryPeerStore {
        MemoryPeerStore::default()
    }

    /// How many [`PeerStore::save_addrs`] calls this store has had: each would be one
    /// blocking database write in a persistent store (tests bound disk work with it).
    pub fn addr_writes(&self) -> u64 {
        self.addr_writes.load(Ordering::Relaxed)
    }
}

impl PeerStore for MemoryPeerStore {
    fn load_bans(&self) -> Vec<BanEntry> {
        let now = SystemTime::now();
        let mut g = self.bans.lock().unwrap_or_else(|e| e.into_inner());
        g.retain(|_, b| b.active_at(now));
        g.values().cloned().collect()
    }
    fn save_ban(&self, b: &BanEntry) {
        let mut g = self.bans.lock().unwrap_or_else(|e| e.into_inner());
        g.insert(b.key(), b.clone());
    }
    fn remove_ban(&self, ip: IpAddr) {
        let mut g = self.bans.lock().unwrap_or_else(|e| e.into_inner());
        g.retain(|_, b| b.ip != ip);
    }
    fn load_addrs(&self) -> Vec<String> {
        let g = self.addrs.lock().unwrap_or_else(|e| e.into_inner());
        g.iter().cloned().collect()
    }
    fn save_addrs(&self, added: &[String], removed: &[String]) {
        self.addr_writes.fetch_add(1, Ordering::Relaxed);
        let mut g = self.addrs.lock().unwrap_or_else(|e| e.into_inner());
        for a in removed {
            g.remove(a);
        }
        g.extend(added.iter().cloned());
    }
}

/// A store in two database trees (bans, addresses). Write errors are logged, not fatal: losing
/// a ban or an address is harmless.
#[derive(Debug, Clone)]
pub struct DbPeerStore {
    bans: Tree,
    addrs: Tree,
}

impl DbPeerStore {
    /// A store over these trees.
    pub fn new(bans: impl Into<Tree>, addrs: impl Into<Tree>) -> DbPeerStore {
        DbPeerStore {
            bans: bans.into(),
            addrs: addrs.into(),
        }
    }
}

impl PeerStore for DbPeerStore {
    fn load_bans(&self) -> Vec<BanEntry> {
        let now = SystemTime::now();
        let mut out = Vec::new();
        for item in self.bans.iter() {
            let Ok((k, v)) = item else { continue };
            match BanEntry::from_kv(&k, &v) {
                Some(b) if b.active_at(now) => out.push(b),
                _ => {
                    // Expired or unreadable: drop it.
                    let _ = self.bans.remove(&k);
                }
            }
        }
        out
    }

    fn save_ban(&self, b: &BanEntry) {
        if let Err(e) = self.bans.insert(b.key(), b.value()) {
            tracing::warn!(target: "p2p", "could not persist ban on {}: {e}", b.ip);
        }
        let _ = self.bans.flush();
    }

    fn remove_ban(&self, ip: IpAddr) {
        for (k, _) in self.bans.scan_prefix(ip_key(ip)).flatten() {
            let _ = self.bans.remove(&k);
        }
        let _ = self.bans.flush();
    }

    fn load_addrs(&self) -> Vec<String> {
        self.addrs
            .iter()
            .filter_map(|i| i.ok())
            .filter_map(|(k, _)| String::from_utf8(k.to_vec()).ok())
            .collect()
    }

    fn save_addrs(&self, added: &[String], removed: &[String]) {
        let now = to_secs(SystemTime::now()).to_le_bytes();
        let mut batch = Batch::default();
        for a in removed {
            batch.remove(a.as_bytes());
        }
        for a in added {
            batch.insert(a.as_bytes(), &now[..]);
        }
        if let Err(e) = self.addrs.apply_batch(batch) {
            tracing::warn!(target: "p2p", "could not persist {} peer addresses: {e}", added.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ip: &str, node: Option<PublicKey>, secs: i64) -> BanEntry {
        let now = SystemTime::now();
        let until = if secs >= 0 {
            now + Duration::from_secs(secs as u64)
        } else {
            now - Duration::from_secs((-secs) as u64)
        };
        let ip: IpAddr = ip.parse().unwrap();
        BanEntry {
            ip,
            prefix: full_prefix(ip),
            node,
            until,
            reason: "test".into(),
        }
    }

    #[test]
    fn ban_matching() {
        let k = PublicKey([1; 32]);
        let other = PublicKey([2; 32]);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let b = entry("127.0.0.1", Some(k), 60);
        assert!(b.matches(ip, Some(&k)));
        assert!(!b.matches(ip, Some(&other)));
        assert!(!b.matches(ip, None));
        let b = entry("10.0.0.1", None, 60);
        assert!(b.matches("10.0.0.1".parse().unwrap(), None));
        assert!(!b.matches(ip, None));
        let b = entry("0.0.0.0", Some(k), 60);
        assert!(b.matches("10.9.9.9".parse().unwrap(), Some(&k)));
    }

    #[test]
    fn subnet_bans_match_by_prefix_and_round_trip() {
        let hour = Duration::from_secs(3600);
        let b = BanEntry::new("10.1.2.3".parse().unwrap(), 8, None, hour, "t".into()).unwrap();
        assert_eq!(b.ip, "10.0.0.0".parse::<IpAddr>().unwrap());
        assert!(!b.is_host());
        assert!(b.matches("10.255.0.1".parse().unwrap(), None));
        assert!(!b.matches("11.0.0.1".parse().unwrap(), None));
        assert!(!b.matches("::ffff:10.0.0.1".parse().unwrap(), None));
        let v6 =
            BanEntry::new("2001:db8:1::5".parse().unwrap(), 33, None, hour, "t".into()).unwrap();
        assert_eq!(v6.ip, "2001:db8::".parse::<IpAddr>().unwrap());
        assert!(v6.matches("2001:db8:7fff::1".parse().unwrap(), None));
        assert!(!v6.matches("2001:db8:8000::1".parse().unwrap(), None));
        let all = BanEntry::new("1.2.3.4".parse().unwrap(), 0, None, hour, "t".into()).unwrap();
        assert!(all.matches("200.1.1.1".parse().unwrap(), None));
        assert!(BanEntry::new("1.2.3.4".parse().unwrap(), 33, None, hour, "t".into()).is_none());
        // A huge duration is cut to MAX_BAN instead of overflowing the clock.
        let long = BanEntry::new(
            "1.2.3.4".parse().unwrap(),
            32,
            None,
            Duration::MAX,
            "t".into(),
        )
        .unwrap();
        assert!(long.until > SystemTime::now() + MAX_BAN - hour);
        for e in [&b, &v6, &all, &long] {
            let back = BanEntry::from_kv(&e.key(), &e.value()).unwrap();
            assert_eq!((back.ip, back.prefix), (e.ip, e.prefix));
        }
        // The host and the subnet ban of one network address are different entries.
        let host = entry("10.0.0.0", None, 60);
        assert_ne!(host.key(), b.key());
        // A subnet key whose host bits are set is not ours: dropped, not misread.
        let mut bad = b.key();
        bad[2] = 1;
        assert!(BanEntry::from_kv(&bad, &b.value()).is_none());
    }

    #[test]
    fn memory_store_expires_and_mirrors_the_book() {
        let s = MemoryPeerStore::new();
        s.save_ban(&entry("10.0.0.1", None, 60));
        s.save_ban(&entry("10.0.0.2", None, -1));
        assert_eq!(s.load_bans().len(), 1);
        s.remove_ban("10.0.0.1".parse().unwrap());
        assert!(s.load_bans().is_empty());
        let addrs: Vec<String> = (0..10).map(|i| format!("10.0.0.{i}:1")).collect();
        s.save_addrs(&addrs, &[]);
        s.save_addrs(&[], &addrs[..4]);
        assert_eq!(s.load_addrs(), addrs[4..]);
        assert_eq!(s.addr_writes(), 2);
    }

    #[test]
    fn db_store_kv_round_trip() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let s = DbPeerStore::new(db.open_tree("b").unwrap(), db.open_tree("a").unwrap());
        let e = entry("::1", Some(PublicKey([3; 32])), 3600);
        s.save_ban(&e);
        let loaded = s.load_bans();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].node, e.node);
        assert_eq!(loaded[0].ip, e.ip);
        assert_eq!(to_secs(loaded[0].until), to_secs(e.until));
        let addrs: Vec<String> = (0..10).map(|i| format!("10.1.0.{i}:1")).collect();
        s.save_addrs(&addrs, &[]);
        s.save_addrs(&addrs[..1], &addrs[1..]);
        assert_eq!(s.load_addrs(), addrs[..1]);
    }
}
