//! Test support for hostile-peer tests: an in-process devnet of real nodes (the node's own
//! `node::start`: storage, p2p over TLS on ephemeral ports, the driver) and an [`Adversary`], a
//! peer with a throwaway key that completes the real handshake and then sends crafted, validly
//! signed messages while recording what the node sends it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use timecoin::consensus::ConsensusParams;
use timecoin::ledger::Genesis;
use timecoin::mempool::MempoolLimits;
use timecoin::node::devnet::DevnetLayout;
use timecoin::node::verify_slots::VerifySlots;
use timecoin::node::{self, NodeHandle};
use timecoin::p2p::message::{Hello, ROLE_DIALER};
use timecoin::p2p::{frame, tls, Message};
use timecoin::types::encoding::Encode;
use timecoin::types::{
    Block, BlockHeader, CommitCertificate, Evidence, Hash, Proposal, PublicKey, SecretKey, Vote,
    VoteKind,
};
use tokio::io::{AsyncWriteExt, WriteHalf};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;
use tokio_util::sync::CancellationToken;

/// Polls `cond` every 50 ms until it holds; panics naming `what` after `timeout`.
pub async fn until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < end,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An in-process devnet of `n` masternodes over TLS on 127.0.0.1 with ephemeral ports.
pub struct Net {
    pub genesis: Genesis,
    /// The verification slots the nodes started from now on get (the process's by default).
    pub verify_slots: VerifySlots,
    layout: DevnetLayout,
    nodes: Vec<Option<(NodeHandle, JoinHandle<()>, CancellationToken)>>,
    _tmp: tempfile::TempDir,
}

impl Net {
    /// A devnet of `n` masternodes; none is started yet.
    pub fn new(n: u32) -> Net {
        let tmp = tempfile::Builder::new()
            .prefix("timecoin-hostile-")
            .tempdir()
            .unwrap();
        // The base port only names the genesis masternodes' addresses; nodes bind port 0.
        let layout = DevnetLayout {
            nodes: n,
            base_port: 1,
            dir: tmp.path().to_path_buf(),
        };
        Net {
            genesis: layout.genesis(),
            verify_slots: VerifySlots::process(),
            layout,
            nodes: (0..n).map(|_| None).collect(),
            _tmp: tmp,
        }
    }

    /// A devnet of `n` masternodes, all started and connected to each other.
    pub async fn started(n: u32) -> Net {
        let mut net = Net::new(n);
        for i in 0..n {
            net.start(i).await;
        }
        for i in 0..n {
            net.connect(i);
        }
        net
    }

    pub fn chain_id(&self) -> Hash {
        self.genesis.params.chain_id
    }

    /// Starts node `i` (not connected to anyone yet).
    pub async fn start(&mut self, i: u32) {
        let mut spec = self.layout.node_spec(
            i,
            &self.genesis,
            ConsensusParams::devnet(),
            MempoolLimits::default(),
        );
        spec.p2p_bind = "127.0.0.1:0".parse().unwrap();
        spec.advertise = None;
        spec.connect = vec![];
        spec.rpc_bind = None;
        spec.metrics_bind = None;
        spec.verify_slots = self.verify_slots.clone();
        let token = CancellationToken::new();
        let (h, t) = node::start(spec, token.clone()).await.unwrap();
        self.nodes[i as usize] = Some((h, t, token));
    }

    /// Makes node `i` dial every other running node (and keep them connected).
    pub fn connect(&self, i: u32) {
        for j in 0..self.nodes.len() as u32 {
            if j != i && self.nodes[j as usize].is_some() {
                self.node(i).p2p.connect(self.addr(j).to_string());
            }
        }
    }

    pub fn node(&self, i: u32) -> &NodeHandle {
        &self.nodes[i as usize].as_ref().expect("node not started").0
    }

    pub fn addr(&self, i: u32) -> SocketAddr {
        self.node(i).p2p_addr
    }

    pub fn key(&self, i: u32) -> PublicKey {
        self.node(i).spec.node_key.public()
    }

    pub fn height(&self, i: u32) -> u64 {
        self.node(i).height()
    }

    pub fn running(&self) -> Vec<u32> {
        (0..self.nodes.len() as u32)
            .filter(|i| self.nodes[*i as usize].is_some())
            .collect()
    }

    /// Honest node keys that node `i` has banned (should always be empty).
    pub fn honest_bans(&self, i: u32) -> Vec<String> {
        let honest: Vec<PublicKey> = self.running().iter().map(|j| self.key(*j)).collect();
        self.node(i)
            .p2p
            .bans()
            .into_iter()
            .filter(|b| b.node.is_none_or(|k| honest.contains(&k)))
            .map(|b| format!("{b:?}"))
            .collect()
    }

    /// Asserts no running node banned another running node (or a whole IP: all share loopback).
    pub fn assert_no_honest_bans(&self) {
        for i in self.running() {
            let bans = self.honest_bans(i);
            assert!(bans.is_empty(), "node{i} banned honest peers: {bans:?}");
        }
    }

    /// Waits until every running node has finalized `h`.
    pub async fn wait_height(&self, h: u64, timeout: Duration) {
        let nodes = self.running();
        until(&format!("height {h} on {nodes:?}"), timeout, || {
            nodes.iter().all(|i| self.height(*i) >= h)
        })
        .await;
    }

    /// Waits until every running node is connected to every other.
    pub async fn wait_connected(&self, timeout: Duration) {
        let nodes = self.running();
        let want = nodes.len() - 1;
        until("full mesh", timeout, || {
            nodes.iter().all(|i| self.node(*i).p2p.peer_count() >= want)
        })
        .await;
    }

    /// Stops every node and waits for the drivers to flush.
    pub async fn shutdown(mut self) {
        for n in self.nodes.iter_mut() {
            if let Some((_, t, token)) = n.take() {
                token.cancel();
                let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
            }
        }
    }
}

/// A peer speaking the protocol with a throwaway key (no stake).
pub struct Adversary {
    pub key: SecretKey,
    pub chain_id: Hash,
    /// The node's Hello.
    pub hello: Hello,
    writer: WriteHalf<TlsStream<TcpStream>>,
    received: Arc<Mutex<Vec<Message>>>,
    reader: JoinHandle<()>,
}

impl Drop for Adversary {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Adversary {
    /// Dials `addr`, completes TLS and the Hello exchange, and starts recording what the node
    /// sends.
    pub async fn connect(addr: SocketAddr, chain_id: Hash) -> Adversary {
        let key = SecretKey::generate();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut s = tokio_rustls::TlsConnector::from(tls::client_config().unwrap())
            .connect(tls::server_name(), tcp)
            .await
            .unwrap();
        let exp = tls::exporter(&**s.get_ref().1).unwrap();
        let h = Hello::new_signed(&key, chain_id, &exp, ROLE_DIALER, String::new(), 0);
        s.write_all(&frame::encode_frame(&Message::Hello(h).to_bytes()))
            .await
            .unwrap();
        s.flush().await.unwrap();
        let b = tokio::time::timeout(Duration::from_secs(10), frame::read_frame(&mut s, 4096))
            .await
            .expect("node's hello in time")
            .expect("node's hello");
        let hello = match Message::decode(&b) {
            Ok(Message::Hello(h)) => h,
            other => panic!("expected hello, got {other:?}"),
        };
        let (mut rd, writer) = tokio::io::split(s);
        let received = Arc::new(Mutex::new(Vec::new()));
        let rec = received.clone();
        let reader = tokio::spawn(async move {
            while let Ok(b) = frame::read_frame(&mut rd, 64 * 1024 * 1024).await {
                match Message::decode(&b) {
                    Ok(Message::Txs(txs)) => {
                        rec.lock().unwrap().extend(txs.into_iter().map(Message::Tx))
                    }
                    Ok(m) => rec.lock().unwrap().push(m),
                    Err(_) => break,
                }
            }
        });
        Adversary {
            key,
            chain_id,
            hello,
            writer,
            received,
            reader,
        }
    }

    /// Sends one message (errors ignored: the node may have closed the connection).
    pub async fn send(&mut self, m: &Message) {
        let _ = self
            .writer
            .write_all(&frame::encode_frame(&m.to_bytes()))
            .await;
        let _ = self.writer.flush().await;
    }

    /// Whether the node closed the connection.
    pub fn closed(&self) -> bool {
        self.reader.is_finished()
    }

    /// How many received messages satisfy `f`.
    pub fn count(&self, f: impl Fn(&Message) -> bool) -> usize {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|m| f(m))
            .count()
    }

    /// The highest height the node announced to us (its Hello, then its `Status` messages).
    pub fn node_height(&self) -> u64 {
        let announced = self
            .received
            .lock()
            .unwrap()
            .iter()
            .filter_map(|m| match m {
                Message::Status { height, .. } => Some(*height),
                _ => None,
            })
            .max();
        announced.unwrap_or(0).max(self.hello.height)
    }

    /// One round of every attack of issue 12 that a stranger can mount, aimed at the height
    /// after `tip`: junk proposals for this and the next height, strangers' votes and
    /// evidence, a height lie, block range requests, unsolicited addresses (loopback only:
    /// nothing outside this machine is ever named) and transactions spending nothing.
    pub async fn barrage(&mut self, tip: u64, salt: u64) {
        let h = tip + 1;
        for (i, height) in [h, h + 1].into_iter().enumerate() {
            let block = self.junk_block(height, (salt as u8).wrapping_add(i as u8));
            let m = self.proposal((salt % 3) as u32, block);
            self.send(&m).await;
        }
        for _ in 0..20 {
            let k = SecretKey::generate();
            let m = self.vote_by(&k, h, (salt % 2) as u32);
            self.send(&m).await;
        }
        let m = self.evidence_by(&SecretKey::generate(), tip);
        self.send(&m).await;
        self.send(&Message::Status {
            height: tip + 1_000_000 + salt,
            tip: Hash([salt as u8; 32]),
        })
        .await;
        for _ in 0..4 {
            self.send(&Message::GetBlocks {
                from: 1,
                count: 128,
            })
            .await;
        }
        let addrs = (0..64)
            .map(|p| format!("127.0.0.1:{}", 1 + (salt * 64 + p) % 1000))
            .collect();
        self.send(&Message::Peers(addrs)).await;
    }

    /// A block for `height` that no ledger accepts (wrong parent, no coinbase), padded with
    /// `pad` bytes of evidence-free junk in the header's fields.
    pub fn junk_block(&self, height: u64, salt: u8) -> Block {
        Block {
            header: BlockHeader {
                version: 1,
                height,
                prev_hash: Hash([salt; 32]),
                time_ms: 1,
                merkle_root: Hash([salt; 32]),
                proposer: self.key.public(),
                validator_set_hash: Hash::ZERO,
                last_commit_hash: Hash::ZERO,
            },
            txs: vec![],
            evidence: vec![],
            last_commit: CommitCertificate::default(),
        }
    }

    /// A proposal of `block`, signed by our throwaway key.
    pub fn proposal(&self, round: u32, block: Block) -> Message {
        let p = Proposal::new_signed(
            self.chain_id,
            block.header.height,
            round,
            None,
            block.hash(),
            &self.key,
        );
        Message::Proposal { proposal: p, block }
    }

    /// A prevote for nil signed by `key`.
    pub fn vote_by(&self, key: &SecretKey, height: u64, round: u32) -> Message {
        Message::Vote(Vote::new_signed(
            self.chain_id,
            height,
            round,
            VoteKind::Prevote,
            None,
            key,
        ))
    }

    /// Valid evidence that `key` (not a masternode) equivocated at `height`.
    pub fn evidence_by(&self, key: &SecretKey, height: u64) -> Message {
        let a = Vote::new_signed(self.chain_id, height, 0, VoteKind::Prevote, None, key);
        let b = Vote::new_signed(
            self.chain_id,
            height,
            0,
            VoteKind::Prevote,
            Some(Hash([7; 32])),
            key,
        );
        Message::Evidence(Evidence::from_pair(a, b))
    }
}
