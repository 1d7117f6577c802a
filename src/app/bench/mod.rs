//! `timed bench`: the end-to-end benchmark of SPEC 9.
//!
//! Starts an in-process devnet over real TLS sockets (the same [`node::start`] path as
//! `timed devnet`), splits the devnet faucet into enough outputs, pre-signs N independent
//! transfers, then submits them as fast as the nodes accept them, round-robin over the nodes,
//! through [`NodeHandle::submit_txs`] (the mempool admission path of RPC `sendrawtransaction`).
//! Per transaction it measures the time from submission to the moment the block holding it is
//! final on the node it was submitted to, and reports throughput, latency percentiles, blocks,
//! round changes, peak RSS and the machine's Ed25519 verification bound.
//!
//! `--latency-ms`/`--jitter-ms` give every node's links an emulated one-way delay
//! ([`LinkDelay`]); `--sync` adds a phase after the timed one (see [`sync`]).

mod sync;

use super::args::BenchArgs;
use crate::consensus::ConsensusParams;
use crate::ledger::Genesis;
use crate::mempool::{MempoolError, MempoolLimits};
use crate::node::devnet::DevnetLayout;
use crate::node::MAX_PROPOSAL_TXS;
use crate::node::{self, logging, Finalized, NodeHandle, NodeSpec};
use crate::p2p::LinkDelay;
use crate::types::tx::{MAX_TX_INPUTS, MAX_TX_OUTPUTS, MAX_TX_SIZE, TX_VERSION};
use crate::types::{
    Address, Amount, Hash, OutPoint, SecretKey, Signature, Transaction, TxIn, TxKind, TxOut,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Transactions per `submit_txs` call.
const BATCH: usize = 500;
/// Most outputs of one funding (split) transaction.
const SPLIT_OUTPUTS: usize = 1_000;
/// Funding transactions per `submit_txs` call during setup.
const SETUP_BATCH: usize = 64;
/// How long the devnet may take to connect and finalize its first block.
const READY_DEADLINE: Duration = Duration::from_secs(60);
/// How long one funding round may take to become final on every node.
const SETUP_DEADLINE: Duration = Duration::from_secs(120);
/// Pause before retrying transactions a full mempool turned away.
const BACKOFF: Duration = Duration::from_millis(20);
/// Progress line refresh interval.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// How long the Ed25519 verification rate is measured.
const VERIFY_MEASURE: Duration = Duration::from_secs(1);
/// Largest `--latency-ms` and `--jitter-ms`.
const MAX_LINK_DELAY_MS: u64 = 10_000;

/// The figures of one run, printed as JSON with `--json`.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Masternodes in the devnet.
    pub nodes: u32,
    /// Transactions the bench prepared and tried to submit.
    pub txs_requested: u64,
    /// Transactions a node admitted to its mempool.
    pub txs_submitted: u64,
    /// Admitted transactions whose block became final on the node they were submitted to.
    pub txs_finalized: u64,
    /// Transactions turned away for a reason other than a full mempool.
    pub txs_rejected: u64,
    /// Rejection reasons (mempool error labels) with counts.
    pub rejected_reasons: HashMap<String, u64>,
    /// Times a transaction was retried because the mempool was full.
    pub mempool_full_retries: u64,
    /// Seconds from the first submission to the last finality.
    pub duration_s: f64,
    /// `txs_finalized / duration_s`.
    pub finalized_tps: f64,
    /// Median submission-to-finality latency in milliseconds.
    pub finality_ms_p50: f64,
    /// 90th percentile latency.
    pub finality_ms_p90: f64,
    /// 99th percentile latency.
    pub finality_ms_p99: f64,
    /// Largest latency.
    pub finality_ms_max: f64,
    /// Blocks node 0 finalized from the first submission to the last finality.
    pub blocks: u64,
    /// Of those, blocks holding at least one bench transaction.
    pub blocks_with_txs: u64,
    /// Most bench transactions in one block.
    pub max_block_txs: u64,
    /// Round changes during the timed phase, summed over all nodes (see `rounds_over_0_scope`).
    pub rounds_over_0: u64,
    /// How `rounds_over_0` is counted.
    pub rounds_over_0_scope: &'static str,
    /// Blocks finalized on node 0 in the timed phase in a round above 0.
    pub blocks_round_over_0: u64,
    /// Finalized notifications missed because a subscriber lagged (0 in a healthy run).
    pub lagged: u64,
    /// Transactions whose finality was taken from another node because of a lag.
    pub lag_fallback: u64,
    /// Peak resident set of the whole process (VmHWM), in MiB.
    pub peak_rss_mb: f64,
    /// Ed25519 single verifications per second on all cores of this machine.
    pub verify_rate: f64,
    /// Cores used for the verification measurement.
    pub cores: usize,
    /// `verify_rate / nodes`: single-input tx/s if verification were all the nodes did.
    pub verify_bound_tps: f64,
    /// `finalized_tps / verify_bound_tps`.
    pub efficiency: f64,
    /// Inputs per transaction.
    pub inputs: u32,
    /// Outputs per transaction.
    pub outputs: u32,
    /// Encoded size of one bench transaction in bytes.
    pub tx_size: usize,
    /// Most transactions submitted but not yet final at any time.
    pub in_flight_cap: usize,
    /// Transactions per `submit_txs` call.
    pub batch: usize,
    /// Seconds spent connecting the devnet and funding (not timed).
    pub setup_s: f64,
    /// Seconds spent signing the transactions (not timed).
    pub presign_s: f64,
    /// Emulated one-way delay of every message on the bench's links (`--latency-ms`).
    pub latency_ms: u64,
    /// Most extra delay drawn per message (`--jitter-ms`).
    pub jitter_ms: u64,
    /// The sync phase of `--sync`; without it its fields are absent from the JSON.
    #[serde(flatten)]
    pub sync: Option<sync::SyncReport>,
}

/// Runs `timed bench`. Prints the report; an error when not every transaction was finalized.
pub fn run(args: &BenchArgs) -> Result<(), String> {
    check_args(args)?;
    let dir = make_temp_dir()?;
    // TIMECOIN_BENCH_LOG (e.g. "warn,perf=debug") raises the log level; the logs stay in the
    // printed directory when it is set.
    let filter = std::env::var("TIMECOIN_BENCH_LOG").ok();
    logging::init(filter.as_deref().unwrap_or("warn"), Some(&dir), false)
        .map_err(|e| format!("cannot open the log file in {}: {e}", dir.display()))?;
    let (verify_rate, cores) = measure_verify_rate(VERIFY_MEASURE);
    let rt = super::runtime()?;
    let result = rt.block_on(run_devnet(args, &dir, verify_rate, cores));
    // A node stuck in storage (e.g. its data dir vanished) must not keep the process alive.
    rt.shutdown_timeout(Duration::from_secs(10));
    let report = match result {
        Ok(r) => r,
        Err(e) => return Err(format!("{e} (logs kept in {})", dir.display())),
    };
    print_report(&report, args.json)?;
    if report.txs_finalized < report.txs_requested {
        return Err(format!(
            "only {} of {} transactions were finalized ({} submitted, {} rejected: {:?}); logs kept in {}",
            report.txs_finalized,
            report.txs_requested,
            report.txs_submitted,
            report.txs_rejected,
            report.rejected_reasons,
            dir.display()
        ));
    }
    if filter.is_some() {
        eprintln!("logs kept in {}", dir.display());
    } else if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("warning: cannot remove {}: {e}", dir.display());
    }
    Ok(())
}

fn check_args(a: &BenchArgs) -> Result<(), String> {
    if a.nodes == 0 || a.nodes > 100 {
        return Err("--nodes must be between 1 and 100".into());
    }
    if a.txs == 0 {
        return Err("--txs must be at least 1".into());
    }
    // The relay policy's cap: nodes refuse more inputs per transaction from the network.
    let most = MAX_TX_INPUTS.min(crate::mempool::MAX_STANDARD_TX_INPUTS);
    if a.inputs == 0 || a.inputs as usize > most {
        return Err(format!("--inputs must be between 1 and {most}"));
    }
    if a.outputs == 0 || a.outputs as usize > MAX_TX_OUTPUTS {
        return Err(format!("--outputs must be between 1 and {MAX_TX_OUTPUTS}"));
    }
    let size = tx_size(a.inputs as usize, a.outputs as usize);
    if size > MAX_TX_SIZE {
        return Err(format!(
            "a transaction with {} inputs and {} outputs is {size} bytes, above the {MAX_TX_SIZE}-byte limit",
            a.inputs, a.outputs
        ));
    }
    if let Some(n) = a.in_flight {
        let max = MempoolLimits::default().max_txs;
        if !(BATCH..=max).contains(&n) {
            return Err(format!(
                "--in-flight must be between {BATCH} (one submission batch) and {max} (a mempool)"
            ));
        }
    }
    if a.latency_ms > MAX_LINK_DELAY_MS || a.jitter_ms > MAX_LINK_DELAY_MS {
        return Err(format!(
            "--latency-ms and --jitter-ms must be at most {MAX_LINK_DELAY_MS} (10 s)"
        ));
    }
    // The --sync node takes the port after the last bench node's.
    if a.base_port as u32 + 10 * a.nodes + 3 > u16::MAX as u32 {
        return Err("--base-port too high for this many nodes".into());
    }
    Ok(())
}

/// A fresh directory under the system temp dir.
fn make_temp_dir() -> Result<PathBuf, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("timecoin-bench.{}.{nanos:x}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create the bench dir {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Ed25519 single verifications per second with one thread per core for `dur`.
pub fn measure_verify_rate(dur: Duration) -> (f64, usize) {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let key = SecretKey::from_seed(&[0x42; 32]);
    let msg = [0x17u8; 32];
    let sig = key.sign(&msg);
    let pk = key.public();
    let rates: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..cores)
            .map(|_| {
                s.spawn(|| {
                    let start = Instant::now();
                    let mut n = 0u64;
                    while start.elapsed() < dur {
                        for _ in 0..32 {
                            if pk.verify(&msg, &sig).is_ok() {
                                n += 1;
                            }
                        }
                    }
                    n as f64 / start.elapsed().as_secs_f64()
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    (rates.iter().sum(), cores)
}

/// Peak resident set size of this process in MiB (VmHWM), 0 where unknown.
pub fn peak_rss_mb() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else {
        return 0.0;
    };
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

// ----- devnet -----

/// The running bench devnet.
struct Devnet {
    nodes: Vec<NodeHandle>,
    tasks: Vec<JoinHandle<()>>,
    root: CancellationToken,
}

/// Node `i`'s spec in the bench: the devnet's, adapted by [`in_process`].
fn bench_spec(layout: &DevnetLayout, i: u32, genesis: &Genesis, args: &BenchArgs) -> NodeSpec {
    in_process(
        layout.node_spec(
            i,
            genesis,
            ConsensusParams::devnet(),
            MempoolLimits::default(),
        ),
        args,
    )
}

/// The bench talks to its nodes in-process (no RPC or metrics listeners) and gives their
/// links the delay of `--latency-ms`/`--jitter-ms`.
fn in_process(mut spec: NodeSpec, args: &BenchArgs) -> NodeSpec {
    spec.rpc_bind = None;
    spec.metrics_bind = None;
    spec.link_delay = LinkDelay::from_millis(args.latency_ms, args.jitter_ms);
    spec
}

impl Devnet {
    /// Starts one node per spec, each stopped by a child of `root`.
    async fn start(specs: Vec<NodeSpec>, root: CancellationToken) -> Result<Devnet, String> {
        let mut net = Devnet {
            nodes: Vec::new(),
            tasks: Vec::new(),
            root,
        };
        for spec in specs {
            let (name, port) = (spec.name.clone(), spec.p2p_bind.port());
            match node::start(spec, net.root.child_token()).await {
                Ok((h, t)) => {
                    net.nodes.push(h);
                    net.tasks.push(t);
                }
                Err(e) => {
                    net.shutdown().await;
                    return Err(format!(
                        "{name} failed to start (p2p port {port}): {e}; try another --base-port"
                    ));
                }
            }
        }
        Ok(net)
    }

    /// Cancels every node, waits for the drivers to stop, and flushes storage.
    async fn shutdown(self) {
        self.root.cancel();
        for t in self.tasks {
            if tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .is_err()
            {
                tracing::warn!(target: "bench", "a node did not stop within 10 s");
            }
        }
        // The drivers flush when they stop; flush again, bounded, for any that did not.
        let storages: Vec<_> = self.nodes.iter().map(|h| h.storage.clone()).collect();
        let flush = tokio::task::spawn_blocking(move || {
            for s in storages {
                if let Err(e) = s.flush() {
                    tracing::error!(target: "storage", "final flush failed: {e}");
                }
            }
        });
        if tokio::time::timeout(Duration::from_secs(10), flush)
            .await
            .is_err()
        {
            tracing::warn!(target: "bench", "storage flush did not finish within 10 s");
        }
    }

    /// Waits until every node is connected to every other and has finalized a block.
    async fn wait_ready(&self) -> Result<(), String> {
        let want_peers = self.nodes.len().saturating_sub(1);
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            let ready = self
                .nodes
                .iter()
                .all(|h| h.peers.borrow().len() >= want_peers && h.snapshot.borrow().height >= 1);
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                let state: Vec<String> = self
                    .nodes
                    .iter()
                    .map(|h| {
                        format!(
                            "{}: {} peers, height {}",
                            h.spec.name,
                            h.peers.borrow().len(),
                            h.snapshot.borrow().height
                        )
                    })
                    .collect();
                return Err(format!(
                    "the devnet was not connected and finalizing after {} s ({})",
                    READY_DEADLINE.as_secs(),
                    state.join("; ")
                ));
            }
            self.sleep_or_cancel(Duration::from_millis(100)).await?;
        }
    }

    /// Waits until every node has finalized `height`.
    async fn wait_height(&self, height: u64, deadline: Instant) -> Result<(), String> {
        loop {
            if self.nodes.iter().all(|h| h.height() >= height) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("not every node reached height {height} in time"));
            }
            self.sleep_or_cancel(Duration::from_millis(20)).await?;
        }
    }

    async fn sleep_or_cancel(&self, d: Duration) -> Result<(), String> {
        tokio::select! {
            _ = self.root.cancelled() => Err("interrupted".into()),
            _ = tokio::time::sleep(d) => Ok(()),
        }
    }

    fn rounds_over_0(&self) -> u64 {
        self.nodes
            .iter()
            .map(|h| h.snapshot.borrow().rounds_over_0)
            .sum()
    }
}

async fn run_devnet(
    args: &BenchArgs,
    dir: &Path,
    verify_rate: f64,
    cores: usize,
) -> Result<BenchReport, String> {
    let layout = DevnetLayout {
        nodes: args.nodes,
        base_port: args.base_port,
        dir: dir.to_path_buf(),
    };
    let root = CancellationToken::new();
    {
        let root = root.clone();
        tokio::spawn(async move {
            tokio::select! {
                r = tokio::signal::ctrl_c() => if r.is_ok() { root.cancel() },
                _ = root.cancelled() => {}
            }
        });
    }
    let genesis = layout.genesis();
    let specs = (0..layout.nodes)
        .map(|i| bench_spec(&layout, i, &genesis, args))
        .collect();
    let net = Devnet::start(specs, root).await?;
    let result = match bench(&net, args).await {
        Ok(mut report) if args.sync => sync::run(&net, &layout, args).await.map(|s| {
            report.sync = Some(s);
            report
        }),
        other => other,
    };
    net.shutdown().await;
    let mut report = result?;
    report.peak_rss_mb = peak_rss_mb();
    report.verify_rate = verify_rate;
    report.cores = cores;
    report.verify_bound_tps = verify_rate / args.nodes as f64;
    report.efficiency = if report.verify_bound_tps > 0.0 {
        report.finalized_tps / report.verify_bound_tps
    } else {
        0.0
    };
    Ok(report)
}

/// Setup (not timed), presigning (not timed), then the timed phase.
async fn bench(net: &Devnet, args: &BenchArgs) -> Result<BenchReport, String> {
    let setup_start = Instant::now();
    let progress = !args.json;
    if progress {
        eprint!("bench: starting {} nodes...", args.nodes);
    }
    net.wait_ready().await?;
    let key = crate::wallet::devnet_faucet_key(0);
    let needed = (args.txs as usize)
        .checked_mul(args.inputs as usize)
        .ok_or("--txs times --inputs is too large")?;
    let min_coin =
        tx_size(args.inputs as usize, args.outputs as usize) as u64 + args.outputs as u64;
    let coins = prepare_funds(
        net,
        &key,
        needed,
        min_coin.div_ceil(args.inputs as u64),
        progress,
    )
    .await?;
    let setup_s = setup_start.elapsed().as_secs_f64();
    if progress {
        eprint!(
            "\rbench: signing {} transactions...                    ",
            args.txs
        );
    }
    let presign_start = Instant::now();
    let chain_id = net.nodes[0].spec.genesis.params.chain_id;
    let plan = tokio::task::block_in_place(|| {
        presign(
            &coins,
            args.txs as usize,
            args.inputs as usize,
            args.outputs as usize,
            &key,
            &chain_id,
        )
    })?;
    let presign_s = presign_start.elapsed().as_secs_f64();
    let tx_size = plan.txs.first().map(Transaction::size).unwrap_or(0);
    let in_flight_cap = args
        .in_flight
        .unwrap_or_else(|| in_flight_cap(&net.nodes[0]));
    let rounds_before = net.rounds_over_0();
    let outcome = timed_phase(net, plan, in_flight_cap, progress).await?;
    let rounds_after = net.rounds_over_0();
    Ok(outcome.report(Context {
        args,
        rounds_over_0: rounds_after.saturating_sub(rounds_before),
        tx_size,
        in_flight_cap,
        setup_s,
        presign_s,
    }))
}

/// Submitted-but-not-final transactions allowed at once unless `--in-flight` says otherwise: one
/// full proposal's worth, within a mempool. The nodes propose as soon as the previous block is
/// final, so a deeper queue adds waiting time rather than throughput (50k runs on 2 cores:
/// 2,000 in flight gave 6.5-7.1k tx/s with p99 0.54-0.58 s; 3,000 gave 6.7-7.5k with 0.66-0.84 s;
/// 8,000 gave 7.8-8.0k with 1.9-2.6 s).
fn in_flight_cap(node: &NodeHandle) -> usize {
    MAX_PROPOSAL_TXS
        .min(node.spec.mempool.max_txs * 4 / 5)
        .max(BATCH)
}

// ----- transactions -----

/// Encoded size of a transfer with `inputs` inputs and `outputs` outputs.
fn tx_size(inputs: usize, outputs: usize) -> usize {
    // version, input count, inputs (outpoint 36 + key 32 + signature 64), output count,
    // outputs (amount 8 + address 21), lock time, kind tag.
    2 + 4 + inputs * 132 + 4 + outputs * 29 + 8 + 1
}

/// A signed transfer of `coins` to `outputs` equal outputs of `key`'s address, paying exactly
/// 1 unit per byte; `None` when the coins cannot pay the fee and one unit per output.
fn build_transfer(
    coins: &[(OutPoint, Amount)],
    outputs: usize,
    key: &SecretKey,
    chain_id: &Hash,
) -> Option<Transaction> {
    let pubkey = key.public();
    let address = Address::from_pubkey(&pubkey);
    let total = coins
        .iter()
        .try_fold(0u64, |a, (_, v)| a.checked_add(v.0))?;
    let mut tx = Transaction {
        version: TX_VERSION,
        inputs: coins
            .iter()
            .map(|(prev, _)| TxIn {
                prev: *prev,
                pubkey,
                signature: Signature::default(),
            })
            .collect(),
        outputs: vec![
            TxOut {
                amount: Amount::ZERO,
                address,
            };
            outputs
        ],
        lock_time: 0,
        kind: TxKind::Transfer,
    };
    let fee = tx.size() as u64;
    let rest = total.checked_sub(fee)?;
    let each = rest / outputs as u64;
    if each == 0 {
        return None;
    }
    for o in &mut tx.outputs {
        o.amount = Amount(each);
    }
    tx.outputs[0].amount = Amount(each + rest % outputs as u64);
    tx.sign_inputs(chain_id, &[key], None);
    Some(tx)
}

/// Splits the faucet's finalized outputs until at least `needed` outputs of at least
/// `min_coin` units exist, waiting for each round of funding transactions to be final on every
/// node. Returns the outputs.
async fn prepare_funds(
    net: &Devnet,
    key: &SecretKey,
    needed: usize,
    min_coin: u64,
    progress: bool,
) -> Result<Vec<(OutPoint, Amount)>, String> {
    let node0 = &net.nodes[0];
    let address = Address::from_pubkey(&key.public());
    let data = node0
        .wallet_data(vec![address])
        .await
        .map_err(|e| format!("cannot read the faucet's outputs: {e}"))?;
    let mut coins: Vec<(OutPoint, Amount)> = data
        .finalized
        .iter()
        .filter(|(_, u)| u.output.amount.0 >= min_coin)
        .map(|(o, u)| (*o, u.output.amount))
        .collect();
    coins.sort();
    if coins.is_empty() {
        return Err("the devnet faucet has no spendable outputs".into());
    }
    let chain_id = node0.spec.genesis.params.chain_id;
    while coins.len() < needed {
        let fan = needed.div_ceil(coins.len()).clamp(2, SPLIT_OUTPUTS);
        let split = (needed - coins.len()).div_ceil(fan - 1).min(coins.len());
        if progress {
            eprint!(
                "\rbench: funding: splitting {split} outputs into {fan} each ({} of {needed} ready)   ",
                coins.len()
            );
        }
        let mut txs = Vec::with_capacity(split);
        for c in &coins[..split] {
            let tx = build_transfer(std::slice::from_ref(c), fan, key, &chain_id)
                .filter(|t| t.outputs.iter().all(|o| o.amount.0 >= min_coin))
                .ok_or_else(|| {
                    format!(
                        "the faucet holds too little to fund {needed} inputs of {min_coin} units"
                    )
                })?;
            txs.push(tx);
        }
        let mut next: Vec<(OutPoint, Amount)> = coins[split..].to_vec();
        for tx in &txs {
            let txid = tx.txid();
            next.extend(tx.outputs.iter().enumerate().map(|(i, o)| {
                (
                    OutPoint {
                        txid,
                        index: i as u32,
                    },
                    o.amount,
                )
            }));
        }
        submit_and_wait(net, txs).await?;
        coins = next;
    }
    Ok(coins)
}

/// Submits funding transactions to node 0 and waits until they are final on every node.
async fn submit_and_wait(net: &Devnet, txs: Vec<Transaction>) -> Result<(), String> {
    let node0 = &net.nodes[0];
    let mut finalized = node0.finalized.subscribe();
    let mut waiting: HashSet<Hash> = txs.iter().map(Transaction::txid).collect();
    let deadline = Instant::now() + SETUP_DEADLINE;
    for chunk in txs.chunks(SETUP_BATCH) {
        let verdicts = node0
            .submit_txs(chunk.to_vec())
            .await
            .map_err(|e| format!("funding: {e}"))?;
        if let Some(Err(e)) = verdicts.into_iter().find(|r| r.is_err()) {
            return Err(format!("funding transaction refused: {e}"));
        }
    }
    let mut last_height = 0;
    while !waiting.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = tokio::select! {
            _ = net.root.cancelled() => return Err("interrupted".into()),
            r = tokio::time::timeout(left, finalized.recv()) => r,
        };
        match ev {
            Err(_) => {
                return Err(format!(
                    "{} funding transactions not final after {} s",
                    waiting.len(),
                    SETUP_DEADLINE.as_secs()
                ))
            }
            Ok(Ok(f)) => {
                for id in f.txids.iter() {
                    waiting.remove(id);
                }
                last_height = f.height;
            }
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                // Fall back to the transaction index for what the notifications missed.
                waiting.retain(|id| !matches!(node0.storage.tx_location(id), Ok(Some(_))));
                last_height = node0.height();
            }
            Ok(Err(broadcast::error::RecvError::Closed)) => {
                return Err("node0 stopped during funding".into())
            }
        }
    }
    net.wait_height(last_height, deadline).await
}

/// The pre-signed transactions of the timed phase and where each goes.
struct Plan {
    txs: Vec<Transaction>,
    txids: Vec<Hash>,
}

/// Builds and signs `n` transactions from distinct coins, on all cores.
fn presign(
    coins: &[(OutPoint, Amount)],
    n: usize,
    inputs: usize,
    outputs: usize,
    key: &SecretKey,
    chain_id: &Hash,
) -> Result<Plan, String> {
    let groups: Vec<&[(OutPoint, Amount)]> = coins.chunks_exact(inputs).take(n).collect();
    if groups.len() < n {
        return Err(format!(
            "funding produced {} outputs, {} needed",
            coins.len(),
            n * inputs
        ));
    }
    let signed: Vec<Option<(Transaction, Hash)>> =
        crate::node::driver::parallel_map(&groups, |g| {
            build_transfer(g, outputs, key, chain_id).map(|t| {
                let id = t.txid();
                (t, id)
            })
        });
    let mut txs = Vec::with_capacity(n);
    let mut txids = Vec::with_capacity(n);
    for s in signed {
        let (t, id) = s.ok_or("a prepared output is too small for a transaction")?;
        txs.push(t);
        txids.push(id);
    }
    Ok(Plan { txs, txids })
}

// ----- timed phase -----

/// What the submitters and the finality listeners tell the collector.
enum Event {
    /// Node admitted transaction `idx`; the submission started at `at`.
    Accepted { idx: usize, at: Instant },
    /// Transaction `idx` was refused for good.
    Rejected { idx: usize, reason: &'static str },
    /// A full mempool turned transactions away; they will be retried.
    Retried(u64),
    /// A submitter finished its share.
    SubmitterDone,
    /// A submitter could not talk to its node.
    SubmitterFailed(String),
    /// Node `node` finalized a block.
    Final { node: usize, f: Finalized },
    /// Node `node`'s notifications lagged by `n` blocks.
    Lagged { node: usize, n: u64 },
}

/// Per-transaction measurements of the timed phase.
struct Outcome {
    nodes: usize,
    requested: usize,
    submitted_at: Vec<Option<Instant>>,
    final_at: Vec<Option<Instant>>,
    rejected: u64,
    reasons: HashMap<String, u64>,
    retries: u64,
    lagged: u64,
    lag_fallback: u64,
    /// Node 0's blocks: (finalized at, bench txs, round).
    blocks: Vec<(Instant, u64, u32)>,
}

/// Settings the report needs besides the measurements.
struct Context<'a> {
    args: &'a BenchArgs,
    rounds_over_0: u64,
    tx_size: usize,
    in_flight_cap: usize,
    setup_s: f64,
    presign_s: f64,
}

/// Node that transaction `idx` is submitted to: batches round-robin over the nodes.
fn node_of(idx: usize, nodes: usize) -> usize {
    (idx / BATCH) % nodes
}

/// Submits every transaction, collects finality, and returns the measurements.
async fn timed_phase(
    net: &Devnet,
    plan: Plan,
    in_flight_cap: usize,
    progress: bool,
) -> Result<Outcome, String> {
    let n = plan.txs.len();
    let nodes = net.nodes.len();
    let stop = net.root.child_token();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    // Subscribe before the first submission.
    let mut listeners = Vec::new();
    for (i, h) in net.nodes.iter().enumerate() {
        listeners.push(tokio::spawn(listen(
            i,
            h.finalized.subscribe(),
            ev_tx.clone(),
            stop.clone(),
        )));
    }
    let permits = Arc::new(Semaphore::new(in_flight_cap));
    let txs = Arc::new(plan.txs);
    let mut submitters = Vec::new();
    for (i, h) in net.nodes.iter().enumerate() {
        submitters.push(tokio::spawn(submit(
            i,
            nodes,
            h.clone(),
            txs.clone(),
            permits.clone(),
            ev_tx.clone(),
            stop.clone(),
        )));
    }
    drop(ev_tx);
    let index: HashMap<Hash, usize> = plan
        .txids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120) + Duration::from_millis(n as u64);
    let result = collect(
        Collector::new(n, nodes, index, permits),
        ev_rx,
        deadline,
        progress,
        &net.root,
    )
    .await;
    stop.cancel();
    for t in submitters.into_iter().chain(listeners) {
        if tokio::time::timeout(Duration::from_secs(10), t)
            .await
            .is_err()
        {
            tracing::warn!(target: "bench", "a submitter or listener did not stop within 10 s");
        }
    }
    result
}

/// Forwards node `node`'s finalized blocks to the collector.
async fn listen(
    node: usize,
    mut rx: broadcast::Receiver<Finalized>,
    events: mpsc::UnboundedSender<Event>,
    stop: CancellationToken,
) {
    loop {
        let ev = tokio::select! {
            _ = stop.cancelled() => return,
            r = rx.recv() => match r {
                Ok(f) => Event::Final { node, f },
                Err(broadcast::error::RecvError::Lagged(n)) => Event::Lagged { node, n },
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        if events.send(ev).is_err() {
            return;
        }
    }
}

/// Submits node `node`'s batches in order, within the in-flight budget, retrying what a full
/// mempool turns away.
async fn submit(
    node: usize,
    nodes: usize,
    handle: NodeHandle,
    txs: Arc<Vec<Transaction>>,
    permits: Arc<Semaphore>,
    events: mpsc::UnboundedSender<Event>,
    stop: CancellationToken,
) {
    let n = txs.len();
    let mut start = node * BATCH;
    while start < n {
        let end = (start + BATCH).min(n);
        let acquired = tokio::select! {
            _ = stop.cancelled() => return,
            p = permits.acquire_many((end - start) as u32) => p,
        };
        let Ok(p) = acquired else {
            return;
        };
        p.forget();
        let mut pending: Vec<usize> = (start..end).collect();
        while !pending.is_empty() {
            let batch: Vec<Transaction> = pending.iter().map(|&i| txs[i].clone()).collect();
            let at = Instant::now();
            let verdicts = tokio::select! {
                _ = stop.cancelled() => return,
                r = handle.submit_txs(batch) => r,
            };
            let verdicts = match verdicts {
                Ok(v) => v,
                Err(e) => {
                    let _ =
                        events.send(Event::SubmitterFailed(format!("{}: {e}", handle.spec.name)));
                    return;
                }
            };
            let mut retry = Vec::new();
            for (&idx, v) in pending.iter().zip(verdicts) {
                let ev = match v {
                    Ok(_) => Event::Accepted { idx, at },
                    Err(MempoolError::FeeRateTooLow { .. }) => {
                        retry.push(idx);
                        continue;
                    }
                    Err(e) => Event::Rejected {
                        idx,
                        reason: e.label(),
                    },
                };
                if events.send(ev).is_err() {
                    return;
                }
            }
            if !retry.is_empty() {
                let _ = events.send(Event::Retried(retry.len() as u64));
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(BACKOFF) => {}
                }
            }
            pending = retry;
        }
        start += nodes * BATCH;
    }
    let _ = events.send(Event::SubmitterDone);
}

/// The collector's state.
struct Collector {
    out: Outcome,
    index: HashMap<Hash, usize>,
    permits: Arc<Semaphore>,
    /// Earliest finality of each transaction on any node (lag fallback).
    any_final: Vec<Option<Instant>>,
    done: Vec<bool>,
    lagging: Vec<bool>,
    accepted: usize,
    finalized: usize,
    submitters_done: usize,
    first_submit: Option<Instant>,
}

impl Collector {
    fn new(n: usize, nodes: usize, index: HashMap<Hash, usize>, permits: Arc<Semaphore>) -> Self {
        Collector {
            out: Outcome {
                nodes,
                requested: n,
                submitted_at: vec![None; n],
                final_at: vec![None; n],
                rejected: 0,
                reasons: HashMap::new(),
                retries: 0,
                lagged: 0,
                lag_fallback: 0,
                blocks: Vec::new(),
            },
            index,
            permits,
            any_final: vec![None; n],
            done: vec![false; n],
            lagging: vec![false; nodes],
            accepted: 0,
            finalized: 0,
            submitters_done: 0,
            first_submit: None,
        }
    }

    /// Whether every submitter is done and every admitted transaction is final.
    fn complete(&self) -> bool {
        self.submitters_done == self.out.nodes && self.finalized >= self.accepted
    }

    fn finish(&mut self, idx: usize, at: Instant) {
        if !self.done[idx] {
            self.done[idx] = true;
            self.out.final_at[idx] = Some(at);
            self.finalized += 1;
            self.permits.add_permits(1);
        }
    }

    fn on_event(&mut self, ev: Event) -> Result<(), String> {
        match ev {
            Event::Accepted { idx, at } => {
                self.out.submitted_at[idx] = Some(at);
                self.accepted += 1;
                self.first_submit = Some(self.first_submit.map_or(at, |f| f.min(at)));
            }
            Event::Rejected { idx, reason } => {
                self.out.rejected += 1;
                *self.out.reasons.entry(reason.to_string()).or_default() += 1;
                if !self.done[idx] {
                    self.done[idx] = true;
                    self.permits.add_permits(1);
                }
            }
            Event::Retried(k) => self.out.retries += k,
            Event::SubmitterDone => self.submitters_done += 1,
            Event::SubmitterFailed(e) => return Err(format!("submission failed: {e}")),
            Event::Lagged { node, n } => {
                self.out.lagged += n;
                self.lagging[node] = true;
                tracing::warn!(target: "bench", node, n, "finality notifications lagged");
                let nodes = self.out.nodes;
                for idx in 0..self.done.len() {
                    if let (false, Some(at), true) = (
                        self.done[idx],
                        self.any_final[idx],
                        node_of(idx, nodes) == node,
                    ) {
                        self.out.lag_fallback += 1;
                        self.finish(idx, at);
                    }
                }
            }
            Event::Final { node, f } => self.on_final(node, &f),
        }
        Ok(())
    }

    fn on_final(&mut self, node: usize, f: &Finalized) {
        let nodes = self.out.nodes;
        let mut ours = 0;
        for id in f.txids.iter() {
            let Some(&idx) = self.index.get(id) else {
                continue;
            };
            ours += 1;
            if self.any_final[idx].is_none() {
                self.any_final[idx] = Some(f.at);
            }
            let owner = node_of(idx, nodes);
            if owner == node {
                self.finish(idx, f.at);
            } else if self.lagging[owner] && !self.done[idx] {
                self.out.lag_fallback += 1;
                self.finish(idx, f.at);
            }
        }
        if node == 0 {
            self.out.blocks.push((f.at, ours, f.round));
        }
    }

    fn progress_line(&self, started: Instant) -> String {
        let secs = started.elapsed().as_secs_f64();
        let tps = if secs > 0.0 {
            self.finalized as f64 / secs
        } else {
            0.0
        };
        format!(
            "\rbench: {:>6.1} s  submitted {}/{}  final {}  in flight {}  {:.0} tx/s   ",
            secs,
            self.accepted,
            self.out.requested,
            self.finalized,
            self.accepted.saturating_sub(self.finalized),
            tps
        )
    }
}

/// Runs the collector until every admitted transaction is final, the deadline, or Ctrl-C.
async fn collect(
    mut c: Collector,
    mut events: mpsc::UnboundedReceiver<Event>,
    deadline: Instant,
    progress: bool,
    root: &CancellationToken,
) -> Result<Outcome, String> {
    let started = Instant::now();
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let sleep = tokio::time::sleep_until(deadline.into());
    tokio::pin!(sleep);
    let mut timed_out = false;
    while !c.complete() {
        tokio::select! {
            ev = events.recv() => match ev {
                Some(ev) => c.on_event(ev)?,
                None => break,
            },
            _ = tick.tick() => if progress {
                eprint!("{}", c.progress_line(started));
                let _ = std::io::stderr().flush();
            },
            _ = &mut sleep => { timed_out = true; break }
            _ = root.cancelled() => return Err("interrupted".into()),
        }
    }
    if progress {
        eprintln!("{}", c.progress_line(started));
    }
    if timed_out {
        tracing::warn!(target: "bench", finalized = c.finalized, accepted = c.accepted, "deadline passed");
        if progress {
            eprintln!(
                "bench: deadline passed with {} of {} admitted transactions final",
                c.finalized, c.accepted
            );
        }
    }
    Ok(c.out)
}

// ----- report -----

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Outcome {
    fn report(self, ctx: Context<'_>) -> BenchReport {
        let mut lat: Vec<f64> = Vec::new();
        let mut first: Option<Instant> = None;
        let mut last: Option<Instant> = None;
        let mut finalized = 0u64;
        for (s, f) in self.submitted_at.iter().zip(&self.final_at) {
            if let Some(s) = s {
                first = Some(first.map_or(*s, |x| x.min(*s)));
            }
            if let (Some(s), Some(f)) = (s, f) {
                finalized += 1;
                lat.push(f.saturating_duration_since(*s).as_secs_f64() * 1000.0);
                last = Some(last.map_or(*f, |x| x.max(*f)));
            }
        }
        lat.sort_by(|a, b| a.total_cmp(b));
        let duration_s = match (first, last) {
            (Some(a), Some(b)) => b.saturating_duration_since(a).as_secs_f64(),
            _ => 0.0,
        };
        let in_phase: Vec<&(Instant, u64, u32)> = match (first, last) {
            (Some(a), Some(b)) => self
                .blocks
                .iter()
                .filter(|(at, _, _)| *at >= a && *at <= b)
                .collect(),
            _ => Vec::new(),
        };
        BenchReport {
            nodes: ctx.args.nodes,
            txs_requested: self.requested as u64,
            txs_submitted: self.submitted_at.iter().filter(|s| s.is_some()).count() as u64,
            txs_finalized: finalized,
            txs_rejected: self.rejected,
            rejected_reasons: self.reasons,
            mempool_full_retries: self.retries,
            duration_s,
            finalized_tps: if duration_s > 0.0 {
                finalized as f64 / duration_s
            } else {
                0.0
            },
            finality_ms_p50: percentile(&lat, 50.0),
            finality_ms_p90: percentile(&lat, 90.0),
            finality_ms_p99: percentile(&lat, 99.0),
            finality_ms_max: lat.last().copied().unwrap_or(0.0),
            blocks: in_phase.len() as u64,
            blocks_with_txs: in_phase.iter().filter(|b| b.1 > 0).count() as u64,
            max_block_txs: in_phase.iter().map(|b| b.1).max().unwrap_or(0),
            rounds_over_0: ctx.rounds_over_0,
            rounds_over_0_scope: "round changes summed over all nodes during the timed phase",
            blocks_round_over_0: in_phase.iter().filter(|b| b.2 > 0).count() as u64,
            lagged: self.lagged,
            lag_fallback: self.lag_fallback,
            peak_rss_mb: 0.0,
            verify_rate: 0.0,
            cores: 0,
            verify_bound_tps: 0.0,
            efficiency: 0.0,
            inputs: ctx.args.inputs,
            outputs: ctx.args.outputs,
            tx_size: ctx.tx_size,
            in_flight_cap: ctx.in_flight_cap,
            batch: BATCH,
            setup_s: ctx.setup_s,
            presign_s: ctx.presign_s,
            latency_ms: ctx.args.latency_ms,
            jitter_ms: ctx.args.jitter_ms,
            sync: None,
        }
    }
}

fn print_report(r: &BenchReport, json: bool) -> Result<(), String> {
    if json {
        let s = serde_json::to_string(r).map_err(|e| format!("cannot encode the report: {e}"))?;
        println!("{s}");
        return Ok(());
    }
    println!(
        "TimeCoin bench: {} nodes, {} txs ({} in, {} out, {} bytes each)",
        r.nodes, r.txs_requested, r.inputs, r.outputs, r.tx_size
    );
    println!(
        "  submitted {}  finalized {}  rejected {}  mempool-full retries {}",
        r.txs_submitted, r.txs_finalized, r.txs_rejected, r.mempool_full_retries
    );
    println!(
        "  throughput  {:.0} finalized tx/s over {:.2} s, at most {} in flight (--in-flight)",
        r.finalized_tps, r.duration_s, r.in_flight_cap
    );
    println!(
        "  finality    p50 {:.0} ms  p90 {:.0} ms  p99 {:.0} ms  max {:.0} ms",
        r.finality_ms_p50, r.finality_ms_p90, r.finality_ms_p99, r.finality_ms_max
    );
    if r.latency_ms > 0 || r.jitter_ms > 0 {
        println!(
            "  links       {} ms + up to {} ms jitter per message, each way (--latency-ms, --jitter-ms)",
            r.latency_ms, r.jitter_ms
        );
    }
    println!(
        "  blocks      {} ({} with txs, at most {} txs), round changes {} (all nodes)",
        r.blocks, r.blocks_with_txs, r.max_block_txs, r.rounds_over_0
    );
    println!(
        "  machine     {:.0} Ed25519 verifications/s on {} cores -> bound {:.0} tx/s, efficiency {:.2}",
        r.verify_rate, r.cores, r.verify_bound_tps, r.efficiency
    );
    println!(
        "  peak RSS    {:.0} MiB; setup {:.1} s, signing {:.1} s; lagged {}",
        r.peak_rss_mb, r.setup_s, r.presign_s, r.lagged
    );
    if let Some(s) = &r.sync {
        println!(
            "  sync        {} blocks, {} txs in {:.2} s: {:.0} tx/s, {:.0} blocks/s (a fresh node over TLS)",
            s.sync_blocks, s.sync_txs, s.sync_s, s.sync_tps, s.sync_blocks_per_s
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tx_size_matches_encoding() {
        let key = SecretKey::from_seed(&[1; 32]);
        let coins = [(OutPoint::default(), Amount(1_000_000)); 3];
        for (i, o) in [(1, 1), (1, 2), (3, 7)] {
            let tx = build_transfer(&coins[..i], o, &key, &Hash::ZERO);
            assert_eq!(tx.map(|t| t.size()), Some(tx_size(i, o)));
        }
    }

    #[test]
    fn transfer_pays_exactly_its_size() {
        let key = SecretKey::from_seed(&[1; 32]);
        let coins = [(OutPoint::default(), Amount(10_001))];
        let tx = build_transfer(&coins, 3, &key, &Hash::ZERO);
        let Some(tx) = tx else { panic!("no tx") };
        let out: u64 = tx.outputs.iter().map(|o| o.amount.0).sum();
        assert_eq!(10_001 - out, tx.size() as u64);
        assert!(
            build_transfer(&[(OutPoint::default(), Amount(100))], 2, &key, &Hash::ZERO).is_none()
        );
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
    }

    #[test]
    fn batches_rotate_over_nodes() {
        assert_eq!(node_of(0, 4), 0);
        assert_eq!(node_of(BATCH, 4), 1);
        assert_eq!(node_of(4 * BATCH + 1, 4), 0);
    }
}
