//! Durable double-sign protection and the write-ahead log of this node's own consensus messages.
//!
//! Every own vote or proposal is written together with the signer state it advances to (last
//! signed height/round/step/value) in one atomic batch on the `signer` tree, flushed, before it
//! may leave the process ([`SignerStore::authorize_and_persist`]). After a crash the two are
//! therefore either both on disk or both absent: the node never restarts with its lock forgotten
//! while a peer holds its vote. The logged messages of a height are replayed into consensus on
//! restart, so the node resumes its round and lock instead of voting again differently; they are
//! cleared once that height's block is durable.

use crate::consensus::{DoubleSignGuard, GuardError, LastSigned, SignStep, SignerState};
use crate::p2p::Message;
use crate::storage::kv::{Batch, KvError, Tree};
use crate::types::Hash;
use crate::types::{Decode, Encode};
use thiserror::Error;

const STATE_KEY: &[u8] = b"signer_state";
const WAL_PREFIX: u8 = b'w';

/// Why an own message was not made durable (and so must not be sent).
#[derive(Debug, Error)]
pub enum SignerError {
    /// The batch of signer state and message could not be written or flushed.
    #[error("cannot write the signer state and own {what} of height {height} to disk: {source}; not sending it, signing stopped (free disk space or fix the data dir, then restart the node)")]
    Write {
        /// "vote" or "proposal".
        what: &'static str,
        /// Height of the message.
        height: u64,
        /// The sled error of the write or of the flush.
        source: KvError,
    },
    /// The message is not an own vote or proposal (a caller bug).
    #[error("only votes and proposals are signed, not {0}")]
    NotSignable(&'static str),
    /// The signer state does not name the message's slot and hash (a caller bug): storing both
    /// would leave a WAL the state does not vouch for.
    #[error("the signer state does not record the {0} being persisted")]
    StateMismatch(&'static str),
}

/// Why an own message may not be sent.
#[derive(Debug, Error)]
pub enum SignError {
    /// Signing it could double-sign: nothing happened, consensus may go on.
    #[error(transparent)]
    Refused(#[from] GuardError),
    /// It could not be made durable: nothing was sent and the node must stop signing.
    #[error(transparent)]
    Store(#[from] SignerError),
}

/// The tree behind a [`SignerStore`]; a seam so tests can make the durable write fail.
pub trait SignerBackend: Clone {
    /// The tree holding signer state and WAL.
    fn tree(&self) -> &Tree;

    /// Applies `batch` atomically and flushes it to disk before returning.
    fn apply_durably(&self, batch: Batch) -> Result<(), KvError> {
        self.tree().apply_batch(batch)?;
        self.tree().flush()?;
        Ok(())
    }
}

impl SignerBackend for Tree {
    fn tree(&self) -> &Tree {
        self
    }
}

/// Signer state and own-message log in a database tree.
#[derive(Clone)]
pub struct SignerStore<B: SignerBackend = Tree> {
    backend: B,
}

/// The signing slot and signed hash of an own message, and what to call it in errors.
fn slot_of(msg: &Message) -> Result<(LastSigned, &'static str), SignerError> {
    match msg {
        Message::Vote(v) => Ok((
            LastSigned {
                height: v.height,
                round: v.round,
                step: SignStep::from(v.kind),
                signing_hash: v.signing_bytes(),
            },
            "vote",
        )),
        Message::Proposal { proposal: p, .. } => Ok((
            LastSigned {
                height: p.height,
                round: p.round,
                step: SignStep::Propose,
                signing_hash: p.signing_bytes(),
            },
            "proposal",
        )),
        other => Err(SignerError::NotSignable(other.kind())),
    }
}

/// WAL key of a height: the prefix every entry of that height starts with.
fn wal_height_key(height: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(14);
    key.push(WAL_PREFIX);
    key.extend_from_slice(&height.to_be_bytes());
    key
}

/// WAL key of one signing slot: unique per (height, round, step), ordered like them. The guard
/// signs at most one message per slot, so the log needs no sequence number.
fn wal_key(slot: &LastSigned) -> Vec<u8> {
    let mut key = wal_height_key(slot.height);
    key.extend_from_slice(&slot.round.to_be_bytes());
    slot.step.encode_to(&mut key);
    key
}

impl SignerStore<Tree> {
    /// Wraps the `signer` tree.
    pub fn new(tree: impl Into<Tree>) -> SignerStore {
        SignerStore {
            backend: tree.into(),
        }
    }
}

impl<B: SignerBackend> SignerStore<B> {
    /// The persisted signer state, or the initial state.
    pub fn load_state(&self) -> SignerState {
        match self.backend.tree().get(STATE_KEY) {
            Ok(Some(b)) => match SignerState::from_bytes(&b) {
                Ok(s) => s,
                Err(e) => {
                    // Signing from scratch could double-sign: stop signing instead.
                    tracing::error!(target: "consensus", "signer state unreadable ({e}); refusing to sign until it is fixed");
                    refuse_all()
                }
            },
            Ok(None) => SignerState::default(),
            Err(e) => {
                tracing::error!(target: "consensus", "signer state unreadable ({e}); refusing to sign");
                refuse_all()
            }
        }
    }

    /// Writes `state` and the own message `msg` it was advanced for in one atomic batch and
    /// flushes it: when this returns `Ok`, both survive a crash; when it returns `Err`, the
    /// message must not be sent.
    pub fn persist_signed(&self, state: &SignerState, msg: &Message) -> Result<(), SignerError> {
        let (slot, what) = slot_of(msg)?;
        if state.last != Some(slot) {
            return Err(SignerError::StateMismatch(what));
        }
        let mut batch = Batch::default();
        batch.insert(STATE_KEY, state.to_bytes());
        batch.insert(wal_key(&slot), msg.to_bytes());
        self.backend
            .apply_durably(batch)
            .map_err(|source| SignerError::Write {
                what,
                height: slot.height,
                source,
            })
    }

    /// Asks `guard` whether the own message `msg` may be signed, persists it with the new
    /// state ([`Self::persist_signed`]) and only then records the state in `guard`. `Ok` is the
    /// only outcome after which `msg` may be sent.
    pub fn authorize_and_persist(
        &self,
        guard: &mut DoubleSignGuard,
        msg: &Message,
    ) -> Result<(), SignError> {
        let (slot, _) = slot_of(msg)?;
        let state = guard.next_state(slot.height, slot.round, slot.step, slot.signing_hash)?;
        self.persist_signed(&state, msg)?;
        guard.adopt(state);
        Ok(())
    }

    /// Own messages logged for `height`, in (round, step) order.
    pub fn wal(&self, height: u64) -> Vec<Message> {
        self.backend
            .tree()
            .scan_prefix(wal_height_key(height))
            .filter_map(|kv| kv.ok())
            .filter_map(|(_, v)| Message::from_bytes(&v).ok())
            .collect()
    }

    /// Drops the log entries of heights below `height`. Call it only once every block below
    /// `height` is durable: until then the log is what lets a restarted node finish that block.
    /// Not flushed: entries that come back after a crash are dropped by the next call.
    pub fn clear_wal_below(&self, height: u64) -> Result<(), KvError> {
        let tree = self.backend.tree();
        let mut batch = Batch::default();
        for kv in tree.range(vec![WAL_PREFIX]..wal_height_key(height)) {
            batch.remove(kv?.0);
        }
        tree.apply_batch(batch)
    }
}

/// A state that authorizes nothing (every message would be a regression).
fn refuse_all() -> SignerState {
    SignerState {
        last: Some(LastSigned {
            height: u64::MAX,
            round: u32::MAX,
            step: SignStep::Precommit,
            signing_hash: Hash::ZERO,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::consensus::DoubleSignGuard;
    use crate::types::{Domain, SecretKey, Vote, VoteKind};
    use std::path::Path;

    fn vote(height: u64, round: u32, kind: VoteKind, x: u8) -> Vote {
        Vote::new_signed(
            Hash::of(Domain::ChainId, b"test"),
            height,
            round,
            kind,
            Some(Hash::of(Domain::BlockHeader, &[x])),
            &SecretKey::from_seed(&[7; 32]),
        )
    }

    fn open(dir: &Path) -> (sled::Db, SignerStore) {
        let db = sled::Config::new().path(dir).open().unwrap();
        let store = SignerStore::new(db.open_tree("signer").unwrap());
        (db, store)
    }

    /// What a crash leaves on disk: a byte copy of the database files as they are now.
    fn crash_copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                crash_copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }

    #[test]
    fn signed_message_and_state_are_on_disk_together() {
        let tmp = tempfile::tempdir().unwrap();
        let (live, copy) = (tmp.path().join("live"), tmp.path().join("copy"));
        let (_db, store) = open(&live);
        let v = Message::Vote(vote(3, 1, VoteKind::Precommit, 9));
        let mut guard = DoubleSignGuard::default();
        store.authorize_and_persist(&mut guard, &v).unwrap();
        // No flush or drop after the call: what is on disk now is what a crash leaves.
        crash_copy(&live, &copy);
        let (_db2, reopened) = open(&copy);
        assert_eq!(reopened.load_state(), *guard.state());
        assert_eq!(reopened.wal(3), vec![v]);
    }

    /// A disk that takes nothing.
    #[derive(Clone)]
    struct BrokenDisk(Tree);

    impl SignerBackend for BrokenDisk {
        fn tree(&self) -> &Tree {
            &self.0
        }
        fn apply_durably(&self, _: Batch) -> Result<(), KvError> {
            Err(sled::Error::Io(std::io::Error::other("disk full")))
        }
    }

    #[test]
    fn a_failed_write_authorizes_nothing() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let store = SignerStore {
            backend: BrokenDisk(db.open_tree("signer").unwrap().into()),
        };
        let mut guard = DoubleSignGuard::default();
        let first = Message::Vote(vote(3, 0, VoteKind::Prevote, 1));
        let err = store.authorize_and_persist(&mut guard, &first).unwrap_err();
        assert!(matches!(
            err,
            SignError::Store(SignerError::Write { height: 3, .. })
        ));
        assert!(err.to_string().contains("not sending it"), "{err}");
        // Nothing is recorded anywhere, so nothing conflicts after a restart on a good disk.
        assert_eq!(*guard.state(), SignerState::default());
        assert_eq!(store.load_state(), SignerState::default());
        assert!(store.wal(3).is_empty());
    }

    #[test]
    fn log_is_keyed_by_slot_in_round_and_step_order() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let store = SignerStore::new(db.open_tree("signer").unwrap());
        let mut guard = DoubleSignGuard::default();
        let msgs = [
            Message::Vote(vote(5, 0, VoteKind::Prevote, 1)),
            Message::Vote(vote(5, 0, VoteKind::Precommit, 1)),
            Message::Vote(vote(5, 1, VoteKind::Prevote, 2)),
        ];
        for m in &msgs {
            store.authorize_and_persist(&mut guard, m).unwrap();
        }
        // Re-signing the identical message (a restart re-sending it) does not duplicate it.
        store.authorize_and_persist(&mut guard, &msgs[2]).unwrap();
        let conflicting = Message::Vote(vote(5, 1, VoteKind::Prevote, 3));
        assert!(matches!(
            store.authorize_and_persist(&mut guard, &conflicting),
            Err(SignError::Refused(GuardError::Conflict { .. }))
        ));
        assert_eq!(store.wal(5), msgs.to_vec());
        assert!(matches!(
            store.persist_signed(guard.state(), &Message::Ping(1)),
            Err(SignerError::NotSignable(_))
        ));
        assert!(matches!(
            store.persist_signed(guard.state(), &msgs[0]),
            Err(SignerError::StateMismatch("vote"))
        ));
    }

    #[test]
    fn clearing_keeps_the_height_not_yet_durable() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let store = SignerStore::new(db.open_tree("signer").unwrap());
        let mut guard = DoubleSignGuard::default();
        for h in 4..=6 {
            let m = Message::Vote(vote(h, 0, VoteKind::Precommit, 1));
            store.authorize_and_persist(&mut guard, &m).unwrap();
        }
        // Block 4 is durable, 5 is decided but still with the storage writer.
        store.clear_wal_below(5).unwrap();
        assert!(store.wal(4).is_empty());
        assert_eq!(store.wal(5).len(), 1);
        assert_eq!(store.wal(6).len(), 1);
    }
}
