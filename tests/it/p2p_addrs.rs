//! Address exchange under attack (issue 12): floods of unsolicited `Peers` messages, replies
//! larger than what one peer may contribute, and the disk work they may cause.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::p2p_common::*;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use timecoin::p2p::{BanEntry, DbPeerStore, MemoryPeerStore, Message, PeerStore};
use timecoin::types::SecretKey;

/// A sled-backed store that counts the address writes asked of it.
struct CountingStore {
    inner: DbPeerStore,
    addr_writes: AtomicU64,
    _db: sled::Db,
}

impl CountingStore {
    fn new() -> CountingStore {
        let db = sled::Config::new().temporary(true).open().unwrap();
        CountingStore {
            inner: DbPeerStore::new(db.open_tree("b").unwrap(), db.open_tree("a").unwrap()),
            addr_writes: AtomicU64::new(0),
            _db: db,
        }
    }
}

impl PeerStore for CountingStore {
    fn load_bans(&self) -> Vec<BanEntry> {
        self.inner.load_bans()
    }
    fn save_ban(&self, b: &BanEntry) {
        self.inner.save_ban(b)
    }
    fn remove_ban(&self, ip: IpAddr) {
        self.inner.remove_ban(ip)
    }
    fn load_addrs(&self) -> Vec<String> {
        self.inner.load_addrs()
    }
    fn save_addrs(&self, added: &[String], removed: &[String]) {
        self.addr_writes.fetch_add(1, Ordering::Relaxed);
        self.inner.save_addrs(added, removed)
    }
}

/// The `i`th of many distinct addresses in TEST-NET-1 (never routed, so dialing them fails
/// at once and reaches nobody).
fn test_addr(i: usize) -> String {
    format!("192.0.2.{}:{}", i % 256, 20_000 + i / 256)
}

fn peers_msg(first: usize) -> Message {
    Message::Peers((first..first + 100).map(test_addr).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsolicited_peers_flood_is_ignored() {
    let store = Arc::new(CountingStore::new());
    let a = start_node(90, |_| {}, store.clone(), false).await;
    let good = node(91).await;
    connect_pair(&a, &good).await;
    let book_before = a.handle.known_addresses();
    let writes_before = store.addr_writes.load(Ordering::Relaxed);

    // The attack: full Peers messages that nobody asked for, for up to 3 s.
    let (mut s, hello) =
        raw_peer(a.addr(), &SecretKey::from_seed(&[0xF1; 32]), chain(), None).await;
    assert!(hello.is_some());
    let t = Instant::now();
    let mut sent = 0;
    while sent < 500 && t.elapsed() < Duration::from_secs(3) {
        let _ = tokio::time::timeout(Duration::from_secs(1), send(&mut s, &peers_msg(sent * 100)))
            .await;
        sent += 1;
    }
    println!(
        "sent {sent} unsolicited Peers messages in {:?}",
        t.elapsed()
    );

    // The blocking pool (which RPC uses) is not starved: a blocking task runs at once.
    let t = Instant::now();
    let ran =
        tokio::time::timeout(Duration::from_secs(2), tokio::task::spawn_blocking(|| ())).await;
    let waited = t.elapsed();
    println!("a blocking task ran after {waited:?}");
    assert!(
        ran.is_ok() && waited < Duration::from_secs(2),
        "the address flood starved the runtime: a blocking task waited {waited:?}"
    );
    good_peer_still_served(&a, &good, 1).await;

    tokio::time::sleep(Duration::from_millis(500)).await;
    let writes = store.addr_writes.load(Ordering::Relaxed) - writes_before;
    println!("address writes during the flood: {writes}");
    assert_eq!(
        a.handle.known_addresses(),
        book_before,
        "unsolicited addresses entered the book"
    );
    assert!(
        writes <= 2,
        "{writes} address writes for a flood the node ignored"
    );
    // A stream of unsolicited replies is misbehaviour: the flooder is banned.
    assert!(closed_by_node(&mut s).await, "the flooder is disconnected");
    assert_eq!(a.handle.peer_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solicited_peers_reply_is_capped_per_peer() {
    // No outbound slots: the node dials only the raw listener (a fixed peer), never the
    // addresses it learns.
    let a = start_node(
        92,
        |c| c.max_outbound = 0,
        Arc::new(MemoryPeerStore::new()),
        false,
    )
    .await;
    let cap = config(92, a.dir.path()).max_addrs_per_reply;
    let raw = RawListener::bind().await;
    a.handle.connect(raw.addr().to_string());
    let (mut s, hello) = raw.accept(&SecretKey::from_seed(&[0xF2; 32])).await;
    assert!(hello.is_some());
    let asked = read_until(&mut s, |m| matches!(m, Message::GetPeers)).await;
    assert!(
        asked.is_some(),
        "the node asks the peer it dialed for addresses"
    );
    let before = a.handle.known_addresses();
    // The reply: 100 addresses (the most a Peers message can carry), then a second,
    // unsolicited one.
    send(&mut s, &peers_msg(0)).await;
    send(&mut s, &peers_msg(100)).await;
    let h = a.handle.clone();
    wait_for("reply taken", || h.known_addresses() > before).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let added = h.known_addresses() - before;
    println!("one peer's replies added {added} addresses (cap {cap})");
    assert!(
        added <= cap,
        "one reply added {added} addresses, above the cap of {cap}"
    );
    // One unsolicited reply is not an offence: the honest-looking peer stays connected.
    assert_eq!(h.peer_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossiped_private_addresses_ignored_on_testnet_node() {
    let a = start_node(
        93,
        |c| {
            c.network = timecoin::types::Network::Testnet;
            c.max_outbound = 0;
        },
        Arc::new(MemoryPeerStore::new()),
        false,
    )
    .await;
    // The fixed peer on loopback is configured, not gossiped: it is dialed.
    let raw = RawListener::bind().await;
    a.handle.connect(raw.addr().to_string());
    let (mut s, _) = raw.accept(&SecretKey::from_seed(&[0xF3; 32])).await;
    assert!(read_until(&mut s, |m| matches!(m, Message::GetPeers))
        .await
        .is_some());
    let local = [
        "10.0.0.1:24000",
        "192.168.1.1:24000",
        "127.0.0.1:24000",
        "169.254.0.1:24000",
        "[fe80::1]:24000",
        "[fd00::1]:24000",
    ];
    let mut reply: Vec<String> = local.map(String::from).into();
    reply.push("8.8.8.8:24000".into());
    send(&mut s, &Message::Peers(reply)).await;
    let h = a.handle.clone();
    wait_for("the public address taken", || h.known_addresses() == 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.known_addresses(), 1, "only the public address is kept");
}
