//! The driver's I/O behind narrow interfaces, so that one driver runs in the node (tokio, the
//! p2p layer, the storage writer thread) and in the deterministic simulation (a virtual clock,
//! a simulated network, storage written when the simulation says so).
//!
//! Everything the driver learns from outside arrives as a [`super::driver::Event`]; everything
//! it does to the outside goes through [`Io`].

use super::block_server::BlockServer;
use super::storage_writer::{self, CommitDone, CommitJob};
use crate::consensus::Step;
use crate::p2p::{Message, Misbehaviour, P2pHandle, PeerId};
use crate::storage::Storage;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;

/// A consensus timeout: height, round and step it was scheduled for.
pub type Timeout = (u64, u32, Step);

/// Where the driver's time comes from.
pub trait Clock: Send + Sync {
    /// Monotonic time (timeouts, intervals, ages).
    fn now(&self) -> Instant;
    /// Wall-clock time (block timestamps, "finalized at").
    fn wall(&self) -> SystemTime;
    /// Wall-clock milliseconds since the Unix epoch.
    fn unix_ms(&self) -> u64 {
        self.wall()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// The operating system's clocks.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// What the driver says to peers, and whom it blames.
pub trait Network: Send + Sync {
    /// Sends `msg` to every connected peer (gossip kinds at most once per peer).
    fn broadcast(&self, msg: Message);
    /// Sends `msg` to every connected peer but `peer` (the one it came from).
    fn broadcast_except(&self, peer: PeerId, msg: Message);
    /// Sends `msg` to one peer; false if it is not connected or its queue is full.
    fn send(&self, peer: PeerId, msg: Message) -> bool;
    /// Sends `msg` to each of `peers` (as [`Network::send`] to each, in order). The p2p layer
    /// encodes it once for all of them: a re-sent proposal carries a whole block.
    fn send_to_each(&self, peers: &[PeerId], msg: Message) {
        for p in peers {
            self.send(*p, msg.clone());
        }
    }
    /// Records an offence of `peer`; at the threshold it is banned.
    fn report(&self, peer: PeerId, offence: Misbehaviour);
    /// Whether `peer` is connected now.
    fn is_connected(&self, peer: &PeerId) -> bool;
    /// The connected peers, in a stable order.
    fn connected(&self) -> Vec<PeerId>;
}

impl Network for P2pHandle {
    fn broadcast(&self, msg: Message) {
        P2pHandle::broadcast(self, msg)
    }
    fn broadcast_except(&self, peer: PeerId, msg: Message) {
        P2pHandle::broadcast_except(self, peer, msg)
    }
    fn send(&self, peer: PeerId, msg: Message) -> bool {
        P2pHandle::send(self, peer, msg)
    }
    fn send_to_each(&self, peers: &[PeerId], msg: Message) {
        P2pHandle::send_to_each(self, peers, msg);
    }
    fn report(&self, peer: PeerId, offence: Misbehaviour) {
        P2pHandle::report(self, peer, offence)
    }
    fn is_connected(&self, peer: &PeerId) -> bool {
        P2pHandle::is_connected(self, peer)
    }
    fn connected(&self) -> Vec<PeerId> {
        let mut ids: Vec<PeerId> = self.peers().borrow().iter().map(|p| p.id).collect();
        ids.sort_by_key(|k| k.0);
        ids
    }
}

/// Consensus timers: a scheduled timeout comes back as [`super::driver::Event::Timeout`].
pub trait Timers: Send {
    /// Arranges for `timeout` to fire after `after`.
    fn schedule(&mut self, after: Duration, timeout: Timeout);
}

/// Timers on the tokio runtime, firing into a channel the driver's loop reads.
pub struct TokioTimers(mpsc::Sender<Timeout>);

impl Timers for TokioTimers {
    fn schedule(&mut self, after: Duration, timeout: Timeout) {
        let tx = self.0.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = tx.send(timeout).await;
        });
    }
}

/// The storage writer is gone: nothing more can be made durable.
#[derive(Debug)]
pub struct WriterGone;

/// Where finalized blocks go to be written; each outcome comes back as
/// [`super::driver::Event::Committed`], in order.
pub trait BlockWriter: Send {
    /// Hands over the next block (may wait while the writer is several blocks behind).
    fn submit(&mut self, job: CommitJob) -> Result<(), WriterGone>;
    /// Lets the writer finish what it was given, and waits for it (shutdown).
    fn finish(&mut self);
}

/// The writer thread of [`storage_writer::spawn`].
struct ThreadWriter {
    jobs: Option<std::sync::mpsc::SyncSender<CommitJob>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BlockWriter for ThreadWriter {
    fn submit(&mut self, job: CommitJob) -> Result<(), WriterGone> {
        let jobs = self.jobs.as_ref().ok_or(WriterGone)?;
        tokio::task::block_in_place(|| jobs.send(job).is_ok())
            .then_some(())
            .ok_or(WriterGone)
    }

    fn finish(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            if tokio::task::block_in_place(|| t.join()).is_err() {
                tracing::error!(target: "storage", "the storage writer panicked");
            }
        }
    }
}

/// A writer that could not be started: every block is refused.
struct NoWriter;

impl BlockWriter for NoWriter {
    fn submit(&mut self, _: CommitJob) -> Result<(), WriterGone> {
        Err(WriterGone)
    }
    fn finish(&mut self) {}
}

/// Peers' block range requests (`GetBlocks`), answered off the consensus loop.
pub trait BlockRequests: Send {
    /// Takes `peer`'s request; false if it was dropped (busy or over budget).
    fn request(&mut self, peer: PeerId, from: u64, count: u32) -> bool;
}

/// The driver's I/O.
pub struct Io {
    /// Monotonic and wall time.
    pub clock: std::sync::Arc<dyn Clock>,
    /// Sending to and blaming peers.
    pub net: std::sync::Arc<dyn Network>,
    /// Schedules consensus timeouts; they come back as events.
    pub timers: Box<dyn Timers>,
    /// Makes finalized blocks durable; outcomes come back as events, in order.
    pub writer: Box<dyn BlockWriter>,
    /// Serving blocks to peers (`None`: not served).
    pub blocks: Option<Box<dyn BlockRequests>>,
    /// Why the I/O could not be set up fully: the driver starts halted and says so.
    pub fault: Option<String>,
}

/// What the node's event loop reads besides peers and commands: fired timeouts and commit
/// outcomes of the production [`Io`].
pub struct Loops {
    /// Fired timeouts: (height, round, step) as scheduled.
    pub timeouts: mpsc::Receiver<Timeout>,
    /// Commit outcomes, one per submitted block, in order.
    pub committed: mpsc::UnboundedReceiver<CommitDone>,
}

impl Io {
    /// The node's I/O: system clock, the p2p layer, tokio timers, the storage writer thread
    /// and the block server thread.
    pub fn production(storage: &Storage, p2p: P2pHandle) -> (Io, Loops) {
        let (timeout_tx, timeouts) = mpsc::channel(1024);
        let (done_tx, committed) = mpsc::unbounded_channel();
        let mut fault = None;
        let writer: Box<dyn BlockWriter> = match storage_writer::spawn(storage.clone(), done_tx) {
            Ok((jobs, thread)) => Box::new(ThreadWriter {
                jobs: Some(jobs),
                thread: Some(thread),
            }),
            Err(e) => {
                fault = Some(format!("cannot start the storage writer thread: {e}"));
                Box::new(NoWriter)
            }
        };
        let blocks: Option<Box<dyn BlockRequests>> = match BlockServer::spawn(
            storage.clone(),
            std::sync::Arc::new(p2p.clone()),
        ) {
            Ok(b) => Some(Box::new(b)),
            Err(e) => {
                tracing::error!(target: "sync", "cannot start the block server thread ({e}); peers will not be served blocks");
                None
            }
        };
        let io = Io {
            clock: std::sync::Arc::new(SystemClock),
            net: std::sync::Arc::new(p2p),
            timers: Box::new(TokioTimers(timeout_tx)),
            writer,
            blocks,
            fault,
        };
        (
            io,
            Loops {
                timeouts,
                committed,
            },
        )
    }
}
