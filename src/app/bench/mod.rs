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
//!
//! One job a file: [`flags`] (argument checks), [`workdir`] (the temp dir), [`probe`] (the
//! machine's verification rate and peak RSS), [`devnet`] (the nodes' lifecycle), [`funding`]
//! (splitting the faucet), [`transfer`] and [`presign`] (the transactions), [`timed`] and
//! [`collector`] (the timed phase), [`report`] (percentiles, the report and its output).

mod collector;
mod devnet;
mod flags;
mod funding;
mod presign;
mod probe;
mod report;
mod sync;
mod timed;
mod transfer;
mod workdir;

pub use probe::{measure_verify_rate, peak_rss_mb};
pub use report::BenchReport;

use super::args::BenchArgs;
use crate::node::devnet::DevnetLayout;
use crate::node::{logging, NodeHandle, MAX_PROPOSAL_TXS};
use crate::types::Transaction;
use devnet::{bench_spec, Devnet};
use flags::check_args;
use funding::prepare_funds;
use presign::presign;
use report::{print_report, Context};
use std::path::Path;
use std::time::{Duration, Instant};
use timed::timed_phase;
use tokio_util::sync::CancellationToken;
use workdir::make_temp_dir;

/// Transactions per `submit_txs` call.
const BATCH: usize = 500;
/// How long the Ed25519 verification rate is measured.
const VERIFY_MEASURE: Duration = Duration::from_secs(1);

/// Runs `timed bench`. Prints the report; an error when not every transaction was finalized.
pub fn run(args: &BenchArgs) -> Result<(), String> {
    check_args(args)?;
    let dir = make_temp_dir()?;
    // TIMECOIN_BENCH_LOG (e.g. "warn,perf=debug") raises the log level; the logs stay in the
    // printed directory when it is set.
    let filter = std::env::var("TIMECOIN_BENCH_LOG").ok();
    logging::init(filter.as_deref().unwrap_or("warn"), Some(&dir), false)
        .map_err(|e| format!("cannot open the log file in {}: {e}", dir.display()))?;
    let (before, cores) = measure_verify_rate(VERIFY_MEASURE);
    let rt = super::runtime()?;
    let result = rt.block_on(run_devnet(args, &dir));
    // A node stuck in storage (e.g. its data dir vanished) must not keep the process alive.
    rt.shutdown_timeout(Duration::from_secs(10));
    let mut report = match result {
        Ok(r) => r,
        Err(e) => return Err(format!("{e} (logs kept in {})", dir.display())),
    };
    // The faster of a probe before the run and one after: a probe that something else on the
    // machine slowed down would flatter the efficiency.
    let (after, _) = measure_verify_rate(VERIFY_MEASURE);
    report.set_verify_rate(before.max(after), cores, args.nodes);
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

/// Starts the devnet, runs the bench (and the `--sync` phase), stops the devnet, and adds the
/// peak memory to the report.
async fn run_devnet(args: &BenchArgs, dir: &Path) -> Result<BenchReport, String> {
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
    let min_coin = Transaction::transfer_size(args.inputs as usize, args.outputs as usize) as u64
        + args.outputs as u64;
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
    let load = Load::of(args, &net.nodes[0]);
    let rounds_before = net.rounds_over_0();
    let outcome = timed_phase(net, plan, load, progress).await?;
    let rounds_after = net.rounds_over_0();
    Ok(outcome.report(Context {
        args,
        rounds_over_0: rounds_after.saturating_sub(rounds_before),
        tx_size,
        load,
        setup_s,
        presign_s,
    }))
}

/// Submissions per second of the open-loop load (`--rate`): its batches are this much smaller
/// than [`BATCH`], so that the load is smooth at the scale of a block.
const RATE_STEPS_PER_S: u64 = 50;

/// How the timed phase offers its transactions.
#[derive(Clone, Copy, Debug)]
pub(super) struct Load {
    /// Most transactions submitted but not final at once.
    pub(super) in_flight_cap: usize,
    /// Transactions per `submit_txs` call.
    pub(super) batch: usize,
    /// Transactions per second, submitted on schedule (`None`: as fast as the cap allows).
    pub(super) rate: Option<u64>,
}

impl Load {
    fn of(args: &BenchArgs, node: &NodeHandle) -> Load {
        let rate = args.rate;
        let batch = rate.map_or(BATCH, |r| {
            (r / RATE_STEPS_PER_S).clamp(1, BATCH as u64) as usize
        });
        // Open loop: the cap only bounds memory (within a mempool); closed loop: one proposal.
        let default_cap = match rate {
            Some(_) => within_a_mempool(node),
            None => in_flight_cap(node),
        };
        Load {
            in_flight_cap: args.in_flight.unwrap_or(default_cap),
            batch,
            rate,
        }
    }
}

/// Submitted-but-not-final transactions allowed at once unless `--in-flight` says otherwise: one
/// full proposal's worth, within a mempool. The nodes propose as soon as the previous block is
/// final, so a deeper queue adds waiting time rather than throughput (50k runs on 2 cores:
/// 2,000 in flight gave 6.5-7.1k tx/s with p99 0.54-0.58 s; 3,000 gave 6.7-7.5k with 0.66-0.84 s;
/// 8,000 gave 7.8-8.0k with 1.9-2.6 s).
fn in_flight_cap(node: &NodeHandle) -> usize {
    MAX_PROPOSAL_TXS.min(within_a_mempool(node)).max(BATCH)
}

/// Most transactions the bench keeps outstanding in any mode: they fit one node's mempool with
/// room to spare, so a full pool never turns the bench's own load away.
fn within_a_mempool(node: &NodeHandle) -> usize {
    node.spec.mempool.max_txs * 4 / 5
}
