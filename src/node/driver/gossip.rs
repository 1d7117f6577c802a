//! Consensus messages from peers: routed by height, checked cheaply (membership, proposer,
//! round) before their signatures, buffered for the next height, and relayed only once
//! accepted. Evidence goes to the pool under the same rules.

use super::*;

impl Driver {
    /// Where a consensus message of `height` goes: dropped (old, or more than one height
    /// ahead: nothing is remembered of it, so a later copy is taken), buffered (the next height,
    /// or this one before it started) or handled now.
    pub(super) fn route(&self, height: u64) -> Route {
        let h = self.current_height();
        if height < h || height > h + 1 {
            Route::Drop
        } else if height == h && self.run.is_some() {
            Route::Now
        } else {
            Route::Buffer
        }
    }

    /// A foreign chain id in a signed message is a context-free fault (the Hello named ours).
    pub(super) fn foreign_chain(&self, peer: PeerId, chain_id: &Hash) -> bool {
        if *chain_id == self.spec.genesis.params.chain_id {
            return false;
        }
        self.net.report(peer, Misbehaviour::InvalidSignature);
        true
    }

    /// Buffers a vote or proposal for the next height if its signer is a registered masternode
    /// and its signature verifies: membership first, so that a message signed by any other key
    /// costs no signature work (and is not blamed: the signer may register in the block being
    /// decided).
    pub(super) fn buffer_future(&mut self, peer: PeerId, msg: Message) {
        let signer = match &msg {
            Message::Vote(v) => v.voter,
            Message::Proposal { proposal, .. } => proposal.proposer,
            _ => return,
        };
        if self
            .state
            .masternode_by_key(&signer)
            .is_none_or(|m| m.banned)
        {
            return;
        }
        let verified = match &msg {
            Message::Vote(v) => v.verify_known(&mut self.sigs),
            Message::Proposal { proposal, .. } => proposal.verify_known(&mut self.sigs),
            _ => return,
        };
        if let Err(e) = verified {
            tracing::debug!(target: "consensus", peer = %peer.short(), "next-height message rejected: {e}");
            self.net.report(peer, Misbehaviour::InvalidSignature);
            return;
        }
        let _ = self.buffered.push(peer, msg);
    }

    pub(super) fn on_proposal(&mut self, peer: PeerId, proposal: Proposal, block: Block) {
        if self.foreign_chain(peer, &proposal.chain_id) {
            return;
        }
        match self.route(proposal.height) {
            Route::Drop => {}
            Route::Buffer => {
                self.buffer_future(peer, Message::Proposal { proposal, block });
            }
            Route::Now => self.on_current_proposal(peer, proposal, block),
        }
    }

    /// A proposal of the running height: proposer and round first (no work for a proposal the
    /// instance would drop), then the signature, then the block.
    pub(super) fn on_current_proposal(&mut self, peer: PeerId, proposal: Proposal, block: Block) {
        let Some(run) = self.run.as_ref() else { return };
        // Copies of a held proposal come from every peer that relays it (and from anyone who
        // replays it): nothing to verify again.
        if !run.tm.admits_proposal(&proposal) || run.tm.holds_proposal(&proposal) {
            return;
        }
        // The header's proposer may differ from the signer: Tendermint re-proposes a valid value
        // from an earlier round (Alg.1 L16), and that block keeps its original proposer.
        if let Err(e) = proposal.verify_known(&mut self.sigs) {
            tracing::warn!(target: "consensus", peer = %peer.short(), "proposal rejected: {e}");
            self.net.report(peer, Misbehaviour::InvalidSignature);
            return;
        }
        if block.hash() != proposal.block_hash {
            // A signed proposal beside another block: the sender paired them (nobody relays a
            // pair that does not match), a context-free fault.
            tracing::warn!(target: "consensus", peer = %peer.short(), "proposal rejected: the block is not the one signed");
            self.net.report(peer, Misbehaviour::InvalidBlock);
            return;
        }
        self.accept_proposal(Some(peer), proposal, block);
    }

    /// Takes an admitted, verified proposal: validates its block once, relays it only if the
    /// block is valid (never blaming the sender for an invalid one: validity depends on the
    /// local view), and hands it to consensus.
    pub(super) fn accept_proposal(
        &mut self,
        from: Option<PeerId>,
        proposal: Proposal,
        block: Block,
    ) {
        let hash = proposal.block_hash;
        let Some(run) = self.run.as_ref() else { return };
        if !run.blocks.contains_key(&hash) {
            let bytes = crate::p2p::heap::block_bytes(&block);
            if proposal.round != run.tm.round() && run.block_bytes + bytes > RUN_BLOCK_BYTES {
                tracing::debug!(target: "consensus", round = proposal.round, "not keeping a block of another round: block memory full");
                return;
            }
            let t = Instant::now();
            let fx = self.validate_next(&block, &self.state.next_validator_set());
            tracing::debug!(target: "perf", txs = block.txs.len(), ms = t.elapsed().as_secs_f64() * 1e3, "validate proposal");
            let fx = match fx {
                Ok(fx) => Some(fx),
                Err(e) => {
                    tracing::warn!(target: "consensus", height = block.header.height, round = proposal.round, "invalid proposed block: {e}");
                    None
                }
            };
            if let Some(run) = self.run.as_mut() {
                run.blocks.insert(hash, (block, fx));
                run.block_bytes += bytes;
            }
        }
        let Some(run) = self.run.as_ref() else { return };
        let held = run.blocks.get(&hash);
        let valid = held.is_some_and(|(_, fx)| fx.is_some());
        // Every new valid proposal is relayed, also one re-proposing a block held from an
        // earlier round (Alg.1 L16): on a sparse network the proposer's own peers are not
        // everyone who needs it to precommit.
        if let (Some(p), true, Some((block, _))) = (from, valid, held) {
            let msg = Message::Proposal {
                proposal: proposal.clone(),
                block: block.clone(),
            };
            self.net.broadcast_except(p, msg);
        }
        let Some(run) = self.run.as_mut() else { return };
        let effects = run.tm.handle(Input::Proposal { proposal, valid });
        self.apply_effects(effects);
    }

    pub(super) fn on_vote(&mut self, peer: PeerId, vote: Vote) {
        if self.foreign_chain(peer, &vote.chain_id) {
            return;
        }
        match self.route(vote.height) {
            Route::Drop => {}
            Route::Buffer => {
                self.buffer_future(peer, Message::Vote(vote));
            }
            Route::Now => {
                // Members of this height's set only, and nothing already held: no signature
                // work, storage or relay for anything else.
                let Some(run) = self.run.as_ref().filter(|r| r.tm.admits_vote(&vote)) else {
                    return;
                };
                if let Err(e) = vote.verify_member(run.tm.validators(), &mut self.sigs) {
                    tracing::warn!(target: "consensus", peer = %peer.short(), "vote rejected: {e}");
                    self.net.report(peer, Misbehaviour::InvalidSignature);
                    return;
                }
                self.accept_vote(Some(peer), vote);
            }
        }
    }

    pub(super) fn accept_vote(&mut self, from: Option<PeerId>, vote: Vote) {
        let Some(run) = self.run.as_mut() else { return };
        self.last_votes.insert(
            vote.voter,
            LastVote {
                height: vote.height,
                round: vote.round,
            },
        );
        self.snapshot.votes.vote(&vote, self.clock.now());
        if let Some(p) = from {
            self.net.broadcast_except(p, Message::Vote(vote.clone()));
        }
        let effects = run.tm.handle(Input::Vote(vote));
        self.dirty = true;
        self.apply_effects(effects);
    }

    /// Evidence from a peer (`from`) or found by our own consensus instance: kept and relayed
    /// only against a registered masternode not yet in the pool; signatures checked last.
    pub(super) fn on_evidence(&mut self, from: Option<PeerId>, ev: Evidence) {
        if let Err(why) = self
            .evidence_pool
            .admits(&ev, &self.state, self.current_height())
        {
            tracing::debug!(target: "consensus", offender = %ev.offender().short(), "evidence not taken: {why:?}");
            return;
        }
        if ev.verify(&self.spec.genesis.params.chain_id).is_err() {
            if let Some(p) = from {
                self.net.report(p, Misbehaviour::InvalidSignature);
            }
            return;
        }
        tracing::warn!(target: "consensus", offender = %ev.offender().short(), "equivocation evidence");
        match from {
            Some(p) => self.net.broadcast_except(p, Message::Evidence(ev.clone())),
            None => self.net.broadcast(Message::Evidence(ev.clone())),
        }
        self.evidence_pool.insert(ev);
    }
}
