//! Peer-exchange rules for one connection: addresses are taken only in reply to our own
//! `GetPeers`, one `GetPeers` is answered per connection, and a peer that keeps pushing
//! addresses nobody asked for is misbehaving (a single stray reply is forgiven).

use super::score::TokenBucket;

/// Unsolicited `Peers` messages forgiven at once on one connection. Honest peers send none;
/// the slack keeps a peer that answered twice, or late, out of trouble.
const UNSOLICITED_FORGIVEN: f64 = 3.0;
/// One more unsolicited `Peers` message is forgiven every this many seconds.
const UNSOLICITED_FORGIVEN_EVERY_SECS: f64 = 600.0;

/// What to do with a `Peers` message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PeersVerdict {
    /// The reply to our request: take its addresses (up to the per-reply cap).
    Take,
    /// Unsolicited but forgiven: drop it.
    Ignore,
    /// Unsolicited beyond what is forgiven: drop it and report the peer.
    Offence,
}

/// The exchange state of one connection.
#[derive(Debug)]
pub(crate) struct AddrExchange {
    asked: bool,
    answered: bool,
    unsolicited: TokenBucket,
}

impl AddrExchange {
    pub(crate) fn new() -> AddrExchange {
        AddrExchange {
            asked: false,
            answered: false,
            unsolicited: TokenBucket::new(
                1.0 / UNSOLICITED_FORGIVEN_EVERY_SECS,
                UNSOLICITED_FORGIVEN,
            ),
        }
    }

    /// Notes that we sent the peer a `GetPeers`: its next `Peers` is the reply.
    pub(crate) fn asked(&mut self) {
        self.asked = true;
    }

    /// Whether to answer the peer's `GetPeers`: the first one only, so that repeating it
    /// cannot make us build replies in a loop.
    pub(crate) fn answer_get_peers(&mut self) -> bool {
        !std::mem::replace(&mut self.answered, true)
    }

    /// Classifies a `Peers` message from the peer.
    pub(crate) fn on_peers(&mut self) -> PeersVerdict {
        if std::mem::take(&mut self.asked) {
            PeersVerdict::Take
        } else if self.unsolicited.try_take(1.0) {
            PeersVerdict::Ignore
        } else {
            PeersVerdict::Offence
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_reply_to_our_request_is_taken() {
        let mut x = AddrExchange::new();
        assert_eq!(
            x.on_peers(),
            PeersVerdict::Ignore,
            "one stray reply is forgiven"
        );
        x.asked();
        assert_eq!(x.on_peers(), PeersVerdict::Take);
        assert_eq!(
            x.on_peers(),
            PeersVerdict::Ignore,
            "a second reply is not taken"
        );
        assert_eq!(x.on_peers(), PeersVerdict::Ignore);
        assert_eq!(
            x.on_peers(),
            PeersVerdict::Offence,
            "a stream of them is an offence"
        );
        assert!(x.answer_get_peers());
        assert!(!x.answer_get_peers());
    }
}
