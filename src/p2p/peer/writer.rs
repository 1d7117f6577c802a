//! The session's writer: the peer's queue (through the emulated link delay when one is set),
//! pings, transaction coalescing paced under the peer's rate limit, bounded writes and flushes.

use super::{coalesce, lock, Frame, Peer};
use crate::p2p::frame;
use crate::p2p::link_delay::{DelayLine, LinkDelay};
use crate::p2p::message::Message;
use crate::p2p::{RateLimit, TokenBucket};
use crate::types::encoding::Encode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// A single frame write may take at most this long.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the writer takes its frames from: the peer's queue, through a [`DelayLine`] when the
/// configuration has a [`LinkDelay`]. A frame counts in the peer's queued bytes until it leaves
/// here, so delayed frames stay within `peer_queue_bytes`, and at most `peer_queue` frames wait
/// in the line (then the queue fills and further frames are dropped as for a slow peer).
pub(super) struct Outbox {
    rx: mpsc::Receiver<Frame>,
    line: Option<DelayLine<Frame>>,
    line_cap: usize,
    /// The queue's senders are gone: only the line is left to drain.
    closed: bool,
}

impl Outbox {
    pub(super) fn new(
        rx: mpsc::Receiver<Frame>,
        delay: Option<LinkDelay>,
        line_cap: usize,
    ) -> Outbox {
        Outbox {
            rx,
            line: delay.map(DelayLine::new),
            line_cap: line_cap.max(1),
            closed: false,
        }
    }

    /// A frame the writer made itself (a ping): `Some` to send now, `None` when it went into
    /// the delay line like every other frame (and counts as queued until it leaves).
    fn own(&mut self, f: Frame, peer: &Peer) -> Option<Frame> {
        match &mut self.line {
            None => Some(f),
            Some(line) => {
                peer.queued_bytes.fetch_add(f.len(), Ordering::Relaxed);
                line.push(f, Instant::now());
                None
            }
        }
    }

    /// The next frame due now, without waiting.
    fn try_next(&mut self, peer: &Peer) -> Option<Frame> {
        let f = match &mut self.line {
            None => self.rx.try_recv().ok(),
            Some(line) => {
                let now = Instant::now();
                while line.len() < self.line_cap {
                    let Ok(f) = self.rx.try_recv() else { break };
                    line.push(f, now);
                }
                line.pop_ready(now)
            }
        }?;
        peer.queued_bytes.fetch_sub(f.len(), Ordering::Relaxed);
        Some(f)
    }

    /// Waits for the next frame due; `None` once the queue is closed and nothing waits.
    /// Cancel-safe: a frame taken from the queue is in the line before any await.
    async fn next(&mut self, peer: &Peer) -> Option<Frame> {
        let f = match &mut self.line {
            None => self.rx.recv().await?,
            Some(line) => loop {
                if let Some(f) = line.pop_ready(Instant::now()) {
                    break f;
                }
                if self.closed && line.is_empty() {
                    return None;
                }
                let due = line.next_release();
                let room = !self.closed && line.len() < self.line_cap;
                tokio::select! {
                    r = self.rx.recv(), if room => match r {
                        Some(f) => line.push(f, Instant::now()),
                        None => self.closed = true,
                    },
                    _ = sleep_until_opt(due) => {}
                }
            },
        };
        peer.queued_bytes.fetch_sub(f.len(), Ordering::Relaxed);
        Some(f)
    }
}

/// Sleeps until `at`, forever when `None`.
async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The pace of the frames sent to a peer, kept under what a node with our configuration
/// accepts from one peer (its `msg_rate`). Every frame counts, but only transaction frames
/// wait for the pace, and while one waits the transactions queued behind it join its batch:
/// a fast stream of transactions goes out in fewer, larger frames instead of being dropped
/// (and scored) by the receiver, and consensus messages never wait behind it.
pub(super) struct FramePace(TokenBucket);

impl FramePace {
    /// Half of `limit`'s rate and burst: the rest is room for the frames that do not wait
    /// and for frames that arrive bunched.
    pub(super) fn under(limit: RateLimit) -> FramePace {
        FramePace(TokenBucket::new(limit.per_sec / 2.0, limit.burst / 2.0))
    }

    /// How long a transaction frame waits at `now` before it goes out.
    fn batch_wait(&mut self, now: Instant) -> Duration {
        self.0.wait_at(1.0, now)
    }

    /// Counts a frame sent at `now`.
    fn sent(&mut self, now: Instant) {
        self.0.charge_at(1.0, now);
    }
}

/// Writes the peer's frames (transactions coalesced), flushing once nothing more is due, and
/// pings every `ping_every`; on any write failure or timeout it cancels the session.
pub(super) async fn write_loop<W: AsyncWrite + Unpin>(
    mut wr: W,
    mut out: Outbox,
    peer: Arc<Peer>,
    ping_every: Duration,
    nonce_base: u64,
    max_frame: usize,
    mut pace: FramePace,
) {
    let mut tick = tokio::time::interval(ping_every.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut nonce = nonce_base;
    let mut held: Option<Frame> = None;
    loop {
        let first: Frame = match held.take() {
            Some(f) => f,
            None => tokio::select! {
                _ = peer.cancel.cancelled() => break,
                _ = tick.tick() => {
                    nonce = nonce.wrapping_add(1);
                    *lock(&peer.ping) = Some((nonce, Instant::now()));
                    match out.own(Arc::new(frame::encode_frame(&Message::Ping(nonce).to_bytes())), &peer) {
                        Some(f) => f,
                        None => continue,
                    }
                }
                f = out.next(&peer) => match f {
                    Some(f) => f,
                    None => break,
                },
            },
        };
        if coalesce::is_batchable(&first, max_frame) {
            let wait = pace.batch_wait(Instant::now());
            if !wait.is_zero() {
                tokio::select! {
                    _ = peer.cancel.cancelled() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
        let frame = coalesce::coalesce_txs(first, || out.try_next(&peer), &mut held, max_frame);
        if write_one(&mut wr, &frame, &peer).await.is_err() {
            break;
        }
        pace.sent(Instant::now());
        // Keep writing whatever is due; flush once nothing is.
        if held.is_none() {
            held = out.try_next(&peer);
        }
        if held.is_some() {
            continue;
        }
        let flushed = tokio::select! {
            _ = peer.cancel.cancelled() => break,
            r = tokio::time::timeout(WRITE_TIMEOUT, wr.flush()) => r,
        };
        if !matches!(flushed, Ok(Ok(()))) {
            break;
        }
    }
    peer.cancel.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(1), wr.shutdown()).await;
}

/// Writes one frame within [`WRITE_TIMEOUT`], counting it as sent.
async fn write_one<W: AsyncWrite + Unpin>(wr: &mut W, f: &[u8], peer: &Peer) -> Result<(), ()> {
    let res = tokio::select! {
        _ = peer.cancel.cancelled() => return Err(()),
        r = tokio::time::timeout(WRITE_TIMEOUT, wr.write_all(f)) => r,
    };
    match res {
        Ok(Ok(())) => {
            peer.bytes_out.fetch_add(f.len() as u64, Ordering::Relaxed);
            peer.msgs_out.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Ok(Err(e)) => {
            tracing::debug!(target: "p2p::peer", peer = %peer.id.short(), "write failed: {e}");
            Err(())
        }
        Err(_) => {
            tracing::info!(target: "p2p::peer", peer = %peer.id.short(), "write timed out: peer not reading");
            Err(())
        }
    }
}
