//! Multi-process integration tests: every node is its own `timed` process, set up by
//! `timed devnet init`, talking TLS on 127.0.0.1. Heights and hashes come from each node's log
//! while it runs and from its sled database once it has stopped. Each test owns a port range
//! (`support::ports::range`, shared with any other run of the suite) and a temp dir, so the
//! tests run in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use rand::{Rng, RngCore};
use std::io::Read;
use std::net::TcpStream as StdTcp;
use std::time::{Duration, Instant};
use timecoin::p2p::frame::{self, encode_frame};
use timecoin::p2p::message::{Hello, ROLE_DIALER};
use timecoin::p2p::{tls, Message};
use timecoin::types::{Encode, SecretKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

const ALL: [u32; 4] = [0, 1, 2, 3];

/// 1. Four fresh processes finalize blocks, stop on SIGTERM with exit 0, and hold the same hash
///    at every height. Also measures the time to the first finalized block.
#[test]
fn four_processes_finalize_and_agree() {
    let mut c = Cluster::init("agree", 4);
    let t0 = Instant::now();
    c.start_all();
    c.wait_height(&ALL, 1, Duration::from_secs(60));
    let first = t0.elapsed();
    println!(
        "FIGURE first block: 4 fresh processes all finalized height 1 {:.2} s after spawn",
        first.as_secs_f64()
    );
    let took = c.wait_height(&ALL, 10, Duration::from_secs(90));
    println!(
        "[agree] all 4 at height >= 10 after {:.1} s more",
        took.as_secs_f64()
    );
    for i in ALL {
        c.assert_alive(i);
    }
    c.term_all();
    let chains = c.assert_no_fork();
    for (i, ch) in chains.iter().enumerate() {
        assert!(ch.len() > 10, "node{i} stored only {} blocks", ch.len() - 1);
    }
}

/// 2. SIGKILL one node: the other three keep finalizing; restarted, it syncs and takes part in
///    consensus again. Then SIGSTOP another for 10 s and SIGCONT: it catches up. No fork.
#[test]
fn sigkill_restart_and_sigstop() {
    let mut c = Cluster::init("kill", 4);
    c.start_all();
    c.wait_height(&ALL, 3, Duration::from_secs(60));

    c.kill(3);
    let at_kill = c.max_height(&[0, 1, 2]);
    println!("[kill] SIGKILLed node3 at cluster height {at_kill}");
    c.wait_height(&[0, 1, 2], at_kill + 3, Duration::from_secs(60));
    let dead_at = c.height(3);
    // Let the others move on a bit further so that the restarted node really has to sync.
    c.wait_height(&[0, 1, 2], at_kill + 6, Duration::from_secs(60));

    let tip = c.max_height(&[0, 1, 2]);
    assert!(tip > dead_at, "the cluster did not move on without node3");
    let t = Instant::now();
    c.start(3);
    c.wait_height(&[3], tip, Duration::from_secs(60));
    println!(
        "[kill] restarted node3 synced from {dead_at} to {tip} in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    // It keeps finalizing new heights along with the others.
    let now = c.max_height(&ALL);
    c.wait_height(&ALL, now + 3, Duration::from_secs(60));

    // SIGSTOP node2 for 10 s. The other three (including the restarted node3) must still reach
    // quorum: 3 of 4 equal weights > 2/3, so this proves node3 votes again.
    c.sigstop(2);
    let stopped_at = c.max_height(&[0, 1, 3]);
    std::thread::sleep(Duration::from_secs(10));
    let during = c.max_height(&[0, 1, 3]);
    c.sigcont(2);
    println!("[kill] node2 SIGSTOPped for 10 s: the others went {stopped_at} -> {during}");
    assert!(
        c.min_height(&[0, 1, 3]) >= stopped_at + 3,
        "nodes 0, 1, 3 did not finalize while node2 was stopped: {stopped_at} -> {:?}\n{}",
        [0, 1, 3].map(|i| c.height(i)),
        c.tails(20)
    );
    let target = c.max_height(&[0, 1, 3]);
    let t = Instant::now();
    c.wait_height(&[2], target, Duration::from_secs(60));
    println!(
        "[kill] node2 caught up to {target} {:.2} s after SIGCONT",
        t.elapsed().as_secs_f64()
    );
    let now = c.max_height(&ALL);
    c.wait_height(&ALL, now + 2, Duration::from_secs(60));
    for i in ALL {
        c.assert_alive(i);
    }
    c.term_all();
    c.assert_no_fork();
}

/// Seconds since midnight of a log line's timestamp (`2026-11-24T03:44:55.458993Z ...`).
fn log_secs(line: &str) -> Option<f64> {
    let t = line.split_whitespace().next()?;
    let time = t.split('T').nth(1)?.trim_end_matches('Z');
    let mut parts = time.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// 3. Three nodes build a chain of 200+ blocks while node3 never runs; then node3 starts from an
///    empty data dir, syncs to the tip (blocks per second printed) and joins consensus.
#[test]
fn fresh_node_syncs_from_empty_dir() {
    let mut c = Cluster::init("sync", 4);
    // Faster empty blocks so that 200 blocks take seconds, not minutes.
    c.append_config("[consensus]\nempty_block_interval_ms = 50");
    for i in [0, 1, 2] {
        c.start(i);
    }
    let t = Instant::now();
    c.wait_height(&[0, 1, 2], 200, Duration::from_secs(150));
    println!(
        "[sync] 3 of 4 nodes made 200 blocks in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert!(!c.node_dir(3).join("chain.sled").exists());
    let tip = c.max_height(&[0, 1, 2]);
    let t = Instant::now();
    c.start(3);
    c.wait_height(&[3], tip, Duration::from_secs(120));
    let wall = t.elapsed().as_secs_f64();
    // Rate from node3's own log: first synced block to the block at the tip it started behind.
    let log = c.log(3);
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" finalized height="))
        .collect();
    let first = lines.first().and_then(|l| log_secs(l)).unwrap();
    let at_tip = lines
        .iter()
        .find(|l| {
            field(l, "height")
                .and_then(|h| h.parse::<u64>().ok())
                .is_some_and(|h| h >= tip)
        })
        .and_then(|l| log_secs(l))
        .unwrap();
    let span = (at_tip - first).max(1e-3);
    println!(
        "FIGURE sync: fresh node synced {tip} blocks in {wall:.2} s wall clock from spawn \
         ({:.0} blocks/s); {:.0} blocks/s between its first and its block {tip} by its log",
        tip as f64 / wall,
        (tip - 1) as f64 / span
    );
    // It reaches the live tip and finalizes with the others.
    let now = c.max_height(&ALL);
    c.wait_height(&ALL, now + 3, Duration::from_secs(60));
    let (hwm, rss) = c.rss_kib(3);
    println!("FIGURE rss: node3 after syncing {tip} blocks from an empty dir: peak {hwm} KiB, current {rss} KiB");
    // Node3 now votes: with node0 stopped, nodes 1, 2, 3 still make progress.
    c.term(0, Duration::from_secs(10));
    let now = c.max_height(&[1, 2, 3]);
    c.wait_height(&[1, 2, 3], now + 3, Duration::from_secs(60));
    c.term_all();
    c.assert_no_fork();
}

/// 4. SIGKILL a node at random moments, 10 times: after each kill its database holds every
///    height it logged as finalized (with the logged hash), its state equals a replay of its
///    blocks, and it restarts from there. At the end the cluster agrees.
#[test]
fn sigkill_at_random_moments_loses_nothing() {
    let mut c = Cluster::init("crash", 4);
    // Blocks every ~50 ms, so that kills often land near a commit.
    c.append_config("[consensus]\nempty_block_interval_ms = 50");
    c.start_all();
    c.wait_height(&ALL, 2, Duration::from_secs(60));
    let mut rng = rand::thread_rng();
    for round in 0..10 {
        let victim = rng.gen_range(0..4u32);
        let delay = Duration::from_millis(rng.gen_range(0..1500));
        std::thread::sleep(delay);
        c.assert_alive(victim);
        c.kill(victim);
        let logged = c.height(victim);
        // `chain` checks every logged finalized height and hash against the stored blocks.
        let stored = c.chain(victim).len() as u64 - 1;
        assert!(stored >= logged);
        // Its UTXO set, supply and masternodes equal a replay of its blocks from genesis.
        assert_eq!(
            assert_state_equals_replay(&c.node_dir(victim), &c.genesis),
            stored
        );
        println!(
            "[crash] round {round}: SIGKILL node{victim} after {delay:?}: logged {logged}, stored {stored}"
        );
        let opens_before = c.log(victim).matches("storage open").count();
        c.start(victim);
        // It comes back at its stored height (the `storage open` line of the new run).
        wait_until(
            &format!("node{victim} reopens its storage"),
            Duration::from_secs(30),
            || c.log(victim).matches("storage open").count() > opens_before,
            || c.tail(victim, 20),
        );
        let log = c.log(victim);
        let reopened: u64 = log
            .lines()
            .rfind(|l| l.contains("storage open"))
            .and_then(|l| field(l, "height"))
            .and_then(|h| h.parse().ok())
            .unwrap();
        assert_eq!(reopened, stored, "node{victim} restarted at another height");
        // Every few rounds let it catch up fully before the next kill; otherwise kill it again
        // while it may still be starting or syncing.
        if round % 3 == 2 {
            let tip = c.max_height(&ALL);
            c.wait_height(&[victim], tip + 1, Duration::from_secs(60));
        }
    }
    let now = c.max_height(&ALL);
    c.wait_height(&ALL, now + 2, Duration::from_secs(60));
    c.term_all();
    c.assert_no_fork();
}

async fn raw_tls(addr: std::net::SocketAddr) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tokio_rustls::TlsConnector::from(tls::client_config().unwrap())
        .connect(tls::server_name(), tcp)
        .await
        .unwrap()
}

/// Reads until the node closes the connection (true) or `within` passes (false).
async fn closed_within<S: tokio::io::AsyncRead + Unpin>(s: &mut S, within: Duration) -> bool {
    let end = tokio::time::Instant::now() + within;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout_at(end, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// 5. Bad input on a running node's P2P port: random bytes before TLS, a frame announcing
///    4 GiB, garbage frames, 1,000 silent connections, and a peer flooding 10,000 messages a
///    second. The node stays up, drops the offenders, keeps finalizing; peak RSS printed.
#[test]
fn bad_input_on_p2p_port() {
    let mut c = Cluster::init("bad", 4);
    c.start_all();
    c.wait_height(&ALL, 3, Duration::from_secs(60));
    let addr = c.p2p_addr(0);
    let chain_id = c.genesis.params.chain_id;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (hwm0, rss0) = c.rss_kib(0);
    println!("FIGURE rss: node0 before bad input: peak {hwm0} KiB, current {rss0} KiB");

    let progress = |c: &mut Cluster, what: &str| {
        c.assert_alive(0);
        let h = c.height(0);
        c.wait_height(&[0], h + 2, Duration::from_secs(30));
        let (hwm, rss) = c.rss_kib(0);
        println!(
            "FIGURE rss: node0 after {what}: peak {hwm} KiB, current {rss} KiB; height {h} -> {}",
            c.height(0)
        );
    };

    // Random bytes before TLS: the node closes each connection.
    rt.block_on(async {
        for _ in 0..50 {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let mut junk = vec![0u8; 4096];
            rand::thread_rng().fill_bytes(&mut junk);
            let _ = s.write_all(&junk).await;
            assert!(
                closed_within(&mut s, Duration::from_secs(15)).await,
                "node kept a connection that sent random bytes before TLS"
            );
        }
    });
    progress(&mut c, "50 connections of random bytes before TLS");

    // A TLS client announcing a 4 GiB frame (the largest u32 length), before and after a Hello.
    rt.block_on(async {
        let mut s = raw_tls(addr).await;
        s.write_all(&u32::MAX.to_le_bytes()).await.unwrap();
        s.write_all(&[0u8; 1024]).await.unwrap();
        s.flush().await.unwrap();
        assert!(
            closed_within(&mut s, Duration::from_secs(15)).await,
            "node kept a connection announcing a 4 GiB frame"
        );
        let key = SecretKey::from_seed(&[0xA1; 32]);
        let mut s = raw_tls(addr).await;
        let exp = tls::exporter(&**s.get_ref().1).unwrap();
        let h = Hello::new_signed(&key, chain_id, &exp, ROLE_DIALER, String::new(), 0);
        s.write_all(&encode_frame(&Message::Hello(h).to_bytes()))
            .await
            .unwrap();
        let reply =
            tokio::time::timeout(Duration::from_secs(10), frame::read_frame(&mut s, 1 << 20))
                .await
                .expect("hello reply")
                .expect("hello reply frame");
        assert!(matches!(Message::decode(&reply), Ok(Message::Hello(_))));
        s.write_all(&u32::MAX.to_le_bytes()).await.unwrap();
        s.flush().await.unwrap();
        assert!(
            closed_within(&mut s, Duration::from_secs(15)).await,
            "node kept a peer announcing a 4 GiB frame"
        );
    });
    progress(&mut c, "4 GiB frame announcements");

    // Garbage frames over TLS.
    rt.block_on(async {
        for len in [1usize, 5, 100, 1000, 60_000, 1_000_000] {
            let mut s = raw_tls(addr).await;
            let mut junk = vec![0u8; len];
            rand::thread_rng().fill_bytes(&mut junk);
            let _ = s.write_all(&encode_frame(&junk)).await;
            let _ = s.flush().await;
            assert!(
                closed_within(&mut s, Duration::from_secs(15)).await,
                "node kept a TLS connection sending a {len}-byte garbage frame"
            );
        }
        // After a valid Hello: a frame that is no message (unknown tag + junk) is dropped.
        for (k, len) in [1usize, 100, 100_000].into_iter().enumerate() {
            let key = SecretKey::from_seed(&[0xB0 + k as u8; 32]);
            let mut s = raw_tls(addr).await;
            let exp = tls::exporter(&**s.get_ref().1).unwrap();
            let h = Hello::new_signed(&key, chain_id, &exp, ROLE_DIALER, String::new(), 0);
            s.write_all(&encode_frame(&Message::Hello(h).to_bytes()))
                .await
                .unwrap();
            let mut junk = vec![0xFFu8; len];
            rand::thread_rng().fill_bytes(&mut junk[1..]);
            let _ = s.write_all(&encode_frame(&junk)).await;
            let _ = s.flush().await;
            assert!(
                closed_within(&mut s, Duration::from_secs(15)).await,
                "node kept a peer sending a {len}-byte garbage message after its Hello"
            );
        }
    });
    progress(&mut c, "garbage TLS frames");

    // 1,000 TCP connections opened and left silent.
    let t = Instant::now();
    let mut conns = Vec::new();
    let mut refused = 0;
    for _ in 0..1000 {
        match StdTcp::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(s) => conns.push(s),
            Err(_) => refused += 1,
        }
    }
    println!(
        "[bad] opened {} silent connections ({refused} failed) in {:.2} s",
        conns.len(),
        t.elapsed().as_secs_f64()
    );
    let h = c.height(0);
    c.wait_height(&[0], h + 3, Duration::from_secs(30));
    // The handshake timeout is 10 s: by 20 s every silent connection must be closed.
    let open_count = |conns: &mut Vec<StdTcp>| {
        let mut open = 0;
        for s in conns.iter_mut() {
            s.set_nonblocking(true).unwrap();
            let mut b = [0u8; 1];
            match s.read(&mut b) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => open += 1,
                _ => {}
            }
        }
        open
    };
    let open = std::cell::Cell::new(conns.len());
    wait_until(
        "node closes the silent connections",
        Duration::from_secs(25),
        || {
            open.set(open_count(&mut conns));
            open.get() == 0
        },
        || format!("{} still open\n{}", open.get(), c.tail(0, 20)),
    );
    println!(
        "[bad] all silent connections closed by the node {:.1} s after they were opened",
        t.elapsed().as_secs_f64()
    );
    drop(conns);
    progress(&mut c, "1,000 silent connections");

    // A handshaken peer that floods 10,000 pings a second for 3 s.
    let flooder = SecretKey::from_seed(&[0xF1; 32]);
    let (sent, dropped, dropped_after) = rt.block_on(async {
        let mut s = raw_tls(addr).await;
        let exp = tls::exporter(&**s.get_ref().1).unwrap();
        let h = Hello::new_signed(&flooder, chain_id, &exp, ROLE_DIALER, String::new(), 0);
        s.write_all(&encode_frame(&Message::Hello(h).to_bytes()))
            .await
            .unwrap();
        let (mut rd, mut wr) = tokio::io::split(s);
        let start = tokio::time::Instant::now();
        let closed = tokio::spawn(async move {
            let closed = closed_within(&mut rd, Duration::from_secs(20)).await;
            (closed, start.elapsed())
        });
        let mut sent = 0u64;
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs(3) {
            // Paced at 10,000 pings a second, sent in batches every ~5 ms.
            let due = (start.elapsed().as_secs_f64() * 10_000.0) as u64;
            let mut batch = Vec::new();
            while n < due.min(sent + 1_000) {
                n += 1;
                batch.extend_from_slice(&encode_frame(&Message::Ping(n).to_bytes()));
            }
            let k = n - sent;
            if wr.write_all(&batch).await.is_err() {
                break;
            }
            sent += k;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = wr.flush().await;
        let (dropped, after) = closed.await.unwrap();
        (sent, dropped, after)
    });
    println!(
        "[bad] flood: sent {sent} pings at 10,000/s; node dropped the flooder: {dropped} \
         ({:.2} s after the Hello)",
        dropped_after.as_secs_f64()
    );
    assert!(
        dropped,
        "node kept a peer flooding 10,000 messages a second"
    );
    for l in c.log(0).lines().filter(|l| l.contains("banning")) {
        println!("[bad] node0: {l}");
    }
    // The flooder's key is banned: a new connection with it gets no session.
    let refused = rt.block_on(async {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let Ok(mut s) = tokio_rustls::TlsConnector::from(tls::client_config().unwrap())
            .connect(tls::server_name(), tcp)
            .await
        else {
            return true;
        };
        let exp = tls::exporter(&**s.get_ref().1).unwrap();
        let h = Hello::new_signed(&flooder, chain_id, &exp, ROLE_DIALER, String::new(), 0);
        let _ = s
            .write_all(&encode_frame(&Message::Hello(h).to_bytes()))
            .await;
        let _ = s.flush().await;
        // Either no Hello comes back, or the connection is closed right after it.
        match tokio::time::timeout(Duration::from_secs(10), frame::read_frame(&mut s, 1 << 20))
            .await
        {
            Ok(Ok(_)) => closed_within(&mut s, Duration::from_secs(5)).await,
            Ok(Err(_)) => true,
            Err(_) => false,
        }
    });
    assert!(refused, "the flooder's key was not banned: it reconnected");
    progress(&mut c, "a 10,000 msg/s flood");

    let (hwm, rss) = c.rss_kib(0);
    println!("FIGURE rss: node0 peak RSS over the bad-input run {hwm} KiB (current {rss} KiB, {hwm0} KiB before)");
    for i in ALL {
        c.assert_alive(i);
    }
    c.term_all();
    c.assert_no_fork();
}

/// 6. Quorum loss: with 2 of 4 nodes SIGKILLed the other two must not finalize anything (1/2
///    of the weight is not > 2/3); once the two are restarted, the four must resume.
///
/// Tendermint assumes every message is eventually delivered: the proposal and prevotes sent
/// while two nodes were down must reach them after restart. The driver re-sends its own messages
/// of a height that stays open (`rebroadcast_if_stuck`); without that this test deadlocks.
#[test]
fn quorum_loss_then_recovery() {
    let mut c = Cluster::init("quorum", 4);
    c.start_all();
    c.wait_height(&ALL, 3, Duration::from_secs(60));

    c.kill(2);
    c.kill(3);
    // A block whose precommits were already out may still complete; then nothing may.
    std::thread::sleep(Duration::from_secs(1));
    let stalled = c.max_height(&[0, 1]);
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        c.max_height(&[0, 1]),
        stalled,
        "two of four nodes finalized a block without a quorum\n{}",
        c.tails(20)
    );
    println!("[quorum] nodes 0, 1 alone stayed at height {stalled} for 5 s");
    let t = Instant::now();
    c.start(2);
    c.start(3);
    c.wait_height(&ALL, stalled + 3, Duration::from_secs(60));
    println!(
        "[quorum] quorum restored: all four at {} {:.2} s after restarting nodes 2, 3",
        stalled + 3,
        t.elapsed().as_secs_f64()
    );
    c.term_all();
    c.assert_no_fork();
}

/// 7. All four nodes SIGKILLed at once at a random moment and restarted from their databases:
///    every state equals a replay of its blocks, and the cluster resumes without a fork (a
///    double-signed vote after the restart would show as a fork or a stall).
#[test]
fn whole_cluster_sigkill_and_restart() {
    let mut c = Cluster::init("allkill", 4);
    c.start_all();
    c.wait_height(&ALL, 3, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(rand::thread_rng().gen_range(0..1000)));
    for i in ALL {
        c.kill(i);
    }
    let mut stored = Vec::new();
    for i in ALL {
        stored.push(c.chain(i).len() as u64 - 1);
        assert_state_equals_replay(&c.node_dir(i), &c.genesis);
    }
    c.assert_no_fork();
    let top = *stored.iter().max().unwrap();
    let t = Instant::now();
    c.start_all();
    c.wait_height(&ALL, top + 3, Duration::from_secs(60));
    println!(
        "[allkill] whole cluster SIGKILLed at heights {stored:?}; after restart all four reached {} in {:.2} s",
        top + 3,
        t.elapsed().as_secs_f64()
    );
    c.term_all();
    c.assert_no_fork();
}
