//! The node's main task: owns the chain state, the mempool and the consensus instance of the
//! current height; turns network messages, local commands and timeouts into consensus inputs and
//! carries out the consensus effects (sign, broadcast, schedule, decide -> commit -> report).
//!
//! One file per concern, each an `impl Driver` block over the state declared here: `gossip`
//! (consensus messages from peers), `catch_up` (sync), `commands` (local requests), `height`
//! (running a height and the core's effects), `commit` (the commit pipeline), `publish` (the
//! node snapshot). Transactions go through [`Admission`], range requests from peers through
//! [`BlockServer`].

use super::admission::Admission;
use super::evidence_pool::EvidencePool;
use super::future_buffer::FutureBuffer;
use super::io::{BlockRequests, BlockWriter, Clock, Io, Loops, Network, Timeout, Timers};
use super::signer_store::{SignError, SignerStore};
use super::snapshot::{LastVote, NodeSnapshot, RoundEnd, RoundTiming};
use super::spec::NodeSpec;
use super::storage_writer::{CommitDone, CommitJob, SnapshotSchedule};
use super::sync::{SyncAction, SyncTracker};
use crate::consensus::{DoubleSignGuard, Effect, Input, Tendermint};
use crate::ledger::{
    build_block, validate_block_known, BlockEffects, BlockError, LedgerState, SigPolicy,
};
use crate::mempool::{Mempool, MempoolError};
use crate::p2p::{InboundMessage, Message, Misbehaviour, PeerId};
use crate::storage::Storage;
use crate::types::block::MAX_BLOCK_SIZE;
use crate::types::sig_cache::{self, SigCache};
use crate::types::{
    Address, Block, CommitCertificate, Evidence, Hash, OutPoint, Proposal, PublicKey, Transaction,
    ValidatorSet, Vote,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

mod catch_up;
mod commands;
mod commit;
mod gossip;
mod height;
mod publish;

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
    /// Height of the block.
    pub height: u64,
    /// Hash of the block.
    pub hash: Hash,
    /// Ids of its transactions (coinbase first).
    pub txids: Arc<Vec<Hash>>,
    /// Outpoints its transactions spent (the coinbase spends none).
    pub spent: Arc<Vec<OutPoint>>,
    /// Rounds it took (0 = first round).
    pub round: u32,
    /// When it was committed locally.
    pub at: Instant,
    /// How long its commit took (the batch write and the flush).
    pub commit: Duration,
}

/// Chain data a wallet needs for a set of addresses, from durable storage only (see
/// [`crate::node::durable_view`]).
#[derive(Clone, Debug, Default)]
pub struct WalletChainData {
    /// Unspent outputs of the addresses in durable storage.
    pub finalized: Vec<(OutPoint, crate::ledger::Utxo)>,
    /// Pending outputs to the addresses: of pooled transactions, and of blocks decided but not
    /// yet written.
    pub pending: Vec<(OutPoint, crate::ledger::Utxo)>,
    /// Outpoints spent by pooled transactions or by blocks not yet written.
    pub spent_in_mempool: HashSet<OutPoint>,
    /// Ids of pooled transactions and of those in blocks not yet written.
    pub mempool_txids: HashSet<Hash>,
    /// Height of the last durable (reported final) block.
    pub height: u64,
}

/// A pooled transaction as RPC shows it.
#[derive(Clone, Debug)]
pub struct MempoolEntryInfo {
    /// Id of the transaction.
    pub txid: Hash,
    /// Encoded size in bytes.
    pub size: usize,
    /// Fee in base units.
    pub fee: crate::types::Amount,
    /// How long the transaction has been in the pool when the driver answered.
    pub age: Duration,
    /// Pooled transactions it spends from.
    pub depends: Vec<Hash>,
}

/// Requests to the driver.
pub enum Command {
    /// Submit one transaction (RPC sendrawtransaction, wallet).
    SubmitTx {
        /// The transaction to validate and pool.
        tx: Box<Transaction>,
        /// The txid once pooled, or why the mempool refused it.
        reply: oneshot::Sender<Result<Hash, MempoolError>>,
    },
    /// Submit many transactions at once (bench); verified in parallel.
    SubmitTxs {
        /// The transactions to validate and pool.
        txs: Vec<Transaction>,
        /// One verdict per transaction, in the order of `txs`.
        reply: oneshot::Sender<Vec<Result<Hash, MempoolError>>>,
    },
    /// Chain data for a wallet.
    WalletData {
        /// Addresses of the wallet.
        addrs: Vec<Address>,
        /// The addresses' outputs, pending outputs and mempool spends.
        reply: oneshot::Sender<WalletChainData>,
    },
    /// A pooled transaction.
    MempoolTx {
        /// Id of the transaction.
        txid: Hash,
        /// The transaction, `None` when it is not in the pool.
        reply: oneshot::Sender<Option<Transaction>>,
    },
    /// Every pooled transaction: id, size, fee, age, pooled parents.
    MempoolEntries {
        /// One entry per pooled transaction.
        reply: oneshot::Sender<Vec<MempoolEntryInfo>>,
    },
    /// A UTXO from the finalized state.
    Utxo {
        /// The output asked for.
        outpoint: OutPoint,
        /// Answer: the output, and whether a pooled transaction spends it.
        reply: oneshot::Sender<(Option<crate::ledger::Utxo>, bool)>,
    },
}

/// Everything the driver reacts to. The node's loop turns its channels and timers into
/// events; the simulation makes them from its schedule. (Events are handled as they come,
/// never stored in bulk: their size difference does not matter.)
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// A message from a peer.
    Inbound(InboundMessage),
    /// A local request.
    Command(Command),
    /// The storage writer finished a block.
    Committed(CommitDone),
    /// A consensus timeout fired.
    Timeout(Timeout),
    /// The periodic tick (sync, re-sends, rates): every 50 ms in the node.
    Tick,
}

/// How often the node's loop sends [`Event::Tick`].
pub const TICK: Duration = Duration::from_millis(50);

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

/// What the driver's bounded buffers hold ([`Driver::held`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Bytes of verified messages buffered for the next height.
    pub next_height: usize,
    /// Bytes of proposed blocks of the running height.
    pub run_blocks: usize,
    /// Bytes of gossiped transactions waiting for admission.
    pub gossip_txs: usize,
    /// Bytes of pooled transactions.
    pub mempool: usize,
    /// Pieces of evidence in the pool.
    pub evidence: usize,
}

/// The node's main task; see the module documentation.
pub struct Driver {
    spec: Arc<NodeSpec>,
    storage: Storage,
    state: LedgerState,
    mempool: Mempool,
    clock: Arc<dyn Clock>,
    net: Arc<dyn Network>,
    timers: Box<dyn Timers>,
    signer: SignerStore,
    guard: DoubleSignGuard,
    run: Option<HeightRun>,
    last_decided: Instant,
    /// Verified consensus messages of masternodes for the next height.
    buffered: FutureBuffer,
    evidence_pool: EvidencePool,
    /// Checks, verifies and admits transactions; buffers gossiped ones.
    admission: Admission,
    /// Peers' claimed heights and our range request.
    sync: SyncTracker,
    /// Answers peers' range requests off the consensus loop.
    block_server: Option<Box<dyn BlockRequests>>,
    snapshot: NodeSnapshot,
    snapshot_tx: watch::Sender<NodeSnapshot>,
    height_tx: watch::Sender<(u64, Hash)>,
    finalized_tx: broadcast::Sender<Finalized>,
    dirty: bool,
    last_published: Instant,
    tps_second: (Instant, u64),
    last_votes: HashMap<PublicKey, LastVote>,
    /// Consensus signatures this node verified (or made): a vote's precommit comes back in the
    /// next block's certificate, a buffered message is handled again when its height starts.
    sigs: SigCache,
    /// Certificate of the tip, carried by the next block as its `last_commit`.
    tip_cert: CommitCertificate,
    /// When our own messages of the current height were last re-sent.
    last_rebroadcast: Instant,
    /// Makes finalized blocks durable.
    writer: Box<dyn BlockWriter>,
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
    /// Builds a driver around opened storage and its I/O ([`Io::production`] in the node).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        spec: Arc<NodeSpec>,
        storage: Storage,
        state: LedgerState,
        io: Io,
        signer: SignerStore,
        snapshot_tx: watch::Sender<NodeSnapshot>,
        height_tx: watch::Sender<(u64, Hash)>,
        finalized_tx: broadcast::Sender<Finalized>,
    ) -> Driver {
        let guard = DoubleSignGuard::new(signer.load_state());
        let committed = (state.height, state.tip_hash, state.tip_time_ms);
        let mempool = Mempool::new(spec.mempool.clone());
        let buffered = FutureBuffer::new(spec.future_buffer);
        let admission = Admission::new(spec.genesis.params.clone());
        let now = io.clock.now();
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
        let fault = io.fault.or(cert_error);
        if let Some(e) = &fault {
            tracing::error!(target: "storage", "{e}; consensus stopped, restart the node (with --reindex if it keeps failing)");
        }
        let mut snapshot = snapshot_tx.borrow().clone();
        snapshot.error = fault.clone();
        Driver {
            spec,
            storage,
            state,
            mempool,
            clock: io.clock,
            net: io.net,
            timers: io.timers,
            signer,
            guard,
            run: None,
            last_decided: now,
            buffered,
            evidence_pool: EvidencePool::default(),
            admission,
            sync: SyncTracker::default(),
            block_server: io.blocks,
            snapshot,
            snapshot_tx,
            height_tx,
            finalized_tx,
            dirty: true,
            last_published: now,
            tps_second: (now, 0),
            last_votes: HashMap::new(),
            sigs: SigCache::new(sig_cache::DEFAULT_CAPACITY),
            tip_cert,
            last_rebroadcast: now,
            writer: io.writer,
            uncommitted: VecDeque::new(),
            committed,
            halted: fault.is_some(),
            snapshots: SnapshotSchedule::default(),
        }
    }

    /// Runs the node's event loop until `shutdown`; then lets the writer finish and flushes
    /// storage.
    pub async fn run(
        mut self,
        mut loops: Loops,
        mut inbound: mpsc::Receiver<InboundMessage>,
        mut commands: mpsc::Receiver<Command>,
        shutdown: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let slots = self.spec.verify_slots.clone();
        self.publish(true);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                Some(m) = inbound.recv() => {
                    self.handle(Event::Inbound(m));
                    // Drain what else is waiting so transactions are verified in batches.
                    let mut n = 0;
                    while n < 4096 {
                        match inbound.try_recv() {
                            Ok(m) => self.handle(Event::Inbound(m)),
                            Err(_) => break,
                        }
                        n += 1;
                    }
                }
                Some(c) = commands.recv() => self.handle(Event::Command(c)),
                Some(d) = loops.committed.recv() => self.handle(Event::Committed(d)),
                Some(t) = loops.timeouts.recv() => self.handle(Event::Timeout(t)),
                _ = tick.tick() => self.handle(Event::Tick),
                // Gossiped transactions wait for admission: the next chunk once a verification
                // slot is free (meanwhile the other branches keep consensus going).
                Some(_slot) = slots.acquire(), if self.admission.has_pending() => self.admit_chunk(),
            }
            self.settle_events();
        }
        // Let the writer finish what was decided, then wait for it.
        self.writer.finish();
        while let Ok(d) = loops.committed.try_recv() {
            self.on_committed(d);
        }
        self.close();
    }

    /// Reacts to one event. Call [`Driver::settle`] after one or more events.
    pub fn handle(&mut self, event: Event) {
        match event {
            Event::Inbound(m) => self.on_inbound(m),
            Event::Command(c) => self.on_command(c),
            Event::Committed(d) => self.on_committed(d),
            Event::Timeout(t) => self.on_timeout(t),
            Event::Tick => self.on_tick(),
        }
    }

    /// The work that follows events: admits a chunk of gossiped transactions (without waiting
    /// for a verification slot: the caller runs the nodes one at a time), starts the next
    /// height when it is due, and publishes the snapshot.
    pub fn settle(&mut self) {
        self.admit_chunk();
        self.settle_events();
    }

    /// Admits a chunk of the gossiped transactions waiting.
    fn admit_chunk(&mut self) {
        let now = self.clock.now();
        self.dirty |= self
            .admission
            .admit_pending(&mut self.mempool, &self.state, &*self.net, now);
    }

    /// Starts the next height when it is due and publishes the snapshot.
    fn settle_events(&mut self) {
        self.maybe_start_height();
        self.publish(false);
    }

    /// Whether gossiped transactions wait for admission ([`Driver::settle`] takes a chunk).
    pub fn has_pending(&self) -> bool {
        self.admission.has_pending()
    }

    /// Writes the final state once every block handed to the writer is back: a snapshot of it
    /// makes the next start replay nothing.
    pub fn close(self) {
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

    /// The in-memory chain state (a block or two ahead of storage while commits run).
    pub fn state(&self) -> &LedgerState {
        &self.state
    }

    /// The height and hash of the last block whose commit returned (reported final).
    pub fn committed(&self) -> (u64, Hash) {
        (self.committed.0, self.committed.1)
    }

    /// The running height's consensus state, if a height runs.
    pub fn consensus(&self) -> Option<crate::consensus::ConsensusSnapshot> {
        self.run.as_ref().map(|r| r.tm.snapshot())
    }

    /// Whether consensus stopped after a storage fault.
    pub fn halted(&self) -> bool {
        self.halted
    }

    /// The signatures this node verified and remembers, for checks that it did no signature
    /// work on a message a cheaper check drops.
    pub fn verified_signatures(&self) -> &SigCache {
        &self.sigs
    }

    /// Admission's work counters (verified, fetched, served transactions).
    pub fn admission_stats(&self) -> super::admission::AdmissionStats {
        self.admission.stats()
    }

    /// Bytes held in the driver's bounded buffers, for checks that they stay bounded.
    pub fn held(&self) -> Held {
        Held {
            next_height: self.buffered.bytes(),
            run_blocks: self.run.as_ref().map_or(0, |r| r.block_bytes),
            gossip_txs: self.admission.pending_bytes(),
            mempool: self.mempool.bytes(),
            evidence: self.evidence_pool.count(),
        }
    }

    fn own_key(&self) -> Option<PublicKey> {
        self.spec.masternode.then(|| self.spec.node_key.public())
    }

    fn on_inbound(&mut self, m: InboundMessage) {
        let peer = m.peer;
        match m.msg {
            Message::Tx(tx) => {
                self.admission.enqueue(peer, tx);
            }
            Message::TxAnnounce(ids) => {
                let now = self.clock.now();
                self.admission
                    .on_announce(peer, ids, &self.mempool, &*self.net, now);
            }
            Message::GetTxs(ids) => {
                self.admission
                    .on_get_txs(peer, &ids, &self.mempool, &*self.net)
            }
            Message::Proposal { proposal, block } => self.on_proposal(peer, proposal, block),
            Message::Vote(v) => self.on_vote(peer, v),
            Message::Status { height, tip: _ } => self.on_status(peer, height),
            Message::GetBlocks { from, count } => {
                if let Some(server) = self.block_server.as_mut() {
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

    /// Stops consensus for good: storage can no longer be trusted to hold what we decide.
    fn halt(&mut self, why: String) {
        tracing::error!(target: "storage", "{why}; consensus stopped, restart the node (with --reindex if it keeps failing)");
        self.halted = true;
        self.run = None;
        self.snapshot.error = Some(why);
        self.dirty = true;
    }

    fn on_timeout(&mut self, (height, round, step): Timeout) {
        let Some(run) = self.run.as_mut() else { return };
        if run.tm.height() != height {
            return;
        }
        let effects = run.tm.handle(Input::Timeout { round, step });
        self.apply_effects(effects);
    }

    fn on_tick(&mut self) {
        let net = &self.net;
        self.sync.retain_connected(|p| net.is_connected(p));
        self.check_sync();
        self.rebroadcast_if_stuck();
        let now = self.clock.now();
        self.admission.poll_fetches(&*self.net, now);
        if now.duration_since(self.tps_second.0) >= Duration::from_secs(1) {
            push_bounded(&mut self.snapshot.tps, self.tps_second.1, 60);
            self.tps_second = (now, 0);
            self.dirty = true;
        }
    }

    /// Validates `block` as the next block on the in-memory state with `set` as its validators.
    /// Signatures of pooled transactions were verified at admission, and those of the block's
    /// certificate that this node verified as votes, and are not checked again.
    fn validate_next(&self, block: &Block, set: &ValidatorSet) -> Result<BlockEffects, BlockError> {
        let mempool = &self.mempool;
        let skip = |id: &Hash| mempool.contains(id);
        tokio::task::block_in_place(|| {
            validate_block_known(
                block,
                &self.state,
                &self.spec.genesis.params,
                set,
                SigPolicy::SkipVerified(&skip),
                &self.sigs,
            )
        })
    }
}

fn push_bounded<T>(q: &mut VecDeque<T>, v: T, cap: usize) {
    if q.len() == cap {
        q.pop_front();
    }
    q.push_back(v);
}
