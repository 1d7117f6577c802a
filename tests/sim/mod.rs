//! Deterministic simulation of the real node. Every simulated masternode is the node's own
//! `Driver` (consensus effects, own-message WAL and double-sign guard, sync, evidence,
//! admission, the commit pipeline) on the node's own storage code over an in-memory database
//! (`timecoin::storage::kv::MemoryDb`, whose crash loses what was not flushed), behind the driver's
//! I/O seams (`timecoin::node::io`): a virtual clock, timers in the simulation's schedule, a
//! network that applies the p2p layer's own gossip rules (`timecoin::p2p::gossip`: seen sets,
//! per-peer rate limits, scores and bans) over modelled links ([`net`]), and a storage writer
//! whose blocks are written (by the node's own `storage_writer::write_group`) when the schedule
//! says, so a crash loses what was not written yet.
//!
//! The harness keeps what is not the node: the schedule, the network model, the adversaries
//! ([`adversary`]) and the checks ([`checks`]).

pub mod adversary;
pub mod checks;
pub mod io;
pub mod keys;
pub mod net;

use adversary::{Behavior, Colluders, Rogue};
use io::{Out, SimClock, SimIo, SimNet, SimTimers, SimWriter};
use keys::RunKeys;
use net::{Ms, NetModel};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use timecoin::consensus::ConsensusParams;
use timecoin::ledger::genesis::{GenesisMasternode, GenesisSpec};
use timecoin::ledger::Genesis;
use timecoin::mempool::MempoolLimits;
use timecoin::node::admission::AdmissionStats;
use timecoin::node::driver::{Command, Driver, Event, Finalized, Held, TICK};
use timecoin::node::io::{Io, Timeout};
use timecoin::node::signer_store::SignerStore;
use timecoin::node::{storage_writer, FutureLimits, NodeSnapshot, NodeSpec};
use timecoin::p2p::gossip::{self, Rate, RateGate, SeenSet};
use timecoin::p2p::message::gossip_key;
use timecoin::p2p::{InboundMessage, Message, Misbehaviour, P2pConfig, PeerId};
use timecoin::storage::kv::MemoryDb;
use timecoin::storage::Storage;
use timecoin::types::tx::TX_VERSION;
use timecoin::types::{
    Address, Amount, Encode, Hash, Network, OutPoint, PublicKey, SecretKey, Signature, Tier,
    Transaction, TxIn, TxKind, TxOut,
};
use tokio::sync::{broadcast, oneshot, watch};

/// Genesis time of every simulated chain (virtual wall clock starts here).
const GENESIS_MS: u64 = 1_700_000_000_000;
/// Faucet outputs at genesis: each client transaction spends one.
const FAUCET_OUTPUTS: usize = 64;
/// Offence points at which a link is banned (the p2p layer's default).
const BAN_THRESHOLD: i32 = 100;

/// Crash plans.
#[derive(Clone, Copy, Debug)]
pub enum Crash {
    /// `node` crashes at `at` for `down` ms (what its writer had not written is lost).
    Node { node: usize, at: Ms, down: Ms },
    /// At `at`, the proposer of the most advanced honest node's current round crashes.
    Proposer { at: Ms, down: Ms },
    /// From `at`, `node` crashes right after it next signs: the message and the signer state
    /// are durable (the driver wrote them before sending), the message never leaves.
    AfterSign { node: usize, at: Ms, down: Ms },
}

/// One scenario.
pub struct Config {
    pub name: String,
    /// Tier of each masternode (weights 1, 10, 100).
    pub tiers: Vec<Tier>,
    pub behaviors: Vec<Behavior>,
    /// Non-member peers linked to every masternode, each with an attack.
    pub rogues: Vec<Rogue>,
    pub net: NetModel,
    /// (node, from, until): the node sends nothing.
    pub silent: Vec<(usize, Ms, Ms)>,
    pub crashes: Vec<Crash>,
    /// Client transactions submitted to honest nodes over the first seconds.
    pub txs: usize,
    /// (masternode, time): its owner submits a masternode exit then.
    pub exits: Vec<(usize, Ms)>,
    /// (node, time): `node` is not in the genesis set (its owner holds a Bronze collateral at
    /// genesis); it runs as a full node and its owner registers it then.
    pub joins: Vec<(usize, Ms)>,
    /// Wait for transactions before an empty block.
    pub idle: Duration,
    /// Heights every honest node must commit.
    pub target: u64,
    /// Simulated time the run may take at most.
    pub max_time: Ms,
    /// After the last partition heals (or from the start), the target is reached within this.
    pub progress_bound: Ms,
    /// Bounds of every driver's next-height buffer (the node's defaults unless a scenario sets
    /// small ones for a flood to reach).
    pub future_limits: FutureLimits,
    /// The memory check's bound on a driver's next-height buffer: `future_limits.total_bytes`
    /// unless a control sets another.
    pub next_height_bound: Option<usize>,
}

impl Config {
    pub fn new(name: impl Into<String>, tiers: Vec<Tier>) -> Config {
        let n = tiers.len();
        Config {
            name: name.into(),
            tiers,
            behaviors: vec![Behavior::Honest; n],
            rogues: vec![],
            net: NetModel::lan(),
            silent: vec![],
            crashes: vec![],
            txs: 12,
            exits: vec![],
            joins: vec![],
            idle: Duration::from_millis(100),
            target: 4,
            max_time: 60_000,
            progress_bound: 40_000,
            future_limits: FutureLimits::default(),
            next_height_bound: None,
        }
    }

    pub fn bronze(name: impl Into<String>, n: usize) -> Config {
        Config::new(name, vec![Tier::Bronze; n])
    }
}

#[derive(Debug)]
enum Ev {
    Deliver {
        to: usize,
        from: usize,
        msg: Box<Message>,
        key: Option<Hash>,
        size: usize,
    },
    Timeout {
        node: usize,
        inc: u64,
        t: Timeout,
    },
    Tick {
        node: usize,
        inc: u64,
    },
    Write {
        node: usize,
        inc: u64,
    },
    Crash(Crash),
    Restart {
        node: usize,
    },
    Submit {
        tx: usize,
    },
    Attack {
        rogue: usize,
    },
}

/// An event in the schedule. The queue pops the earliest first, and of events due at the same
/// time the one scheduled first (`seq`), so a seed gives one order.
struct Scheduled {
    at: Ms,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    /// Reversed: `BinaryHeap` is a max-heap.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A node's view of one peer: what it knows the peer has, its rate gate and score.
struct Link {
    known: SeenSet,
    gate: RateGate,
    score: i32,
    banned: bool,
    /// Base delay (WAN) and the time the last message on it arrives (in-order links).
    base: Ms,
    last_at: Ms,
}

struct Node {
    key: SecretKey,
    id: PeerId,
    behavior: Behavior,
    /// Rogues run no driver.
    rogue: Option<Rogue>,
    /// The node's database; it outlives the node's crashes, which take back what was not flushed.
    db: MemoryDb,
    io: Arc<SimIo>,
    driver: Option<Driver>,
    storage: Option<Storage>,
    finalized: Option<broadcast::Receiver<Finalized>>,
    /// Incarnation: timers and writes of an earlier life are ignored.
    inc: u64,
    writing: bool,
    write_failed: bool,
    index_failed: bool,
    seen: SeenSet,
    /// Messages this node received (rogues replay them).
    heard: Vec<Message>,
    /// Crash after the next own signed message, for this long.
    crash_after_sign: Option<Ms>,
}

/// Per-height statistics of one honest node.
#[derive(Clone, Copy, Debug)]
pub struct Decision {
    pub node: usize,
    pub height: u64,
    pub hash: Hash,
    pub round: u32,
    pub at: Ms,
}

/// What a run produced, for the checks.
pub struct Outcome {
    pub violations: Vec<String>,
    pub decisions: Vec<Decision>,
    pub final_heights: Vec<u64>,
    pub honest: Vec<bool>,
    pub end_time: Ms,
    /// (banning node, banned node).
    pub bans: Vec<(usize, usize)>,
    pub deliveries: u64,
    pub bytes: u64,
    pub crashes: u64,
    pub held_max: Held,
    /// Size of each masternode's next validator set at the end (0: not running).
    pub set_sizes: Vec<usize>,
    /// For each node, how many certificates of the longest honest stored chain carry its
    /// precommit.
    pub certified: Vec<u64>,
    /// Each node's admission counters at the end (default: not running then).
    pub admission: Vec<AdmissionStats>,

    /// When every honest node had committed the target (None: never).
    pub target_at: Option<Ms>,
}

pub struct Sim {
    cfg: Config,
    rng: ChaCha8Rng,
    clock: Arc<SimClock>,
    genesis: Genesis,
    nodes: Vec<Node>,
    members: usize,
    links: BTreeMap<(usize, usize), Link>,
    queue: BinaryHeap<Scheduled>,
    seq: u64,
    now: Ms,
    txs: Vec<Transaction>,
    /// The faucet's address (the wallet query the read audit asks about) and the genesis
    /// block's coinbase-like allocation transaction, which storage indexes as height 0.
    faucet_addr: Address,
    genesis_txid: Hash,
    colluders: Colluders,
    /// Every message signed by a node's key that it sent: (height, round, kind) -> value.
    signed: HashMap<(usize, u64, u32, u8), Hash>,
    out: Outcome,
}

/// What the network needs of a message: its gossip key (the p2p layer's dedup key) and its
/// encoded size.
fn wire_meta(msg: &Message) -> (Option<Hash>, usize) {
    let bytes = msg.to_bytes();
    (gossip_key(msg, &bytes), bytes.len())
}

fn signed_by(m: &Message, key: &PeerId) -> bool {
    match m {
        Message::Vote(v) => v.voter == *key,
        Message::Proposal { proposal, .. } => proposal.proposer == *key,
        _ => false,
    }
}

fn genesis_of(cfg: &Config, keys: &RunKeys) -> Genesis {
    let faucet = keys.faucet_addr;
    Genesis::build(&GenesisSpec {
        network: Network::Devnet,
        time_ms: GENESIS_MS,
        treasury: faucet,
        allocations: (0..FAUCET_OUTPUTS)
            .map(|_| TxOut {
                amount: Amount::from_time(10),
                address: faucet,
            })
            .chain(cfg.joins.iter().map(|(i, _)| TxOut {
                amount: Tier::Bronze.collateral(),
                address: Address::from_pubkey(&keys.owners[*i].public()),
            }))
            .collect(),
        masternodes: cfg
            .tiers
            .iter()
            .enumerate()
            .filter(|(i, _)| cfg.joins.iter().all(|(j, _)| j != i))
            .map(|(i, tier)| {
                let owner = keys.owners[i].public();
                GenesisMasternode {
                    tier: *tier,
                    node_key: keys.nodes[i].public(),
                    owner,
                    p2p_addr: format!("10.0.0.{}:24100", i + 1),
                    payout: Address::from_pubkey(&owner),
                }
            })
            .collect(),
    })
}

/// The outputs `addr` holds at genesis, sorted.
fn coins_of(genesis: &Genesis, addr: Address) -> Vec<(OutPoint, Amount)> {
    let mut coins: Vec<_> = genesis
        .state()
        .utxos()
        .filter(|(_, u)| u.output.address == addr)
        .map(|(o, u)| (*o, u.output.amount))
        .collect();
    coins.sort();
    coins
}

/// A transaction of `kind` that spends the faucet output `coin` back to the faucet less a fee,
/// signed by the faucet and, for a masternode transaction, by `owner`.
fn faucet_paid(
    genesis: &Genesis,
    keys: &RunKeys,
    coin: (OutPoint, Amount),
    kind: TxKind,
    owner: Option<&SecretKey>,
) -> Transaction {
    let (prev, amount) = coin;
    let mut tx = Transaction {
        version: TX_VERSION,
        inputs: vec![TxIn {
            prev,
            pubkey: keys.faucet.public(),
            signature: Default::default(),
        }],
        outputs: vec![TxOut {
            amount: Amount(amount.0 - 10_000),
            address: keys.faucet_addr,
        }],
        lock_time: 0,
        kind,
    };
    tx.sign_inputs(&genesis.params.chain_id, &[&keys.faucet], owner);
    tx
}

/// Client transfers: each spends one faucet output of the genesis into a fresh output.
fn transfers(genesis: &Genesis, keys: &RunKeys, n: usize) -> Vec<Transaction> {
    coins_of(genesis, keys.faucet_addr)
        .into_iter()
        .take(n)
        .map(|coin| faucet_paid(genesis, keys, coin, TxKind::Transfer, None))
        .collect()
}

/// The faucet output `n`-th from the end, which pays a masternode transaction's fee (the
/// transfers spend from the start).
fn fee_coin(genesis: &Genesis, keys: &RunKeys, n: usize) -> (OutPoint, Amount) {
    let coins = coins_of(genesis, keys.faucet_addr);
    coins[coins.len() - 1 - n]
}

/// A masternode exit for masternode `i`, signed by its owner; the fee from [`fee_coin`] `n`.
fn exit_tx(genesis: &Genesis, keys: &RunKeys, i: usize, n: usize) -> Transaction {
    let owner = &keys.owners[i];
    let collateral = genesis
        .state()
        .masternodes()
        .find(|m| m.node_key == keys.nodes[i].public())
        .map(|m| m.collateral)
        .expect("genesis masternode");
    let kind = TxKind::MasternodeExit(Box::new(timecoin::types::tx::MasternodeExit {
        collateral,
        owner: owner.public(),
        owner_signature: Default::default(),
    }));
    faucet_paid(genesis, keys, fee_coin(genesis, keys, n), kind, Some(owner))
}

/// The Bronze registration of node `i` (not in the genesis set), signed by its owner, whose
/// genesis allocation is the collateral; the fee from [`fee_coin`] `n`.
fn register_tx(genesis: &Genesis, keys: &RunKeys, i: usize, n: usize) -> Transaction {
    let owner = &keys.owners[i];
    let owner_addr = Address::from_pubkey(&owner.public());
    let (collateral, _) = coins_of(genesis, owner_addr)
        .first()
        .copied()
        .expect("the joiner's collateral at genesis");
    let kind = TxKind::MasternodeRegister(Box::new(timecoin::types::tx::MasternodeRegistration {
        collateral,
        tier: Tier::Bronze,
        node_key: keys.nodes[i].public(),
        p2p_addr: format!("10.0.0.{}:24100", i + 1),
        payout: owner_addr,
        owner: owner.public(),
        owner_signature: Default::default(),
    }));
    faucet_paid(genesis, keys, fee_coin(genesis, keys, n), kind, Some(owner))
}

impl Sim {
    pub fn new(cfg: Config, seed: u64) -> Sim {
        let rng = ChaCha8Rng::seed_from_u64(seed);
        let members = cfg.tiers.len();
        let n = members + cfg.rogues.len();
        let keys = RunKeys::new(seed, members, cfg.rogues.len());
        let genesis = genesis_of(&cfg, &keys);
        let clock = Arc::new(SimClock::new(GENESIS_MS + 1_000));
        let mut nodes = Vec::with_capacity(n);
        for (i, key) in keys.nodes.iter().cloned().enumerate() {
            nodes.push(Node {
                id: key.public(),
                key,
                behavior: cfg.behaviors.get(i).copied().unwrap_or(Behavior::Honest),
                rogue: i.checked_sub(members).map(|r| cfg.rogues[r]),
                db: MemoryDb::new(),
                io: Arc::new(SimIo::default()),
                driver: None,
                storage: None,
                finalized: None,
                inc: 0,
                writing: false,
                write_failed: false,
                index_failed: false,
                seen: SeenSet::new(65_536),
                heard: vec![],
                crash_after_sign: None,
            });
        }
        let mut txs = transfers(&genesis, &keys, cfg.txs);
        for (k, (node, _)) in cfg.exits.iter().enumerate() {
            txs.push(exit_tx(&genesis, &keys, *node, k));
        }
        for (k, (node, _)) in cfg.joins.iter().enumerate() {
            txs.push(register_tx(&genesis, &keys, *node, cfg.exits.len() + k));
        }
        let honest = (0..n)
            .map(|i| i < members && cfg.behaviors.get(i).is_none_or(|b| *b == Behavior::Honest))
            .collect();
        let mut sim = Sim {
            rng,
            clock,
            genesis,
            nodes,
            members,
            links: BTreeMap::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            now: 0,
            txs,
            faucet_addr: keys.faucet_addr,
            genesis_txid: Hash([0; 32]),
            colluders: Colluders::default(),
            signed: HashMap::new(),
            out: Outcome {
                violations: vec![],
                decisions: vec![],
                final_heights: vec![0; members],
                honest,
                end_time: 0,
                bans: vec![],
                deliveries: 0,
                bytes: 0,
                crashes: 0,
                held_max: Held::default(),
                set_sizes: vec![],
                certified: vec![0; members],
                admission: vec![AdmissionStats::default(); members],
                target_at: None,
            },
            cfg,
        };
        sim.genesis_txid = sim
            .genesis
            .block
            .txs
            .first()
            .map(|t| t.txid())
            .unwrap_or(Hash([0; 32]));
        sim.wire();
        sim
    }

    /// Links of the topology among masternodes; every rogue is linked to every masternode.
    fn wire(&mut self) {
        let mut pairs = self.cfg.net.links(self.members, &mut self.rng);
        for r in self.members..self.nodes.len() {
            for m in 0..self.members {
                pairs.insert((m, r));
            }
        }
        let p2p = P2pConfig::new(
            Network::Devnet,
            self.genesis.params.chain_id,
            self.nodes[0].key.clone(),
            "127.0.0.1:0".parse().expect("addr"),
            std::env::temp_dir(),
        );
        for (a, b) in pairs {
            let base = self.cfg.net.base_delay(&mut self.rng);
            for (x, y) in [(a, b), (b, a)] {
                self.links.insert(
                    (x, y),
                    Link {
                        known: SeenSet::new(16_384),
                        gate: RateGate::new(p2p.msg_rate, p2p.byte_rate, self.clock.now_instant()),
                        score: 0,
                        banned: false,
                        base,
                        last_at: 0,
                    },
                );
            }
        }
    }

    fn push(&mut self, at: Ms, ev: Ev) {
        self.seq += 1;
        self.queue.push(Scheduled {
            at,
            seq: self.seq,
            ev,
        });
    }

    fn spec_of(&self, i: usize) -> NodeSpec {
        let node = &self.nodes[i];
        NodeSpec {
            name: format!("sim{i}"),
            network: Network::Devnet,
            // Not read: the node's database is `node.db`, in memory.
            data_dir: std::path::PathBuf::from(format!("sim{i}-in-memory")),
            genesis: self.genesis.clone(),
            node_key: node.key.clone(),
            masternode: true,
            p2p_bind: "127.0.0.1:0".parse().expect("addr"),
            advertise: None,
            seeds: vec![],
            connect: vec![],
            max_inbound: 64,
            max_outbound: 16,
            rpc_bind: None,
            rpc_user: None,
            rpc_allow_public: false,
            metrics_bind: None,
            consensus: ConsensusParams::devnet(),
            empty_block_interval: self.cfg.idle,
            mempool: MempoolLimits::default(),
            reindex: false,
            link_delay: None,
            future_buffer: self.cfg.future_limits,
            verify_slots: Default::default(),
        }
    }

    /// Opens node `i`'s storage and builds its driver on the simulation's I/O.
    fn boot(&mut self, i: usize) {
        let spec = Arc::new(self.spec_of(i));
        let (storage, state) =
            Storage::open_memory(&self.nodes[i].db, &spec.genesis).expect("open storage");
        let signer_tree = storage.tree("signer").expect("signer tree");
        if self.nodes[i].behavior == Behavior::Amnesiac {
            // Forgets what it signed: its locks and its own-message log.
            signer_tree.clear().expect("clear signer");
        }
        let node = &mut self.nodes[i];
        node.inc += 1;
        node.io = Arc::new(SimIo::default());
        let net = Arc::new(SimNet(node.io.clone()));
        let io = Io {
            clock: self.clock.clone(),
            net: net.clone(),
            timers: Box::new(SimTimers(node.io.clone())),
            writer: Box::new(SimWriter(node.io.clone())),
            blocks: Some(Box::new(
                timecoin::node::block_server::InlineBlockServer::new(storage.clone(), net),
            )),
            fault: None,
        };
        let snapshot = NodeSnapshot::initial(&spec, &state);
        let (snapshot_tx, _) = watch::channel(snapshot);
        let (height_tx, _) = watch::channel((state.height, state.tip_hash));
        let (finalized_tx, finalized_rx) = broadcast::channel(1024);
        let driver = Driver::new(
            spec,
            storage.clone(),
            state,
            io,
            SignerStore::new(signer_tree),
            snapshot_tx,
            height_tx,
            finalized_tx,
        );
        node.driver = Some(driver);
        node.storage = Some(storage);
        node.finalized = Some(finalized_rx);
        node.writing = false;
        node.write_failed = false;
        node.index_failed = false;
        let inc = node.inc;
        let t = self.now + self.rng.gen_range(0..TICK.as_millis() as u64);
        self.push(t, Ev::Tick { node: i, inc });
    }

    pub fn run(mut self) -> Outcome {
        for i in 0..self.members {
            self.boot(i);
        }
        for i in 0..self.members {
            self.step(i, |_| {});
        }
        for tx in 0..self.cfg.txs.min(self.txs.len()) {
            let at = self.rng.gen_range(0..3_000);
            self.push(at, Ev::Submit { tx });
        }
        for (k, (_, at)) in self.cfg.exits.clone().into_iter().enumerate() {
            self.push(
                at,
                Ev::Submit {
                    tx: self.cfg.txs + k,
                },
            );
        }
        let first_join = self.cfg.txs + self.cfg.exits.len();
        for (k, (_, at)) in self.cfg.joins.clone().into_iter().enumerate() {
            self.push(at, Ev::Submit { tx: first_join + k });
        }
        for c in self.cfg.crashes.clone() {
            let at = match c {
                Crash::Node { at, .. }
                | Crash::Proposer { at, .. }
                | Crash::AfterSign { at, .. } => at,
            };
            self.push(at, Ev::Crash(c));
        }
        for r in self.members..self.nodes.len() {
            let at = self.rng.gen_range(100..600);
            self.push(at, Ev::Attack { rogue: r });
        }
        while let Some(Scheduled { at, ev, .. }) = self.queue.pop() {
            if at > self.cfg.max_time {
                break;
            }
            self.now = at;
            self.clock.set(at);
            self.event(ev);
            if self.reached_target() {
                if self.out.target_at.is_none() {
                    self.out.target_at = Some(self.now);
                }
                break;
            }
        }
        self.out.end_time = self.now;
        self.finish()
    }

    fn reached_target(&self) -> bool {
        (0..self.members).all(|i| {
            !self.out.honest[i]
                || self.nodes[i]
                    .driver
                    .as_ref()
                    .is_some_and(|d| d.committed().0 >= self.cfg.target)
        })
    }

    fn event(&mut self, ev: Ev) {
        match ev {
            Ev::Deliver {
                to,
                from,
                msg,
                key,
                size,
            } => self.deliver(to, from, *msg, key, size),
            Ev::Timeout { node, inc, t } => {
                if self.nodes[node].inc == inc {
                    self.step(node, |d| d.handle(Event::Timeout(t)));
                }
            }
            Ev::Tick { node, inc } => {
                if self.nodes[node].inc == inc && self.nodes[node].driver.is_some() {
                    self.step(node, |d| d.handle(Event::Tick));
                    self.push(self.now + TICK.as_millis() as u64, Ev::Tick { node, inc });
                }
            }
            Ev::Write { node, inc } => {
                if self.nodes[node].inc == inc {
                    self.write(node);
                }
            }
            Ev::Crash(c) => self.crash(c),
            Ev::Restart { node } => {
                self.boot(node);
                self.step(node, |_| {});
                self.hello(node);
            }
            Ev::Submit { tx } => {
                let honest: Vec<usize> =
                    (0..self.members).filter(|i| self.out.honest[*i]).collect();
                if honest.is_empty() {
                    return;
                }
                let to = honest[self.rng.gen_range(0..honest.len())];
                let tx = Box::new(self.txs[tx].clone());
                let (reply, _) = oneshot::channel();
                self.step(to, |d| {
                    d.handle(Event::Command(Command::SubmitTx { tx, reply }))
                });
            }
            Ev::Attack { rogue } => {
                let msgs = adversary::attack(self, rogue);
                // A replay attack sends one message many times over: encode and hash it once.
                let mut last: Option<(Message, Option<Hash>, usize)> = None;
                for (to, msg) in msgs {
                    let (key, size) = match &last {
                        Some((m, key, size)) if *m == msg => (*key, *size),
                        _ => {
                            let (key, size) = wire_meta(&msg);
                            last = Some((msg.clone(), key, size));
                            (key, size)
                        }
                    };
                    self.transmit_encoded(rogue, to, msg, key, size);
                }
                let next = self.now + self.rng.gen_range(200..800);
                self.push(next, Ev::Attack { rogue });
            }
        }
    }

    /// Lets node `i`'s driver react (`f`), then settles it and carries out what it asked for.
    fn step(&mut self, i: usize, f: impl FnOnce(&mut Driver)) {
        let _span = tracing::debug_span!("node", i, ms = self.now).entered();
        let connected = self.connected(i);
        let node = &mut self.nodes[i];
        let Some(d) = node.driver.as_mut() else {
            return;
        };
        node.io.set_connected(connected);
        f(d);
        d.settle();
        let mut turns = 0;
        while d.has_pending() && turns < 64 {
            d.settle();
            turns += 1;
        }
        let held = d.held();
        let m = &mut self.out.held_max;
        m.next_height = m.next_height.max(held.next_height);
        m.run_blocks = m.run_blocks.max(held.run_blocks);
        m.gossip_txs = m.gossip_txs.max(held.gossip_txs);
        m.mempool = m.mempool.max(held.mempool);
        m.evidence = m.evidence.max(held.evidence);
        self.drain(i);
    }

    /// Peers `i` holds a connection to: linked, not banned either way, alive.
    fn connected(&self, i: usize) -> Vec<PeerId> {
        self.links
            .range((i, 0)..(i + 1, 0))
            .filter(|((_, p), l)| {
                !l.banned
                    && !self.links[&(*p, i)].banned
                    && (self.nodes[*p].driver.is_some() || self.nodes[*p].rogue.is_some())
            })
            .map(|((_, p), _)| self.nodes[*p].id)
            .collect()
    }

    fn index_of(&self, id: &PeerId) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == *id)
    }

    /// Carries out what node `i` asked for: reports, timers, writes, messages, decisions.
    fn drain(&mut self, i: usize) {
        let io = self.nodes[i].io.clone();
        for (peer, offence) in io.take_reports() {
            if let Some(p) = self.index_of(&peer) {
                self.offence(i, p, offence);
            }
        }
        let inc = self.nodes[i].inc;
        for (after, t) in io.take_timers() {
            self.push(
                self.now + after.as_millis() as u64,
                Ev::Timeout { node: i, inc, t },
            );
        }
        if io.has_jobs() && !self.nodes[i].writing {
            self.nodes[i].writing = true;
            let at = self.now + self.rng.gen_range(1..4);
            self.push(at, Ev::Write { node: i, inc });
        }
        let outs = io.take_out();
        if let Some(down) = self.nodes[i].crash_after_sign {
            let me = self.nodes[i].id;
            let signed = outs.iter().any(|o| match o {
                Out::Broadcast(m, _) | Out::Send(_, m) => signed_by(m, &me),
            });
            if signed {
                self.nodes[i].crash_after_sign = None;
                self.crash(Crash::Node {
                    node: i,
                    at: self.now,
                    down,
                });
                return;
            }
        }
        let outs = adversary::transform(self, i, outs);
        for o in outs {
            self.route(i, o);
        }
        let mut decided = vec![];
        if let Some(rx) = self.nodes[i].finalized.as_mut() {
            while let Ok(f) = rx.try_recv() {
                decided.push(f);
            }
        }
        for f in decided {
            self.out.decisions.push(Decision {
                node: i,
                height: f.height,
                hash: f.hash,
                round: f.round,
                at: self.now,
            });
            self.out.final_heights[i] = self.out.final_heights[i].max(f.height);
        }
    }

    /// Sends one output of node `i` over its links, with the p2p layer's dedup rules.
    fn route(&mut self, i: usize, o: Out) {
        self.record_signed(i, &o);
        match &o {
            Out::Broadcast(m, _) => tracing::debug!(target: "sim", "{i} broadcasts {}", summary(m)),
            Out::Send(p, m) => {
                tracing::debug!(target: "sim", "{i} sends {:?} {}", self.index_of(p), summary(m))
            }
        }
        match o {
            Out::Broadcast(msg, except) => {
                let (key, size) = wire_meta(&msg);
                if let Some(k) = key {
                    gossip::on_broadcast(&mut self.nodes[i].seen, k);
                }
                for p in self.connected(i) {
                    if Some(p) == except {
                        continue;
                    }
                    let Some(to) = self.index_of(&p) else {
                        continue;
                    };
                    if let Some(k) = key {
                        let link = self.links.get_mut(&(i, to)).expect("link");
                        if !gossip::should_send(&mut link.known, k) {
                            continue;
                        }
                    }
                    self.transmit_encoded(i, to, msg.clone(), key, size);
                }
            }
            Out::Send(peer, msg) => {
                if let Some(to) = self.index_of(&peer) {
                    let (key, size) = wire_meta(&msg);
                    if let Some(k) = key {
                        let link = self.links.get_mut(&(i, to)).expect("link");
                        link.known.insert(k);
                    }
                    self.transmit_encoded(i, to, msg, key, size);
                }
            }
        }
    }

    /// Sends `msg` from `from` to `to` (rogues and adversaries send this way too).
    pub fn transmit(&mut self, from: usize, to: usize, msg: Message) {
        let (key, size) = wire_meta(&msg);
        self.transmit_encoded(from, to, msg, key, size);
    }

    /// The network model: silence, partitions, loss, delay, duplication, order.
    fn transmit_encoded(
        &mut self,
        from: usize,
        to: usize,
        msg: Message,
        key: Option<Hash>,
        size: usize,
    ) {
        let now = self.now;
        if self
            .cfg
            .silent
            .iter()
            .any(|(n, a, b)| *n == from && now >= *a && now < *b)
            || self.cfg.net.cut(from, to, now)
        {
            return;
        }
        if self.cfg.net.loss > 0.0 && self.rng.gen_bool(self.cfg.net.loss) {
            return;
        }
        let Some(link) = self.links.get(&(from, to)) else {
            return;
        };
        let base = link.base;
        let copies = if self.cfg.net.dup > 0.0 && self.rng.gen_bool(self.cfg.net.dup) {
            2
        } else {
            1
        };
        let mut msg = Some(msg);
        for copy in 0..copies {
            let mut at = now + self.cfg.net.delay(base, &mut self.rng);
            let link = self.links.get_mut(&(from, to)).expect("link");
            if !self.cfg.net.reorder {
                at = at.max(link.last_at);
                link.last_at = at;
            }
            // The last copy takes the message itself.
            let msg = if copy + 1 < copies {
                msg.clone()
            } else {
                msg.take()
            };
            let Some(msg) = msg else { break };
            self.push(
                at,
                Ev::Deliver {
                    to,
                    from,
                    msg: Box::new(msg),
                    key,
                    size,
                },
            );
        }
    }

    /// A message arrives: the receiver's rate gate and seen sets first (the p2p layer's own
    /// rules), then its driver.
    fn deliver(&mut self, to: usize, from: usize, msg: Message, key: Option<Hash>, size: usize) {
        let alive = self.nodes[to].driver.is_some() || self.nodes[to].rogue.is_some();
        let open = self.links.get(&(to, from)).is_some_and(|l| !l.banned)
            && self.links.get(&(from, to)).is_some_and(|l| !l.banned);
        if !alive || !open {
            return;
        }
        self.out.deliveries += 1;
        self.out.bytes += size as u64 + 4;
        let t = self.clock.now_instant();
        let link = self.links.get_mut(&(to, from)).expect("link");
        if let Rate::Drop { report } = link.gate.check(size as u64 + 4, t) {
            if report {
                self.offence(to, from, Misbehaviour::RateLimited);
            }
            return;
        }
        if let Some(k) = key {
            let link = self.links.get_mut(&(to, from)).expect("link");
            if !gossip::on_receive(&mut self.nodes[to].seen, &mut link.known, &msg, k) {
                return;
            }
        }
        if self.nodes[to].rogue.is_some() {
            if self.nodes[to].heard.len() < 4_096 {
                self.nodes[to].heard.push(msg);
            }
            return;
        }
        tracing::debug!(target: "sim", ms = self.now, "{to} takes from {from}: {}", summary(&msg));
        let stranger = self.signed_by_stranger(&msg);
        let peer = self.nodes[from].id;
        self.step(to, |d| {
            d.handle(Event::Inbound(InboundMessage::new(peer, msg)))
        });
        if let Some((what, signed, signer, sig)) = stranger {
            let verified = self.nodes[to]
                .driver
                .as_ref()
                .is_some_and(|d| d.verified_signatures().contains(&signed, &signer, &sig));
            if verified {
                self.out.violations.push(format!(
                    "node {to} verified the signature of a {what} by a key that is no masternode at {} ms: membership is the cheaper check and comes first",
                    self.now
                ));
            }
        }
    }

    /// What a consensus message signed by a key that is no masternode of the run signs: the
    /// kind, the signed hash, the key and the signature.
    fn signed_by_stranger(
        &self,
        msg: &Message,
    ) -> Option<(&'static str, Hash, PublicKey, Signature)> {
        let signer = match msg {
            Message::Vote(v) => v.voter,
            Message::Proposal { proposal, .. } => proposal.proposer,
            _ => return None,
        };
        // Members' messages are nearly all of them: no signed hash is computed for those.
        if (0..self.members).any(|j| self.nodes[j].id == signer) {
            return None;
        }
        Some(match msg {
            Message::Vote(v) => ("vote", v.signing_bytes(), signer, v.signature),
            Message::Proposal { proposal: p, .. } => {
                ("proposal", p.signing_bytes(), signer, p.signature)
            }
            _ => return None,
        })
    }

    /// Node `at` blames `peer`: the p2p layer's scoring; at the threshold the link is banned.
    fn offence(&mut self, at: usize, peer: usize, offence: Misbehaviour) {
        let Some(link) = self.links.get_mut(&(at, peer)) else {
            return;
        };
        if link.banned {
            return;
        }
        let (score, ban) = gossip::score_after(link.score, offence, BAN_THRESHOLD);
        link.score = score;
        if ban {
            link.banned = true;
            self.out.bans.push((at, peer));
            if self.out.honest.get(at).copied().unwrap_or(false)
                && self.out.honest.get(peer).copied().unwrap_or(false)
            {
                self.out.violations.push(format!(
                    "honest node {at} banned honest node {peer} at {} ms (last offence: {})",
                    self.now,
                    offence.name()
                ));
            }
        }
    }

    /// The durability rule of reads: while node `i` holds decided blocks not yet written, every
    /// output its wallet query reports final is in storage already, and so is every output
    /// `gettxout` (the `Utxo` command) reports.
    fn audit_reads(&mut self, i: usize) {
        let addr = self.faucet_addr;
        let node = &mut self.nodes[i];
        let (Some(d), Some(storage)) = (node.driver.as_mut(), node.storage.as_ref()) else {
            return;
        };
        let (reply, mut rx) = oneshot::channel();
        d.handle(Event::Command(Command::WalletData {
            addrs: vec![addr],
            reply,
        }));
        let Ok(data) = rx.try_recv() else { return };
        let mut bad = vec![];
        if data.height != d.committed().0 {
            bad.push(format!(
                "node {i} reports height {} final while {} is durable",
                data.height,
                d.committed().0
            ));
        }
        let mut probes: Vec<_> = data.finalized.iter().map(|(o, _)| *o).collect();
        probes.extend(data.pending.iter().map(|(o, _)| *o));
        for o in probes {
            let durable = o.txid == self.genesis_txid
                || storage.tx_location(&o.txid).ok().flatten().is_some();
            if durable {
                // Whatever the node reports of a durable output is allowed: asking it (a
                // `DurableView` built per question) would check nothing.
                continue;
            }
            let (reply, mut rx) = oneshot::channel();
            d.handle(Event::Command(Command::Utxo { outpoint: o, reply }));
            let utxo_final = rx.try_recv().ok().and_then(|(u, _)| u).is_some();
            let listed_final = data.finalized.iter().any(|(f, _)| *f == o);
            if listed_final || utxo_final {
                bad.push(format!(
                    "node {i} reports an output of transaction {} final before its block is written",
                    o.txid.short()
                ));
            }
        }
        self.out.violations.extend(bad);
    }

    fn write(&mut self, i: usize) {
        self.audit_reads(i);
        let node = &mut self.nodes[i];
        node.writing = false;
        let jobs = node.io.take_jobs();
        let Some(storage) = node.storage.as_ref() else {
            return;
        };
        let done = storage_writer::write_group(storage, jobs, &mut node.write_failed);
        // The node's indexer runs behind its writer; here at once after it.
        let committed: Vec<_> = done
            .iter()
            .filter(|d| d.result.is_ok())
            .map(|d| (d.height, d.txids.clone()))
            .collect();
        storage_writer::index_committed(storage, &committed, &mut node.index_failed);
        self.step(i, |d| {
            for c in done {
                d.handle(Event::Committed(c));
            }
        });
    }

    fn crash(&mut self, c: Crash) {
        let (node, down) = match c {
            Crash::Node { node, down, .. } => (node, down),
            Crash::AfterSign { node, down, .. } => {
                self.nodes[node].crash_after_sign = Some(down);
                return;
            }
            Crash::Proposer { down, .. } => {
                let best = (0..self.members)
                    .filter_map(|i| self.nodes[i].driver.as_ref().and_then(|d| d.consensus()))
                    .max_by_key(|c| (c.height, c.round));
                let Some(c) = best else { return };
                let Some(i) = self.index_of(&c.proposer) else {
                    return;
                };
                (i, down)
            }
        };
        let n = &mut self.nodes[node];
        if n.driver.is_none() {
            return;
        }
        // A crash: the driver's memory and whatever its writer had not written are gone.
        n.driver = None;
        n.finalized = None;
        n.storage = None;
        n.db.crash();
        n.inc += 1;
        n.io.take_jobs();
        self.out.crashes += 1;
        self.push(self.now + down, Ev::Restart { node });
    }

    /// A (re)connected node and its peers tell each other their heights, as the Hello does.
    fn hello(&mut self, i: usize) {
        for p in self.connected(i) {
            let Some(j) = self.index_of(&p) else { continue };
            if let Some((h, tip)) = self.nodes[j].driver.as_ref().map(|d| d.committed()) {
                self.transmit(j, i, Message::Status { height: h, tip });
            }
            if let Some((h, tip)) = self.nodes[i].driver.as_ref().map(|d| d.committed()) {
                self.transmit(i, j, Message::Status { height: h, tip });
            }
        }
    }

    fn record_signed(&mut self, i: usize, o: &Out) {
        let msg = match o {
            Out::Broadcast(m, _) | Out::Send(_, m) => m,
        };
        let me = self.nodes[i].id;
        let (h, r, kind, value) = match msg {
            Message::Vote(v) if v.voter == me => (
                v.height,
                v.round,
                v.kind as u8,
                v.block.unwrap_or(Hash([0; 32])),
            ),
            Message::Proposal { proposal, .. } if proposal.proposer == me => {
                (proposal.height, proposal.round, 9, proposal.block_hash)
            }
            _ => return,
        };
        if let Some(old) = self.signed.insert((i, h, r, kind), value) {
            if old != value && self.out.honest[i] {
                self.out.violations.push(format!(
                    "honest node {i} signed two different messages for height {h} round {r} (kind {kind})"
                ));
            }
        }
    }

    fn finish(mut self) -> Outcome {
        for i in 0..self.members {
            let d = self.nodes[i].driver.as_ref();
            if let Some(d) = d {
                self.out.final_heights[i] = self.out.final_heights[i].max(d.committed().0);
            }
            self.out
                .set_sizes
                .push(d.map_or(0, |d| d.state().next_validator_set().len()));
        }
        let chains: Vec<Option<Storage>> = (0..self.members)
            .map(|i| {
                if !self.out.honest[i] {
                    return None;
                }
                self.nodes[i].storage.clone()
            })
            .collect();
        let v = checks::chains(&self.genesis, &chains);
        self.out.violations.extend(v);
        self.count_certified(&chains);
        for (i, node) in self.nodes.iter().enumerate().take(self.members) {
            if let Some(d) = &node.driver {
                self.out.admission[i] = d.admission_stats();
            }
        }
        self.out
    }

    fn count_certified(&mut self, chains: &[Option<Storage>]) {
        let longest = (0..self.members)
            .filter(|i| chains[*i].is_some())
            .max_by_key(|i| self.out.final_heights[*i]);
        let Some((i, storage)) = longest.and_then(|i| Some((i, chains[i].as_ref()?))) else {
            return;
        };
        for h in 1..=self.out.final_heights[i] {
            let Ok(Some(cert)) = storage.certificate(h) else {
                continue;
            };
            for sig in &cert.sigs {
                if let Some(j) = (0..self.members).find(|j| self.nodes[*j].id == sig.voter) {
                    self.out.certified[j] += 1;
                }
            }
        }
    }

    /// Honest masternodes, for adversaries.
    pub fn honest_members(&self) -> Vec<usize> {
        (0..self.members).filter(|i| self.out.honest[*i]).collect()
    }

    pub fn members(&self) -> usize {
        self.members
    }
}

/// Seeds to run: `TIMECOIN_SIM_SEED=s` runs one seed, `TIMECOIN_SIM_SEEDS=n` runs n seeds
/// (default `default`).
pub fn seeds(default: u64) -> Vec<u64> {
    if let Ok(s) = std::env::var("TIMECOIN_SIM_SEED") {
        if let Ok(s) = s.parse() {
            return vec![s];
        }
    }
    let n = std::env::var("TIMECOIN_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    (0..n).collect()
}

/// With `TIMECOIN_SIM_LOG` set (a tracing filter, e.g. `consensus=debug,sync=debug,sim=debug`),
/// the node's own log lines and the harness's messages go to stderr, each inside the span of
/// the node and the simulated time it ran at: read with a replayed seed.
fn init_log() {
    if let Ok(filter) = std::env::var("TIMECOIN_SIM_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .without_time()
            .with_ansi(false)
            .with_writer(std::io::stderr)
            .try_init();
    }
}

/// Runs `make` over the seeds on every core, checks each outcome with the general checks and
/// `check`; prints the scenario's figures; fails listing each failing seed with the command
/// that replays it.
pub fn run_scenario(
    test: &str,
    default_seeds: u64,
    make: impl Fn(u64) -> Config + Sync,
    check: impl Fn(&Config, &Outcome) -> Vec<String> + Sync,
) -> Vec<Outcome> {
    init_log();
    let seeds = seeds(default_seeds);
    let started = std::time::Instant::now();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(seeds.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&seed) = seeds.get(k) else { break };
                let cfg = make(seed);
                let out = Sim::new(make(seed), seed).run();
                let mut v = out.violations.clone();
                v.extend(checks::general(&cfg, &out));
                v.extend(check(&cfg, &out));
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((seed, v, out));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(s, _, _)| *s);
    let name = make(0).name;
    let failures: Vec<String> = results
        .iter()
        .filter(|(_, v, _)| !v.is_empty())
        .map(|(seed, v, _)| {
            format!(
                "seed {seed}: {}\n  replay: TIMECOIN_SIM_SEED={seed} cargo test --test consensus_sim {test} -- --nocapture",
                v.join("; ")
            )
        })
        .collect();
    let outs: Vec<Outcome> = results.into_iter().map(|(_, _, o)| o).collect();
    println!("{}", checks::summary(&name, &outs, started.elapsed()));
    assert!(
        failures.is_empty(),
        "scenario {name}: {} of {} seeds failed:\n{}\n(a log of one seed: add \
         TIMECOIN_SIM_LOG=consensus=debug,sync=debug,sim=debug to its replay)",
        failures.len(),
        seeds.len(),
        failures.join("\n")
    );
    outs
}

/// A one-line description of a message for the replay log (`TIMECOIN_SIM_LOG`).
fn summary(m: &Message) -> String {
    match m {
        Message::Proposal { proposal: p, block } => format!(
            "proposal h{} r{} pol {:?} block {} ({} txs)",
            p.height,
            p.round,
            p.pol_round,
            p.block_hash.short(),
            block.txs.len()
        ),
        Message::Vote(v) => format!(
            "{:?} h{} r{} for {} by {}",
            v.kind,
            v.height,
            v.round,
            v.block.map_or("nil".to_string(), |b| b.short()),
            v.voter.short()
        ),
        Message::Tx(tx) => format!("tx {}", tx.txid().short()),
        Message::Status { height, .. } => format!("status {height}"),
        Message::Blocks(b) => format!("{} blocks", b.len()),
        other => format!("{other:?}").chars().take(60).collect(),
    }
}
