//! Deterministic network simulation for the consensus core: N nodes, each running the real
//! `Tendermint` state machine behind a mini-driver (signing, double-sign guard, WAL of own
//! messages surviving crashes, signature checks, height advance, future-height buffering,
//! catch-up by commit certificates), over a simulated network driven by a seeded ChaCha8 RNG and
//! virtual time: per-message delay, loss, duplication, reordering, partitions, silence,
//! crash/restart, and byzantine behaviours.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::rc::Rc;
use timecoin::consensus::{
    ConsensusParams, DoubleSignGuard, Effect, Input, SignStep, SignerState, Step, Tendermint,
};
use timecoin::types::{
    CommitCertificate, Domain, Evidence, Hash, Proposal, PublicKey, SecretKey, Signature,
    Validator, ValidatorSet, Vote, VoteKind,
};

/// Virtual milliseconds.
pub type Ms = u64;

/// A block as the harness sees it: its id is a deterministic hash of its fields.
#[derive(Clone, Debug)]
pub struct SimBlock {
    pub height: u64,
    pub round: u32,
    pub proposer: PublicKey,
    pub parent: Hash,
    /// 0 for honest blocks; an equivocating proposer makes a second block with salt 1.
    pub salt: u64,
    pub evidence: Vec<Evidence>,
}

impl SimBlock {
    pub fn hash(&self) -> Hash {
        let mut h = Hash::hasher(Domain::BlockHeader);
        h.update(&self.height.to_le_bytes())
            .update(&self.round.to_le_bytes())
            .update(&self.proposer.0)
            .update(&self.parent.0)
            .update(&self.salt.to_le_bytes());
        for e in &self.evidence {
            h.update(&e.id().0);
        }
        h.finalize()
    }
}

#[derive(Clone, Debug)]
pub struct CommitMsg {
    pub proposal: Proposal,
    pub block: Rc<SimBlock>,
    pub cert: CommitCertificate,
}

#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum NetMsg {
    Proposal(Proposal, Rc<SimBlock>),
    Vote(Vote),
    Evidence(Evidence),
    Commit(Rc<CommitMsg>),
    /// The sender's current height (the node's `Status`): lets a node that does not vote (not
    /// a member of the set) be noticed and caught up by commits.
    Status(u64),
}

impl NetMsg {
    fn height(&self) -> u64 {
        match self {
            NetMsg::Proposal(p, _) => p.height,
            NetMsg::Vote(v) => v.height,
            NetMsg::Evidence(e) => e.a.height,
            NetMsg::Commit(c) => c.cert.height,
            NetMsg::Status(h) => *h,
        }
    }
}

#[derive(Clone, Debug)]
enum WalEntry {
    Proposal(Proposal, Rc<SimBlock>),
    Vote(Vote),
}

impl WalEntry {
    fn height(&self) -> u64 {
        match self {
            WalEntry::Proposal(p, _) => p.height,
            WalEntry::Vote(v) => v.height,
        }
    }
}

#[derive(Clone, Debug)]
struct Committed {
    block: Rc<SimBlock>,
    proposal: Proposal,
    cert: CommitCertificate,
}

/// How a node behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behavior {
    Honest,
    /// Signs two different votes for every vote and two different proposals, sending one to
    /// each half of the network; no double-sign guard.
    Equivocator,
    /// Votes but never proposes.
    SilentProposer,
}

/// Crash plans.
#[derive(Clone, Copy, Debug)]
pub enum Crash {
    /// At `at`, crash the proposer of the most advanced node's current round for `down` ms.
    Proposer { at: Ms, down: Ms },
    /// From `at`, the node crashes right after it next signs (guard state and WAL persisted, the
    /// message not sent), for `down` ms.
    AfterSign { node: usize, at: Ms, down: Ms },
}

/// One scenario.
pub struct Config {
    pub name: &'static str,
    pub weights: Vec<u64>,
    /// The node indices in the base validator set of a height (evidence bans are removed on top).
    pub members: Box<dyn Fn(u64) -> Vec<usize>>,
    pub behaviors: Vec<Behavior>,
    pub delay: (Ms, Ms),
    pub loss: f64,
    pub dup: f64,
    /// (from, until, group of each node): messages between groups are dropped.
    pub partitions: Vec<(Ms, Ms, Vec<u8>)>,
    /// (node, from, until): the node sends nothing.
    pub silent: Vec<(usize, Ms, Ms)>,
    pub crashes: Vec<Crash>,
    /// Honest nodes flood-relay every vote they receive for the first time.
    pub relay_votes: bool,
    /// Replay old votes, inject 1,000 copies of a vote and other-chain votes.
    pub replay_attack: bool,
    /// The proposer of height 1, round 0 becomes a [`Behavior::SilentProposer`].
    pub silent_first_proposer: bool,
    /// Heights every honest node must commit.
    pub target: u64,
    /// Also run until an honest node's chain holds evidence (scenario 4).
    pub until_evidence_included: bool,
    pub max_time: Ms,
}

impl Config {
    pub fn new(name: &'static str, weights: Vec<u64>) -> Config {
        let n = weights.len();
        Config {
            name,
            weights,
            members: Box::new(move |_| (0..n).collect()),
            behaviors: vec![Behavior::Honest; n],
            delay: (5, 40),
            loss: 0.0,
            dup: 0.0,
            partitions: vec![],
            silent: vec![],
            crashes: vec![],
            relay_votes: false,
            replay_attack: false,
            target: 5,
            silent_first_proposer: false,
            until_evidence_included: false,
            max_time: 60_000,
        }
    }
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Event {
    Deliver {
        to: usize,
        from: usize,
        msg: NetMsg,
    },
    Timeout {
        node: usize,
        inc: u64,
        height: u64,
        round: u32,
        step: Step,
    },
    Gossip {
        node: usize,
        inc: u64,
    },
    CrashProposer {
        down: Ms,
    },
    ArmCrashAfterSign {
        node: usize,
        down: Ms,
    },
    Restart {
        node: usize,
    },
    Attack,
}

struct Queued {
    t: Ms,
    seq: u64,
    ev: Event,
}
impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        (self.t, self.seq) == (o.t, o.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    fn cmp(&self, o: &Self) -> Ordering {
        (o.t, o.seq).cmp(&(self.t, self.seq))
    }
}

struct Node {
    key: SecretKey,
    pk: PublicKey,
    behavior: Behavior,
    up: bool,
    inc: u64,
    // Durable across crashes.
    guard: SignerState,
    wal: Vec<WalEntry>,
    chain: Vec<Committed>,
    // Volatile.
    core: Option<Tendermint>,
    /// The finished height's instance, kept to collect late votes as evidence.
    prev_core: Option<Tendermint>,
    blocks: HashMap<Hash, Rc<SimBlock>>,
    future: Vec<(usize, NetMsg)>,
    pending_evidence: Vec<Evidence>,
    height_started: Ms,
    crash_after_sign: Option<Ms>,
    last_sync: HashMap<(usize, u64), Ms>,
    relayed: HashSet<(PublicKey, u64, u32, VoteKind, Option<Hash>)>,
    /// (height, round, step) at the last gossip tick: rebroadcast only when stuck.
    last_gossip_state: Option<(u64, u32, Step)>,
}

impl Node {
    fn height(&self) -> u64 {
        self.chain.len() as u64 + 1
    }
    fn tip(&self) -> Hash {
        self.chain
            .last()
            .map(|c| c.block.hash())
            .unwrap_or_default()
    }
}

/// Per-decision statistics.
#[derive(Clone, Copy, Debug)]
pub struct DecisionStat {
    pub rounds: u32,
    pub latency: Ms,
}

/// The result of one run.
pub struct Outcome {
    pub violations: Vec<String>,
    pub stats: Vec<DecisionStat>,
    pub first_decision: Option<Ms>,
    pub decisions_by: Vec<Vec<(u64, Ms)>>,
    pub evidence_seen: usize,
    pub final_heights: Vec<u64>,
    /// Behaviour of each node in the run.
    pub behaviors: Vec<Behavior>,
    pub banned_offenders: usize,
    pub end_time: Ms,
    pub crashes: usize,
    pub guard_refusals: usize,
    pub messages: u64,
    /// Synchronous "1,000 copies count once" checks performed.
    pub dup_checks: usize,
}

pub struct Sim {
    cfg: Config,
    rng: ChaCha8Rng,
    now: Ms,
    seq: u64,
    queue: BinaryHeap<Queued>,
    nodes: Vec<Node>,
    chain_id: Hash,
    params: ConsensusParams,
    verified: HashSet<(PublicKey, Hash, Signature)>,
    verified_certs: HashSet<(Hash, Hash, u64)>,
    decisions: HashMap<u64, Hash>,
    out: Outcome,
    recorded: Vec<Vote>,
}

const GOSSIP_MS: Ms = 200;
const FUTURE_BUFFER: usize = 20_000;

/// Node `i`'s key in the run of `seed`: keys differ per seed, so the key order, and with it
/// the proposer schedule, differs per seed.
pub fn key_of(seed: u64, i: usize) -> SecretKey {
    let mut s = [0x51u8; 32];
    s[0] = i as u8 + 1;
    s[8..16].copy_from_slice(&seed.to_le_bytes());
    SecretKey::from_seed(&s)
}

impl Sim {
    pub fn new(cfg: Config, seed: u64) -> Sim {
        let nodes = (0..cfg.weights.len())
            .map(|i| {
                let key = key_of(seed, i);
                Node {
                    pk: key.public(),
                    key,
                    behavior: cfg.behaviors[i],
                    up: true,
                    inc: 0,
                    guard: SignerState::default(),
                    wal: vec![],
                    chain: vec![],
                    core: None,
                    prev_core: None,
                    blocks: HashMap::new(),
                    future: vec![],
                    pending_evidence: vec![],
                    height_started: 0,
                    crash_after_sign: None,
                    last_sync: HashMap::new(),
                    relayed: HashSet::new(),
                    last_gossip_state: None,
                }
            })
            .collect();
        let n = cfg.weights.len();
        let mut nodes: Vec<Node> = nodes;
        if cfg.silent_first_proposer {
            let set = ValidatorSet::new(
                (cfg.members)(1)
                    .into_iter()
                    .map(|j| Validator {
                        key: nodes[j].pk,
                        weight: cfg.weights[j],
                    })
                    .collect(),
            );
            let p = timecoin::consensus::proposer(&set, 1, 0);
            for node in nodes.iter_mut().filter(|x| x.pk == p) {
                node.behavior = Behavior::SilentProposer;
            }
        }
        Sim {
            cfg,
            rng: ChaCha8Rng::seed_from_u64(seed),
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            nodes,
            chain_id: Hash::of(Domain::ChainId, b"timecoin-sim"),
            params: ConsensusParams::devnet(),
            verified: HashSet::new(),
            verified_certs: HashSet::new(),
            decisions: HashMap::new(),
            out: Outcome {
                violations: vec![],
                stats: vec![],
                first_decision: None,
                decisions_by: vec![vec![]; n],
                evidence_seen: 0,
                final_heights: vec![],
                behaviors: vec![],
                banned_offenders: 0,
                end_time: 0,
                crashes: 0,
                guard_refusals: 0,
                messages: 0,
                dup_checks: 0,
            },
            recorded: vec![],
        }
    }

    fn push(&mut self, t: Ms, ev: Event) {
        self.seq += 1;
        self.queue.push(Queued {
            t,
            seq: self.seq,
            ev,
        });
    }

    fn honest(&self, i: usize) -> bool {
        self.nodes[i].behavior == Behavior::Honest
    }

    /// The validator set of height `h` as node `i` derives it from its chain up to `h - 1`.
    fn set_for(&self, i: usize, h: u64) -> ValidatorSet {
        let mut banned = BTreeSet::new();
        for c in self.nodes[i]
            .chain
            .iter()
            .take((h as usize).saturating_sub(1))
        {
            for e in &c.block.evidence {
                banned.insert(e.offender());
            }
        }
        ValidatorSet::new(
            (self.cfg.members)(h)
                .into_iter()
                .map(|j| Validator {
                    key: self.nodes[j].pk,
                    weight: self.cfg.weights[j],
                })
                .filter(|v| !banned.contains(&v.key))
                .collect(),
        )
    }

    pub fn run(mut self) -> Outcome {
        for i in 0..self.nodes.len() {
            self.start_height(i);
            self.push(GOSSIP_MS, Event::Gossip { node: i, inc: 0 });
        }
        for c in self.cfg.crashes.clone() {
            match c {
                Crash::Proposer { at, down } => self.push(at, Event::CrashProposer { down }),
                Crash::AfterSign { node, at, down } => {
                    self.push(at, Event::ArmCrashAfterSign { node, down })
                }
            }
        }
        if self.cfg.replay_attack {
            self.push(150, Event::Attack);
        }
        while let Some(q) = self.queue.pop() {
            self.now = q.t;
            if self.now > self.cfg.max_time || self.done() {
                break;
            }
            self.event(q.ev);
        }
        self.out.end_time = self.now;
        if std::env::var("TIMECOIN_SIM_TRACE").is_ok() {
            for (i, d) in self.out.decisions_by.iter().enumerate() {
                println!("node {i} decisions (height, ms): {d:?}");
            }
            for (i, n) in self.nodes.iter().enumerate() {
                if let Some(c) = &n.core {
                    println!(
                        "node {i} {:?} h={} r={} {:?} locked={:?} valid={:?}",
                        n.behavior,
                        c.height(),
                        c.round(),
                        c.step(),
                        c.locked(),
                        c.valid()
                    );
                    for r in 0..=c.round().min(6) {
                        let props: Vec<_> = c
                            .proposals(r)
                            .iter()
                            .map(|(p, v)| (p.block_hash, p.pol_round, *v))
                            .collect();
                        let pv: Vec<_> = c
                            .votes()
                            .votes(r, VoteKind::Prevote)
                            .map(|v| (v.voter.short(), v.block))
                            .collect();
                        let pc: Vec<_> = c
                            .votes()
                            .votes(r, VoteKind::Precommit)
                            .map(|v| (v.voter.short(), v.block))
                            .collect();
                        println!("   r{r} props={props:?}\n      pv={pv:?}\n      pc={pc:?}");
                    }
                }
            }
            for i in 0..self.nodes.len() {
                println!("key {i} = {}", self.nodes[i].pk.short());
            }
        }
        self.out.final_heights = self.nodes.iter().map(|n| n.chain.len() as u64).collect();
        self.out.behaviors = self.nodes.iter().map(|n| n.behavior).collect();
        let offenders: BTreeSet<PublicKey> = self
            .nodes
            .iter()
            .flat_map(|n| n.chain.iter().flat_map(|c| c.block.evidence.iter()))
            .map(|e| e.offender())
            .collect();
        self.out.banned_offenders = offenders.len();
        // No honest node ever signed two different messages for one (height, round, step),
        // across crashes and restarts.
        for (i, n) in self.nodes.iter().enumerate() {
            if n.behavior == Behavior::Equivocator {
                continue;
            }
            let mut signed: HashMap<(u64, u32, SignStep), Hash> = HashMap::new();
            for w in &n.wal {
                let (k, sh) = match w {
                    WalEntry::Proposal(p, _) => {
                        ((p.height, p.round, SignStep::Propose), p.signing_bytes())
                    }
                    WalEntry::Vote(v) => ((v.height, v.round, v.kind.into()), v.signing_bytes()),
                };
                if let Some(prev) = signed.insert(k, sh) {
                    if prev != sh {
                        self.out
                            .violations
                            .push(format!("node {i} double-signed at {k:?}"));
                    }
                }
            }
        }
        self.out
    }

    fn done(&self) -> bool {
        // Done when every honest node committed the target and the last partition/silence/
        // crash window is over.
        let windows_over = self.cfg.partitions.iter().all(|p| self.now >= p.1)
            && self.cfg.silent.iter().all(|s| self.now >= s.2);
        let evidence_ok = !self.cfg.until_evidence_included
            || self
                .nodes
                .iter()
                .filter(|n| n.behavior == Behavior::Honest)
                .all(|n| n.chain.iter().any(|c| !c.block.evidence.is_empty()));
        windows_over
            && evidence_ok
            && (0..self.nodes.len())
                .filter(|i| self.honest(*i))
                .all(|i| self.nodes[i].up && self.nodes[i].chain.len() as u64 >= self.cfg.target)
    }

    fn event(&mut self, ev: Event) {
        match ev {
            Event::Deliver { to, from, msg } => self.deliver(to, from, msg),
            Event::Timeout {
                node,
                inc,
                height,
                round,
                step,
            } => {
                let n = &self.nodes[node];
                if n.up && n.inc == inc && n.height() == height {
                    self.feed(node, Input::Timeout { round, step });
                }
            }
            Event::Gossip { node, inc } => {
                if self.nodes[node].up && self.nodes[node].inc == inc {
                    self.gossip(node);
                    self.push(self.now + GOSSIP_MS, Event::Gossip { node, inc });
                }
            }
            Event::CrashProposer { down } => {
                let lead = (0..self.nodes.len())
                    .filter(|i| self.nodes[*i].up && self.nodes[*i].core.is_some())
                    .max_by_key(|i| {
                        let c = self.nodes[*i].core.as_ref().unwrap();
                        (c.height(), c.round())
                    });
                if let Some(lead) = lead {
                    let p = self.nodes[lead].core.as_ref().unwrap().proposer();
                    if let Some(j) = self.nodes.iter().position(|n| n.pk == p) {
                        if self.nodes[j].up {
                            self.crash(j, down);
                        }
                    }
                }
            }
            Event::ArmCrashAfterSign { node, down } => {
                self.nodes[node].crash_after_sign = Some(down);
            }
            Event::Restart { node } => self.restart(node),
            Event::Attack => self.attack(),
        }
    }

    fn crash(&mut self, i: usize, down: Ms) {
        self.out.crashes += 1;
        let n = &mut self.nodes[i];
        n.up = false;
        n.inc += 1;
        n.core = None;
        n.prev_core = None;
        n.blocks.clear();
        n.future.clear();
        n.pending_evidence.clear();
        n.last_sync.clear();
        n.relayed.clear();
        n.crash_after_sign = None;
        self.push(self.now + down, Event::Restart { node: i });
    }

    fn restart(&mut self, i: usize) {
        let h = self.nodes[i].height();
        let set = self.set_for(i, h);
        let n = &mut self.nodes[i];
        n.up = true;
        n.height_started = self.now;
        let mut own = Vec::new();
        for w in n.wal.iter().filter(|w| w.height() == h) {
            match w {
                WalEntry::Proposal(p, b) => {
                    n.blocks.insert(b.hash(), b.clone());
                    own.push(Input::Proposal {
                        proposal: p.clone(),
                        valid: true,
                    });
                }
                WalEntry::Vote(v) => own.push(Input::Vote(v.clone())),
            }
        }
        let (core, effects) =
            Tendermint::restore(self.chain_id, h, set, Some(n.pk), self.params, own);
        n.core = Some(core);
        let inc = n.inc;
        self.process(i, effects);
        self.push(self.now + 1, Event::Gossip { node: i, inc });
    }

    fn start_height(&mut self, i: usize) {
        let h = self.nodes[i].height();
        let set = self.set_for(i, h);
        let n = &mut self.nodes[i];
        n.height_started = self.now;
        let mut core = Tendermint::new(self.chain_id, h, set, Some(n.pk), self.params);
        let effects = core.start();
        n.core = Some(core);
        self.process(i, effects);
        // Messages buffered for this height.
        let buffered = std::mem::take(&mut self.nodes[i].future);
        let (now, later): (Vec<_>, Vec<_>) =
            buffered.into_iter().partition(|(_, m)| m.height() == h);
        self.nodes[i].future = later.into_iter().filter(|(_, m)| m.height() > h).collect();
        for (from, m) in now {
            self.deliver(i, from, m);
        }
    }

    // ----- network -----

    fn can_send(&self, from: usize, to: usize, t: Ms) -> bool {
        if self
            .cfg
            .silent
            .iter()
            .any(|(n, a, b)| *n == from && t >= *a && t < *b)
        {
            return false;
        }
        !self
            .cfg
            .partitions
            .iter()
            .any(|(a, b, g)| t >= *a && t < *b && g[from] != g[to])
    }

    fn send(&mut self, from: usize, to: usize, msg: NetMsg) {
        if from == to || !self.can_send(from, to, self.now) {
            return;
        }
        if self.rng.gen_bool(self.cfg.loss) {
            return;
        }
        let copies = if self.rng.gen_bool(self.cfg.dup) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let d = self.rng.gen_range(self.cfg.delay.0..=self.cfg.delay.1);
            let t = self.now + d;
            // Partitions also cut messages in flight.
            if self.can_send(from, to, t)
                || !self.cfg.partitions.iter().any(|p| t >= p.0 && t < p.1)
            {
                self.push(
                    t,
                    Event::Deliver {
                        to,
                        from,
                        msg: msg.clone(),
                    },
                );
            }
        }
    }

    fn broadcast(&mut self, from: usize, msg: NetMsg) {
        if let NetMsg::Vote(v) = &msg {
            if self.cfg.replay_attack && self.recorded.len() < 5_000 {
                self.recorded.push(v.clone());
            }
        }
        for to in 0..self.nodes.len() {
            self.send(from, to, msg.clone());
        }
    }

    fn gossip(&mut self, i: usize) {
        let h = self.nodes[i].height();
        let state = self.nodes[i]
            .core
            .as_ref()
            .map(|c| (c.height(), c.round(), c.step()));
        if state != self.nodes[i].last_gossip_state {
            // Progress since the last tick: nothing to repair.
            self.nodes[i].last_gossip_state = state;
            return;
        }
        let msgs: Vec<NetMsg> = self.nodes[i]
            .wal
            .iter()
            .filter(|w| w.height() == h)
            .map(|w| match w {
                WalEntry::Proposal(p, b) => NetMsg::Proposal(p.clone(), b.clone()),
                WalEntry::Vote(v) => NetMsg::Vote(v.clone()),
            })
            .chain(
                self.nodes[i]
                    .pending_evidence
                    .iter()
                    .cloned()
                    .map(NetMsg::Evidence),
            )
            .collect();
        if msgs.is_empty() {
            // Nothing of our own to repeat (we do not vote): tell peers where we are stuck.
            self.broadcast(i, NetMsg::Status(h));
        }
        for m in msgs {
            self.broadcast(i, m);
        }
    }

    /// Certificate check, memoized per (certificate, set): verification is a pure function.
    fn verify_cert(
        &mut self,
        cert: &CommitCertificate,
        height: u64,
        set: &ValidatorSet,
    ) -> Result<(), String> {
        let key = (cert.hash(), set.hash(), height);
        if self.verified_certs.contains(&key) {
            return Ok(());
        }
        cert.verify(&self.chain_id, height, &cert.block_hash, set)
            .map_err(|e| e.to_string())?;
        self.verified_certs.insert(key);
        Ok(())
    }

    fn verify_cached(&mut self, key: PublicKey, msg: Hash, sig: Signature) -> bool {
        if self.verified.contains(&(key, msg, sig)) {
            return true;
        }
        if key.verify(&msg.0, &sig).is_ok() {
            self.verified.insert((key, msg, sig));
            true
        } else {
            false
        }
    }

    fn block_valid(&self, i: usize, b: &SimBlock, claimed: Hash) -> bool {
        let n = &self.nodes[i];
        b.hash() == claimed
            && b.height == n.height()
            && b.parent == n.tip()
            && b.evidence.iter().all(|e| e.verify(&self.chain_id).is_ok())
    }

    fn sync_reply(&mut self, i: usize, to: usize, from_height: u64) {
        let key = (to, from_height);
        if let Some(t) = self.nodes[i].last_sync.get(&key) {
            if self.now < t + GOSSIP_MS {
                return;
            }
        }
        self.nodes[i].last_sync.insert(key, self.now);
        let have = self.nodes[i].chain.len() as u64;
        let upto = have.min(from_height + 4);
        for h in from_height..=upto {
            if h == 0 {
                continue;
            }
            let c = &self.nodes[i].chain[(h - 1) as usize];
            let m = NetMsg::Commit(Rc::new(CommitMsg {
                proposal: c.proposal.clone(),
                block: c.block.clone(),
                cert: c.cert.clone(),
            }));
            self.send(i, to, m);
        }
    }

    fn deliver(&mut self, i: usize, from: usize, msg: NetMsg) {
        self.out.messages += 1;
        if !self.nodes[i].up || self.nodes[i].core.is_none() {
            return;
        }
        let h = self.nodes[i].height();
        let mh = msg.height();
        if mh < h {
            if let NetMsg::Vote(v) = &msg {
                // Late votes of the previous height still reveal equivocation.
                if mh + 1 == h && self.verify_cached(v.voter, v.signing_bytes(), v.signature) {
                    let effects = self.nodes[i]
                        .prev_core
                        .as_mut()
                        .map(|c| c.handle(Input::Vote(v.clone())))
                        .unwrap_or_default();
                    let evidence: Vec<Effect> = effects
                        .into_iter()
                        .filter(|e| matches!(e, Effect::Evidence(_)))
                        .collect();
                    self.process(i, evidence);
                }
            }
            if !matches!(msg, NetMsg::Commit(_)) && mh > 0 {
                self.sync_reply(i, from, mh);
            }
            return;
        }
        if mh > h && !matches!(msg, NetMsg::Status(_)) {
            if self.nodes[i].future.len() < FUTURE_BUFFER {
                self.nodes[i].future.push((from, msg));
            }
            return;
        }
        match msg {
            NetMsg::Vote(v) => {
                if !self.verify_cached(v.voter, v.signing_bytes(), v.signature) {
                    return;
                }
                if self.cfg.relay_votes && self.honest(i) {
                    let k = (v.voter, v.height, v.round, v.kind, v.block);
                    if self.nodes[i].relayed.insert(k) {
                        for to in 0..self.nodes.len() {
                            if to != from {
                                self.send(i, to, NetMsg::Vote(v.clone()));
                            }
                        }
                    }
                }
                self.feed(i, Input::Vote(v));
            }
            NetMsg::Proposal(p, b) => {
                if !self.verify_cached(p.proposer, p.signing_bytes(), p.signature) {
                    return;
                }
                let valid = self.block_valid(i, &b, p.block_hash);
                if valid {
                    self.nodes[i].blocks.insert(p.block_hash, b);
                }
                self.feed(i, Input::Proposal { proposal: p, valid });
            }
            // A peer at our height or above: nothing to catch up.
            NetMsg::Status(_) => {}
            NetMsg::Evidence(e) => {
                if e.verify(&self.chain_id).is_ok()
                    && !self.nodes[i].pending_evidence.contains(&e)
                    && self.nodes[i].pending_evidence.len() < 100
                {
                    self.nodes[i].pending_evidence.push(e);
                }
            }
            NetMsg::Commit(c) => {
                let set = self.set_for(i, h);
                if c.cert.block_hash != c.proposal.block_hash
                    || self.verify_cert(&c.cert, h, &set).is_err()
                    || !self.verify_cached(
                        c.proposal.proposer,
                        c.proposal.signing_bytes(),
                        c.proposal.signature,
                    )
                {
                    return;
                }
                let valid = self.block_valid(i, &c.block, c.proposal.block_hash);
                if valid {
                    self.nodes[i]
                        .blocks
                        .insert(c.proposal.block_hash, c.block.clone());
                }
                self.feed(
                    i,
                    Input::Proposal {
                        proposal: c.proposal.clone(),
                        valid,
                    },
                );
                let inc = self.nodes[i].inc;
                for s in &c.cert.sigs {
                    if self.nodes[i].height() != h || !self.nodes[i].up || self.nodes[i].inc != inc
                    {
                        return;
                    }
                    let v = Vote {
                        chain_id: self.chain_id,
                        height: h,
                        round: c.cert.round,
                        kind: VoteKind::Precommit,
                        block: Some(c.cert.block_hash),
                        voter: s.voter,
                        signature: s.signature,
                    };
                    self.feed(i, Input::Vote(v));
                }
                // The core may not reach the decision from the certificate's votes alone (it
                // counted an equivocator's other vote first). Like a syncing node, the driver
                // then commits on the verified certificate.
                if self.nodes[i].height() == h && self.nodes[i].up && self.nodes[i].inc == inc {
                    let cert = c.cert.clone();
                    self.on_decide(
                        i,
                        h,
                        cert.round,
                        cert.block_hash,
                        cert,
                        Some(c.proposal.clone()),
                    );
                }
            }
        }
    }

    // ----- driver -----

    fn feed(&mut self, i: usize, input: Input) {
        let Some(core) = self.nodes[i].core.as_mut() else {
            return;
        };
        let effects = core.handle(input);
        self.process(i, effects);
    }

    /// Signs after the guard allowed it; returns false when the guard refused or the node
    /// crashed right after persisting.
    fn guard_and_log(
        &mut self,
        i: usize,
        h: u64,
        r: u32,
        step: SignStep,
        sh: Hash,
        entry: WalEntry,
    ) -> bool {
        let n = &mut self.nodes[i];
        if n.behavior != Behavior::Equivocator {
            let mut g = DoubleSignGuard::new(n.guard);
            match g.authorize(h, r, step, sh) {
                Ok(s) => n.guard = s, // "persisted" before the signature leaves
                Err(_) => {
                    self.out.guard_refusals += 1;
                    return false;
                }
            }
        }
        n.wal.push(entry);
        if let Some(down) = n.crash_after_sign {
            self.crash(i, down);
            return false;
        }
        true
    }

    fn process(&mut self, i: usize, effects: Vec<Effect>) {
        let inc = self.nodes[i].inc;
        for e in effects {
            if !self.nodes[i].up || self.nodes[i].inc != inc {
                return;
            }
            match e {
                Effect::BuildProposal { height, round } => {
                    if self.nodes[i].behavior == Behavior::SilentProposer {
                        continue;
                    }
                    let n = &self.nodes[i];
                    let included: BTreeSet<Hash> = n
                        .chain
                        .iter()
                        .flat_map(|c| c.block.evidence.iter().map(|e| e.id()))
                        .collect();
                    let set = n
                        .core
                        .as_ref()
                        .map(|c| c.validators().clone())
                        .unwrap_or_default();
                    let evidence: Vec<Evidence> = n
                        .pending_evidence
                        .iter()
                        .filter(|e| {
                            !included.contains(&e.id()) && set.weight_of(&e.offender()).is_some()
                        })
                        .take(4)
                        .cloned()
                        .collect();
                    let b = SimBlock {
                        height,
                        round,
                        proposer: n.pk,
                        parent: n.tip(),
                        salt: 0,
                        evidence,
                    };
                    let bh = b.hash();
                    self.nodes[i].blocks.insert(bh, Rc::new(b));
                    self.feed(
                        i,
                        Input::ProposalValue {
                            round,
                            block_hash: bh,
                        },
                    );
                }
                Effect::CastProposal {
                    height,
                    round,
                    block_hash,
                    pol_round,
                } => {
                    if self.nodes[i].behavior == Behavior::SilentProposer {
                        continue;
                    }
                    let Some(b) = self.nodes[i].blocks.get(&block_hash).cloned() else {
                        continue;
                    };
                    let p = Proposal::new_signed(
                        self.chain_id,
                        height,
                        round,
                        pol_round,
                        block_hash,
                        &self.nodes[i].key,
                    );
                    if !self.guard_and_log(
                        i,
                        height,
                        round,
                        SignStep::Propose,
                        p.signing_bytes(),
                        WalEntry::Proposal(p.clone(), b.clone()),
                    ) {
                        continue;
                    }
                    if self.nodes[i].behavior == Behavior::Equivocator && pol_round.is_none() {
                        let mut b2 = (*b).clone();
                        b2.salt = 1;
                        let b2 = Rc::new(b2);
                        let p2 = Proposal::new_signed(
                            self.chain_id,
                            height,
                            round,
                            None,
                            b2.hash(),
                            &self.nodes[i].key,
                        );
                        for to in 0..self.nodes.len() {
                            let m = if to % 2 == 0 {
                                NetMsg::Proposal(p.clone(), b.clone())
                            } else {
                                NetMsg::Proposal(p2.clone(), b2.clone())
                            };
                            self.send(i, to, m);
                        }
                    } else {
                        self.broadcast(i, NetMsg::Proposal(p.clone(), b));
                    }
                    self.feed(
                        i,
                        Input::Proposal {
                            proposal: p,
                            valid: true,
                        },
                    );
                }
                Effect::CastVote {
                    height,
                    round,
                    kind,
                    block,
                } => {
                    let v = Vote::new_signed(
                        self.chain_id,
                        height,
                        round,
                        kind,
                        block,
                        &self.nodes[i].key,
                    );
                    if !self.guard_and_log(
                        i,
                        height,
                        round,
                        kind.into(),
                        v.signing_bytes(),
                        WalEntry::Vote(v.clone()),
                    ) {
                        continue;
                    }
                    if self.nodes[i].behavior == Behavior::Equivocator {
                        let other = match block {
                            Some(_) => None,
                            None => Some(Hash::of(Domain::BlockHeader, b"bogus")),
                        };
                        let v2 = Vote::new_signed(
                            self.chain_id,
                            height,
                            round,
                            kind,
                            other,
                            &self.nodes[i].key,
                        );
                        for to in 0..self.nodes.len() {
                            let m = if to % 2 == 0 { v.clone() } else { v2.clone() };
                            self.send(i, to, NetMsg::Vote(m));
                        }
                    } else {
                        self.broadcast(i, NetMsg::Vote(v.clone()));
                    }
                    self.feed(i, Input::Vote(v));
                }
                Effect::ScheduleTimeout {
                    height,
                    round,
                    step,
                    duration,
                } => {
                    let t = self.now + duration.as_millis() as Ms;
                    self.push(
                        t,
                        Event::Timeout {
                            node: i,
                            inc,
                            height,
                            round,
                            step,
                        },
                    );
                }
                Effect::Decide {
                    height,
                    round,
                    block_hash,
                    certificate,
                } => {
                    self.on_decide(i, height, round, block_hash, certificate, None);
                    return;
                }
                Effect::Evidence(e) => {
                    if self.honest(i) {
                        self.out.evidence_seen += 1;
                    }
                    if !self.nodes[i].pending_evidence.contains(&e) {
                        self.nodes[i].pending_evidence.push(e.clone());
                        self.broadcast(i, NetMsg::Evidence(e));
                    }
                }
                Effect::RoundStarted { .. } | Effect::StepChanged { .. } => {}
            }
        }
    }

    fn on_decide(
        &mut self,
        i: usize,
        height: u64,
        round: u32,
        block_hash: Hash,
        cert: CommitCertificate,
        known_proposal: Option<Proposal>,
    ) {
        let honest = self.honest(i);
        let set = self.set_for(i, height);
        if honest {
            if let Some(prev) = self.decisions.get(&height) {
                if *prev != block_hash {
                    self.out.violations.push(format!(
                        "agreement: node {i} decided {block_hash:?} at height {height}, another honest node {prev:?}"
                    ));
                }
            } else {
                self.decisions.insert(height, block_hash);
            }
            if cert.block_hash != block_hash {
                self.out
                    .violations
                    .push(format!("node {i}: certificate for another block"));
            }
            if let Err(e) = self.verify_cert(&cert, height, &set) {
                self.out.violations.push(format!(
                    "certificate of node {i} at height {height} rejected: {e}"
                ));
            }
        }
        let Some(block) = self.nodes[i].blocks.get(&block_hash).cloned() else {
            self.out.violations.push(format!(
                "validity: node {i} decided an unknown block at height {height}"
            ));
            return;
        };
        if honest && !self.block_valid(i, &block, block_hash) {
            self.out.violations.push(format!(
                "validity: node {i} decided an invalid block at height {height}"
            ));
        }
        let Some(proposal) = known_proposal.or_else(|| {
            self.nodes[i]
                .core
                .as_ref()
                .and_then(|c| find_proposal(c, round, block_hash))
        }) else {
            self.out.violations.push(format!(
                "node {i} decided without a proposal at height {height}"
            ));
            return;
        };
        if honest {
            self.out.stats.push(DecisionStat {
                rounds: round + 1,
                latency: self.now - self.nodes[i].height_started,
            });
            self.out.decisions_by[i].push((height, self.now));
            if self.out.first_decision.is_none() {
                self.out.first_decision = Some(self.now);
            }
        }
        let n = &mut self.nodes[i];
        n.chain.push(Committed {
            block,
            proposal,
            cert,
        });
        let included: Vec<Hash> = n
            .chain
            .iter()
            .flat_map(|c| c.block.evidence.iter().map(|e| e.id()))
            .collect();
        n.pending_evidence.retain(|e| !included.contains(&e.id()));
        n.blocks.clear();
        n.relayed.clear();
        n.prev_core = n.core.take();
        // The signer state and WAL of finished heights could be pruned here.
        self.start_height(i);
    }

    fn attack(&mut self) {
        // Synchronous check: 1,000 copies of a current vote count exactly once at one node.
        let target = self.rng.gen_range(0..self.nodes.len());
        let current = self.nodes[target]
            .core
            .as_ref()
            .map(|c| c.height())
            .filter(|_| self.nodes[target].up);
        if let Some(h) = current.filter(|_| self.out.dup_checks < 2) {
            let pick = self.nodes[target].core.as_ref().and_then(|c| {
                let r = c.round();
                c.votes()
                    .votes(r, VoteKind::Prevote)
                    .chain(c.votes().votes(r, VoteKind::Precommit))
                    .next()
                    .cloned()
            });
            let pick = pick.or_else(|| self.recorded.iter().rev().find(|v| v.height == h).cloned());
            if let Some(v) = pick {
                let evidence_before = self.out.evidence_seen;
                self.deliver(target, target, NetMsg::Vote(v.clone()));
                let weight = |sim: &Sim| {
                    sim.nodes[target]
                        .core
                        .as_ref()
                        .filter(|c| c.height() == h)
                        .map(|c| {
                            (
                                c.votes().total_for(v.round, v.kind),
                                c.votes().weight_for(v.round, v.kind, v.block),
                            )
                        })
                };
                let w0 = weight(self);
                for _ in 0..999 {
                    self.deliver(target, target, NetMsg::Vote(v.clone()));
                }
                let w1 = weight(self);
                if w0.is_some() && w1.is_some() {
                    self.out.dup_checks += 1;
                }
                if w0.is_some() && w1.is_some() && w0 != w1 {
                    self.out.violations.push(format!(
                        "1,000 copies of one vote changed the tally at node {target}: {w0:?} -> {w1:?}"
                    ));
                }
                if self.out.evidence_seen != evidence_before {
                    self.out
                        .violations
                        .push("copies of one vote reported as equivocation".into());
                }
            }
        }
        // 1,000 copies of one recorded vote to every node, old votes replayed, votes for
        // another chain id signed by real members.
        if !self.recorded.is_empty() {
            let k = self.rng.gen_range(0..self.recorded.len());
            let v = self.recorded[k].clone();
            // The asynchronous flood only once per run (it costs 4,000 deliveries).
            let flood_to = if self.out.dup_checks <= 1 {
                self.nodes.len()
            } else {
                0
            };
            for to in 0..flood_to {
                for _ in 0..1000 {
                    let d = self.rng.gen_range(0..50);
                    self.push(
                        self.now + d,
                        Event::Deliver {
                            to,
                            from: to,
                            msg: NetMsg::Vote(v.clone()),
                        },
                    );
                }
            }
            for _ in 0..30 {
                let k = self.rng.gen_range(0..self.recorded.len());
                let v = self.recorded[k].clone();
                let to = self.rng.gen_range(0..self.nodes.len());
                let d = self.rng.gen_range(0..200);
                self.push(
                    self.now + d,
                    Event::Deliver {
                        to,
                        from: to,
                        msg: NetMsg::Vote(v),
                    },
                );
            }
        }
        let other_chain = Hash::of(Domain::ChainId, b"another chain");
        for j in 0..self.nodes.len() {
            let Some(core) = self.nodes[j].core.as_ref() else {
                continue;
            };
            let (h, r) = (core.height(), core.round());
            let total = core.validators().total_weight();
            for rr in 0..=r {
                for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                    if core.votes().total_for(rr, kind) > total {
                        self.out
                            .violations
                            .push(format!("node {j} counted more than the total weight"));
                    }
                }
            }
            for signer in 0..self.nodes.len() {
                for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                    let v = Vote::new_signed(
                        other_chain,
                        h,
                        r,
                        kind,
                        Some(Hash::of(Domain::BlockHeader, b"x")),
                        &self.nodes[signer].key,
                    );
                    self.push(
                        self.now + 1,
                        Event::Deliver {
                            to: j,
                            from: j,
                            msg: NetMsg::Vote(v),
                        },
                    );
                }
            }
        }
        if self.now < 20_000 {
            self.push(self.now + 170, Event::Attack);
        }
    }
}

fn find_proposal(core: &Tendermint, round: u32, block: Hash) -> Option<Proposal> {
    core.proposals(round)
        .iter()
        .find(|(p, _)| p.block_hash == block)
        .map(|(p, _)| p.clone())
}

/// Seeds to run: `TIMECOIN_SIM_SEED=s` runs one seed, `TIMECOIN_SIM_SEEDS=n` runs n seeds
/// (default 200).
pub fn seeds() -> Vec<u64> {
    if let Ok(s) = std::env::var("TIMECOIN_SIM_SEED") {
        if let Ok(s) = s.parse() {
            return vec![s];
        }
    }
    let n = std::env::var("TIMECOIN_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200u64);
    (0..n).collect()
}

pub fn median<T: Ord + Copy + Default>(mut v: Vec<T>) -> T {
    if v.is_empty() {
        return T::default();
    }
    v.sort();
    v[v.len() / 2]
}

/// Runs `make_cfg` over all seeds, checks `check` on each outcome, prints a failing seed and
/// the scenario's medians.
pub fn run_scenario(
    make_cfg: impl Fn(u64) -> Config,
    check: impl Fn(&Config, &Outcome) -> Vec<String>,
) {
    let mut rounds = vec![];
    let mut latency = vec![];
    let mut failures = vec![];
    let mut name = "";
    let mut runs = 0;
    let started = std::time::Instant::now();
    let (mut crashes, mut refusals, mut messages, mut evidence, mut vtime) = (0, 0, 0u64, 0, 0u64);
    for seed in seeds() {
        let cfg = make_cfg(seed);
        name = cfg.name;
        let check_cfg = make_cfg(seed);
        let out = Sim::new(cfg, seed).run();
        let mut v = out.violations.clone();
        v.extend(check(&check_cfg, &out));
        if !v.is_empty() {
            failures.push(format!("scenario {name} seed={seed}: {}", v.join("; ")));
        }
        crashes += out.crashes;
        refusals += out.guard_refusals;
        messages += out.messages;
        evidence += out.evidence_seen;
        vtime += out.end_time;
        rounds.extend(out.stats.iter().map(|s| s.rounds));
        latency.extend(out.stats.iter().map(|s| s.latency));
        runs += 1;
    }
    let over0 = rounds.iter().filter(|r| **r > 1).count();
    let max_rounds = rounds.iter().copied().max().unwrap_or(0);
    let mut lat_sorted = latency.clone();
    lat_sorted.sort();
    let p90 = lat_sorted
        .get(lat_sorted.len() * 9 / 10)
        .copied()
        .unwrap_or(0);
    println!(
        "scenario {name}: {runs} seeds, {} decisions, median rounds/height {}, decided after round 0: {over0}, max rounds {max_rounds}, median time to finality {} ms (p90 {p90} ms), crashes {crashes}, guard refusals {refusals}, evidence effects {evidence}, deliveries {messages}, mean virtual run {} ms, wall {:.1} s",
        rounds.len(),
        median(rounds.clone()),
        median(latency),
        vtime / runs.max(1),
        started.elapsed().as_secs_f64(),
    );
    assert!(
        failures.is_empty(),
        "{} failing seeds (replay with TIMECOIN_SIM_SEED=...):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every honest node committed at least `target` heights.
pub fn progress(cfg: &Config, out: &Outcome) -> Vec<String> {
    let mut v = vec![];
    for (i, h) in out.final_heights.iter().enumerate() {
        if out.behaviors[i] == Behavior::Honest && *h < cfg.target {
            v.push(format!(
                "progress: node {i} committed only {h} of {} heights by {} ms",
                cfg.target, out.end_time
            ));
        }
    }
    v
}
