//! The timed phase's collector: per-transaction submission and finality times from the
//! submitters' and listeners' events, the in-flight budget released as transactions finish,
//! lag fallbacks, and the progress line.

use super::timed::{node_of, Event};
use crate::node::Finalized;
use crate::types::Hash;
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

/// Progress line refresh interval.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Per-transaction measurements of the timed phase.
pub(super) struct Outcome {
    pub(super) nodes: usize,
    pub(super) requested: usize,
    pub(super) submitted_at: Vec<Option<Instant>>,
    pub(super) final_at: Vec<Option<Instant>>,
    pub(super) rejected: u64,
    pub(super) reasons: HashMap<String, u64>,
    pub(super) retries: u64,
    pub(super) lagged: u64,
    pub(super) lag_fallback: u64,
    /// Node 0's blocks: (finalized at, bench txs, round).
    pub(super) blocks: Vec<(Instant, u64, u32)>,
}

/// The collector's state.
pub(super) struct Collector {
    out: Outcome,
    index: HashMap<Hash, usize>,
    permits: Arc<Semaphore>,
    /// Transactions per submission batch (which node a transaction went to).
    batch: usize,
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
    /// A collector of `n` transactions submitted in batches of `batch` over `nodes` nodes;
    /// `index` maps txids to positions.
    pub(super) fn new(
        n: usize,
        nodes: usize,
        batch: usize,
        index: HashMap<Hash, usize>,
        permits: Arc<Semaphore>,
    ) -> Self {
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
            batch,
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
                        node_of(idx, nodes, self.batch) == node,
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
            let owner = node_of(idx, nodes, self.batch);
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
pub(super) async fn collect(
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
