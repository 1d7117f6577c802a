//! Serves peers' block range requests (`GetBlocks`) from storage on a thread of its own, so
//! that reading and decoding blocks for a syncing (or hostile) peer never runs on the
//! consensus loop.
//!
//! Bounds: a peer has at most one request queued or being served (later ones are dropped
//! until it is done), the queue holds at most [`QUEUE`] requests in all, a reply holds at most
//! [`REPLY_BYTES`] of blocks, and each peer is served at most [`PEER_BYTES_PER_SEC`] on average
//! (a request over budget is dropped, and the peer asks again or asks someone else).

use super::io::{BlockRequests, Network};
use super::sync::SYNC_BATCH;
use crate::p2p::{Message, PeerId, TokenBucket};
use crate::storage::Storage;
use crate::types::{Block, Decode};
use std::collections::{HashMap, HashSet};
use std::sync::{mpsc, Arc, Mutex};

/// Requests queued at once (all peers).
pub const QUEUE: usize = 64;
/// Bytes of blocks in one reply; a reply holds at least one block.
pub const REPLY_BYTES: usize = 3 * 1024 * 1024;
/// Bytes per second of blocks served to one peer on average.
pub const PEER_BYTES_PER_SEC: f64 = 16.0 * 1024.0 * 1024.0;
/// Peers whose byte budgets are remembered.
const BUDGETS_CAP: usize = 1_024;

struct Job {
    peer: PeerId,
    from: u64,
    count: u32,
}

/// Hands requests to the serving thread; dropping it stops the thread.
pub struct BlockServer {
    jobs: mpsc::SyncSender<Job>,
    busy: Arc<Mutex<HashSet<PeerId>>>,
}

impl BlockServer {
    /// Starts the serving thread.
    pub fn spawn(storage: Storage, p2p: Arc<dyn Network>) -> std::io::Result<BlockServer> {
        let (jobs, rx) = mpsc::sync_channel::<Job>(QUEUE);
        let busy = Arc::new(Mutex::new(HashSet::new()));
        let b = busy.clone();
        std::thread::Builder::new()
            .name("block-server".into())
            .spawn(move || serve(rx, storage, p2p, b))?;
        Ok(BlockServer { jobs, busy })
    }
}

impl BlockRequests for BlockServer {
    /// Queues `peer`'s request; dropped (false) when the peer already has one queued or the
    /// queue is full.
    fn request(&mut self, peer: PeerId, from: u64, count: u32) -> bool {
        if !lock(&self.busy).insert(peer) {
            return false;
        }
        if self.jobs.try_send(Job { peer, from, count }).is_err() {
            lock(&self.busy).remove(&peer);
            return false;
        }
        true
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn serve(
    rx: mpsc::Receiver<Job>,
    storage: Storage,
    p2p: Arc<dyn Network>,
    busy: Arc<Mutex<HashSet<PeerId>>>,
) {
    let mut budgets = Budgets::default();
    while let Ok(job) = rx.recv() {
        if let Some(reply) = budgets.answer(&storage, &job) {
            p2p.send(job.peer, reply);
        }
        lock(&busy).remove(&job.peer);
    }
}

/// Per-peer byte budgets of served blocks.
#[derive(Default)]
struct Budgets(HashMap<PeerId, TokenBucket>);

impl Budgets {
    /// The reply to `job`: the blocks it asks for, if any are stored and the peer's budget
    /// holds them.
    fn answer(&mut self, storage: &Storage, job: &Job) -> Option<Message> {
        if self.0.len() >= BUDGETS_CAP && !self.0.contains_key(&job.peer) {
            self.0.clear();
        }
        let budget = self
            .0
            .entry(job.peer)
            .or_insert_with(|| TokenBucket::new(PEER_BYTES_PER_SEC, 2.0 * REPLY_BYTES as f64));
        let blocks = read_range(storage, job.from, job.count);
        let bytes: usize = blocks.iter().map(|(_, _, size)| size).sum();
        (!blocks.is_empty() && budget.try_take(bytes as f64))
            .then(|| Message::Blocks(blocks.into_iter().map(|(b, c, _)| (b, c)).collect()))
    }
}

/// Serves requests on the caller's thread, at once, with the same bounds as [`BlockServer`]
/// (the simulation runs it: the caller's thread is the only one).
pub struct InlineBlockServer {
    storage: Storage,
    net: Arc<dyn Network>,
    budgets: Budgets,
}

impl InlineBlockServer {
    /// Serves from `storage` to peers through `net`.
    pub fn new(storage: Storage, net: Arc<dyn Network>) -> InlineBlockServer {
        InlineBlockServer {
            storage,
            net,
            budgets: Budgets::default(),
        }
    }
}

impl BlockRequests for InlineBlockServer {
    fn request(&mut self, peer: PeerId, from: u64, count: u32) -> bool {
        let job = Job { peer, from, count };
        match self.budgets.answer(&self.storage, &job) {
            Some(reply) => self.net.send(peer, reply),
            None => false,
        }
    }
}

/// Reads up to `count` (at most [`SYNC_BATCH`]) stored blocks from `from` with their
/// certificates and sizes, stopping at the first missing one or at [`REPLY_BYTES`].
fn read_range(
    storage: &Storage,
    from: u64,
    count: u32,
) -> Vec<(Block, crate::types::CommitCertificate, usize)> {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    let end = from.saturating_add(count.min(SYNC_BATCH) as u64);
    for h in from..end {
        let (Ok(Some(raw)), Ok(Some(c))) = (storage.block_bytes(h), storage.certificate(h)) else {
            break;
        };
        let size = raw.len() + c.sigs.len() * 96 + 64;
        if !out.is_empty() && bytes + size > REPLY_BYTES {
            break;
        }
        let Ok(b) = Block::from_bytes(&raw) else {
            break;
        };
        bytes += size;
        out.push((b, c, size));
    }
    out
}
