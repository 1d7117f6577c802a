//! What every run must show: agreement, valid decided blocks with valid certificates (checked
//! by replaying each honest node's stored chain from genesis with the ledger's own validation),
//! progress within a bound of simulated time, memory within the driver's bounds. Honest double
//! signs and honest nodes banning each other are recorded as the run goes (see `Sim`).

use super::{Config, Outcome};
use std::collections::BTreeMap;
use std::time::Duration;
use timecoin::ledger::{validate_block_known, Genesis, SigPolicy};
use timecoin::storage::Storage;
use timecoin::types::sig_cache::{SigCache, DEFAULT_CAPACITY};
use timecoin::types::Hash;

/// The driver's documented bounds (the next-height buffer's are the scenario's
/// [`Config::future_limits`]; gossiped transactions 32 MiB, blocks of a running height 64 MiB
/// beyond the current round's); the checks allow the current round's blocks on top.
const GOSSIP_TX_BYTES: usize = 32 * 1024 * 1024;
const RUN_BLOCK_BYTES: usize = 64 * 1024 * 1024 + 8 * 2 * 1024 * 1024;

/// Replays the longest stored honest chain from genesis: every block valid on its parent
/// state, every certificate valid for the set of its height. Every other honest chain must hold
/// the same blocks (so each stored block is checked once, not once per node).
pub fn chains(genesis: &Genesis, chains: &[Option<Storage>]) -> Vec<String> {
    let mut v = vec![];
    let stored: Vec<(usize, Vec<Hash>)> = chains
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let s = s.as_ref()?;
            let hashes = (1..)
                .map_while(|h| s.block(h).ok().flatten().map(|b| b.hash()))
                .collect();
            Some((i, hashes))
        })
        .collect();
    let Some((longest, reference)) = stored.iter().max_by_key(|(_, c)| c.len()) else {
        return v;
    };
    for (i, c) in &stored {
        if let Some(h) = c.iter().zip(reference).position(|(a, b)| a != b) {
            v.push(format!(
                "agreement: nodes {i} and {longest} store different blocks at height {}",
                h + 1
            ));
        }
    }
    let Some(s) = chains[*longest].as_ref() else {
        return v;
    };
    let mut state = genesis.state();
    // Each certificate comes back as the next block's `last_commit`: its signatures are
    // verified once.
    let mut known = SigCache::new(DEFAULT_CAPACITY);
    for h in 1..=reference.len() as u64 {
        let Ok(Some(block)) = s.block(h) else { break };
        let set = state.next_validator_set();
        let hash = block.hash();
        match s.certificate(h) {
            Ok(Some(c)) => {
                let chain_id = &genesis.params.chain_id;
                if let Err(e) = c.verify_remembered(chain_id, h, &hash, &set, &mut known) {
                    v.push(format!(
                        "node {longest}: certificate of height {h} invalid: {e}"
                    ));
                }
            }
            _ => v.push(format!(
                "node {longest}: no certificate stored for height {h}"
            )),
        }
        let all = SigPolicy::VerifyAll;
        match validate_block_known(&block, &state, &genesis.params, &set, all, &known) {
            Ok(fx) => state.apply(&fx, block.header.time_ms),
            Err(e) => {
                v.push(format!("node {longest}: decided block {h} is invalid: {e}"));
                break;
            }
        }
    }
    v
}

/// Agreement over every reported decision, progress, and memory bounds.
pub fn general(cfg: &Config, out: &Outcome) -> Vec<String> {
    let mut v = agreement(out);
    for (i, h) in out.final_heights.iter().enumerate() {
        if out.honest[i] && *h < cfg.target {
            v.push(format!(
                "progress: honest node {i} committed {h} of {} heights by {} ms",
                cfg.target, out.end_time
            ));
        }
    }
    if let Some(at) = out.target_at {
        let from = cfg.net.healed_at();
        if at > from + cfg.progress_bound {
            v.push(format!(
                "progress: the target was reached at {at} ms, more than {} ms after the network healed at {from} ms",
                cfg.progress_bound
            ));
        }
    }
    let m = out.held_max;
    let next_height_bound = cfg
        .next_height_bound
        .unwrap_or(cfg.future_limits.total_bytes);
    if m.next_height > next_height_bound
        || m.gossip_txs > GOSSIP_TX_BYTES
        || m.run_blocks > RUN_BLOCK_BYTES
    {
        v.push(format!("memory: a driver held {m:?}"));
    }
    v
}

/// No two honest nodes reported different blocks final at one height.
pub fn agreement(out: &Outcome) -> Vec<String> {
    let mut by_height: BTreeMap<u64, (usize, Hash)> = BTreeMap::new();
    let mut v = vec![];
    for d in &out.decisions {
        if !out.honest[d.node] {
            continue;
        }
        match by_height.get(&d.height) {
            Some((n, h)) if *h != d.hash => v.push(format!(
                "agreement: nodes {n} and {} finalized different blocks at height {} ({} vs {})",
                d.node,
                d.height,
                h.short(),
                d.hash.short()
            )),
            Some(_) => {}
            None => {
                by_height.insert(d.height, (d.node, d.hash));
            }
        }
    }
    v
}

fn percentile(sorted: &[u64], p: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// Time between consecutive decisions at each honest node (a height's latency when the next
/// one starts at once), sorted.
pub fn height_times(out: &Outcome) -> Vec<u64> {
    let mut last: BTreeMap<usize, u64> = BTreeMap::new();
    let mut times = vec![];
    for d in &out.decisions {
        if !out.honest[d.node] {
            continue;
        }
        if let Some(prev) = last.insert(d.node, d.at) {
            times.push(d.at - prev);
        }
    }
    times.sort();
    times
}

/// One line of figures for a scenario.
pub fn summary(name: &str, outs: &[Outcome], wall: Duration) -> String {
    let rounds: Vec<u64> = outs
        .iter()
        .flat_map(|o| {
            o.decisions
                .iter()
                .filter(|d| o.honest[d.node])
                .map(|d| d.round as u64)
        })
        .collect();
    let over0 = rounds.iter().filter(|r| **r > 0).count();
    let mut times: Vec<u64> = outs.iter().flat_map(height_times).collect();
    times.sort();
    let deliveries: u64 = outs.iter().map(|o| o.deliveries).sum();
    let crashes: u64 = outs.iter().map(|o| o.crashes).sum();
    let bans: usize = outs.iter().map(|o| o.bans.len()).sum();
    let vtime: u64 = outs.iter().map(|o| o.end_time).sum();
    format!(
        "scenario {name}: {} seeds in {:.1} s; {} decisions, {over0} after round 0; time per height p50 {} ms p99 {} ms; {deliveries} deliveries, {crashes} crashes, {bans} bans (of rogues or byzantine nodes); mean simulated run {} ms",
        outs.len(),
        wall.as_secs_f64(),
        rounds.len(),
        percentile(&times, 50),
        percentile(&times, 99),
        vtime / outs.len().max(1) as u64,
    )
}
