//! The node snapshot the RPC server, the metrics and the UI read.

use super::*;
use crate::node::snapshot::{CatchUp, OwnMasternode, Published};
use crate::node::sync::secs_left;

/// Longest time between two publications of the snapshot while the driver runs.
pub(super) const HEARTBEAT: Duration = Duration::from_secs(1);

impl Driver {
    pub(super) fn publish(&mut self, force: bool) {
        let now = self.clock.now();
        let since = now.duration_since(self.last_published);
        // A changed snapshot goes out at most every 50 ms; an unchanged one once a second, so
        // that readers can tell an idle node (age stays under a second) from a stalled one.
        let due = (self.dirty && since >= Duration::from_millis(50)) || since >= HEARTBEAT;
        if !force && !due {
            return;
        }
        self.dirty = false;
        self.last_published = now;
        let s = &mut self.snapshot;
        // Report only what is committed; the in-memory state may be a block or two ahead.
        let minted_ahead: u64 = self.uncommitted.iter().map(|fx| fx.minted.0).sum();
        s.height = self.committed.0;
        s.tip_hash = self.committed.1;
        s.tip_time_ms = self.committed.2;
        s.supply = crate::types::Amount(self.state.supply.0.saturating_sub(minted_ahead));
        s.best_peer_height = self.sync.best_claim();
        s.consensus = self.run.as_ref().map(|r| r.tm.snapshot());
        s.step_since = self.run.as_ref().map(|r| r.step_since);
        s.mempool = self.mempool.snapshot(now, 20);
        s.masternodes = self.state.masternodes().cloned().collect();
        s.validators = self.state.next_validator_set();
        let me = self.spec.node_key.public();
        // With no peer heights known, caught up only if this node alone is a quorum (a
        // one-node devnet): a testnet node with no peers does not know that it is.
        s.synced = match s.best_peer_height {
            Some(best) => best <= self.state.height + 1,
            None => s
                .validators
                .weight_of(&me)
                .is_some_and(|w| s.validators.is_quorum(w)),
        };
        s.last_votes = self.last_votes.iter().map(|(k, v)| (*k, *v)).collect();
        s.catch_up = match (s.synced, self.sync.progress.rate()) {
            (false, Some(rate)) => Some(CatchUp {
                blocks_per_s: rate,
                secs_left: s
                    .best_peer_height
                    .and_then(|best| secs_left(s.height, best, rate)),
            }),
            _ => None,
        };
        s.seq = s.seq.wrapping_add(1);
        s.published = Published {
            at: now,
            unix_ms: self.clock.unix_ms(),
        };
        s.own = match self.state.masternode_by_key(&me) {
            None => OwnMasternode::NotRegistered,
            Some(m) => OwnMasternode::Registered {
                tier: m.tier,
                state: m.state_at(self.state.height),
                active_from: m.active_from,
                enabled: self.spec.masternode,
            },
        };
        let _ = self.snapshot_tx.send(s.clone());
    }
}
