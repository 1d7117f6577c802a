//! Bans: persisted in sled across reopening, expiring, and applied by the running node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::p2p_common::*;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use timecoin::p2p::{BanEntry, DbPeerStore, Misbehaviour, PeerStore};
use timecoin::types::PublicKey;

fn open(dir: &std::path::Path) -> (sled::Db, DbPeerStore) {
    let db = sled::open(dir).unwrap();
    let s = DbPeerStore::new(
        db.open_tree("bans").unwrap(),
        db.open_tree("addrs").unwrap(),
    );
    (db, s)
}

#[test]
fn sled_bans_survive_reopen_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let ip: IpAddr = "203.0.113.7".parse().unwrap();
    {
        let (db, s) = open(dir.path());
        s.save_ban(&BanEntry {
            ip,
            prefix: 32,
            node: None,
            until: SystemTime::now() + Duration::from_secs(3600),
            reason: "test".into(),
        });
        s.save_ban(&BanEntry {
            ip: "127.0.0.1".parse().unwrap(),
            prefix: 32,
            node: Some(PublicKey([5; 32])),
            until: SystemTime::now() + Duration::from_secs(3600),
            reason: "loopback by key".into(),
        });
        s.save_ban(&BanEntry {
            ip: "203.0.113.8".parse().unwrap(),
            prefix: 32,
            node: None,
            until: SystemTime::now() + Duration::from_secs(1),
            reason: "short".into(),
        });
        s.save_addrs(&["203.0.113.9:24000".to_string()], &[]);
        db.flush().unwrap();
    }
    // Reopen after the short ban lapsed.
    std::thread::sleep(Duration::from_millis(2100));
    let (_db, s) = open(dir.path());
    let bans = s.load_bans();
    assert_eq!(bans.len(), 2, "{bans:?}");
    assert!(bans.iter().any(|b| b.ip == ip && b.node.is_none()));
    assert!(bans
        .iter()
        .any(|b| b.node == Some(PublicKey([5; 32])) && b.reason == "loopback by key"));
    assert_eq!(s.load_addrs(), vec!["203.0.113.9:24000".to_string()]);
    s.remove_ban(ip);
    assert_eq!(s.load_bans().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reported_peer_is_banned_persisted_and_restored() {
    let store_dir = tempfile::tempdir().unwrap();
    let (db, store) = open(store_dir.path());
    let store = Arc::new(store);
    let a = start_node(71, |_| {}, store.clone(), false).await;
    let b = node(72).await;
    let c = node(73).await;
    connect_pair(&a, &b).await;
    connect_pair(&a, &c).await;

    // The node reports b: invalid transactions add up, an invalid signature crosses 100.
    a.handle.report(b.key.public(), Misbehaviour::InvalidTx);
    let pa = a.handle.peers();
    let kb = b.key.public();
    wait_for("score visible", || {
        pa.borrow().iter().any(|p| p.id == kb && p.score == 10)
    })
    .await;
    a.handle
        .report(b.key.public(), Misbehaviour::InvalidSignature);
    let h = a.handle.clone();
    wait_for("b banned and dropped", || {
        h.bans().iter().any(|x| x.node == Some(kb)) && h.peer_count() == 1
    })
    .await;
    // c, also on 127.0.0.1, stays connected and served.
    good_peer_still_served(&a, &c, 1).await;
    wait_for("ban persisted", || {
        store.load_bans().iter().any(|x| x.node == Some(kb))
    })
    .await;

    // Restart a on the same store: the ban is restored and b cannot reconnect.
    let port = a.addr().port();
    drop(a);
    let a2 = start_node(
        71,
        |cfg| cfg.listen = format!("127.0.0.1:{port}").parse().unwrap(),
        store.clone(),
        false,
    )
    .await;
    assert!(a2.handle.bans().iter().any(|x| x.node == Some(kb)));
    let (mut s, _) = raw_peer(a2.addr(), &b.key, chain(), None).await;
    assert!(
        closed_by_node(&mut s).await,
        "banned key refused after restart"
    );

    // Operator bans and unbans by IP and by node key.
    a2.handle
        .ban("198.51.100.1", Duration::from_secs(60))
        .unwrap();
    a2.handle
        .ban(&c.key.public().to_hex(), Duration::from_secs(60))
        .unwrap();
    assert!(a2
        .handle
        .ban("not an address", Duration::from_secs(1))
        .is_err());
    assert_eq!(a2.handle.bans().len(), 3);
    assert!(a2.handle.unban("198.51.100.1").unwrap());
    assert!(a2.handle.unban(&kb.to_hex()).unwrap());
    assert!(!a2.handle.unban("198.51.100.2").unwrap());
    assert_eq!(a2.handle.bans().len(), 1);
    let h2 = a2.handle.clone();
    wait_for("b reconnects after unban", || {
        b.handle.connect(h2.local_addr().to_string());
        h2.peers().borrow().iter().any(|p| p.id == kb)
    })
    .await;
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_ban_lapses_in_a_running_node() {
    let a = node(81).await;
    let b = node(82).await;
    a.handle
        .ban(&b.key.public().to_hex(), Duration::from_secs(1))
        .unwrap();
    b.handle.connect(a.addr().to_string());
    let h = a.handle.clone();
    // Refused while banned (b keeps redialing as a fixed peer), accepted once the ban lapses.
    wait_for("ban lapses", || h.bans().is_empty()).await;
    wait_for("b accepted after expiry", || h.peer_count() == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scores_survive_reconnects_and_late_reports_ban() {
    let a = node(85).await;
    let k = timecoin::types::SecretKey::from_seed(&[0x85; 32]);
    let (s, _) = raw_peer(a.addr(), &k, chain(), None).await;
    let h = a.handle.clone();
    wait_for("raw peer in", || h.peer_count() == 1).await;
    for _ in 0..5 {
        a.handle.report(k.public(), Misbehaviour::InvalidTx);
    }
    drop(s);
    wait_for("raw peer gone", || h.peer_count() == 0).await;
    // Reconnecting does not reset the score.
    let (s, _) = raw_peer(a.addr(), &k, chain(), None).await;
    let pa = a.handle.peers();
    wait_for("score restored", || {
        pa.borrow()
            .iter()
            .any(|p| p.id == k.public() && p.score == 50)
    })
    .await;
    drop(s);
    wait_for("raw peer gone again", || h.peer_count() == 0).await;
    // A report arriving after the disconnect still bans the node key.
    a.handle.report(k.public(), Misbehaviour::InvalidBlock);
    assert!(a.handle.bans().iter().any(|b| b.node == Some(k.public())));
    let (mut s, _) = raw_peer(a.addr(), &k, chain(), None).await;
    assert!(closed_by_node(&mut s).await);
    assert_eq!(h.peer_count(), 0);
}

/// A subnet ban (`127.0.0.0/8`) refuses every address in it, at accept before any TLS work and
/// on our own dials; lifting it by the subnet lets the peer in again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subnet_ban_refuses_every_address_in_it() {
    let a = node(86).await;
    let b = node(87).await;
    a.handle
        .ban("127.0.0.9/8", Duration::from_secs(60))
        .unwrap();
    let listed: Vec<(IpAddr, u8)> = a.handle.bans().iter().map(|b| (b.ip, b.prefix)).collect();
    assert_eq!(listed, vec![("127.0.0.0".parse().unwrap(), 8)]);
    assert!(
        raw_peer_from("127.0.0.1".parse().unwrap(), a.addr(), &b.key)
            .await
            .is_none(),
        "refused before TLS"
    );
    a.handle.connect(b.addr().to_string());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(a.handle.peer_count(), 0, "our dial into a banned subnet");
    assert!(!a.handle.unban("127.0.0.0/16").unwrap(), "another prefix");
    assert!(a.handle.unban("127.0.0.0/8").unwrap());
    let h = a.handle.clone();
    wait_for("a reaches b after the unban", || h.peer_count() == 1).await;
}
