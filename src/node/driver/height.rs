//! One height of consensus: starting it (with the WAL's own messages replayed), carrying out
//! the core's effects (build, sign, broadcast, schedule, decide), and re-sending own messages
//! while a height is stuck.

use super::*;
use crate::types::VoteKind;

impl Driver {
    pub(super) fn maybe_start_height(&mut self) {
        if self.run.is_some() || self.halted {
            return;
        }
        let h = self.current_height();
        // Peers' messages for this height mean the others started it; evidence waits for a
        // block that is made anyway (it never starts one: that would defeat the idle interval).
        let has_msgs = self.buffered.has_height(h);
        let idle =
            self.clock.now().duration_since(self.last_decided) >= self.spec.empty_block_interval;
        if self.mempool.is_empty() && !has_msgs && !idle {
            return;
        }
        let set = self.state.next_validator_set();
        if set.is_empty() {
            return;
        }
        set.reuse_keys(&self.state.tip_validators);
        let own = self.own_key().filter(|k| set.weight_of(k).is_some());
        let chain_id = self.spec.genesis.params.chain_id;
        let now = self.clock.now();
        // Replay our own messages of this height from before a restart, so the instance resumes
        // its round and lock instead of signing anything new that could conflict.
        let wal = self.signer.wal(h);
        let mut blocks = HashMap::new();
        let mut block_bytes = 0;
        let mut own_inputs = Vec::new();
        for m in wal {
            match m {
                Message::Vote(v) => own_inputs.push(Input::Vote(v)),
                Message::Proposal { proposal, block } => {
                    let fx = self.validate_next(&block, &set).ok();
                    let valid = fx.is_some();
                    block_bytes += crate::p2p::heap::block_bytes(&block);
                    blocks.insert(proposal.block_hash, (block, fx));
                    own_inputs.push(Input::Proposal { proposal, valid });
                }
                _ => {}
            }
        }
        let (tm, effects) = if own_inputs.is_empty() {
            let mut tm = Tendermint::new(chain_id, h, set, own, self.spec.consensus);
            let effects = tm.start();
            (tm, effects)
        } else {
            tracing::info!(target: "consensus", height = h, n = own_inputs.len(), "resuming height from own-message log");
            self.last_rebroadcast = now - REBROADCAST_AFTER;
            Tendermint::restore(chain_id, h, set, own, self.spec.consensus, own_inputs)
        };
        self.run = Some(HeightRun {
            tm,
            started: now,
            round_started: now,
            step_since: now,
            blocks,
            block_bytes,
        });
        self.apply_effects(effects);
        for (peer, m) in self.buffered.take_height(h) {
            match m {
                Message::Vote(v) => self.on_vote(peer, v),
                Message::Proposal { proposal, block } => self.on_proposal(peer, proposal, block),
                _ => {}
            }
        }
        self.dirty = true;
    }

    pub(super) fn apply_effects(&mut self, effects: Vec<Effect>) {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(e) = queue.pop_front() {
            let more = self.apply_effect(e);
            queue.extend(more);
        }
    }

    pub(super) fn apply_effect(&mut self, e: Effect) -> Vec<Effect> {
        let chain_id = self.spec.genesis.params.chain_id;
        match e {
            Effect::BuildProposal { height, round } => {
                let t = Instant::now();
                let built = self.build_proposal(height);
                tracing::debug!(target: "perf", height, ms = t.elapsed().as_secs_f64() * 1e3, "build proposal");
                let Some(block) = built else {
                    return vec![];
                };
                let hash = block.hash();
                let fx = self.validate_next(&block, &self.state.next_validator_set());
                let Some(run) = self.run.as_mut() else {
                    return vec![];
                };
                match fx {
                    Ok(fx) => {
                        run.block_bytes += crate::p2p::heap::block_bytes(&block);
                        run.blocks.insert(hash, (block, Some(fx)));
                        run.tm.handle(Input::ProposalValue {
                            round,
                            block_hash: hash,
                        })
                    }
                    Err(err) => {
                        tracing::error!(target: "consensus", "own block is invalid, not proposing: {err}");
                        vec![]
                    }
                }
            }
            Effect::CastProposal {
                height,
                round,
                block_hash,
                pol_round,
            } => {
                let Some(block) = self
                    .run
                    .as_ref()
                    .and_then(|r| r.blocks.get(&block_hash))
                    .map(|(b, _)| b.clone())
                else {
                    return vec![];
                };
                let p = Proposal::new_signed(
                    chain_id,
                    height,
                    round,
                    pol_round,
                    block_hash,
                    &self.spec.node_key,
                );
                let msg = Message::Proposal {
                    proposal: p.clone(),
                    block,
                };
                if !self.guard_allows(&msg) {
                    return vec![];
                }
                self.net.broadcast(msg);
                let Some(run) = self.run.as_mut() else {
                    return vec![];
                };
                run.tm.handle(Input::Proposal {
                    proposal: p,
                    valid: true,
                })
            }
            Effect::CastVote {
                height,
                round,
                kind,
                block,
            } => {
                let v = Vote::new_signed(chain_id, height, round, kind, block, &self.spec.node_key);
                let msg = Message::Vote(v.clone());
                if !self.guard_allows(&msg) {
                    return vec![];
                }
                self.net.broadcast(msg);
                // Our precommit comes back in the certificate the next proposer sends.
                self.sigs
                    .insert_verified(v.signing_bytes(), v.voter, v.signature);
                self.last_votes.insert(v.voter, LastVote { height, round });
                self.snapshot.votes.vote(&v, self.clock.now());
                let Some(run) = self.run.as_mut() else {
                    return vec![];
                };
                run.tm.handle(Input::Vote(v))
            }
            Effect::ScheduleTimeout {
                height,
                round,
                step,
                duration,
            } => {
                self.timers.schedule(duration, (height, round, step));
                vec![]
            }
            Effect::Decide {
                height,
                round,
                block_hash,
                certificate,
            } => {
                self.on_decide(height, round, block_hash, certificate);
                vec![]
            }
            Effect::Evidence(ev) => {
                self.on_evidence(None, ev);
                vec![]
            }
            Effect::RoundStarted {
                height,
                round,
                proposer: _,
            } => {
                if let Some(run) = self.run.as_mut() {
                    let now = self.clock.now();
                    if round > 0 {
                        let d = now.duration_since(run.round_started).as_millis() as u64;
                        push_bounded(
                            &mut self.snapshot.recent_rounds,
                            RoundTiming {
                                height,
                                round: round - 1,
                                duration_ms: d,
                                end: RoundEnd::NextRound,
                                block: None,
                            },
                            50,
                        );
                        self.snapshot.rounds_over_0 += 1;
                        tracing::info!(target: "consensus::round", height, round, "round change");
                    }
                    run.round_started = now;
                    run.step_since = now;
                    self.snapshot.votes.round_started(height, round, now);
                }
                self.dirty = true;
                vec![]
            }
            Effect::StepChanged { .. } => {
                if let Some(run) = self.run.as_mut() {
                    run.step_since = self.clock.now();
                }
                self.dirty = true;
                vec![]
            }
        }
    }

    /// Makes the own message `msg` and the signer state durable together; true if it may be
    /// sent. False if the guard refuses (it would double-sign), or if the write failed: then
    /// signing stops (a restart on a working disk resumes from what is on disk).
    pub(super) fn guard_allows(&mut self, msg: &Message) -> bool {
        // Consensus asks only a member with masternode mode on to sign; this is the backstop.
        if self.halted || self.own_key().is_none() {
            return false;
        }
        match self.signer.authorize_and_persist(&mut self.guard, msg) {
            Ok(()) => true,
            Err(SignError::Refused(e)) => {
                tracing::warn!(target: "consensus", "refusing to sign: {e}");
                false
            }
            Err(e @ SignError::Store(_)) => {
                self.halt(e.to_string());
                false
            }
        }
    }

    pub(super) fn build_proposal(&mut self, height: u64) -> Option<Block> {
        let set = self.state.next_validator_set();
        let (txs, fees) = self
            .mempool
            .select(MAX_BLOCK_SIZE - BLOCK_OVERHEAD, MAX_PROPOSAL_TXS);
        let evidence = self.evidence_pool.for_block(
            &self.state,
            height,
            crate::types::block::MAX_BLOCK_EVIDENCE,
        );
        let now_ms = self.clock.unix_ms();
        build_block(
            &self.state,
            &self.spec.genesis.params,
            &set,
            self.spec.node_key.public(),
            txs,
            fees,
            evidence,
            self.tip_cert.clone(),
            now_ms,
        )
    }

    pub(super) fn on_decide(
        &mut self,
        height: u64,
        round: u32,
        block_hash: Hash,
        cert: CommitCertificate,
    ) {
        let Some(run) = self.run.as_mut() else { return };
        let Some((block, fx)) = run.blocks.remove(&block_hash) else {
            tracing::warn!(target: "consensus", height, "decided a block we do not have; fetching it");
            self.check_sync();
            return;
        };
        let fx = match fx {
            Some(fx) => fx,
            None => {
                tracing::error!(target: "consensus", height, "network decided a block this node considers invalid");
                return;
            }
        };
        self.commit(block, cert, fx, round, RoundEnd::Decided);
    }

    /// Re-sends our height, our own signed messages of the current height and what we hold of
    /// others for its current round to every peer when the height has been open for a while,
    /// so peers that restarted or lost messages can still reach a quorum, or catch up first.
    pub(super) fn rebroadcast_if_stuck(&mut self) {
        let Some(run) = self.run.as_ref() else { return };
        let now = self.clock.now();
        if now.duration_since(run.started) < REBROADCAST_AFTER
            || now.duration_since(self.last_rebroadcast) < REBROADCAST_AFTER
        {
            return;
        }
        self.rebroadcast_own();
    }

    fn rebroadcast_own(&mut self) {
        self.last_rebroadcast = self.clock.now();
        let peers = self.net.connected();
        self.resend_held(&peers);
        // Our height again: a peer that missed the Status of our last commit (dropped from a
        // full queue, or lost with a connection) may be a block behind, waiting at the height
        // we finished while we wait for it at the next one. Its sync starts from this claim.
        self.net.broadcast(Message::Status {
            height: self.committed.0,
            tip: self.committed.1,
        });
        // A node that does not sign (masternode mode off) does not speak for its key either:
        // a standby sharing the key must not repeat what the active one signed.
        if self.own_key().is_none() {
            return;
        }
        let msgs = self.signer.wal(self.current_height());
        if msgs.is_empty() {
            return;
        }
        tracing::debug!(target: "consensus", height = self.current_height(), msgs = msgs.len(), peers = peers.len(), "re-sending own messages");
        for m in msgs {
            self.net.send_to_each(&peers, m);
        }
    }

    /// Re-sends to each peer what this node holds of others for the current round and for the
    /// round of its valid value: their votes, and the round's proposal (to each peer that has
    /// not prevoted for it). Each relayer drops what it has seen, so a copy lost two hops away
    /// is never offered again otherwise; on a sparse network it may have been the only one,
    /// and a height whose quorum is exactly its live members would wait for it forever.
    fn resend_held(&mut self, peers: &[PeerId]) {
        let Some(run) = self.run.as_ref() else { return };
        let tm = &run.tm;
        let round = tm.round();
        let mut rounds = vec![round];
        rounds.extend(tm.valid().map(|(r, _)| r).filter(|r| *r != round));
        let own = self.own_key();
        let votes: Vec<Message> = rounds
            .iter()
            .flat_map(|r| [VoteKind::Prevote, VoteKind::Precommit].map(|k| (*r, k)))
            .flat_map(|(r, k)| tm.votes().votes(r, k))
            .filter(|v| Some(v.voter) != own)
            .map(|v| Message::Vote(v.clone()))
            .collect();
        let proposal = tm
            .proposal(round)
            .filter(|(p, valid)| *valid && Some(p.proposer) != own)
            .and_then(|(p, _)| run.blocks.get(&p.block_hash).map(|(b, _)| (p, b)));
        // Each message is encoded once for all its peers (a peer gets the votes, then the
        // proposal).
        for m in votes {
            self.net.send_to_each(peers, m);
        }
        let Some((p, block)) = proposal else { return };
        let lacking: Vec<PeerId> = peers
            .iter()
            .filter(|peer| {
                **peer != p.proposer
                    && tm
                        .votes()
                        .vote_of(round, VoteKind::Prevote, peer)
                        .is_none_or(|v| v.block != Some(p.block_hash))
            })
            .copied()
            .collect();
        if !lacking.is_empty() {
            let msg = Message::Proposal {
                proposal: p.clone(),
                block: block.clone(),
            };
            self.net.send_to_each(&lacking, msg);
        }
    }
}
