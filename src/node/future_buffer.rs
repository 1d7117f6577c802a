//! Consensus messages for the next height, kept until that height starts.
//!
//! Only messages whose signature was verified and whose signer is a registered masternode are
//! offered here (the driver checks both first), and the buffer is bounded in bytes, in all and
//! per peer ([`FutureLimits`]), so a peer cannot make the node hold more than its share. A message
//! that does not fit is dropped, not remembered: a later copy (a re-broadcast) can still be
//! buffered.

use crate::p2p::{Message, PeerId};
use crate::types::Signature;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// Bytes of buffered messages in all, by default.
pub const TOTAL_BYTES: usize = 32 * 1024 * 1024;
/// Bytes of buffered messages from one peer, by default.
pub const PEER_BYTES: usize = 8 * 1024 * 1024;

/// The buffer's bounds in (estimated heap) bytes. The node runs with the defaults; the simulation
/// sets small ones so that a flood reaches them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FutureLimits {
    /// Bytes in all.
    pub total_bytes: usize,
    /// Bytes from one peer.
    pub peer_bytes: usize,
}

impl Default for FutureLimits {
    fn default() -> FutureLimits {
        FutureLimits {
            total_bytes: TOTAL_BYTES,
            peer_bytes: PEER_BYTES,
        }
    }
}

struct Entry {
    peer: PeerId,
    height: u64,
    msg: Message,
    bytes: usize,
}

/// The buffer; see the module doc.
#[derive(Default)]
pub struct FutureBuffer {
    limits: FutureLimits,
    entries: VecDeque<Entry>,
    bytes: usize,
    per_peer: HashMap<PeerId, usize>,
    /// Signatures of the buffered messages (one signature, one message).
    held: HashSet<Signature>,
    /// Buffered messages per height.
    heights: BTreeMap<u64, usize>,
}

/// Why a message was not buffered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The same message is buffered already.
    Duplicate,
    /// The peer's share or the whole buffer is full.
    Full,
    /// Not a vote or proposal.
    NotConsensus,
}

impl FutureBuffer {
    /// An empty buffer bounded by `limits`.
    pub fn new(limits: FutureLimits) -> FutureBuffer {
        FutureBuffer {
            limits,
            ..FutureBuffer::default()
        }
    }

    /// Estimated heap bytes of the buffered messages, at most the limits' `total_bytes`.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Buffers `msg` from `peer`.
    pub fn push(&mut self, peer: PeerId, msg: Message) -> Result<(), Refused> {
        let (height, sig) = match &msg {
            Message::Vote(v) => (v.height, v.signature),
            Message::Proposal { proposal, .. } => (proposal.height, proposal.signature),
            _ => return Err(Refused::NotConsensus),
        };
        if self.held.contains(&sig) {
            return Err(Refused::Duplicate);
        }
        let bytes = crate::p2p::heap::message_bytes(&msg);
        let peer_bytes = self.per_peer.get(&peer).copied().unwrap_or(0);
        if self.bytes + bytes > self.limits.total_bytes
            || peer_bytes + bytes > self.limits.peer_bytes
        {
            return Err(Refused::Full);
        }
        self.held.insert(sig);
        self.bytes += bytes;
        *self.per_peer.entry(peer).or_insert(0) += bytes;
        *self.heights.entry(height).or_insert(0) += 1;
        self.entries.push_back(Entry {
            peer,
            height,
            msg,
            bytes,
        });
        Ok(())
    }

    /// Whether a message for `height` is buffered.
    pub fn has_height(&self, height: u64) -> bool {
        self.heights.contains_key(&height)
    }

    /// Takes the messages for `height` in arrival order, drops those below it and keeps the
    /// later ones.
    pub fn take_height(&mut self, height: u64) -> Vec<(PeerId, Message)> {
        let mut out = Vec::new();
        let mut keep = VecDeque::new();
        for e in std::mem::take(&mut self.entries) {
            if e.height > height {
                keep.push_back(e);
                continue;
            }
            self.bytes -= e.bytes;
            if let Some(n) = self.per_peer.get_mut(&e.peer) {
                *n -= e.bytes;
                if *n == 0 {
                    self.per_peer.remove(&e.peer);
                }
            }
            if let Some(n) = self.heights.get_mut(&e.height) {
                *n -= 1;
                if *n == 0 {
                    self.heights.remove(&e.height);
                }
            }
            let sig = match &e.msg {
                Message::Vote(v) => v.signature,
                Message::Proposal { proposal, .. } => proposal.signature,
                _ => continue,
            };
            self.held.remove(&sig);
            if e.height == height {
                out.push((e.peer, e.msg));
            }
        }
        self.entries = keep;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Hash, SecretKey, Vote, VoteKind};

    fn vote(key: &SecretKey, height: u64, round: u32) -> Message {
        Message::Vote(Vote::new_signed(
            Hash([1; 32]),
            height,
            round,
            VoteKind::Prevote,
            None,
            key,
        ))
    }

    #[test]
    fn one_peer_cannot_fill_the_buffer() {
        let (a, b) = (
            SecretKey::from_seed(&[1; 32]),
            SecretKey::from_seed(&[2; 32]),
        );
        let (pa, pb) = (a.public(), b.public());
        let mut buf = FutureBuffer::default();
        let per_msg = crate::p2p::heap::message_bytes(&vote(&a, 5, 0));
        let mut taken = 0;
        for r in 0..(PEER_BYTES / per_msg + 10) as u32 {
            if buf.push(pa, vote(&a, 5, r)).is_ok() {
                taken += 1;
            }
        }
        assert_eq!(taken, PEER_BYTES / per_msg);
        assert_eq!(buf.push(pa, vote(&a, 5, u32::MAX)), Err(Refused::Full));
        // Another peer still has its share.
        assert_eq!(buf.push(pb, vote(&b, 5, 0)), Ok(()));
    }

    #[test]
    fn duplicates_are_refused_and_heights_are_taken_in_order() {
        let k = SecretKey::from_seed(&[1; 32]);
        let p = k.public();
        let mut buf = FutureBuffer::default();
        assert_eq!(buf.push(p, vote(&k, 5, 0)), Ok(()));
        assert_eq!(buf.push(p, vote(&k, 5, 0)), Err(Refused::Duplicate));
        assert_eq!(buf.push(p, vote(&k, 6, 0)), Ok(()));
        assert_eq!(buf.push(p, vote(&k, 4, 0)), Ok(()));
        assert!(buf.has_height(5));
        let got = buf.take_height(5);
        assert_eq!(got.len(), 1);
        assert!(!buf.has_height(4), "older heights are dropped");
        assert!(buf.has_height(6), "later heights are kept");
        // What was taken can be buffered again (it is not remembered).
        assert_eq!(buf.push(p, vote(&k, 5, 0)), Ok(()));
        assert_eq!(buf.push(p, Message::GetPeers), Err(Refused::NotConsensus));
    }
}
