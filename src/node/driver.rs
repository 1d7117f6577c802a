//! The node's main task: owns the chain state, the mempool and the consensus instance of the
//! current height; turns network messages, local commands and timeouts into consensus inputs and
//! carries out the consensus effects (sign, broadcast, schedule, decide -> commit -> report).

use super::admission::Admission;
use super::block_server::BlockServer;
use super::evidence_pool::EvidencePool;
use super::future_buffer::FutureBuffer;
use super::signer_store::{SignError, SignerStore};
use super::snapshot::{LastVote, NodeSnapshot, RoundEnd, RoundTiming};
use super::spec::NodeSpec;
use super::storage_writer::{self, CommitDone, CommitJob, SnapshotSchedule};
use super::sync::{SyncAction, SyncTracker};
use crate::consensus::{DoubleSignGuard, Effect, Input, Step, Tendermint};
use crate::ledger::{
    build_block, validate_block, BlockEffects, BlockError, LedgerState, SigPolicy,
};
use crate::mempool::{Mempool, MempoolError};
use crate::p2p::{InboundMessage, Message, Misbehaviour, P2pHandle, PeerId};
use crate::storage::Storage;
use crate::types::block::MAX_BLOCK_SIZE;
use crate::types::{
    Address, Block, CommitCertificate, Evidence, Hash, OutPoint, Proposal, PublicKey, Transaction,
    ValidatorSet, Vote,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

/// Bytes of proposed blocks kept for the running height beyond those of its current round
/// (a byzantine proposer of a future round could otherwise make the node hold 4 blocks of
/// 2 MB for each round of the window).
const RUN_BLOCK_BYTES: usize = 64 * 1024 * 1024;
/// A height open this long re-sends our own proposal and votes (peers that restarted or missed
/// them would otherwise wait forever: Tendermint assumes eventual delivery).
const REBROADCAST_AFTER: Duration = Duration::from_secs(2);
/// Most transactions in a proposed block. Smaller blocks finalize sooner (validation and
/// transfer grow with the block) while the mempool keeps the pipeline full.
pub const MAX_PROPOSAL_TXS: usize = 3_000;
/// Block bytes reserved for header, coinbase and evidence.
const BLOCK_OVERHEAD: usize = 64 * 1024;

/// A finalized block as reported to subscribers (bench, wallet service).
#[derive(Clone, Debug)]
pub struct Finalized {
    /// Height.
    pub height: u64,
    /// Hash.
    pub hash: Hash,
    /// Ids of its transactions (coinbase first).
    pub txids: Arc<Vec<Hash>>,
    /// Outpoints it spent.
    pub spent: Arc<Vec<OutPoint>>,
    /// Rounds it took (0 = first round).
    pub round: u32,
    /// When it was committed locally.
    pub at: Instant,
}

/// Chain data a wallet needs for a set of addresses.
#[derive(Clone, Debug, Default)]
pub struct WalletChainData {
    /// Finalized unspent outputs of the addresses.
    pub finalized: Vec<(OutPoint, crate::ledger::Utxo)>,
    /// Pending (mempool) outputs to the addresses.
    pub pending: Vec<(OutPoint, crate::ledger::Utxo)>,
    /// Outpoints spent by pooled transactions.
    pub spent_in_mempool: HashSet<OutPoint>,
    /// Pooled transaction ids.
    pub mempool_txids: HashSet<Hash>,
    /// Finalized height.
    pub height: u64,
}

/// A pooled transaction as RPC shows it.
#[derive(Clone, Debug)]
pub struct MempoolEntryInfo {
    /// Id.
    pub txid: Hash,
    /// Size in bytes.
    pub size: usize,
    /// Fee.
    pub fee: crate::types::Amount,
    /// Time in the pool.
    pub age: Duration,
    /// Pooled transactions it spends from.
    pub depends: Vec<Hash>,
}

/// Requests to the driver.
pub enum Command {
    /// Submit one transaction (RPC sendrawtransaction, wallet).
    SubmitTx {
        /// The transaction.
        tx: Box<Transaction>,
        /// Verdict.
        reply: oneshot::Sender<Result<Hash, MempoolError>>,
    },
    /// Submit many transactions at once (bench); verified in parallel.
    SubmitTxs {
        /// The transactions.
        txs: Vec<Transaction>,
        /// Verdicts in order.
        reply: oneshot::Sender<Vec<Result<Hash, MempoolError>>>,
    },
    /// Chain data for a wallet.
    WalletData {
        /// Addresses of the wallet.
        addrs: Vec<Address>,
        /// Answer.
        reply: oneshot::Sender<WalletChainData>,
    },
    /// A pooled transaction.
    MempoolTx {
        /// Id.
        txid: Hash,
        /// Answer.
        reply: oneshot::Sender<Option<Transaction>>,
    },
    /// Every pooled transaction: id, size, fee, age, pooled parents.
    MempoolEntries {
        /// Answer.
        reply: oneshot::Sender<Vec<MempoolEntryInfo>>,
    },
    /// A UTXO from the finalized state.
    Utxo {
        /// Outpoint.
        outpoint: OutPoint,
        /// Answer: the output, and whether a pooled transaction spends it.
        reply: oneshot::Sender<(Option<crate::ledger::Utxo>, bool)>,
    },
}

/// What to do with a consensus message, by its height.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Drop,
    Buffer,
    Now,
}

/// State of the current height.
struct HeightRun {
    tm: Tendermint,
    started: Instant,
    round_started: Instant,
    step_since: Instant,
    /// Proposed blocks for this height by hash, with their effects if valid.
    blocks: HashMap<Hash, (Block, Option<BlockEffects>)>,
    /// Estimated bytes of `blocks`.
    block_bytes: usize,
}

/// The driver.
pub struct Driver {
    spec: Arc<NodeSpec>,
    storage: Storage,
    state: LedgerState,
    mempool: Mempool,
    p2p: P2pHandle,
    signer: SignerStore,
    guard: DoubleSignGuard,
    run: Option<HeightRun>,
    last_decided: Instant,
    /// Verified consensus messages of masternodes for the next height.
    buffered: FutureBuffer,
    evidence_pool: EvidencePool,
    timeout_tx: mpsc::Sender<(u64, u32, Step)>,
    timeout_rx: mpsc::Receiver<(u64, u32, Step)>,
    /// Checks, verifies and admits transactions; buffers gossiped ones.
    admission: Admission,
    /// Peers' claimed heights and our range request.
    sync: SyncTracker,
    /// Answers peers' range requests off the consensus loop.
    block_server: Option<BlockServer>,
    snapshot: NodeSnapshot,
    snapshot_tx: watch::Sender<NodeSnapshot>,
    height_tx: watch::Sender<(u64, Hash)>,
    finalized_tx: broadcast::Sender<Finalized>,
    dirty: bool,
    last_published: Instant,
    tps_second: (Instant, u64),
    last_votes: HashMap<PublicKey, LastVote>,
    /// Certificate of the tip, carried by the next block as its `last_commit`.
    tip_cert: CommitCertificate,
    /// When our own messages of the current height were last re-sent.
    last_rebroadcast: Instant,
    /// Hands finalized blocks to the storage writer thread.
    writer: Option<std::sync::mpsc::SyncSender<CommitJob>>,
    /// The storage writer thread.
    writer_thread: Option<std::thread::JoinHandle<()>>,
    /// Commit outcomes from the writer.
    done_rx: mpsc::UnboundedReceiver<CommitDone>,
    /// Effects of blocks applied in memory whose commit has not returned yet, oldest first.
    uncommitted: VecDeque<Arc<BlockEffects>>,
    /// Height, hash and time of the last committed (reported) block.
    committed: (u64, Hash, u64),
    /// Consensus stopped after a storage failure.
    halted: bool,
    /// When the next state snapshot is due.
    snapshots: SnapshotSchedule,
}

impl Driver {
    /// Builds a driver around opened storage and a started p2p layer.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        spec: Arc<NodeSpec>,
        storage: Storage,
        state: LedgerState,
        p2p: P2pHandle,
        signer: SignerStore,
        snapshot_tx: watch::Sender<NodeSnapshot>,
        height_tx: watch::Sender<(u64, Hash)>,
        finalized_tx: broadcast::Sender<Finalized>,
    ) -> Driver {
        let (timeout_tx, timeout_rx) = mpsc::channel(1024);
        let guard = DoubleSignGuard::new(signer.load_state());
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let (writer, writer_thread, spawn_error) =
            match storage_writer::spawn(storage.clone(), done_tx) {
                Ok((w, t)) => (Some(w), Some(t), None),
                Err(e) => (
                    None,
                    None,
                    Some(format!("cannot start the storage writer thread: {e}")),
                ),
            };
        let committed = (state.height, state.tip_hash, state.tip_time_ms);
        let mempool = Mempool::new(spec.mempool.clone());
        let admission = Admission::new(spec.genesis.params.clone());
        let now = Instant::now();
        // Storage open verified the tip's certificate; failing to read it now is a storage fault.
        let (tip_cert, cert_error) = match storage.certificate(state.height) {
            _ if state.height == 0 => (CommitCertificate::default(), None),
            Ok(Some(c)) => (c, None),
            Ok(None) => (
                CommitCertificate::default(),
                Some("the tip's commit certificate is missing from storage".to_string()),
            ),
            Err(e) => (
                CommitCertificate::default(),
                Some(format!("cannot read the tip's commit certificate: {e}")),
            ),
        };
        let spawn_error = spawn_error.or(cert_error);
        if let Some(e) = &spawn_error {
            tracing::error!(target: "storage", "{e}; consensus stopped, restart the node (with --reindex if it keeps failing)");
        }
        let mut snapshot = snapshot_tx.borrow().clone();
        snapshot.error = spawn_error.clone();
        let block_server = match BlockServer::spawn(storage.clone(), p2p.clone()) {
            Ok(b) => Some(b),
            Err(e) => {
                tracing::error!(target: "sync", "cannot start the block server thread ({e}); peers will not be served blocks");
                None
            }
        };
        Driver {
            spec,
            storage,
            state,
            mempool,
            p2p,
            signer,
            guard,
            run: None,
            last_decided: now,
            buffered: FutureBuffer::default(),
            evidence_pool: EvidencePool::default(),
            timeout_tx,
            timeout_rx,
            admission,
            sync: SyncTracker::default(),
            block_server,
            snapshot,
            snapshot_tx,
            height_tx,
            finalized_tx,
            dirty: true,
            last_published: now,
            tps_second: (now, 0),
            last_votes: HashMap::new(),
            tip_cert,
            last_rebroadcast: now,
            writer,
            writer_thread,
            done_rx,
            uncommitted: VecDeque::new(),
            committed,
            halted: spawn_error.is_some(),
            snapshots: SnapshotSchedule::default(),
        }
    }

    /// Runs until `shutdown`; then flushes storage.
    pub async fn run(
        mut self,
        mut inbound: mpsc::Receiver<InboundMessage>,
        mut commands: mpsc::Receiver<Command>,
        shutdown: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.publish(true);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                Some(m) = inbound.recv() => {
                    self.on_inbound(m);
                    // Drain what else is waiting so transactions are verified in batches.
                    let mut n = 0;
                    while n < 4096 {
                        match inbound.try_recv() {
                            Ok(m) => self.on_inbound(m),
                            Err(_) => break,
                        }
                        n += 1;
                    }
                }
                Some(c) = commands.recv() => self.on_command(c),
                Some(d) = self.done_rx.recv() => self.on_committed(d),
                Some(t) = self.timeout_rx.recv() => self.on_timeout(t),
                _ = tick.tick() => self.on_tick(),
                // More gossiped transactions wait for admission: take the next chunk now.
                _ = std::future::ready(()), if self.admission.has_pending() => {}
            }
            self.dirty |= self
                .admission
                .admit_pending(&mut self.mempool, &self.state, &self.p2p);
            self.maybe_start_height();
            self.publish(false);
        }
        // Let the writer finish what was decided, then wait for it.
        self.writer = None;
        if let Some(t) = self.writer_thread.take() {
            if tokio::task::block_in_place(|| t.join()).is_err() {
                tracing::error!(target: "storage", "the storage writer panicked");
            }
        }
        while let Ok(d) = self.done_rx.try_recv() {
            self.on_committed(d);
        }
        // A snapshot of the final state makes the next start replay nothing; only when every
        // block of that state is stored.
        let stored = !self.halted && self.committed.0 == self.state.height;
        let result = if stored && self.snapshots.pending() {
            tokio::task::block_in_place(|| self.storage.write_snapshot(&self.state))
        } else {
            self.storage.flush()
        };
        if let Err(e) = result {
            tracing::error!(target: "storage", "writing the state at shutdown failed: {e}");
        }
        tracing::info!(target: "node", name = %self.spec.name, height = self.state.height, "driver stopped");
    }

    fn own_key(&self) -> Option<PublicKey> {
        self.spec.masternode.then(|| self.spec.node_key.public())
    }

    // ----- inbound -----

    fn on_inbound(&mut self, m: InboundMessage) {
        let peer = m.peer;
        match m.msg {
            Message::Tx(tx) => {
                self.admission.enqueue(peer, tx);
            }
            Message::Proposal { proposal, block } => self.on_proposal(peer, proposal, block),
            Message::Vote(v) => self.on_vote(peer, v),
            Message::Status { height, tip: _ } => self.on_status(peer, height),
            Message::GetBlocks { from, count } => {
                if let Some(server) = &self.block_server {
                    server.request(peer, from, count);
                }
            }
            Message::Blocks(blocks) => self.on_blocks(peer, blocks),
            Message::Evidence(ev) => self.on_evidence(Some(peer), ev),
            other => {
                tracing::trace!(target: "node", "ignoring {:?} from {:?}", std::mem::discriminant(&other), peer);
            }
        }
    }

    fn current_height(&self) -> u64 {
        self.state.height + 1
    }

    /// Where a consensus message of `height` goes: dropped (old, or more than one height
    /// ahead: nothing is remembered of it, so a later copy is taken), buffered (the next height,
    /// or this one before it started) or handled now.
    fn route(&self, height: u64) -> Route {
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
    fn foreign_chain(&self, peer: PeerId, chain_id: &Hash) -> bool {
        if *chain_id == self.spec.genesis.params.chain_id {
            return false;
        }
        self.p2p.report(peer, Misbehaviour::InvalidSignature);
        true
    }

    /// Buffers a message for the next height if its signer is a registered masternode and its
    /// signature verifies.
    fn buffer_future(
        &mut self,
        peer: PeerId,
        signer: &PublicKey,
        verified: Result<(), crate::types::vote::ConsensusMsgError>,
        msg: Message,
    ) {
        if self
            .state
            .masternode_by_key(signer)
            .is_none_or(|m| m.banned)
        {
            return;
        }
        if let Err(e) = verified {
            tracing::debug!(target: "consensus", peer = %peer.short(), "next-height message rejected: {e}");
            self.p2p.report(peer, Misbehaviour::InvalidSignature);
            return;
        }
        let _ = self.buffered.push(peer, msg);
    }

    fn on_proposal(&mut self, peer: PeerId, proposal: Proposal, block: Block) {
        if self.foreign_chain(peer, &proposal.chain_id) {
            return;
        }
        match self.route(proposal.height) {
            Route::Drop => {}
            Route::Buffer => {
                let verified = proposal.verify();
                let signer = proposal.proposer;
                self.buffer_future(
                    peer,
                    &signer,
                    verified,
                    Message::Proposal { proposal, block },
                );
            }
            Route::Now => self.on_current_proposal(peer, proposal, block),
        }
    }

    /// A proposal of the running height: proposer and round first (no work for a proposal the
    /// instance would drop), then the signature, then the block.
    fn on_current_proposal(&mut self, peer: PeerId, proposal: Proposal, block: Block) {
        let Some(run) = self.run.as_ref() else { return };
        if !run.tm.admits_proposal(&proposal) {
            return;
        }
        // The header's proposer may differ from the signer: Tendermint re-proposes a valid value
        // from an earlier round (Alg.1 L16), and that block keeps its original proposer.
        if let Err(e) = proposal.verify() {
            tracing::warn!(target: "consensus", peer = %peer.short(), "proposal rejected: {e}");
            self.p2p.report(peer, Misbehaviour::InvalidSignature);
            return;
        }
        if block.hash() != proposal.block_hash {
            // A signed proposal beside another block: the sender paired them (nobody relays a
            // pair that does not match), a context-free fault.
            tracing::warn!(target: "consensus", peer = %peer.short(), "proposal rejected: the block is not the one signed");
            self.p2p.report(peer, Misbehaviour::InvalidBlock);
            return;
        }
        self.accept_proposal(Some(peer), proposal, block);
    }

    /// Takes an admitted, verified proposal: validates its block once, relays it only if the
    /// block is valid (never blaming the sender for an invalid one: validity depends on the
    /// local view), and hands it to consensus.
    fn accept_proposal(&mut self, from: Option<PeerId>, proposal: Proposal, block: Block) {
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
            if let (Some(p), true) = (from, fx.is_some()) {
                self.p2p.broadcast_except(
                    p,
                    Message::Proposal {
                        proposal: proposal.clone(),
                        block: block.clone(),
                    },
                );
            }
            if let Some(run) = self.run.as_mut() {
                run.blocks.insert(hash, (block, fx));
                run.block_bytes += bytes;
            }
        }
        let Some(run) = self.run.as_mut() else { return };
        let valid = run
            .blocks
            .get(&hash)
            .map(|(_, fx)| fx.is_some())
            .unwrap_or(false);
        let effects = run.tm.handle(Input::Proposal { proposal, valid });
        self.apply_effects(effects);
    }

    fn on_vote(&mut self, peer: PeerId, vote: Vote) {
        if self.foreign_chain(peer, &vote.chain_id) {
            return;
        }
        match self.route(vote.height) {
            Route::Drop => {}
            Route::Buffer => {
                let verified = vote.verify();
                let voter = vote.voter;
                self.buffer_future(peer, &voter, verified, Message::Vote(vote));
            }
            Route::Now => {
                // Members of this height's set only, and nothing already held: no signature
                // work, storage or relay for anything else.
                if !self.run.as_ref().is_some_and(|r| r.tm.admits_vote(&vote)) {
                    return;
                }
                if let Err(e) = vote.verify() {
                    tracing::warn!(target: "consensus", peer = %peer.short(), "vote rejected: {e}");
                    self.p2p.report(peer, Misbehaviour::InvalidSignature);
                    return;
                }
                self.accept_vote(Some(peer), vote);
            }
        }
    }

    fn accept_vote(&mut self, from: Option<PeerId>, vote: Vote) {
        let Some(run) = self.run.as_mut() else { return };
        self.last_votes.insert(
            vote.voter,
            LastVote {
                height: vote.height,
                round: vote.round,
            },
        );
        if let Some(p) = from {
            self.p2p.broadcast_except(p, Message::Vote(vote.clone()));
        }
        let effects = run.tm.handle(Input::Vote(vote));
        self.dirty = true;
        self.apply_effects(effects);
    }

    /// Evidence from a peer (`from`) or found by our own consensus instance: kept and relayed
    /// only against a registered masternode not yet in the pool; signatures checked last.
    fn on_evidence(&mut self, from: Option<PeerId>, ev: Evidence) {
        if let Err(why) = self
            .evidence_pool
            .admits(&ev, &self.state, self.current_height())
        {
            tracing::debug!(target: "consensus", offender = %ev.offender().short(), "evidence not taken: {why:?}");
            return;
        }
        if ev.verify(&self.spec.genesis.params.chain_id).is_err() {
            if let Some(p) = from {
                self.p2p.report(p, Misbehaviour::InvalidSignature);
            }
            return;
        }
        tracing::warn!(target: "consensus", offender = %ev.offender().short(), "equivocation evidence");
        match from {
            Some(p) => self.p2p.broadcast_except(p, Message::Evidence(ev.clone())),
            None => self.p2p.broadcast(Message::Evidence(ev.clone())),
        }
        self.evidence_pool.insert(ev);
    }

    fn on_status(&mut self, peer: PeerId, height: u64) {
        self.sync.on_status(peer, height);
        self.check_sync();
    }

    // ----- sync -----

    /// Asks a connected peer that claims to be ahead for the next blocks; a peer that did not
    /// answer a request in time is reported and the next request goes to another one.
    fn check_sync(&mut self) {
        let now = Instant::now();
        let (action, failed) = self.sync.poll(self.state.height, now);
        if let Some(p) = failed {
            tracing::info!(target: "sync", peer = %p.short(), "peer did not serve the blocks it claimed");
            self.p2p.report(p, Misbehaviour::UnservedClaim);
        }
        if let SyncAction::Request { peer, from, count } = action {
            if self.p2p.send(peer, Message::GetBlocks { from, count }) {
                self.sync.sent(peer, from, now);
                tracing::debug!(target: "sync", peer = %peer.short(), from, count, "requesting blocks");
            }
        }
    }

    fn on_blocks(&mut self, peer: PeerId, blocks: Vec<(Block, CommitCertificate)>) {
        let Some(req) = self.sync.request().filter(|r| r.peer == peer) else {
            // A reply that arrives after we caught up (or after its request timed out) is
            // harmless; blocks nobody asked for are not.
            if blocks
                .first()
                .map(|(b, _)| b.header.height > self.current_height())
                .unwrap_or(true)
            {
                self.p2p.report(peer, Misbehaviour::UnsolicitedBlocks);
            }
            return;
        };
        let starts_right = blocks
            .first()
            .is_some_and(|(b, _)| b.header.height == req.from);
        if !starts_right {
            // Not what it claimed to have: its claim is dropped and it is reported.
            self.sync.on_failure(peer);
            self.p2p.report(peer, Misbehaviour::UnservedClaim);
            return;
        }
        self.sync.on_served(&peer);
        for (block, cert) in blocks {
            if block.header.height <= self.state.height {
                continue;
            }
            if block.header.height != self.current_height() {
                break;
            }
            let set = self.state.next_validator_set();
            if let Err(e) = cert.verify(
                &self.spec.genesis.params.chain_id,
                block.header.height,
                &block.hash(),
                &set,
            ) {
                // Every honest node verified the certificate before storing the block: a bad
                // one was made up by the sender.
                tracing::warn!(target: "sync", height = block.header.height, "bad certificate from peer: {e}");
                self.p2p.report(peer, Misbehaviour::InvalidBlock);
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
        self.check_sync();
    }

    // ----- commands and transactions -----

    fn on_command(&mut self, c: Command) {
        match c {
            Command::SubmitTx { tx, reply } => {
                let r = self.submit_txs(vec![*tx]);
                let _ = reply.send(
                    r.into_iter()
                        .next()
                        .unwrap_or(Err(MempoolError::AlreadyKnown)),
                );
            }
            Command::SubmitTxs { txs, reply } => {
                let r = self.submit_txs(txs);
                let _ = reply.send(r);
            }
            Command::WalletData { addrs, reply } => {
                let _ = reply.send(self.wallet_data(&addrs));
            }
            Command::MempoolEntries { reply } => {
                let now = Instant::now();
                let entries = self
                    .mempool
                    .txids()
                    .into_iter()
                    .filter_map(|id| self.mempool.get(&id))
                    .map(|e| MempoolEntryInfo {
                        txid: e.txid,
                        size: e.size,
                        fee: e.fee,
                        age: now.saturating_duration_since(e.added),
                        depends: e
                            .tx
                            .inputs
                            .iter()
                            .map(|i| i.prev.txid)
                            .filter(|t| self.mempool.contains(t))
                            .collect(),
                    })
                    .collect();
                let _ = reply.send(entries);
            }
            Command::MempoolTx { txid, reply } => {
                let _ = reply.send(self.mempool.get(&txid).map(|e| e.tx.clone()));
            }
            Command::Utxo { outpoint, reply } => {
                use crate::ledger::UtxoView;
                let _ = reply.send((
                    self.state.utxo(&outpoint),
                    self.mempool.spender_of(&outpoint).is_some(),
                ));
            }
        }
    }

    fn wallet_data(&self, addrs: &[Address]) -> WalletChainData {
        let set: HashSet<&Address> = addrs.iter().collect();
        // The in-memory state: blocks decided but still being written count as final already
        // (their outputs left the mempool).
        let finalized: Vec<(OutPoint, crate::ledger::Utxo)> =
            addrs.iter().flat_map(|a| self.state.utxos_of(a)).collect();
        let pending = self
            .mempool
            .pending_outputs()
            .filter(|(_, u)| set.contains(&u.output.address))
            .map(|(o, u)| (*o, *u))
            .collect();
        let mut spent_in_mempool = HashSet::new();
        for (o, _) in &finalized {
            if self.mempool.spender_of(o).is_some() {
                spent_in_mempool.insert(*o);
            }
        }
        for (o, _) in self.mempool.pending_outputs() {
            if self.mempool.spender_of(o).is_some() {
                spent_in_mempool.insert(*o);
            }
        }
        WalletChainData {
            finalized,
            pending,
            spent_in_mempool,
            mempool_txids: self.mempool.txids().into_iter().collect(),
            height: self.state.height,
        }
    }

    /// Admits this node's own transactions (RPC, wallet, bench); verdicts in order.
    fn submit_txs(&mut self, txs: Vec<Transaction>) -> Vec<Result<Hash, MempoolError>> {
        let r = self
            .admission
            .submit(txs, &mut self.mempool, &self.state, &self.p2p);
        self.dirty |= r.iter().any(Result::is_ok);
        r
    }

    // ----- heights and effects -----

    fn maybe_start_height(&mut self) {
        if self.run.is_some() || self.halted {
            return;
        }
        let h = self.current_height();
        // Peers' messages for this height mean the others started it; evidence waits for a
        // block that is made anyway (it never starts one: that would defeat the idle interval).
        let has_msgs = self.buffered.has_height(h);
        let idle = self.last_decided.elapsed() >= self.spec.empty_block_interval;
        if self.mempool.is_empty() && !has_msgs && !idle {
            return;
        }
        let set = self.state.next_validator_set();
        if set.is_empty() {
            return;
        }
        let own = self.own_key().filter(|k| set.weight_of(k).is_some());
        let chain_id = self.spec.genesis.params.chain_id;
        let now = Instant::now();
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

    fn apply_effects(&mut self, effects: Vec<Effect>) {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(e) = queue.pop_front() {
            let more = self.apply_effect(e);
            queue.extend(more);
        }
    }

    fn apply_effect(&mut self, e: Effect) -> Vec<Effect> {
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
                self.p2p.broadcast(msg);
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
                self.p2p.broadcast(msg);
                self.last_votes.insert(v.voter, LastVote { height, round });
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
                let tx = self.timeout_tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(duration).await;
                    let _ = tx.send((height, round, step)).await;
                });
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
                    let now = Instant::now();
                    if round > 0 {
                        let d = now.duration_since(run.round_started).as_millis() as u64;
                        push_bounded(
                            &mut self.snapshot.recent_rounds,
                            RoundTiming {
                                height,
                                round: round - 1,
                                duration_ms: d,
                                end: RoundEnd::NextRound,
                            },
                            50,
                        );
                        self.snapshot.rounds_over_0 += 1;
                        tracing::info!(target: "consensus::round", height, round, "round change");
                    }
                    run.round_started = now;
                    run.step_since = now;
                }
                self.dirty = true;
                vec![]
            }
            Effect::StepChanged { .. } => {
                if let Some(run) = self.run.as_mut() {
                    run.step_since = Instant::now();
                }
                self.dirty = true;
                vec![]
            }
        }
    }

    /// Makes the own message `msg` and the signer state durable together; true if it may be
    /// sent. False if the guard refuses (it would double-sign), or if the write failed: then
    /// signing stops (a restart on a working disk resumes from what is on disk).
    fn guard_allows(&mut self, msg: &Message) -> bool {
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

    fn build_proposal(&mut self, height: u64) -> Option<Block> {
        let set = self.state.next_validator_set();
        let (txs, fees) = self
            .mempool
            .select(MAX_BLOCK_SIZE - BLOCK_OVERHEAD, MAX_PROPOSAL_TXS);
        let evidence = self.evidence_pool.for_block(
            &self.state,
            height,
            crate::types::block::MAX_BLOCK_EVIDENCE,
        );
        let now_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
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

    fn on_decide(&mut self, height: u64, round: u32, block_hash: Hash, cert: CommitCertificate) {
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

    /// Applies a finalized block to the in-memory state, so consensus can move on, and hands it
    /// to the storage writer. It is reported final in [`Driver::on_committed`], after its atomic
    /// commit and flush returned.
    fn commit(
        &mut self,
        block: Block,
        cert: CommitCertificate,
        fx: BlockEffects,
        round: u32,
        end: RoundEnd,
    ) -> bool {
        if self.halted {
            return false;
        }
        let height = block.header.height;
        let fx = Arc::new(fx);
        let supply_before = self.state.supply;
        let utxo_count_before = self.state.utxo_count() as u64;
        self.state.apply(&fx, block.header.time_ms);
        let snapshot = self
            .snapshots
            .after_block(&fx, self.state.utxo_count())
            .then(|| Arc::new(self.state.clone()));
        let job = CommitJob {
            block: block.clone(),
            cert: cert.clone(),
            fx: fx.clone(),
            supply_before,
            utxo_count_before,
            round,
            snapshot,
        };
        let Some(writer) = self.writer.as_ref() else {
            self.halt("the storage writer is not running".into());
            return false;
        };
        // Blocks only when the writer is several blocks behind (back-pressure).
        if tokio::task::block_in_place(|| writer.send(job).is_err()) {
            self.halt("the storage writer stopped".into());
            return false;
        }
        self.uncommitted.push_back(fx.clone());
        self.tip_cert = cert;
        let t = Instant::now();
        let dropped =
            self.mempool
                .on_block(&block, &fx.txids, &self.state, &self.spec.genesis.params);
        tracing::debug!(target: "perf", pool = self.mempool.len(), ms = t.elapsed().as_secs_f64() * 1e3, "mempool after block");
        if !dropped.is_empty() {
            tracing::debug!(target: "mempool", n = dropped.len(), "dropped conflicting or invalid transactions");
        }
        self.evidence_pool.prune(&self.state);
        let now = Instant::now();
        if let Some(run) = self.run.take() {
            let total = now.duration_since(run.started).as_millis() as u64;
            let d = now.duration_since(run.round_started).as_millis() as u64;
            push_bounded(
                &mut self.snapshot.recent_rounds,
                RoundTiming {
                    height,
                    round,
                    duration_ms: d,
                    end,
                },
                50,
            );
            push_bounded(&mut self.snapshot.finality_ms, total, 120);
        }
        self.last_decided = now;
        self.dirty = true;
        true
    }

    /// A block's commit returned: now it is final everywhere (log, subscribers, peers, RPC, UI).
    fn on_committed(&mut self, d: CommitDone) {
        self.uncommitted.pop_front();
        let (total, flush) = match d.result {
            Ok(t) => t,
            Err(e) => {
                self.halt(format!("storage commit of block {} failed: {e}", d.height));
                return;
            }
        };
        tracing::debug!(target: "perf", height = d.height, ms = total.as_secs_f64() * 1e3, flush_ms = flush.as_secs_f64() * 1e3, "storage commit");
        self.committed = (d.height, d.hash, d.time_ms);
        // Only now that the block is durable: before, the WAL is what finishes it after a crash.
        if let Err(e) = self.signer.clear_wal_below(d.height + 1) {
            tracing::warn!(target: "consensus", "clearing the own-message log failed (retried after the next block): {e}");
        }
        let ntx = d.txids.len().saturating_sub(1) as u64;
        self.snapshot.blocks_finalized += 1;
        self.snapshot.txs_finalized += ntx;
        self.tps_second.1 += ntx;
        self.snapshot.tip_finalized_at = Some(SystemTime::now());
        tracing::info!(target: "consensus", height = d.height, round = d.round, txs = ntx, hash = %d.hash.short(), "finalized");
        let _ = self.finalized_tx.send(Finalized {
            height: d.height,
            hash: d.hash,
            txids: d.txids,
            spent: d.spent,
            round: d.round,
            at: Instant::now(),
        });
        let _ = self.height_tx.send((d.height, d.hash));
        self.p2p.broadcast(Message::Status {
            height: d.height,
            tip: d.hash,
        });
        self.dirty = true;
    }

    /// Stops consensus for good: storage can no longer be trusted to hold what we decide.
    fn halt(&mut self, why: String) {
        tracing::error!(target: "storage", "{why}; consensus stopped, restart the node (with --reindex if it keeps failing)");
        self.halted = true;
        self.run = None;
        self.snapshot.error = Some(why);
        self.dirty = true;
    }

    fn on_timeout(&mut self, (height, round, step): (u64, u32, Step)) {
        let Some(run) = self.run.as_mut() else { return };
        if run.tm.height() != height {
            return;
        }
        let effects = run.tm.handle(Input::Timeout { round, step });
        self.apply_effects(effects);
    }

    fn on_tick(&mut self) {
        let p2p = &self.p2p;
        self.sync.retain_connected(|p| p2p.is_connected(p));
        self.check_sync();
        self.rebroadcast_if_stuck();
        let now = Instant::now();
        if now.duration_since(self.tps_second.0) >= Duration::from_secs(1) {
            push_bounded(&mut self.snapshot.tps, self.tps_second.1, 60);
            self.tps_second = (now, 0);
            self.dirty = true;
        }
    }

    /// Validates `block` as the next block on the in-memory state with `set` as its validators.
    /// Signatures of pooled transactions were verified at admission and are not checked again.
    fn validate_next(&self, block: &Block, set: &ValidatorSet) -> Result<BlockEffects, BlockError> {
        let mempool = &self.mempool;
        let skip = |id: &Hash| mempool.contains(id);
        tokio::task::block_in_place(|| {
            validate_block(
                block,
                &self.state,
                &self.spec.genesis.params,
                set,
                SigPolicy::SkipVerified(&skip),
            )
        })
    }

    /// Re-sends our own signed messages of the current height to every peer when the height has
    /// been open for a while, so peers that restarted or lost them can still reach a quorum.
    fn rebroadcast_if_stuck(&mut self) {
        let Some(run) = self.run.as_ref() else { return };
        let now = Instant::now();
        if now.duration_since(run.started) < REBROADCAST_AFTER
            || now.duration_since(self.last_rebroadcast) < REBROADCAST_AFTER
        {
            return;
        }
        self.rebroadcast_own();
    }

    fn rebroadcast_own(&mut self) {
        self.last_rebroadcast = Instant::now();
        // A node that does not sign (masternode mode off) does not speak for its key either:
        // a standby sharing the key must not repeat what the active one signed.
        if self.own_key().is_none() {
            return;
        }
        let msgs = self.signer.wal(self.current_height());
        if msgs.is_empty() {
            return;
        }
        let peers: Vec<PeerId> = self.p2p.peers().borrow().iter().map(|p| p.id).collect();
        tracing::debug!(target: "consensus", height = self.current_height(), msgs = msgs.len(), peers = peers.len(), "re-sending own messages");
        for m in msgs {
            for p in &peers {
                self.p2p.send(*p, m.clone());
            }
        }
    }

    // ----- snapshots -----

    fn publish(&mut self, force: bool) {
        let now = Instant::now();
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
        s.synced = s
            .best_peer_height
            .map(|b| b <= self.state.height + 1)
            .unwrap_or(true);
        s.consensus = self.run.as_ref().map(|r| r.tm.snapshot());
        s.step_since = self.run.as_ref().map(|r| r.step_since);
        s.mempool = self.mempool.snapshot(now, 20);
        s.masternodes = self.state.masternodes().cloned().collect();
        s.validators = self.state.next_validator_set();
        s.last_votes = self.last_votes.iter().map(|(k, v)| (*k, *v)).collect();
        let me = self.spec.node_key.public();
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

fn push_bounded<T>(q: &mut VecDeque<T>, v: T, cap: usize) {
    if q.len() == cap {
        q.pop_front();
    }
    q.push_back(v);
}

/// Maps `f` over `items` on all cores (scoped threads), keeping order.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if items.len() < 16 || threads == 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        out
    })
}
