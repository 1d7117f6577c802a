//! Proposal relay by announcement, free of sockets. A node pushes its own proposal in full to
//! every peer; one it relays goes out as a [`Message::Have`] of its gossip key, and a peer that
//! never received that proposal asks for it with [`Message::GetProposal`]. In a full mesh each
//! node gets every proposal from its proposer while the others validate it too, so nobody asks
//! and the block crosses each link once: pushed by every relayer, as before, a 16-node bench
//! sent each block about 200 times where 15 do (865 MB of the 1,025 MB all its nodes sent). On
//! a sparse network a node beyond the proposer's peers pays one round trip per hop; the
//! driver's re-send of a stuck height still pushes the proposal in full.
//!
//! [`Message::Have`]: super::Message::Have
//! [`Message::GetProposal`]: super::Message::GetProposal

use super::gossip::SeenSet;
use super::PeerId;
use crate::types::Hash;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Proposals remembered as received (a proposal's key is never asked for once it arrived).
const RECEIVED_CAP: usize = 1_024;
/// Most relayed proposal frames held for peers that ask.
const HELD_MAX: usize = 8;
/// Most bytes of relayed proposal frames held (a proposal frame is at most 4 MiB).
pub const HELD_MAX_BYTES: usize = 16 * 1024 * 1024;
/// Most outstanding asks remembered; the oldest is forgotten first.
const ASKED_CAP: usize = 64;
/// Most further announcers remembered per ask, asked in turn.
const NEXT_ANNOUNCERS: usize = 8;
/// An ask unanswered this long goes to the next peer that announced the proposal.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(1);

/// One outstanding ask: when it was sent, and the other peers that announced the proposal.
#[derive(Debug)]
struct Ask {
    key: Hash,
    at: Instant,
    next: VecDeque<PeerId>,
}

/// What the node knows of proposals on the way in and out of the p2p layer.
#[derive(Debug)]
pub struct ProposalRelay {
    received: SeenSet,
    held: VecDeque<(Hash, Arc<Vec<u8>>)>,
    held_bytes: usize,
    asks: VecDeque<Ask>,
}

impl Default for ProposalRelay {
    fn default() -> ProposalRelay {
        ProposalRelay {
            received: SeenSet::new(RECEIVED_CAP),
            held: VecDeque::new(),
            held_bytes: 0,
            asks: VecDeque::new(),
        }
    }
}

impl ProposalRelay {
    /// Notes that the proposal `key` reached the node (from any peer, or its own).
    pub fn on_received(&mut self, key: Hash) {
        self.received.insert(key);
        self.asks.retain(|a| a.key != key);
    }

    /// Whether to ask `peer`, which just announced `key`, for it at `now`: not if it reached
    /// the node already, nor while an earlier ask is younger than [`ASK_TIMEOUT`] (then `peer`
    /// is asked next, by [`ProposalRelay::due_asks`], if that one goes unanswered).
    pub fn should_ask(&mut self, key: Hash, peer: PeerId, now: Instant) -> bool {
        if self.received.contains(&key) {
            return false;
        }
        if let Some(ask) = self.asks.iter_mut().find(|a| a.key == key) {
            if now.saturating_duration_since(ask.at) < ASK_TIMEOUT {
                if ask.next.len() < NEXT_ANNOUNCERS && !ask.next.contains(&peer) {
                    ask.next.push_back(peer);
                }
                return false;
            }
            ask.at = now;
            ask.next.retain(|p| *p != peer);
            return true;
        }
        if self.asks.len() >= ASKED_CAP {
            self.asks.pop_front();
        }
        self.asks.push_back(Ask {
            key,
            at: now,
            next: VecDeque::new(),
        });
        true
    }

    /// The asks to send at `now`: for each proposal whose last ask is [`ASK_TIMEOUT`] old, the
    /// next peer that announced it (each announcer is asked once).
    pub fn due_asks(&mut self, now: Instant) -> Vec<(Hash, PeerId)> {
        let mut due = Vec::new();
        for ask in &mut self.asks {
            if now.saturating_duration_since(ask.at) < ASK_TIMEOUT {
                continue;
            }
            if let Some(peer) = ask.next.pop_front() {
                ask.at = now;
                due.push((ask.key, peer));
            }
        }
        due
    }

    /// Keeps the frame of the relayed proposal `key` for peers that ask, forgetting the oldest
    /// beyond [`HELD_MAX`] frames or [`HELD_MAX_BYTES`].
    pub fn hold(&mut self, key: Hash, frame: Arc<Vec<u8>>) {
        if frame.len() > HELD_MAX_BYTES || self.held.iter().any(|(k, _)| *k == key) {
            return;
        }
        while self.held.len() >= HELD_MAX || self.held_bytes + frame.len() > HELD_MAX_BYTES {
            let Some((_, old)) = self.held.pop_front() else {
                break;
            };
            self.held_bytes -= old.len();
        }
        self.held_bytes += frame.len();
        self.held.push_back((key, frame));
    }

    /// The held frame of the proposal `key`, if any.
    pub fn held(&self, key: &Hash) -> Option<Arc<Vec<u8>>> {
        self.held
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, f)| f.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> Hash {
        Hash([i; 32])
    }

    fn peer(i: u8) -> PeerId {
        crate::types::PublicKey([i; 32])
    }

    #[test]
    fn a_proposal_is_asked_of_one_announcer_then_the_next_and_never_once_received() {
        let mut r = ProposalRelay::default();
        let t0 = Instant::now();
        assert!(r.should_ask(key(1), peer(1), t0));
        assert!(!r.should_ask(key(1), peer(2), t0), "an ask is pending");
        assert!(!r.should_ask(key(1), peer(3), t0));
        assert!(r.due_asks(t0 + ASK_TIMEOUT / 2).is_empty());
        assert_eq!(r.due_asks(t0 + ASK_TIMEOUT), vec![(key(1), peer(2))]);
        assert!(
            r.due_asks(t0 + ASK_TIMEOUT * 3 / 2).is_empty(),
            "asked 2 just now"
        );
        assert_eq!(r.due_asks(t0 + ASK_TIMEOUT * 2), vec![(key(1), peer(3))]);
        assert!(
            r.due_asks(t0 + ASK_TIMEOUT * 3).is_empty(),
            "every announcer was asked"
        );
        assert!(
            r.should_ask(key(1), peer(4), t0 + ASK_TIMEOUT * 3),
            "a new announcer"
        );
        assert!(!r.should_ask(key(1), peer(5), t0 + ASK_TIMEOUT * 3));
        r.on_received(key(1));
        assert!(
            r.due_asks(t0 + ASK_TIMEOUT * 9).is_empty(),
            "received: nothing to ask"
        );
        assert!(!r.should_ask(key(1), peer(6), t0 + ASK_TIMEOUT * 9));
        r.on_received(key(2));
        assert!(!r.should_ask(key(2), peer(1), t0));
    }

    #[test]
    fn outstanding_asks_and_their_announcers_are_bounded() {
        let mut r = ProposalRelay::default();
        let t0 = Instant::now();
        for i in 0..=ASKED_CAP as u8 {
            assert!(r.should_ask(key(i), peer(0), t0));
        }
        assert_eq!(r.asks.len(), ASKED_CAP);
        assert!(
            r.should_ask(key(0), peer(0), t0),
            "the oldest ask was forgotten"
        );
        assert!(!r.should_ask(key(ASKED_CAP as u8), peer(0), t0));
        for i in 0..100u8 {
            r.should_ask(key(0), peer(i), t0);
        }
        let next = r
            .asks
            .iter()
            .find(|a| a.key == key(0))
            .map(|a| a.next.len());
        assert_eq!(next, Some(NEXT_ANNOUNCERS));
    }

    #[test]
    fn held_frames_are_bounded_in_count_and_bytes() {
        let mut r = ProposalRelay::default();
        for i in 0..HELD_MAX as u8 + 2 {
            r.hold(key(i), Arc::new(vec![i; 10]));
        }
        assert!(r.held(&key(0)).is_none() && r.held(&key(1)).is_none());
        assert_eq!(r.held(&key(2)).map(|f| f[0]), Some(2));
        assert_eq!(r.held.len(), HELD_MAX);
        let big = HELD_MAX_BYTES / 2 + 1;
        r.hold(key(100), Arc::new(vec![0; big]));
        r.hold(key(101), Arc::new(vec![0; big]));
        assert!(r.held(&key(100)).is_none(), "two halves do not fit");
        assert!(r.held(&key(101)).is_some());
        assert!(r.held_bytes <= HELD_MAX_BYTES);
        r.hold(key(102), Arc::new(vec![0; HELD_MAX_BYTES + 1]));
        assert!(r.held(&key(102)).is_none() && r.held(&key(101)).is_some());
    }
}
