//! Bad input from the network: garbage before and after TLS, oversized frames, silent
//! connections, floods. In each case the node keeps serving its good peer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::p2p_common::*;
use crate::support::rerun::{alone, test_name};
use rand::RngCore;
use std::sync::Arc;
use std::time::{Duration, Instant};
use timecoin::p2p::{MemoryPeerStore, Message};
use timecoin::types::{Hash, SecretKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn pair(seed: u8) -> (TestNode, TestNode) {
    let a = start_node(
        seed,
        |c| c.handshake_timeout = Duration::from_secs(1),
        Arc::new(MemoryPeerStore::new()),
        false,
    )
    .await;
    let good = node(seed + 1).await;
    connect_pair(&a, &good).await;
    (a, good)
}

async fn tcp_closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    let end = tokio::time::Instant::now() + DEADLINE;
    loop {
        match tokio::time::timeout_at(end, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

fn report_rss(test: &str) {
    println!(
        "{test}: peak RSS of the test process {} KiB",
        peak_rss_kib()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes_before_tls() {
    let (a, good) = pair(60).await;
    for _ in 0..20 {
        let mut s = TcpStream::connect(a.addr()).await.unwrap();
        let mut junk = vec![0u8; 4096];
        rand::thread_rng().fill_bytes(&mut junk);
        let _ = s.write_all(&junk).await;
        assert!(tcp_closed(&mut s).await, "node closes garbage connections");
    }
    good_peer_still_served(&a, &good, 1).await;
    assert_eq!(a.handle.peer_count(), 1);
    report_rss("random_bytes_before_tls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_client_sending_garbage_frames() {
    let (a, good) = pair(62).await;
    // Before the Hello: garbage frames close the connection.
    for len in [1usize, 7, 100, 1000] {
        let mut s = raw_tls(a.addr()).await;
        let mut junk = vec![0u8; len];
        rand::thread_rng().fill_bytes(&mut junk);
        let _ = s
            .write_all(&timecoin::p2p::frame::encode_frame(&junk))
            .await;
        let _ = s.flush().await;
        assert!(closed_by_node(&mut s).await);
    }
    // After a valid Hello: a malformed message is an offence worth a ban; on loopback the ban
    // names the node key, so other local peers are unaffected.
    let bad = SecretKey::from_seed(&[0xBA; 32]);
    let (mut s, hello) = raw_peer(a.addr(), &bad, chain(), None).await;
    assert!(hello.is_some());
    let _ = s
        .write_all(&timecoin::p2p::frame::encode_frame(&[9, 1, 2, 3]))
        .await;
    let _ = s.flush().await;
    assert!(closed_by_node(&mut s).await);
    let h = a.handle.clone();
    wait_for("ban recorded", || {
        h.bans().iter().any(|b| b.node == Some(bad.public()))
    })
    .await;
    // The banned key is refused on reconnect; a different key from 127.0.0.1 is accepted.
    let (mut s, _) = raw_peer(a.addr(), &bad, chain(), None).await;
    assert!(closed_by_node(&mut s).await, "banned key refused");
    let other = SecretKey::from_seed(&[0xBB; 32]);
    let (_s2, hello) = raw_peer(a.addr(), &other, chain(), None).await;
    assert!(hello.is_some());
    wait_for("other local peer accepted", || h.peer_count() == 2).await;
    good_peer_still_served(&a, &good, 2).await;
    report_rss("tls_client_sending_garbage_frames");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_announcing_four_gib() {
    // The peak RSS is the process's: alone in one, no other test's memory counts.
    if !alone(&test_name(module_path!(), "frame_announcing_four_gib")) {
        return;
    }
    let (a, good) = pair(64).await;
    let rss_before = peak_rss_kib();
    // Before the Hello.
    let mut s = raw_tls(a.addr()).await;
    let _ = s.write_all(&u32::MAX.to_le_bytes()).await;
    let _ = s.flush().await;
    assert!(closed_by_node(&mut s).await);
    // After the Hello: an oversized-frame offence, banned.
    let k = SecretKey::from_seed(&[0xCC; 32]);
    let (mut s, _) = raw_peer(a.addr(), &k, chain(), None).await;
    let _ = s.write_all(&u32::MAX.to_le_bytes()).await;
    let _ = s.write_all(&[0u8; 1024]).await;
    let _ = s.flush().await;
    assert!(closed_by_node(&mut s).await);
    let h = a.handle.clone();
    wait_for("oversized frame banned", || {
        h.bans().iter().any(|b| b.node == Some(k.public()))
    })
    .await;
    // Announcing a frame just under the limit and sending little allocates little.
    let mut held = Vec::new();
    for i in 0..50u8 {
        let mut seed = [0xCD; 32];
        seed[0] = i;
        let k2 = SecretKey::from_seed(&seed);
        let (mut s, _) = raw_peer(a.addr(), &k2, chain(), None).await;
        let _ = s.write_all(&(4u32 * 1024 * 1024).to_le_bytes()).await;
        let _ = s.write_all(&[1u8; 16]).await;
        let _ = s.flush().await;
        held.push(s);
    }
    wait_for("50 slow peers connected", || h.peer_count() == 51).await;
    good_peer_still_served(&a, &good, 3).await;
    let grown = peak_rss_kib().saturating_sub(rss_before);
    println!("four_gib: peak RSS grew by {grown} KiB");
    assert!(grown < 150 * 1024, "no 4 GiB allocation (grew {grown} KiB)");
    report_rss("frame_announcing_four_gib");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_silent_connections() {
    let (a, good) = pair(66).await;
    let started = Instant::now();
    let mut conns = Vec::with_capacity(1000);
    for _ in 0..1000 {
        conns.push(TcpStream::connect(a.addr()).await.unwrap());
    }
    println!("opened 1000 silent connections in {:?}", started.elapsed());
    // The good peer is served while they hang.
    good_peer_still_served(&a, &good, 4).await;
    assert_eq!(a.handle.peer_count(), 1);
    // All are closed: the excess at once, the rest by the 1 s handshake timeout.
    let closed = futures::future::join_all(conns.iter_mut().map(tcp_closed)).await;
    let n = closed.iter().filter(|c| **c).count();
    println!(
        "{n}/1000 silent connections closed after {:?}",
        started.elapsed()
    );
    assert_eq!(n, 1000);
    good_peer_still_served(&a, &good, 5).await;
    assert_eq!(a.handle.peer_count(), 1);
    report_rss("a_thousand_silent_connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flooding_peer_is_rate_limited_then_banned() {
    let (a, good) = pair(68).await;
    let k = SecretKey::from_seed(&[0xDD; 32]);
    let (mut s, _) = raw_peer(a.addr(), &k, chain(), None).await;
    let h = a.handle.clone();
    wait_for("flooder connected", || h.peer_count() == 2).await;
    // 10,000 messages a second, in bursts of 1,000 every 100 ms, until the node hangs up.
    let frame = timecoin::p2p::frame::encode_frame(&timecoin::types::encoding::Encode::to_bytes(
        &Message::Status {
            height: 1,
            tip: Hash::ZERO,
        },
    ));
    let burst: Vec<u8> = frame
        .iter()
        .copied()
        .cycle()
        .take(frame.len() * 1000)
        .collect();
    let start = Instant::now();
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while start.elapsed() < DEADLINE {
        tick.tick().await;
        if s.write_all(&burst).await.is_err() || s.flush().await.is_err() {
            break;
        }
        sent += 1000;
        if h.bans().iter().any(|b| b.node == Some(k.public())) {
            break;
        }
    }
    wait_for("flooder banned", || {
        h.bans().iter().any(|b| b.node == Some(k.public()))
    })
    .await;
    assert!(closed_by_node(&mut s).await, "flooder disconnected");
    println!(
        "flooder: {sent} messages sent, banned after {:?}",
        start.elapsed()
    );
    // Status messages inside the allowance reached the node; far fewer than were sent.
    let delivered = a.count(|m| matches!(m, Message::Status { height: 1, .. }));
    println!("flooder: {delivered} delivered to the node");
    assert!(delivered as u64 <= 4_000 + 2_000 * (start.elapsed().as_secs() + 1));
    good_peer_still_served(&a, &good, 6).await;
    wait_for("flooder gone", || h.peer_count() == 1).await;
    report_rss("flooding_peer_is_rate_limited_then_banned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_peer_gets_drops_then_disconnected() {
    let a = start_node(
        70,
        |c| {
            c.peer_queue = 64;
            c.peer_queue_bytes = 1024 * 1024;
        },
        Arc::new(MemoryPeerStore::new()),
        false,
    )
    .await;
    let good = node(71).await;
    connect_pair(&a, &good).await;
    // A peer that completes the handshake and then never reads.
    let k = SecretKey::from_seed(&[0xEE; 32]);
    let (_s, _) = raw_peer(a.addr(), &k, chain(), None).await;
    let h = a.handle.clone();
    wait_for("slow peer connected", || h.peer_count() == 2).await;
    let ids: Vec<Hash> = (0..1000u32)
        .map(|i| {
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&i.to_le_bytes());
            Hash(b)
        })
        .collect();
    let (mut accepted, mut dropped) = (0u64, 0u64);
    let start = Instant::now();
    while h.peers().borrow().len() == 2 || h.peer_count() == 2 {
        assert!(
            start.elapsed() < DEADLINE,
            "slow peer never dropped: {accepted} queued, {dropped} dropped"
        );
        if h.send(k.public(), Message::TxAnnounce(ids.clone())) {
            accepted += 1;
        } else {
            dropped += 1;
            tokio::task::yield_now().await;
        }
        if h.peer_count() == 1 {
            break;
        }
    }
    println!(
        "slow peer: {accepted} frames queued, {dropped} dropped, disconnected after {:?}",
        start.elapsed()
    );
    assert!(dropped >= 1000);
    good_peer_still_served(&a, &good, 8).await;
    report_rss("slow_peer_gets_drops_then_disconnected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_peers_time_out_and_inbound_limit_holds() {
    let a = start_node(
        74,
        |c| {
            c.idle_timeout = Duration::from_millis(800);
            c.max_inbound = 2;
        },
        Arc::new(MemoryPeerStore::new()),
        false,
    )
    .await;
    let good = node(75).await;
    connect_pair(&a, &good).await;
    // One slot left: the first raw peer gets it; the next connection is refused at accept.
    let k1 = SecretKey::from_seed(&[0xA1; 32]);
    let (mut s1, _) = raw_peer(a.addr(), &k1, chain(), None).await;
    let h = a.handle.clone();
    wait_for("first raw peer in", || h.peer_count() == 2).await;
    let mut s2 = TcpStream::connect(a.addr()).await.unwrap();
    assert!(tcp_closed(&mut s2).await, "over max_inbound refused");
    assert_eq!(h.peer_count(), 2);
    // The silent raw peer is dropped by the idle timeout; the good peer (pinging) stays.
    let t = Instant::now();
    assert!(closed_by_node(&mut s1).await, "idle peer dropped");
    println!("idle peer dropped after {:?}", t.elapsed());
    wait_for("back to the good peer", || h.peer_count() == 1).await;
    good_peer_still_served(&a, &good, 9).await;
}

fn netns_ip(i: usize) -> std::net::IpAddr {
    NETNS_ADDRS[i].parse().unwrap()
}

/// Runs in its own network namespace (see `in_netns`), where 198.51.100.1 is not loopback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ip_cannot_hold_every_handshake_slot() {
    if !in_netns(&test_name(
        module_path!(),
        "one_ip_cannot_hold_every_handshake_slot",
    )) {
        return;
    }
    let ip = netns_ip(0);
    let a = start_node(
        76,
        |c| {
            c.listen = "0.0.0.0:0".parse().unwrap();
            c.handshake_timeout = Duration::from_secs(3);
        },
        Arc::new(MemoryPeerStore::new()),
        false,
    )
    .await;
    let target = std::net::SocketAddr::new(ip, a.addr().port());
    let mut conns = Vec::new();
    for _ in 0..20 {
        conns.push(TcpStream::connect(target).await.unwrap());
    }
    // Within a second (well before the 3 s handshake timeout) all but 8 are refused.
    let mut closed = [false; 20];
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(1500) && closed.iter().filter(|c| **c).count() < 12 {
        for (i, c) in conns.iter_mut().enumerate() {
            let mut b = [0u8; 1];
            if !closed[i] {
                if let Ok(Ok(0) | Err(_)) =
                    tokio::time::timeout(Duration::from_millis(5), c.read(&mut b)).await
                {
                    closed[i] = true;
                }
            }
        }
    }
    let refused = closed.iter().filter(|c| **c).count();
    println!("per-IP handshake limit: {refused} of 20 refused at once from {ip}");
    assert_eq!(refused, 12);
    // Loopback is exempt, so devnet peers still get in.
    let good = node(77).await;
    good.handle
        .connect(format!("127.0.0.1:{}", a.addr().port()));
    let h = a.handle.clone();
    wait_for("loopback peer accepted", || h.peer_count() == 1).await;
}

/// Established connections (not only handshakes): one IP gets `max_inbound_per_ip` slots, one
/// /16 `max_inbound_per_group`, another /16 and loopback still get in. The first peers
/// connect all at once, so the limits hold when handshakes finish together (not only when
/// the listener can refuse at accept). Runs in its own network namespace (see `in_netns`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ip_cannot_hold_every_inbound_slot() {
    if !in_netns(&test_name(
        module_path!(),
        "one_ip_cannot_hold_every_inbound_slot",
    )) {
        return;
    }
    let a = start_node(
        78,
        |c| {
            c.listen = "0.0.0.0:0".parse().unwrap();
            c.max_inbound_per_ip = 2;
            c.max_inbound_per_group = 3;
        },
        Arc::new(MemoryPeerStore::new()),
        false,
    )
    .await;
    let port = a.addr().port();
    let target = std::net::SocketAddr::new(netns_ip(0), port);
    let h = a.handle.clone();
    let keys: Vec<SecretKey> = (0xC0..0xD0u8)
        .map(|i| SecretKey::from_seed(&[i; 32]))
        .collect();
    let mut keys = keys.iter();
    let mut held = Vec::new();
    // (source address, peers connecting at once, inbound peers in all afterwards)
    for (src, tries, total) in [(0, 5, 2), (1, 3, 3), (2, 3, 5)] {
        let conns = (0..tries)
            .filter_map(|_| keys.next())
            .map(|k| raw_peer_from(netns_ip(src), target, k));
        held.extend(futures::future::join_all(conns).await);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let n = h.peer_count();
        println!("after {tries} peers from {}: {n} inbound", netns_ip(src));
        assert_eq!(n, total, "per-IP and per-/16 inbound limits");
    }
    // Loopback is exempt: devnet peers share 127.0.0.1.
    let good = node(79).await;
    good.handle.connect(format!("127.0.0.1:{port}"));
    wait_for("loopback peer accepted", || h.peer_count() == 6).await;
    good_peer_still_served(&a, &good, 11).await;
}
