//! Equivocation evidence waiting to be included in a block: one piece per offender.
//!
//! Evidence is kept only against a registered masternode that is not banned yet, for a height
//! the node has reached, so the pool holds at most one entry per registered masternode. One
//! piece is enough to ban: later evidence against the same offender is neither kept nor
//! relayed. Evidence never makes the node start a height; it waits for the next block.

use crate::ledger::LedgerState;
use crate::types::{Evidence, PublicKey};
use std::collections::BTreeMap;

/// Why evidence was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skipped {
    /// Evidence against this offender is pooled already.
    Known,
    /// The offender is not a registered masternode, or is banned already.
    NotAMasternode,
    /// Its votes are for a height this node has not reached.
    FutureHeight,
}

/// The pool; see the module doc.
#[derive(Default)]
pub struct EvidencePool {
    by_offender: BTreeMap<PublicKey, Evidence>,
}

impl EvidencePool {
    /// Pieces of evidence held.
    pub fn count(&self) -> usize {
        self.by_offender.len()
    }

    /// Cheap checks (no signature work): whether `ev` would be taken, given the state and the
    /// height being decided.
    pub fn admits(
        &self,
        ev: &Evidence,
        state: &LedgerState,
        current_height: u64,
    ) -> Result<(), Skipped> {
        let off = ev.offender();
        if self.by_offender.contains_key(&off) {
            return Err(Skipped::Known);
        }
        if ev.a.height > current_height {
            return Err(Skipped::FutureHeight);
        }
        match state.masternode_by_key(&off) {
            Some(m) if !m.banned => Ok(()),
            _ => Err(Skipped::NotAMasternode),
        }
    }

    /// Adds evidence whose signatures were verified and which [`Self::admits`] accepted.
    pub fn insert(&mut self, ev: Evidence) {
        self.by_offender.entry(ev.offender()).or_insert(ev);
    }

    /// Evidence to include in a block of `height`: against masternodes still registered and not
    /// banned, for earlier heights, at most `max`.
    pub fn for_block(&self, state: &LedgerState, height: u64, max: usize) -> Vec<Evidence> {
        self.by_offender
            .values()
            .filter(|e| e.a.height < height)
            .filter(|e| {
                state
                    .masternode_by_key(&e.offender())
                    .is_some_and(|m| !m.banned)
            })
            .take(max)
            .cloned()
            .collect()
    }

    /// Drops evidence whose offender is banned or no longer registered (after a block).
    pub fn prune(&mut self, state: &LedgerState) {
        self.by_offender
            .retain(|k, _| state.masternode_by_key(k).is_some_and(|m| !m.banned));
    }
}
