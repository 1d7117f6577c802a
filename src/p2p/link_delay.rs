//! An emulated link latency for benchmarks and tests (as CometBFT's QA emulates it with
//! netem): every frame a peer's writer sends leaves no earlier than `base` plus a uniform
//! jitter in `[0, jitter]` after the writer took it from the peer's queue. Never configured by
//! a config file or flag of a normal node; only `timed bench --latency-ms` and tests set
//! [`super::P2pConfig::link_delay`].
//!
//! The delay applies on the sending side, so a link between two nodes is delayed each way.
//! The TLS handshake and the Hello are not delayed: the model is for the messages of a running
//! connection.

use rand::Rng;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The delay of every message on a link, one way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkDelay {
    /// Delay every frame gets.
    pub base: Duration,
    /// Upper bound of the uniform extra delay drawn per frame.
    pub jitter: Duration,
}

impl LinkDelay {
    /// A delay of `base_ms` plus up to `jitter_ms` milliseconds; `None` when both are 0 (the
    /// model would be the identity).
    pub fn from_millis(base_ms: u64, jitter_ms: u64) -> Option<LinkDelay> {
        (base_ms > 0 || jitter_ms > 0).then(|| LinkDelay {
            base: Duration::from_millis(base_ms),
            jitter: Duration::from_millis(jitter_ms),
        })
    }

    /// This frame's delay: `base` plus a uniform draw in `[0, jitter]`.
    fn sample(&self) -> Duration {
        if self.jitter.is_zero() {
            return self.base;
        }
        let extra = rand::thread_rng().gen_range(0..=self.jitter.as_micros() as u64);
        self.base + Duration::from_micros(extra)
    }
}

/// Frames waiting for their release time, first in first out. Release times never decrease
/// along the line, so jitter cannot reorder a link's frames: a frame whose draw would let it
/// overtake the one before it leaves together with that one instead.
#[derive(Debug)]
pub(crate) struct DelayLine<T> {
    delay: LinkDelay,
    queue: VecDeque<(Instant, T)>,
}

impl<T> DelayLine<T> {
    pub(crate) fn new(delay: LinkDelay) -> DelayLine<T> {
        DelayLine {
            delay,
            queue: VecDeque::new(),
        }
    }

    /// Queues `item`, taken from the peer's queue at `now`.
    pub(crate) fn push(&mut self, item: T, now: Instant) {
        let release = now + self.delay.sample();
        self.push_at(item, release);
    }

    fn push_at(&mut self, item: T, release: Instant) {
        let release = match self.queue.back() {
            Some((last, _)) => release.max(*last),
            None => release,
        };
        self.queue.push_back((release, item));
    }

    /// The oldest frame if its release time is not after `now`.
    pub(crate) fn pop_ready(&mut self, now: Instant) -> Option<T> {
        if self.queue.front().is_some_and(|(at, _)| *at <= now) {
            return self.queue.pop_front().map(|(_, item)| item);
        }
        None
    }

    /// When the oldest frame is due, if any is waiting.
    pub(crate) fn next_release(&self) -> Option<Instant> {
        self.queue.front().map(|(at, _)| *at)
    }

    /// Frames waiting.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn zero_delay_is_no_model() {
        assert_eq!(LinkDelay::from_millis(0, 0), None);
        assert_eq!(LinkDelay::from_millis(0, 5).map(|d| d.jitter), Some(5 * MS));
    }

    #[test]
    fn frames_leave_in_order_and_never_early() {
        let delay = LinkDelay {
            base: 20 * MS,
            jitter: 15 * MS,
        };
        let t0 = Instant::now();
        let mut line = DelayLine::new(delay);
        // Frames queued 1 ms apart, with jitter much larger than the spacing.
        let queued: Vec<Instant> = (0..200u32).map(|i| t0 + i * MS).collect();
        for (i, at) in queued.iter().enumerate() {
            line.push(i, *at);
        }
        assert_eq!(line.len(), queued.len());
        let mut out = Vec::new();
        while let Some(due) = line.next_release() {
            assert_eq!(
                line.pop_ready(due - Duration::from_micros(1)),
                None,
                "released before its time"
            );
            while let Some(i) = line.pop_ready(due) {
                assert!(due >= queued[i] + delay.base, "frame {i} left early");
                out.push(i);
            }
        }
        assert_eq!(out, (0..200).collect::<Vec<_>>(), "reordered");
    }

    #[test]
    fn due_frames_leave_while_later_ones_wait() {
        let t0 = Instant::now();
        let mut line = DelayLine::new(LinkDelay {
            base: 10 * MS,
            jitter: Duration::ZERO,
        });
        line.push("a", t0);
        line.push("b", t0 + 5 * MS);
        assert_eq!(line.pop_ready(t0 + 9 * MS), None);
        assert_eq!(line.pop_ready(t0 + 10 * MS), Some("a"));
        assert_eq!(line.pop_ready(t0 + 10 * MS), None);
        assert_eq!(line.next_release(), Some(t0 + 15 * MS));
        assert_eq!(line.pop_ready(t0 + 15 * MS), Some("b"));
        assert!(line.is_empty());
    }

    #[test]
    fn a_later_frame_never_overtakes() {
        let t0 = Instant::now();
        let mut line = DelayLine::new(LinkDelay::default());
        line.push_at(1, t0 + 30 * MS);
        line.push_at(2, t0 + 10 * MS);
        assert_eq!(line.pop_ready(t0 + 10 * MS), None);
        assert_eq!(line.pop_ready(t0 + 30 * MS), Some(1));
        assert_eq!(line.pop_ready(t0 + 30 * MS), Some(2));
    }
}
