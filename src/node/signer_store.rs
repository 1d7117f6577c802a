//! Durable double-sign protection and the write-ahead log of this node's own consensus messages.
//!
//! The signer state (last signed height/round/step/value) is written and flushed before a vote or
//! proposal leaves the process. Own messages of the current height are logged so a restarted node
//! replays them into consensus and resumes its round instead of voting again differently.

use crate::consensus::{LastSigned, SignStep, SignerState};
use crate::p2p::Message;
use crate::types::Hash;
use crate::types::{Decode, Encode};

const STATE_KEY: &[u8] = b"signer_state";
const WAL_PREFIX: u8 = b'w';

/// Signer state and own-message log in a sled tree.
#[derive(Clone)]
pub struct SignerStore {
    tree: sled::Tree,
}

impl SignerStore {
    /// Wraps the `signer` tree.
    pub fn new(tree: sled::Tree) -> SignerStore {
        SignerStore { tree }
    }

    /// The persisted signer state, or the initial state.
    pub fn load_state(&self) -> SignerState {
        match self.tree.get(STATE_KEY) {
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

    /// Persists the signer state and flushes it to disk.
    pub fn save_state(&self, s: &SignerState) -> Result<(), sled::Error> {
        self.tree.insert(STATE_KEY, s.to_bytes())?;
        self.tree.flush()?;
        Ok(())
    }

    /// Appends an own message of `height` to the log.
    pub fn log(&self, height: u64, msg: &Message) {
        let mut key = vec![WAL_PREFIX];
        key.extend_from_slice(&height.to_be_bytes());
        let seq = self.tree.scan_prefix(&key).count() as u64;
        key.extend_from_slice(&seq.to_be_bytes());
        if let Err(e) = self.tree.insert(key, msg.to_bytes()) {
            tracing::warn!(target: "consensus", "own-message log write failed: {e}");
        }
    }

    /// Own messages logged for `height`, in order.
    pub fn wal(&self, height: u64) -> Vec<Message> {
        let mut prefix = vec![WAL_PREFIX];
        prefix.extend_from_slice(&height.to_be_bytes());
        self.tree
            .scan_prefix(prefix)
            .filter_map(|kv| kv.ok())
            .filter_map(|(_, v)| Message::from_bytes(&v).ok())
            .collect()
    }

    /// Drops log entries of heights below `height`.
    pub fn clear_wal_below(&self, height: u64) {
        let mut end = vec![WAL_PREFIX];
        end.extend_from_slice(&height.to_be_bytes());
        let keys: Vec<sled::IVec> = self
            .tree
            .range(vec![WAL_PREFIX]..end)
            .filter_map(|kv| kv.ok())
            .map(|(k, _)| k)
            .collect();
        for k in keys {
            let _ = self.tree.remove(k);
        }
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
