//! Which peer to ask for blocks when the node is behind, and what to believe of peers' heights.
//!
//! A height a peer claims in its `Status` is only a claim: it counts while the peer is
//! connected, and a claim the peer does not serve when asked (no reply in time, or a reply that
//! does not start at the height asked for) is dropped and reported as misbehaviour. Requests
//! rotate among the connected peers that claim to be ahead, so one liar cannot hold the node
//! back: after a failure the next request goes to another peer.
//!
//! A request that is slow for its kind (lost on the way, or its peer busy) is hedged: the same
//! range goes to a second peer as well, without blaming the first, which keeps its full
//! [`REQUEST_TIMEOUT`]. Whichever answers first moves the node on; the other answer is still
//! one we asked for, and its blocks, already held, are skipped.

use crate::p2p::PeerId;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Most blocks asked for in one range request.
pub const SYNC_BATCH: u32 = 128;
/// A range request not answered in this time counts as a failure of that peer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Being one block behind is normal for a moment (a peer decided first); after this long it
/// is worth a request.
const ONE_BEHIND_GRACE: Duration = Duration::from_millis(400);
/// A request is hedged once it is outstanding this long, or [`HEDGE_FACTOR`] times as long as
/// replies have been taking, whichever is longer.
pub const HEDGE_AFTER: Duration = Duration::from_secs(1);
/// How many typical reply times a request may take before it is hedged: a large range that is
/// merely slow to serve is not asked for twice.
const HEDGE_FACTOR: u32 = 4;

/// An outstanding range request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// The peer the request went to.
    pub peer: PeerId,
    /// First height asked for.
    pub from: u64,
    /// When it was sent.
    pub at: Instant,
}

/// What the node should do about syncing now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncAction {
    /// Nothing (in sync, a request is outstanding, or no peer claims more).
    Wait,
    /// Ask `peer` for `count` blocks from `from`.
    Request {
        /// A peer that claims a height above ours.
        peer: PeerId,
        /// First height wanted: one above our height.
        from: u64,
        /// Number of blocks, at most [`SYNC_BATCH`].
        count: u32,
    },
}

/// Peers' claimed heights and the range requests in flight.
#[derive(Debug, Default)]
pub struct SyncTracker {
    claims: HashMap<PeerId, u64>,
    /// At most one per peer. Those starting one above our height are live (at most two: a
    /// request and its hedge); the others were overtaken by another peer's answer and are kept
    /// only until their own answer or timeout.
    requests: Vec<Request>,
    /// Smoothed time from request to answer, which sets when a request is hedged.
    reply_time: Option<Duration>,
    behind_since: Option<Instant>,
    /// Peers that did not serve a claim: their claims count only once they serve again, and
    /// they are asked only when no other peer is ahead.
    failed: HashSet<PeerId>,
    /// Rotates requests among the peers that are ahead.
    turn: usize,
    /// Catch-up progress for the log.
    pub progress: SyncProgress,
}

/// Shortest time between two progress lines while catching up.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Catch-up progress: how fast blocks come in and how long the rest will take, reported at
/// most every [`PROGRESS_EVERY`] and once more when caught up.
#[derive(Debug, Default)]
pub struct SyncProgress {
    /// Time and height the current measuring window started at.
    window: Option<(Instant, u64)>,
    /// When the last line was reported.
    last_line: Option<Instant>,
    /// Blocks per second measured for the last line, while still behind (the snapshot and
    /// the UI show it; `None` once caught up or before the first line).
    rate: Option<f64>,
}

/// One progress line for the log and the snapshot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProgressLine {
    /// Our finalized height when the line was made.
    pub height: u64,
    /// The best height peers claim.
    pub best: u64,
    /// Blocks applied per second since the previous line.
    pub blocks_per_s: f64,
    /// Seconds left at that rate (`None`: no rate yet).
    pub secs_left: Option<u64>,
    /// This batch reached the best claimed height.
    pub caught_up: bool,
}

/// Seconds until `height` reaches `best` at `blocks_per_s` (`None`: no rate to go by).
pub fn secs_left(height: u64, best: u64, blocks_per_s: f64) -> Option<u64> {
    (blocks_per_s > 0.0).then(|| (best.saturating_sub(height) as f64 / blocks_per_s).ceil() as u64)
}

impl SyncProgress {
    /// Blocks per second of the catch-up under way, as last measured (`None`: not catching up,
    /// or no measure yet).
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// Blocks from a range request sent at `asked_at` took the node from `before` to
    /// `height`, with `best` the best claimed height: a line to log, if one is due.
    pub fn on_synced(
        &mut self,
        asked_at: Instant,
        before: u64,
        height: u64,
        best: Option<u64>,
        now: Instant,
    ) -> Option<ProgressLine> {
        let best = best.unwrap_or(height).max(height);
        if self
            .last_line
            .is_some_and(|t| now.duration_since(t) >= 10 * PROGRESS_EVERY)
        {
            // A catch-up that ended without a line (the rest came by consensus): start over.
            *self = SyncProgress::default();
        }
        let (t0, h0) = *self.window.get_or_insert((asked_at, before));
        // On a live network the next block is being decided meanwhile: one behind is there.
        let caught_up = height + 1 >= best;
        let due = self
            .last_line
            .is_none_or(|t| now.duration_since(t) >= PROGRESS_EVERY);
        if !caught_up && !due {
            return None;
        }
        if caught_up
            && self.last_line.is_none()
            && height.saturating_sub(h0) < u64::from(SYNC_BATCH)
        {
            // A short catch-up (one batch, e.g. after a moment offline) is not worth a line.
            self.window = None;
            return None;
        }
        let secs = now.duration_since(t0).as_secs_f64();
        let blocks_per_s = if secs > 0.0 {
            height.saturating_sub(h0) as f64 / secs
        } else {
            0.0
        };
        let secs_left = secs_left(height, best, blocks_per_s);
        if caught_up {
            *self = SyncProgress::default();
        } else {
            self.window = Some((now, height));
            self.last_line = Some(now);
            self.rate = Some(blocks_per_s);
        }
        Some(ProgressLine {
            height,
            best,
            blocks_per_s,
            secs_left,
            caught_up,
        })
    }
}

impl SyncTracker {
    /// Records `peer`'s claimed height.
    pub fn on_status(&mut self, peer: PeerId, height: u64) {
        self.claims.insert(peer, height);
    }

    /// Forgets every peer for which `connected` is false, with its claim and any request to it.
    pub fn retain_connected(&mut self, connected: impl Fn(&PeerId) -> bool) {
        self.claims.retain(|p, _| connected(p));
        self.failed.retain(|p| connected(p));
        self.requests.retain(|r| connected(&r.peer));
    }

    /// The highest height claimed by a connected peer that has not failed to serve a claim.
    pub fn best_claim(&self) -> Option<u64> {
        self.claims
            .iter()
            .filter(|(p, _)| !self.failed.contains(p))
            .map(|(_, h)| *h)
            .max()
    }

    /// Our outstanding request to `peer`, if any.
    pub fn request_to(&self, peer: &PeerId) -> Option<Request> {
        self.requests.iter().find(|r| r.peer == *peer).copied()
    }

    /// Requests outstanding, live or overtaken.
    pub fn in_flight(&self) -> usize {
        self.requests.len()
    }

    /// Whether `peer` has a request of ours outstanding.
    pub fn awaiting(&self, peer: &PeerId) -> bool {
        self.request_to(peer).is_some()
    }

    /// `peer` served the blocks we asked for (at `now`): its request is closed and its claims
    /// count again.
    pub fn on_served(&mut self, peer: &PeerId, now: Instant) {
        if let Some(r) = self.request_to(peer) {
            let took = now.saturating_duration_since(r.at);
            // An exponential average over about four answers.
            self.reply_time = Some(match self.reply_time {
                Some(t) => (t * 3 + took) / 4,
                None => took,
            });
        }
        self.requests.retain(|r| r.peer != *peer);
        self.failed.remove(peer);
    }

    /// `peer` did not serve what it claimed: its claim is dropped (a later `Status` may claim
    /// again) and the next request goes elsewhere. Returns the peer to report, if any.
    pub fn on_failure(&mut self, peer: PeerId) -> PeerId {
        self.claims.remove(&peer);
        self.requests.retain(|r| r.peer != peer);
        self.failed.insert(peer);
        peer
    }

    /// How long a live request waits before it is hedged.
    fn hedge_after(&self) -> Duration {
        self.reply_time
            .map_or(HEDGE_AFTER, |t| (t * HEDGE_FACTOR).max(HEDGE_AFTER))
    }

    /// Decides whether to ask for blocks, given our height. A request that timed out is a
    /// failure of its peer (returned in the second field, for reporting; one per call).
    pub fn poll(&mut self, ours: u64, now: Instant) -> (SyncAction, Option<PeerId>) {
        let failed = self
            .requests
            .iter()
            .find(|r| now.duration_since(r.at) >= REQUEST_TIMEOUT)
            .map(|r| r.peer)
            .map(|p| self.on_failure(p));
        // Requests from one above our height would still move us on.
        let live: Vec<Request> = self
            .requests
            .iter()
            .filter(|r| r.from == ours + 1)
            .copied()
            .collect();
        let hedge_after = self.hedge_after();
        match live.as_slice() {
            [] => {}
            [r] if now.duration_since(r.at) >= hedge_after => {}
            _ => return (SyncAction::Wait, failed),
        }
        // Peers that failed once are asked only when no other peer is ahead; a claim at or
        // below our height does not count as ahead (or it would hide them for good).
        let best = self
            .best_claim()
            .filter(|b| *b > ours)
            .or_else(|| self.claims.values().max().copied());
        let Some(best) = best.filter(|b| *b > ours) else {
            self.behind_since = None;
            return (SyncAction::Wait, failed);
        };
        let since = *self.behind_since.get_or_insert(now);
        if best < ours + 2 && now.duration_since(since) <= ONE_BEHIND_GRACE {
            return (SyncAction::Wait, failed);
        }
        let mut ahead: Vec<(PeerId, u64)> = self
            .claims
            .iter()
            .filter(|(_, h)| **h > ours)
            .map(|(p, h)| (*p, *h))
            .collect();
        ahead.sort_by_key(|(p, _)| *p);
        if ahead.iter().any(|(p, _)| !self.failed.contains(p)) {
            ahead.retain(|(p, _)| !self.failed.contains(p));
        }
        // One request per peer: a peer still answering an earlier one is not asked again.
        ahead.retain(|(p, _)| !self.awaiting(p));
        let Some(&(peer, claim)) = ahead.get(self.turn % ahead.len().max(1)) else {
            return (SyncAction::Wait, failed);
        };
        self.turn = self.turn.wrapping_add(1);
        let from = ours + 1;
        let count = (claim - ours).min(SYNC_BATCH as u64) as u32;
        (SyncAction::Request { peer, from, count }, failed)
    }

    /// The request of [`SyncAction::Request`] was sent.
    pub fn sent(&mut self, peer: PeerId, from: u64, now: Instant) {
        self.requests.retain(|r| r.peer != peer);
        self.requests.push(Request {
            peer,
            from,
            at: now,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SecretKey;

    fn peer(n: u8) -> PeerId {
        SecretKey::from_seed(&[n; 32]).public()
    }

    fn requested(a: SyncAction) -> Option<PeerId> {
        match a {
            SyncAction::Request { peer, .. } => Some(peer),
            SyncAction::Wait => None,
        }
    }

    #[test]
    fn a_liar_that_does_not_serve_loses_its_claim_and_the_next_request_goes_elsewhere() {
        let (liar, honest) = (peer(1), peer(2));
        let mut s = SyncTracker::default();
        let t0 = Instant::now();
        s.on_status(liar, u64::MAX);
        s.on_status(honest, 20);
        let mut asked = vec![];
        let mut now = t0;
        for _ in 0..4 {
            let (a, _) = s.poll(10, now);
            if let Some(p) = requested(a) {
                asked.push(p);
                s.sent(p, 11, now);
                if p == honest {
                    s.on_served(&p, now);
                }
            }
            now += REQUEST_TIMEOUT + Duration::from_millis(1);
        }
        assert!(asked.contains(&honest), "{asked:?}");
        // The liar timed out at least once; a repeated claim does not count until it serves.
        assert_eq!(s.best_claim(), Some(20));
        s.on_status(liar, u64::MAX);
        assert_eq!(s.best_claim(), Some(20));
    }

    #[test]
    fn a_disconnected_peer_is_forgotten_with_its_request() {
        let p = peer(1);
        let mut s = SyncTracker::default();
        s.on_status(p, 1_000_000);
        let (a, _) = s.poll(0, Instant::now());
        assert_eq!(requested(a), Some(p));
        s.sent(p, 1, Instant::now());
        s.retain_connected(|_| false);
        assert_eq!(s.best_claim(), None);
        assert!(!s.awaiting(&p));
        assert_eq!(s.poll(0, Instant::now()).0, SyncAction::Wait);
    }

    #[test]
    fn progress_lines_are_spaced_and_end_when_caught_up() {
        let t = Instant::now();
        let s = Duration::from_secs;
        let mut p = SyncProgress::default();
        // The first batch reports at once: 128 blocks in 1 s, 872 left.
        let l = p.on_synced(t, 0, 128, Some(1_000), t + s(1)).unwrap();
        assert_eq!((l.height, l.best, l.secs_left), (128, 1_000, Some(7)));
        assert!((l.blocks_per_s - 128.0).abs() < 1e-9);
        assert!(!l.caught_up);
        assert_eq!(
            p.rate(),
            Some(l.blocks_per_s),
            "the snapshot shows the logged rate"
        );
        // Within 2 s of it: quiet.
        assert_eq!(p.on_synced(t, 128, 256, Some(1_000), t + s(2)), None);
        // Then the rate since the last line.
        let l = p.on_synced(t, 256, 512, Some(1_000), t + s(3)).unwrap();
        assert!((l.blocks_per_s - 192.0).abs() < 1e-9);
        // Caught up: one more line, then a fresh start.
        let l = p.on_synced(t, 512, 1_000, Some(1_000), t + s(4)).unwrap();
        assert!(l.caught_up);
        assert_eq!(l.secs_left, Some(0));
        assert_eq!(p.rate(), None, "caught up: no rate to show");
        // One behind counts as caught up.
        let mut q = SyncProgress::default();
        assert!(
            q.on_synced(t, 0, 200, Some(201), t + s(1))
                .unwrap()
                .caught_up
        );
        // A one-batch catch-up later logs nothing.
        assert_eq!(
            p.on_synced(t + s(9), 1_000, 1_003, Some(1_003), t + s(10)),
            None
        );
    }

    #[test]
    fn one_block_behind_waits_a_moment_two_ask_at_once() {
        let p = peer(1);
        let mut s = SyncTracker::default();
        let t0 = Instant::now();
        s.on_status(p, 11);
        assert_eq!(s.poll(10, t0).0, SyncAction::Wait);
        assert_eq!(requested(s.poll(10, t0 + ONE_BEHIND_GRACE * 2).0), Some(p));
        let mut s = SyncTracker::default();
        s.on_status(p, 12);
        assert_eq!(
            s.poll(10, t0).0,
            SyncAction::Request {
                peer: p,
                from: 11,
                count: 2
            }
        );
    }

    /// The only peer ahead timed out once (its reply was lost) and claims again: it is asked
    /// again. Before, the claim of a peer at our own height hid it, and a node a block behind
    /// whose one peer ahead had lost a reply stayed behind for good.
    #[test]
    fn the_only_peer_ahead_is_asked_again_after_a_timeout() {
        let (p, level) = (peer(1), peer(2));
        let mut s = SyncTracker::default();
        let t0 = Instant::now();
        s.on_status(level, 10);
        s.on_status(p, 11);
        let t1 = t0 + ONE_BEHIND_GRACE * 2;
        s.poll(10, t0);
        assert_eq!(requested(s.poll(10, t1).0), Some(p));
        s.sent(p, 11, t1);
        let t2 = t1 + REQUEST_TIMEOUT + Duration::from_millis(1);
        assert_eq!(s.poll(10, t2), (SyncAction::Wait, Some(p)));
        s.on_status(p, 11);
        let asked = (1..20u32)
            .map(|k| t2 + ONE_BEHIND_GRACE / 4 * k)
            .find_map(|t| requested(s.poll(10, t).0));
        assert_eq!(asked, Some(p));
    }

    #[test]
    fn an_outstanding_request_is_not_repeated() {
        let p = peer(1);
        let mut s = SyncTracker::default();
        let t0 = Instant::now();
        s.on_status(p, 500);
        let (a, _) = s.poll(0, t0);
        assert_eq!(
            a,
            SyncAction::Request {
                peer: p,
                from: 1,
                count: SYNC_BATCH
            }
        );
        s.sent(p, 1, t0);
        assert_eq!(s.poll(0, t0 + Duration::from_secs(1)).0, SyncAction::Wait);
        s.on_served(&p, t0 + Duration::from_secs(1));
        assert!(requested(s.poll(0, t0 + Duration::from_secs(1)).0).is_some());
    }

    /// The range request a restarted node sent was lost: after [`HEDGE_AFTER`] the same range
    /// goes to another peer, without blaming the first. The first answer moves the node on;
    /// the other is still one it asked for. Before, the node waited out the 5 s timeout while
    /// every other peer claimed more (simulation s12, seed 89).
    #[test]
    fn a_lost_request_is_hedged_to_another_peer_without_blaming_the_first() {
        let (a, b, c) = (peer(1), peer(2), peer(3));
        let mut s = SyncTracker::default();
        let t0 = Instant::now();
        for p in [a, b, c] {
            s.on_status(p, 20);
        }
        let first = requested(s.poll(10, t0).0).unwrap();
        s.sent(first, 11, t0);
        let almost = t0 + HEDGE_AFTER - Duration::from_millis(1);
        assert_eq!(s.poll(10, almost), (SyncAction::Wait, None));
        let t1 = t0 + HEDGE_AFTER;
        let (action, failed) = s.poll(10, t1);
        assert_eq!(failed, None, "the first peer is not blamed early");
        let SyncAction::Request {
            peer: second,
            from,
            count,
        } = action
        else {
            panic!("not hedged: {action:?}");
        };
        assert_ne!(second, first);
        assert_eq!((from, count), (11, 10), "the same range");
        s.sent(second, 11, t1);
        // Two live requests: no third.
        assert_eq!(s.poll(10, t1 + HEDGE_AFTER * 2), (SyncAction::Wait, None));
        // The hedge answers; the node moves on and asks nothing of the first meanwhile.
        s.on_served(&second, t1 + Duration::from_millis(20));
        assert!(s.awaiting(&first), "its answer is still one we asked for");
        let next = requested(s.poll(20, t1 + Duration::from_millis(30)).0);
        assert_eq!(next, None, "in sync");
        // The first never answers: at its full timeout it is a failure, as without a hedge.
        let (_, failed) = s.poll(20, t0 + REQUEST_TIMEOUT);
        assert_eq!(failed, Some(first));
    }

    /// Replies that take long because the ranges are large (a deep catch-up) are not asked for
    /// twice: the hedge waits several typical reply times.
    #[test]
    fn a_request_as_slow_as_the_usual_replies_is_not_hedged() {
        let (a, b) = (peer(1), peer(2));
        let mut s = SyncTracker::default();
        let mut now = Instant::now();
        for p in [a, b] {
            s.on_status(p, 100_000);
        }
        let mut ours = 0;
        // Four ranges, each served in 1.5 s.
        for _ in 0..4 {
            let p = requested(s.poll(ours, now).0).unwrap();
            s.sent(p, ours + 1, now);
            now += Duration::from_millis(1_500);
            s.on_served(&p, now);
            ours += u64::from(SYNC_BATCH);
        }
        let p = requested(s.poll(ours, now).0).unwrap();
        s.sent(p, ours + 1, now);
        let later = now + Duration::from_secs(4);
        assert_eq!(
            s.poll(ours, later).0,
            SyncAction::Wait,
            "hedged a normal reply"
        );
        // Without that history, the same wait is hedged.
        let mut fresh = SyncTracker::default();
        fresh.on_status(a, 100_000);
        fresh.on_status(b, 100_000);
        let p = requested(fresh.poll(0, now).0).unwrap();
        fresh.sent(p, 1, now);
        assert!(requested(fresh.poll(0, later).0).is_some());
    }
}
