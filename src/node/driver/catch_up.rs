//! Catching up: peers' claimed heights, range requests to them, and the blocks they send.

use super::*;

impl Driver {
    pub(super) fn on_status(&mut self, peer: PeerId, height: u64) {
        self.sync.on_status(peer, height);
        self.check_sync();
    }

    /// Asks a connected peer that claims to be ahead for the next blocks; a peer that did not
    /// answer a request in time is reported and the next request goes to another one.
    pub(super) fn check_sync(&mut self) {
        let now = self.clock.now();
        let (action, failed) = self.sync.poll(self.state.height, now);
        if let Some(p) = failed {
            tracing::info!(target: "sync", peer = %p.short(), "peer did not serve the blocks it claimed");
            self.net.report(p, Misbehaviour::UnservedClaim);
        }
        if let SyncAction::Request { peer, from, count } = action {
            if self.net.send(peer, Message::GetBlocks { from, count }) {
                // Earlier requests still unanswered (a slow one this request hedges, or ones
                // another peer's answer overtook).
                let unanswered = self.sync.in_flight();
                self.sync.sent(peer, from, now);
                tracing::debug!(target: "sync", peer = %peer.short(), from, count, unanswered, "requesting blocks");
            }
        }
    }

    pub(super) fn on_blocks(&mut self, peer: PeerId, blocks: Vec<(Block, CommitCertificate)>) {
        let Some(req) = self.sync.request_to(&peer) else {
            // A reply that arrives after we caught up (or after its request timed out) is
            // harmless; blocks nobody asked for are not.
            if blocks
                .first()
                .map(|(b, _)| b.header.height > self.current_height())
                .unwrap_or(true)
            {
                self.net.report(peer, Misbehaviour::UnsolicitedBlocks);
            }
            return;
        };
        let starts_right = blocks
            .first()
            .is_some_and(|(b, _)| b.header.height == req.from);
        if !starts_right {
            // Not what it claimed to have: its claim is dropped and it is reported.
            self.sync.on_failure(peer);
            self.net.report(peer, Misbehaviour::UnservedClaim);
            return;
        }
        self.sync.on_served(&peer, self.clock.now());
        let before = self.state.height;
        for (block, cert) in blocks {
            if block.header.height <= self.state.height {
                continue;
            }
            if block.header.height != self.current_height() {
                break;
            }
            let set = self.state.next_validator_set();
            // Remembered: the next block carries this certificate as its `last_commit`.
            if let Err(e) = cert.verify_remembered(
                &self.spec.genesis.params.chain_id,
                block.header.height,
                &block.hash(),
                &set,
                &mut self.sigs,
            ) {
                // Every honest node verified the certificate before storing the block: a bad
                // one was made up by the sender.
                tracing::warn!(target: "sync", height = block.header.height, "bad certificate from peer: {e}");
                self.net.report(peer, Misbehaviour::InvalidBlock);
                return;
            }
            match self.validate_next(&block, &set) {
                Ok(fx) => {
                    let round = cert.round;
                    if !self.commit(block, cert, fx, round, RoundEnd::Synced) {
                        return;
                    }
                }
                Err(e) => {
                    // More than 2/3 of the validators finalized it: if we find it invalid, our
                    // own view is the likely problem, not the peer that served it.
                    tracing::error!(target: "sync", height = block.header.height, "a finalized block from a peer does not validate here: {e}");
                    return;
                }
            }
        }
        let best = self.sync.best_claim();
        if let Some(l) =
            self.sync
                .progress
                .on_synced(req.at, before, self.state.height, best, self.clock.now())
        {
            let left = l
                .secs_left
                .map_or("unknown".to_string(), |s| format!("{s} s"));
            tracing::info!(target: "sync", height = l.height, best = l.best, blocks_per_s = (l.blocks_per_s * 10.0).round() / 10.0, left = %left, "{}", if l.caught_up { "caught up" } else { "syncing" });
        }
        self.check_sync();
    }
}
