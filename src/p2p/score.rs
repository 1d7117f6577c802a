//! Misbehaviour scoring and per-peer token buckets.

use std::time::{Duration, Instant};

/// Offences a peer can commit; each adds points to the peer's score, and reaching the ban
/// threshold (default 100) bans and disconnects the peer. Equivocation is not among them: the
/// peer that relays two conflicting votes is not their signer; the evidence bans the signer on
/// chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Misbehaviour {
    /// A vote, proposal, transaction or certificate with an invalid signature.
    InvalidSignature,
    /// A frame that does not decode as a message, or a message out of place.
    MalformedFrame,
    /// A frame announcing more than the size limit.
    OversizedFrame,
    /// Blocks nobody asked for.
    UnsolicitedBlocks,
    /// A transaction no honest node would have relayed: a context-free fault (bad signature,
    /// malformed, oversize, relay policy; see `MempoolError::is_context_free`), never one whose
    /// validity depends on the local tip or pool (missing input, double spend, lock time,
    /// masternode state, local fee floor).
    InvalidTx,
    /// A block that fails validation.
    InvalidBlock,
    /// Messages or bytes far beyond the rate limit.
    RateLimited,
    /// A claimed height (in `Status`) not served when asked for.
    UnservedClaim,
    /// `Peers` messages nobody asked for, beyond the few forgiven.
    UnsolicitedAddrs,
}

impl Misbehaviour {
    /// Points this offence adds to the peer's score.
    pub fn score(self) -> i32 {
        match self {
            Misbehaviour::InvalidSignature => 100,
            Misbehaviour::MalformedFrame => 100,
            Misbehaviour::OversizedFrame => 100,
            Misbehaviour::UnsolicitedBlocks => 20,
            Misbehaviour::InvalidTx => 10,
            Misbehaviour::InvalidBlock => 100,
            Misbehaviour::RateLimited => 20,
            Misbehaviour::UnservedClaim => 10,
            Misbehaviour::UnsolicitedAddrs => 20,
        }
    }

    /// Name for logs and ban reasons.
    pub fn name(self) -> &'static str {
        match self {
            Misbehaviour::InvalidSignature => "invalid signature",
            Misbehaviour::MalformedFrame => "malformed frame",
            Misbehaviour::OversizedFrame => "oversized frame",
            Misbehaviour::UnsolicitedBlocks => "unsolicited blocks",
            Misbehaviour::InvalidTx => "invalid transaction",
            Misbehaviour::InvalidBlock => "invalid block",
            Misbehaviour::RateLimited => "rate limit exceeded",
            Misbehaviour::UnservedClaim => "claimed height not served",
            Misbehaviour::UnsolicitedAddrs => "unsolicited addresses",
        }
    }
}

/// A token bucket: `rate` tokens per second, holding at most `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket: `burst` tokens (at least 1), refilled at `rate` tokens per second.
    pub fn new(rate: f64, burst: f64) -> TokenBucket {
        TokenBucket::new_at(rate, burst, Instant::now())
    }

    /// A full bucket as of `now` (for tests).
    pub fn new_at(rate: f64, burst: f64, now: Instant) -> TokenBucket {
        let burst = burst.max(1.0);
        TokenBucket {
            rate: rate.max(0.0),
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes `n` tokens if available now.
    pub fn try_take(&mut self, n: f64) -> bool {
        self.try_take_at(n, Instant::now())
    }

    /// Takes `n` tokens if available at `now`.
    pub fn try_take_at(&mut self, n: f64, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// Spends `n` tokens at `now` whether or not they are there: the bucket may go into debt
    /// (down to minus `burst`), which later takes must wait out.
    pub fn charge_at(&mut self, n: f64, now: Instant) {
        self.refill(now);
        self.tokens = (self.tokens - n).max(-self.burst);
    }

    /// How long after `now` until `n` tokens are there (zero if they are now; a second when
    /// the bucket never refills).
    pub fn wait_at(&mut self, n: f64, now: Instant) -> Duration {
        self.refill(now);
        let missing = n.min(self.burst) - self.tokens;
        if missing <= 0.0 {
            Duration::ZERO
        } else if self.rate <= 0.0 {
            Duration::from_secs(1)
        } else {
            Duration::from_secs_f64(missing / self.rate)
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now.max(self.last);
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new_at(10.0, 20.0, t0);
        let ok = (0..30).filter(|_| b.try_take_at(1.0, t0)).count();
        assert_eq!(ok, 20);
        // Half a second refills five tokens.
        let t1 = t0 + Duration::from_millis(500);
        let ok = (0..30).filter(|_| b.try_take_at(1.0, t1)).count();
        assert_eq!(ok, 5);
        // A long pause refills only up to the burst.
        let t2 = t1 + Duration::from_secs(100);
        let ok = (0..30).filter(|_| b.try_take_at(1.0, t2)).count();
        assert_eq!(ok, 20);
        // Time going backwards never adds tokens.
        assert!(!b.try_take_at(1.0, t0));
    }

    #[test]
    fn bucket_sustained_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new_at(2_000.0, 4_000.0, t0);
        // 10,000 messages per second for 2 seconds: 4,000 burst + 4,000 refill pass.
        let mut ok = 0;
        for i in 0..20_000u64 {
            let t = t0 + Duration::from_micros(i * 100);
            if b.try_take_at(1.0, t) {
                ok += 1;
            }
        }
        assert!((7_900..=8_100).contains(&ok), "{ok}");
    }

    #[test]
    fn charges_go_into_debt_that_waits_are_measured_against() {
        let ms = |d: Duration| (d.as_secs_f64() * 1e3 * 1e6).round() / 1e6;
        let t0 = Instant::now();
        let mut b = TokenBucket::new_at(1_000.0, 4.0, t0);
        assert_eq!(b.wait_at(1.0, t0), Duration::ZERO);
        b.charge_at(5.0, t0); // 4 - 5 = -1
        assert_eq!(ms(b.wait_at(1.0, t0)), 2.0);
        assert!(!b.try_take_at(1.0, t0 + Duration::from_millis(1)));
        assert!(b.try_take_at(1.0, t0 + Duration::from_millis(2)));
        let t2 = t0 + Duration::from_millis(2);
        b.charge_at(100.0, t2); // floored at -4
        assert_eq!(ms(b.wait_at(1.0, t2)), 5.0, "debt is bounded by the burst");
        let mut dry = TokenBucket::new_at(0.0, 1.0, t0);
        dry.charge_at(1.0, t0);
        assert_eq!(dry.wait_at(1.0, t0), Duration::from_secs(1));
    }

    #[test]
    fn scores() {
        assert_eq!(Misbehaviour::InvalidSignature.score(), 100);
        assert!(Misbehaviour::InvalidTx.score() < 100);
    }
}
