//! Address groups and the policies built on them: which gossiped addresses a network keeps,
//! how many inbound connections one IP or one group may hold, and how outbound peers are
//! spread across groups so that one operator's network cannot eclipse the node.

use crate::types::Network;
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use thiserror::Error;

/// The network an address belongs to, for diversity: an attacker can cheaply have many
/// addresses in one group, but few groups.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Group {
    /// The first 16 bits of an IPv4 address (IPv4-mapped IPv6 included).
    V4([u8; 2]),
    /// The first 64 bits of an IPv6 address.
    V6([u8; 8]),
    /// All loopback addresses (127.0.0.0/8, ::1, mapped or not) form one group.
    Loopback,
    /// A host name not resolved yet (lower-cased): its own group.
    Name(String),
}

impl Group {
    /// The group of an IP address.
    pub(crate) fn of_ip(ip: IpAddr) -> Group {
        match ip.to_canonical() {
            ip if ip.is_loopback() => Group::Loopback,
            IpAddr::V4(a) => {
                let o = a.octets();
                Group::V4([o[0], o[1]])
            }
            IpAddr::V6(a) => {
                let mut g = [0u8; 8];
                g.copy_from_slice(&a.octets()[..8]);
                Group::V6(g)
            }
        }
    }

    /// The group of a `host:port` address.
    pub(crate) fn of_addr(addr: &str) -> Group {
        match addr.parse::<SocketAddr>() {
            Ok(sa) => Group::of_ip(sa.ip()),
            Err(_) => Group::Name(host_of(addr).to_ascii_lowercase()),
        }
    }
}

fn host_of(addr: &str) -> &str {
    addr.rsplit_once(':').map_or(addr, |(h, _)| h)
}

/// Whether an address learned from gossip (a `Peers` reply, another peer's Hello) is worth
/// keeping on `network`. Mainnet and testnet peers are on the internet, so private,
/// loopback, link-local, unspecified, broadcast and multicast addresses (and `localhost`)
/// are refused; the devnet keeps them, since its nodes share 127.0.0.1.
pub(crate) fn gossipable(addr: &str, network: Network) -> bool {
    if network == Network::Devnet {
        return true;
    }
    match addr.parse::<SocketAddr>() {
        Ok(sa) => is_public(sa.ip()),
        Err(_) => !host_of(addr).eq_ignore_ascii_case("localhost"),
    }
}

fn is_public(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(a) => {
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_multicast())
        }
        IpAddr::V6(a) => {
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || a.is_unique_local()
                || a.is_unicast_link_local())
        }
    }
}

/// Why an inbound connection was refused by [`InboundLimiter`].
#[derive(Debug, Error, PartialEq, Eq)]
pub(crate) enum InboundRefusal {
    /// The IP already holds its share.
    #[error("{0} inbound peers from this IP already (max_inbound_per_ip)")]
    PerIp(usize),
    /// The IP's /16 or /64 already holds its share.
    #[error("{0} inbound peers from its address group already (max_inbound_per_group)")]
    PerGroup(usize),
}

/// Limits on established inbound connections per IP and per group. Loopback is exempt:
/// every devnet node shares 127.0.0.1.
#[derive(Clone, Copy, Debug)]
pub(crate) struct InboundLimiter {
    /// Most connections from one IP.
    pub(crate) per_ip: usize,
    /// Most connections from one group.
    pub(crate) per_group: usize,
}

impl InboundLimiter {
    /// Whether a connection from `new` may join the inbound connections from `connected`.
    pub(crate) fn admit(
        &self,
        connected: impl IntoIterator<Item = IpAddr>,
        new: IpAddr,
    ) -> Result<(), InboundRefusal> {
        let new = new.to_canonical();
        if new.is_loopback() {
            return Ok(());
        }
        let group = Group::of_ip(new);
        let (mut same_ip, mut same_group) = (0, 0);
        for ip in connected {
            let ip = ip.to_canonical();
            same_ip += usize::from(ip == new);
            same_group += usize::from(Group::of_ip(ip) == group);
        }
        if same_ip >= self.per_ip {
            Err(InboundRefusal::PerIp(same_ip))
        } else if same_group >= self.per_group {
            Err(InboundRefusal::PerGroup(same_group))
        } else {
            Ok(())
        }
    }
}

/// Picks up to `room` of `candidates` (dialable addresses, in the caller's random order) to
/// dial: first one per group absent from `taken` (the groups of the outbound peers connected
/// or being dialed), so no two outbound peers share a group while other groups are on offer;
/// only when groups run out is the rest filled from the remaining candidates, so a small
/// network, or a devnet all on loopback, still gets its peers.
pub(crate) fn spread_outbound(
    candidates: Vec<String>,
    taken: &HashSet<Group>,
    room: usize,
) -> Vec<String> {
    let mut groups = taken.clone();
    let mut picked = Vec::new();
    let mut rest = Vec::new();
    for addr in candidates {
        if picked.len() >= room {
            break;
        }
        if groups.insert(Group::of_addr(&addr)) {
            picked.push(addr);
        } else {
            rest.push(addr);
        }
    }
    let fill = room.saturating_sub(picked.len());
    picked.extend(rest.into_iter().take(fill));
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn groups_are_slash16_and_slash64() {
        assert_eq!(Group::of_ip(ip("8.8.4.4")), Group::of_ip(ip("8.8.200.1")));
        assert_ne!(Group::of_ip(ip("8.8.4.4")), Group::of_ip(ip("8.9.4.4")));
        assert_eq!(
            Group::of_ip(ip("::ffff:8.8.1.1")),
            Group::of_ip(ip("8.8.2.2"))
        );
        assert_eq!(
            Group::of_ip(ip("2001:db8:1:2::1")),
            Group::of_ip(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            Group::of_ip(ip("2001:db8:1:2::1")),
            Group::of_ip(ip("2001:db8:1:3::1"))
        );
        assert_eq!(Group::of_ip(ip("127.0.0.2")), Group::of_ip(ip("::1")));
        assert_eq!(
            Group::of_addr("Seed.Example:1"),
            Group::of_addr("seed.example:2")
        );
        assert_eq!(Group::of_addr("8.8.4.4:1"), Group::of_ip(ip("8.8.0.1")));
    }

    #[test]
    fn gossiped_private_addresses_ignored_on_mainnet() {
        let local = [
            "10.1.2.3:24000",
            "172.16.0.1:24000",
            "192.168.1.1:24000",
            "127.0.0.1:24000",
            "169.254.1.1:24000",
            "0.0.0.0:24000",
            "255.255.255.255:24000",
            "224.0.0.1:24000",
            "[::1]:24000",
            "[::]:24000",
            "[fe80::1]:24000",
            "[fd00::1]:24000",
            "[::ffff:10.0.0.1]:24000",
            "localhost:24000",
        ];
        let public = [
            "8.8.8.8:24000",
            "[2001:4860::8888]:24000",
            "seed.example.org:24000",
        ];
        for net in [Network::Mainnet, Network::Testnet] {
            for a in local {
                assert!(!gossipable(a, net), "{a} kept on {net}");
            }
            for a in public {
                assert!(gossipable(a, net), "{a} refused on {net}");
            }
        }
        for a in local.iter().chain(&public) {
            assert!(gossipable(a, Network::Devnet), "{a} refused on the devnet");
        }
    }

    #[test]
    fn one_ip_cannot_hold_every_inbound_slot() {
        let lim = InboundLimiter {
            per_ip: 2,
            per_group: 3,
        };
        let a = ip("198.51.100.1");
        assert_eq!(lim.admit([], a), Ok(()));
        assert_eq!(lim.admit([a], a), Ok(()));
        assert_eq!(lim.admit([a, a], a), Err(InboundRefusal::PerIp(2)));
        // IPv4-mapped IPv6 is the same IP.
        assert_eq!(
            lim.admit([a, a], ip("::ffff:198.51.100.1")),
            Err(InboundRefusal::PerIp(2))
        );
        // Another IP in the same /16 gets the group's last slot, then the group is full.
        let b = ip("198.51.7.7");
        assert_eq!(lim.admit([a, a], b), Ok(()));
        assert_eq!(lim.admit([a, a, b], b), Err(InboundRefusal::PerGroup(3)));
        // Another /16 is unaffected; so is loopback, however many.
        assert_eq!(lim.admit([a, a, b], ip("203.0.113.1")), Ok(()));
        let lo = ip("127.0.0.1");
        assert_eq!(lim.admit([lo; 50], lo), Ok(()));
        // IPv6 groups are /64.
        let v6 = [
            ip("2001:db8:0:1::1"),
            ip("2001:db8:0:1::2"),
            ip("2001:db8:0:1::3"),
        ];
        assert_eq!(
            lim.admit(v6, ip("2001:db8:0:1::4")),
            Err(InboundRefusal::PerGroup(3))
        );
        assert_eq!(lim.admit(v6, ip("2001:db8:0:2::1")), Ok(()));
    }

    #[test]
    fn outbound_peers_are_spread_across_groups() {
        let cands: Vec<String> = [
            "1.1.0.1:1",
            "1.1.0.2:1",
            "1.1.0.3:1",
            "2.2.0.1:1",
            "2.2.0.2:1",
            "3.3.0.1:1",
        ]
        .map(String::from)
        .into();
        // One per group first.
        let got = spread_outbound(cands.clone(), &HashSet::new(), 3);
        assert_eq!(got, ["1.1.0.1:1", "2.2.0.1:1", "3.3.0.1:1"]);
        // A group already connected is skipped while others are on offer.
        let taken: HashSet<Group> = [Group::of_addr("1.1.9.9:1")].into();
        let got = spread_outbound(cands.clone(), &taken, 2);
        assert_eq!(got, ["2.2.0.1:1", "3.3.0.1:1"]);
        // More room than groups: the rest is filled, so small networks still connect.
        let got = spread_outbound(cands.clone(), &HashSet::new(), 5);
        assert_eq!(got.len(), 5);
        assert_eq!(&got[..3], ["1.1.0.1:1", "2.2.0.1:1", "3.3.0.1:1"]);
        // The devnet: everything on loopback.
        let lo: Vec<String> = (1..=4).map(|p| format!("127.0.0.1:{p}")).collect();
        assert_eq!(spread_outbound(lo, &HashSet::new(), 3).len(), 3);
        assert!(spread_outbound(cands, &HashSet::new(), 0).is_empty());
    }
}
