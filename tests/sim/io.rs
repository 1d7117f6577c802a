//! The simulation's side of the driver's I/O seams (`timecoin::node::io`): what a driver sends,
//! reports, schedules and hands to its storage writer is recorded here, and the harness turns
//! it into events of its schedule.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use timecoin::node::io::{BlockWriter, Clock, Network, Timeout, Timers, WriterGone};
use timecoin::node::storage_writer::CommitJob;
use timecoin::p2p::{Message, Misbehaviour, PeerId};

/// Virtual time, shared by every node of a run.
pub struct SimClock {
    base: Instant,
    wall_base_ms: u64,
    now_ms: AtomicU64,
}

impl SimClock {
    pub fn new(wall_base_ms: u64) -> SimClock {
        SimClock {
            base: Instant::now(),
            wall_base_ms,
            now_ms: AtomicU64::new(0),
        }
    }

    pub fn set(&self, ms: u64) {
        self.now_ms.store(ms, Ordering::Relaxed);
    }

    pub fn now_instant(&self) -> Instant {
        self.base + Duration::from_millis(self.ms())
    }

    pub fn ms(&self) -> u64 {
        self.now_ms.load(Ordering::Relaxed)
    }
}

impl Clock for SimClock {
    fn now(&self) -> Instant {
        self.now_instant()
    }
    fn wall(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.wall_base_ms + self.ms())
    }
}

/// Something a driver sent.
pub enum Out {
    Broadcast(Message, Option<PeerId>),
    Send(PeerId, Message),
}

/// One node's outbox, offence reports, timers and storage jobs.
#[derive(Default)]
pub struct SimIo {
    pub out: Mutex<Vec<Out>>,
    pub reports: Mutex<Vec<(PeerId, Misbehaviour)>>,
    pub timers: Mutex<Vec<(Duration, Timeout)>>,
    pub jobs: Mutex<Vec<CommitJob>>,
    /// The peers this node is connected to now (kept up to date by the harness).
    pub connected: Mutex<Vec<PeerId>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SimIo {
    pub fn take_out(&self) -> Vec<Out> {
        std::mem::take(&mut *lock(&self.out))
    }
    pub fn take_reports(&self) -> Vec<(PeerId, Misbehaviour)> {
        std::mem::take(&mut *lock(&self.reports))
    }
    pub fn take_timers(&self) -> Vec<(Duration, Timeout)> {
        std::mem::take(&mut *lock(&self.timers))
    }
    pub fn take_jobs(&self) -> Vec<CommitJob> {
        std::mem::take(&mut *lock(&self.jobs))
    }
    pub fn has_jobs(&self) -> bool {
        !lock(&self.jobs).is_empty()
    }
    pub fn set_connected(&self, peers: Vec<PeerId>) {
        *lock(&self.connected) = peers;
    }
}

/// The driver's network: an [`Arc`] of the node's [`SimIo`].
pub struct SimNet(pub Arc<SimIo>);

impl Network for SimNet {
    fn broadcast(&self, msg: Message) {
        lock(&self.0.out).push(Out::Broadcast(msg, None));
    }
    fn broadcast_except(&self, peer: PeerId, msg: Message) {
        lock(&self.0.out).push(Out::Broadcast(msg, Some(peer)));
    }
    fn send(&self, peer: PeerId, msg: Message) -> bool {
        if !self.is_connected(&peer) {
            return false;
        }
        lock(&self.0.out).push(Out::Send(peer, msg));
        true
    }
    fn report(&self, peer: PeerId, offence: Misbehaviour) {
        lock(&self.0.reports).push((peer, offence));
    }
    fn is_connected(&self, peer: &PeerId) -> bool {
        lock(&self.0.connected).contains(peer)
    }
    fn connected(&self) -> Vec<PeerId> {
        lock(&self.0.connected).clone()
    }
}

/// The driver's timers.
pub struct SimTimers(pub Arc<SimIo>);

impl Timers for SimTimers {
    fn schedule(&mut self, after: Duration, timeout: Timeout) {
        lock(&self.0.timers).push((after, timeout));
    }
}

/// The driver's storage writer: jobs wait until the harness writes them (with the node's own
/// `storage_writer::write_group`); a crash before that loses them, as a crash before the
/// writer's flush would.
pub struct SimWriter(pub Arc<SimIo>);

impl BlockWriter for SimWriter {
    fn submit(&mut self, job: CommitJob) -> Result<(), WriterGone> {
        lock(&self.0.jobs).push(job);
        Ok(())
    }
    fn finish(&mut self) {}
}
