//! The node's main task: owns the chain state, the mempool and the consensus instance of the
//! current height; turns network messages, local commands and timeouts into consensus inputs and
//! carries out the consensus effects (sign, broadcast, schedule, decide -> commit -> report).

use super::signer_store::{SignError, SignerStore};
use super::snapshot::{LastVote, NodeSnapshot, RoundEnd, RoundTiming};
use super::spec::NodeSpec;
use super::storage_writer::{self, CommitDone, CommitJob, SnapshotSchedule};
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

/// Most blocks asked for in one range request.
const SYNC_BATCH: u32 = 128;
/// Bytes of blocks served in one reply.
const SYNC_REPLY_BYTES: usize = 3 * 1024 * 1024;
/// Consensus messages buffered for future heights.
const MAX_BUFFERED: usize = 10_000;
/// A height open this long re-sends our own proposal and votes (peers that restarted or missed
/// them would otherwise wait forever: Tendermint assumes eventual delivery).
const REBROADCAST_AFTER: Duration = Duration::from_secs(2);
/// Most gossiped transactions verified and admitted per turn of the driver loop.
const ADMIT_CHUNK: usize = 1_024;
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

/// Where a transaction came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Local,
    Peer(PeerId),
}

/// State of the current height.
struct HeightRun {
    tm: Tendermint,
    started: Instant,
    round_started: Instant,
    step_since: Instant,
    /// Proposed blocks for this height by hash, with their effects if valid.
    blocks: HashMap<Hash, (Block, Option<BlockEffects>)>,
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
    buffered: VecDeque<(PeerId, Message)>,
    evidence_pool: Vec<Evidence>,
    seen_evidence: HashSet<Hash>,
    timeout_tx: mpsc::Sender<(u64, u32, Step)>,
    timeout_rx: mpsc::Receiver<(u64, u32, Step)>,
    pending_txs: Vec<(Transaction, Source)>,
    peer_heights: HashMap<PeerId, u64>,
    sync_request: Option<(PeerId, u64, Instant)>,
    behind_since: Option<Instant>,
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
        let now = Instant::now();
        let mut snapshot = snapshot_tx.borrow().clone();
        snapshot.error = spawn_error.clone();
        let tip_cert = match storage.certificate(state.height) {
            Ok(Some(c)) if state.height > 0 => c,
            _ => CommitCertificate::default(),
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
            buffered: VecDeque::new(),
            evidence_pool: Vec::new(),
            seen_evidence: HashSet::new(),
            timeout_tx,
            timeout_rx,
            pending_txs: Vec::new(),
            peer_heights: HashMap::new(),
            sync_request: None,
            behind_since: None,
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
                _ = std::future::ready(()), if !self.pending_txs.is_empty() => {}
            }
            self.admit_pending();
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
            Message::Tx(tx) => self.pending_txs.push((tx, Source::Peer(peer))),
            Message::Proposal { proposal, block } => self.on_proposal(peer, proposal, block),
            Message::Vote(v) => self.on_vote(peer, v),
            Message::Status { height, tip: _ } => self.on_status(peer, height),
            Message::GetBlocks { from, count } => self.serve_blocks(peer, from, count),
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

    /// Routes a consensus message by chain and height: foreign chains are misbehaviour, old
    /// heights are dropped, the next height (or this one before it started) is buffered.
    /// Returns the message back when it is for the running height.
    fn route_consensus(
        &mut self,
        peer: PeerId,
        chain_id: Hash,
        height: u64,
        msg: Message,
    ) -> Option<Message> {
        if chain_id != self.spec.genesis.params.chain_id {
            self.p2p.report(peer, Misbehaviour::InvalidSignature);
            return None;
        }
        let h = self.current_height();
        if height < h {
            return None;
        }
        if height > h || self.run.is_none() {
            if height <= h + 1 && self.buffered.len() < MAX_BUFFERED {
                self.buffered.push_back((peer, msg));
            }
            return None;
        }
        Some(msg)
    }

    fn on_proposal(&mut self, peer: PeerId, proposal: Proposal, block: Block) {
        let (chain_id, height) = (proposal.chain_id, proposal.height);
        let Some(Message::Proposal { proposal, block }) = self.route_consensus(
            peer,
            chain_id,
            height,
            Message::Proposal { proposal, block },
        ) else {
            return;
        };
        // The header's proposer may differ from the signer: Tendermint re-proposes a valid value
        // from an earlier round (Alg.1 L16), and that block keeps its original proposer.
        if let Err(e) = proposal.verify() {
            tracing::warn!(target: "consensus", peer = %peer.short(), "proposal rejected: {e}");
            self.p2p.report(peer, Misbehaviour::InvalidSignature);
            return;
        }
        if block.hash() != proposal.block_hash {
            tracing::warn!(target: "consensus", peer = %peer.short(), "proposal rejected: the block is not the one signed");
            self.p2p.report(peer, Misbehaviour::InvalidBlock);
            return;
        }
        self.accept_proposal(Some(peer), proposal, block);
    }

    fn accept_proposal(&mut self, from: Option<PeerId>, proposal: Proposal, block: Block) {
        let hash = proposal.block_hash;
        let Some(known) = self.run.as_ref().map(|r| r.blocks.contains_key(&hash)) else {
            return;
        };
        if !known {
            let t = Instant::now();
            let fx = self.validate_next(&block, &self.state.next_validator_set());
            tracing::debug!(target: "perf", txs = block.txs.len(), ms = t.elapsed().as_secs_f64() * 1e3, "validate proposal");
            let fx = match fx {
                Ok(fx) => Some(fx),
                Err(e) => {
                    tracing::warn!(target: "consensus", height = block.header.height, "invalid proposed block: {e}");
                    if let Some(p) = from {
                        self.p2p.report(p, Misbehaviour::InvalidBlock);
                    }
                    None
                }
            };
            if let Some(run) = self.run.as_mut() {
                run.blocks.insert(hash, (block.clone(), fx));
            }
            if let Some(p) = from {
                self.p2p.broadcast_except(
                    p,
                    Message::Proposal {
                        proposal: proposal.clone(),
                        block,
                    },
                );
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
        let (chain_id, height) = (vote.chain_id, vote.height);
        let Some(Message::Vote(vote)) =
            self.route_consensus(peer, chain_id, height, Message::Vote(vote))
        else {
            return;
        };
        if let Err(e) = vote.verify() {
            tracing::warn!(target: "consensus", peer = %peer.short(), "vote rejected: {e}");
            self.p2p.report(peer, Misbehaviour::InvalidSignature);
            return;
        }
        self.accept_vote(Some(peer), vote);
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

    fn on_evidence(&mut self, from: Option<PeerId>, ev: Evidence) {
        let id = ev.id();
        if !self.seen_evidence.insert(id) {
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
        self.evidence_pool.push(ev);
    }

    fn on_status(&mut self, peer: PeerId, height: u64) {
        self.peer_heights.insert(peer, height);
        self.check_sync();
    }

    // ----- sync -----

    fn best_peer(&self) -> Option<(PeerId, u64)> {
        self.peer_heights
            .iter()
            .max_by_key(|(_, h)| **h)
            .map(|(p, h)| (*p, *h))
    }

    fn check_sync(&mut self) {
        let Some((peer, best)) = self.best_peer() else {
            return;
        };
        let ours = self.state.height;
        if best <= ours {
            self.behind_since = None;
            return;
        }
        let now = Instant::now();
        let since = *self.behind_since.get_or_insert(now);
        // One block behind is normal for a moment (a peer decided first); ask when it lasts.
        let should = best >= ours + 2 || now.duration_since(since) > Duration::from_millis(400);
        let outstanding = matches!(self.sync_request, Some((_, _, at)) if now.duration_since(at) < Duration::from_secs(5));
        if should && !outstanding {
            let count = (best - ours).min(SYNC_BATCH as u64) as u32;
            if self.p2p.send(
                peer,
                Message::GetBlocks {
                    from: ours + 1,
                    count,
                },
            ) {
                self.sync_request = Some((peer, ours + 1, now));
                tracing::debug!(target: "sync", from = ours + 1, count, "requesting blocks");
            }
        }
    }

    fn serve_blocks(&mut self, peer: PeerId, from: u64, count: u32) {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let end = from.saturating_add(count.min(SYNC_BATCH) as u64);
        for h in from..end {
            let (Ok(Some(raw)), Ok(Some(c))) =
                (self.storage.block_bytes(h), self.storage.certificate(h))
            else {
                break;
            };
            let size = raw.len() + c.sigs.len() * 96 + 64;
            // Stay under the frame limit: a reply holds at least one block.
            if !out.is_empty() && bytes + size > SYNC_REPLY_BYTES {
                break;
            }
            let Ok(b) = <Block as crate::types::Decode>::from_bytes(&raw) else {
                break;
            };
            bytes += size;
            out.push((b, c));
        }
        if !out.is_empty() {
            self.p2p.send(peer, Message::Blocks(out));
        }
    }

    fn on_blocks(&mut self, peer: PeerId, blocks: Vec<(Block, CommitCertificate)>) {
        let requested = matches!(self.sync_request, Some((p, _, _)) if p == peer);
        if !requested {
            // A reply that arrives after we caught up is harmless; blocks nobody asked for are not.
            if blocks
                .first()
                .map(|(b, _)| b.header.height > self.current_height())
                .unwrap_or(true)
            {
                self.p2p.report(peer, Misbehaviour::UnsolicitedBlocks);
                return;
            }
        }
        self.sync_request = None;
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
                    tracing::warn!(target: "sync", "invalid block from peer: {e}");
                    self.p2p.report(peer, Misbehaviour::InvalidBlock);
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
                let r = self.admit_batch(vec![(*tx, Source::Local)]);
                let _ = reply.send(
                    r.into_iter()
                        .next()
                        .unwrap_or(Err(MempoolError::AlreadyKnown)),
                );
            }
            Command::SubmitTxs { txs, reply } => {
                let r = self.admit_batch(txs.into_iter().map(|t| (t, Source::Local)).collect());
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

    fn admit_pending(&mut self) {
        if self.pending_txs.is_empty() {
            return;
        }
        // A bounded chunk per turn, so votes and proposals queued behind a flood of
        // transactions are not delayed by more than one chunk's verification.
        let batch = if self.pending_txs.len() > ADMIT_CHUNK {
            let rest = self.pending_txs.split_off(ADMIT_CHUNK);
            std::mem::replace(&mut self.pending_txs, rest)
        } else {
            std::mem::take(&mut self.pending_txs)
        };
        self.admit_batch(batch);
    }

    /// Verifies signatures of new transactions in parallel, then admits them in order and
    /// relays the accepted ones.
    fn admit_batch(&mut self, txs: Vec<(Transaction, Source)>) -> Vec<Result<Hash, MempoolError>> {
        let chain_id = self.spec.genesis.params.chain_id;
        let started = Instant::now();
        let ids: Vec<Hash> = txs.iter().map(|(t, _)| t.txid()).collect();
        let fresh: Vec<bool> = ids.iter().map(|id| !self.mempool.contains(id)).collect();
        // Signatures are the expensive part: verify only new transactions, on all cores.
        let to_check: Vec<&Transaction> = txs
            .iter()
            .zip(&fresh)
            .filter(|(_, f)| **f)
            .map(|((t, _), _)| t)
            .collect();
        let mut verdicts =
            tokio::task::block_in_place(|| batch_verify_txs(&to_check, &chain_id)).into_iter();
        let now = Instant::now();
        let mut out = Vec::with_capacity(txs.len());
        for (((tx, src), fresh), txid) in txs.into_iter().zip(fresh).zip(ids) {
            if !fresh {
                out.push(Err(MempoolError::AlreadyKnown));
                continue;
            }
            if let Some(Err(e)) = verdicts.next() {
                if let Source::Peer(p) = src {
                    self.p2p.report(p, Misbehaviour::InvalidTx);
                }
                out.push(Err(MempoolError::Invalid(e)));
                continue;
            }
            let relay = tx.clone();
            let r =
                self.mempool
                    .insert_verified(tx, txid, &self.state, &self.spec.genesis.params, now);
            match (&r, src) {
                (Ok(_), Source::Peer(p)) => self.p2p.broadcast_except(p, Message::Tx(relay)),
                (Ok(_), Source::Local) => self.p2p.broadcast(Message::Tx(relay)),
                // A missing input may only mean the parent has not arrived yet: not misbehaviour.
                (Err(MempoolError::Invalid(e)), Source::Peer(p))
                    if !matches!(e, crate::ledger::TxError::MissingInput(_)) =>
                {
                    self.p2p.report(p, Misbehaviour::InvalidTx)
                }
                _ => {}
            }
            if r.is_ok() {
                self.dirty = true;
            }
            out.push(r);
        }
        tracing::debug!(target: "perf", n = out.len(), ms = started.elapsed().as_secs_f64() * 1e3, "admit batch");
        out
    }

    // ----- heights and effects -----

    fn maybe_start_height(&mut self) {
        if self.run.is_some() || self.halted {
            return;
        }
        let h = self.current_height();
        let has_msgs = self.buffered.iter().any(|(_, m)| msg_height(m) == Some(h));
        let idle = self.last_decided.elapsed() >= self.spec.empty_block_interval;
        if self.mempool.is_empty() && !has_msgs && !idle && self.evidence_pool.is_empty() {
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
        let mut own_inputs = Vec::new();
        for m in wal {
            match m {
                Message::Vote(v) => own_inputs.push(Input::Vote(v)),
                Message::Proposal { proposal, block } => {
                    let fx = self.validate_next(&block, &set).ok();
                    let valid = fx.is_some();
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
        });
        self.apply_effects(effects);
        let buffered = std::mem::take(&mut self.buffered);
        for (peer, m) in buffered {
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
        let banned: HashSet<PublicKey> = self
            .state
            .masternodes()
            .filter(|m| m.banned)
            .map(|m| m.node_key)
            .collect();
        let mut offenders = HashSet::new();
        let evidence: Vec<Evidence> = self
            .evidence_pool
            .iter()
            .filter(|e| {
                let off = e.offender();
                !banned.contains(&off)
                    && self.state.masternode_by_key(&off).is_some()
                    && offenders.insert(off)
                    && e.a.height < height
            })
            .take(crate::types::block::MAX_BLOCK_EVIDENCE)
            .cloned()
            .collect();
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
        let banned: HashSet<PublicKey> = self
            .state
            .masternodes()
            .filter(|m| m.banned)
            .map(|m| m.node_key)
            .collect();
        self.evidence_pool
            .retain(|e| !banned.contains(&e.offender()));
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
        s.best_peer_height = self.peer_heights.values().max().copied();
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

fn msg_height(m: &Message) -> Option<u64> {
    match m {
        Message::Vote(v) => Some(v.height),
        Message::Proposal { proposal, .. } => Some(proposal.height),
        _ => None,
    }
}

/// Verifies the signatures of many transactions: one batch per core (a batch accepts exactly
/// what single verification accepts; a failed batch falls back to single checks to find the bad
/// items), then one verdict per transaction, in order.
fn batch_verify_txs(
    txs: &[&Transaction],
    chain_id: &Hash,
) -> Vec<Result<(), crate::ledger::TxError>> {
    use crate::ledger::validate::{signature_items, verify_tx_signatures};
    if txs.len() < 8 {
        return txs
            .iter()
            .map(|t| verify_tx_signatures(t, chain_id))
            .collect();
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let chunks: Vec<&[&Transaction]> = txs.chunks(txs.len().div_ceil(threads)).collect();
    let verify_chunk = |chunk: &&[&Transaction]| {
        let items: Vec<(
            usize,
            crate::types::Hash,
            crate::types::Signature,
            PublicKey,
        )> = chunk
            .iter()
            .enumerate()
            .flat_map(|(i, t)| {
                signature_items(t, chain_id)
                    .into_iter()
                    .map(move |(m, s, k)| (i, m, s, k))
            })
            .collect();
        let refs: Vec<(&[u8], &crate::types::Signature, &PublicKey)> =
            items.iter().map(|(_, m, s, k)| (&m.0[..], s, k)).collect();
        let ok = crate::types::keys::verify_batch(&refs);
        let mut bad = vec![false; chunk.len()];
        for ((i, ..), good) in items.iter().zip(ok) {
            if !good {
                bad[*i] = true;
            }
        }
        // A bad transaction gets its precise error from the single path.
        chunk
            .iter()
            .zip(bad)
            .map(|(t, b)| {
                if b {
                    verify_tx_signatures(t, chain_id)
                } else {
                    Ok(())
                }
            })
            .collect::<Vec<_>>()
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|c| s.spawn(move || verify_chunk(c)))
            .collect();
        let mut out = Vec::with_capacity(txs.len());
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        out
    })
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
