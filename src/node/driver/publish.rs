//! The node snapshot the RPC server, the metrics and the UI read.

use super::*;

impl Driver {
    pub(super) fn publish(&mut self, force: bool) {
        let now = self.clock.now();
        if !force
            && (!self.dirty || now.duration_since(self.last_published) < Duration::from_millis(50))
        {
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
        s.seq = s.seq.wrapping_add(1);
        s.own_status = match self.state.masternode_by_key(&me) {
            None => "not a masternode".into(),
            Some(m) if m.banned => "banned (equivocation)".into(),
            Some(m) if m.active_from > self.state.height + 1 => {
                format!("registered, active from height {}", m.active_from)
            }
            Some(m) if self.spec.masternode => format!("active {} masternode", m.tier.name()),
            Some(_) => "registered, but masternode mode is off ([masternode] enabled)".into(),
        };
        let _ = self.snapshot_tx.send(s.clone());
    }
}
