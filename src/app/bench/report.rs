//! The bench's report: the JSON fields of SPEC 9 ([`BenchReport`], a contract checked by
//! `tests/bench_small.rs`), nearest-rank percentiles, and the human-readable output.

use super::collector::Outcome;
use super::{sync, BenchArgs, Load};
use serde::Serialize;
use std::collections::HashMap;
use std::time::Instant;

/// The figures of one run, printed as JSON with `--json`.
#[derive(Clone, Debug, Default, Serialize)]
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
    /// Ed25519 single verifications per second on all cores of this machine: the faster of a
    /// probe before the run and one after.
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
    /// The open-loop load of `--rate` (transactions per second offered); absent for the
    /// closed loop of `--in-flight`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<u64>,
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

/// Settings the report needs besides the measurements.
pub(super) struct Context<'a> {
    pub(super) args: &'a BenchArgs,
    pub(super) rounds_over_0: u64,
    pub(super) tx_size: usize,
    pub(super) load: Load,
    pub(super) setup_s: f64,
    pub(super) presign_s: f64,
}

impl BenchReport {
    /// Sets the machine's verification rate measured on `cores` cores, and the bound and the
    /// efficiency that follow from it for `nodes` nodes.
    pub fn set_verify_rate(&mut self, verify_rate: f64, cores: usize, nodes: u32) {
        self.verify_rate = verify_rate;
        self.cores = cores;
        self.verify_bound_tps = verify_rate / f64::from(nodes.max(1));
        self.efficiency = if self.verify_bound_tps > 0.0 {
            self.finalized_tps / self.verify_bound_tps
        } else {
            0.0
        };
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Outcome {
    /// The report of the timed phase; the machine figures are filled in by the caller.
    pub(super) fn report(self, ctx: Context<'_>) -> BenchReport {
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
            in_flight_cap: ctx.load.in_flight_cap,
            batch: ctx.load.batch,
            rate: ctx.load.rate,
            setup_s: ctx.setup_s,
            presign_s: ctx.presign_s,
            latency_ms: ctx.args.latency_ms,
            jitter_ms: ctx.args.jitter_ms,
            sync: None,
        }
    }
}

/// Prints the report: one JSON line with `json`, a summary otherwise.
pub(super) fn print_report(r: &BenchReport, json: bool) -> Result<(), String> {
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
    let offered = match r.rate {
        Some(rate) => format!("offered {rate} tx/s (--rate), "),
        None => String::new(),
    };
    println!(
        "  throughput  {:.0} finalized tx/s over {:.2} s, {offered}at most {} in flight (--in-flight)",
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
    // An offered load below the bound caps the efficiency: it then measures the load.
    let capped = if r.rate.is_some() {
        " (at most the offered rate over the bound)"
    } else {
        ""
    };
    println!(
        "  machine     {:.0} Ed25519 verifications/s on {} cores -> bound {:.0} tx/s, efficiency {:.2}{capped}",
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
    fn percentiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
    }

    #[test]
    fn efficiency_is_finality_over_the_verification_bound_of_each_node() {
        let mut r = BenchReport {
            finalized_tps: 900.0,
            ..Default::default()
        };
        r.set_verify_rate(48_000.0, 2, 16);
        assert_eq!((r.verify_rate, r.cores), (48_000.0, 2));
        assert_eq!(r.verify_bound_tps, 3_000.0);
        assert!((r.efficiency - 0.3).abs() < 1e-9, "{}", r.efficiency);
        r.set_verify_rate(0.0, 2, 16);
        assert_eq!(r.efficiency, 0.0);
    }
}
