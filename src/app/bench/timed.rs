//! The timed phase: one submitter per node (batches round-robin, within the in-flight budget
//! and, with `--rate`, each at its time on the schedule; retrying what a full mempool turns
//! away) and one finality listener per node, feeding the [`Collector`].

use super::collector::{collect, Collector, Outcome};
use super::devnet::Devnet;
use super::presign::Plan;
use super::Load;
use crate::mempool::MempoolError;
use crate::node::{Finalized, NodeHandle};
use crate::types::{Hash, Transaction};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

/// Pause before retrying transactions a full mempool turned away.
const BACKOFF: Duration = Duration::from_millis(20);

/// What the submitters and the finality listeners tell the collector.
pub(super) enum Event {
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

/// Node that transaction `idx` is submitted to: batches of `batch` round-robin over the nodes.
pub(super) fn node_of(idx: usize, nodes: usize, batch: usize) -> usize {
    (idx / batch.max(1)) % nodes
}

/// When the batch starting at transaction `start` is due, `rate` transactions per second after
/// the phase's start.
fn due(started: tokio::time::Instant, start: usize, rate: u64) -> tokio::time::Instant {
    started + Duration::from_secs_f64(start as f64 / rate.max(1) as f64)
}

/// Submits every transaction, collects finality, and returns the measurements.
pub(super) async fn timed_phase(
    net: &Devnet,
    plan: Plan,
    load: Load,
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
    let permits = Arc::new(Semaphore::new(load.in_flight_cap));
    let txs = Arc::new(plan.txs);
    let started = tokio::time::Instant::now();
    let mut submitters = Vec::new();
    for (i, h) in net.nodes.iter().enumerate() {
        let share = Share {
            node: i,
            nodes,
            load,
            started,
        };
        submitters.push(tokio::spawn(submit(
            share,
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
    // A slow schedule (`--rate`) takes its own time on top.
    let schedule = load.rate.map_or(Duration::ZERO, |r| {
        due(started, n, r).duration_since(started)
    });
    let deadline =
        Instant::now() + Duration::from_secs(120) + Duration::from_millis(n as u64) + schedule;
    let result = collect(
        Collector::new(n, nodes, load.batch, index, permits),
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

/// Which batches one submitter sends, and how.
#[derive(Clone, Copy)]
struct Share {
    /// Its node: it sends every `nodes`-th batch from this one.
    node: usize,
    nodes: usize,
    load: Load,
    /// The start of the phase, which the schedule of `--rate` counts from.
    started: tokio::time::Instant,
}

/// Submits one node's batches in order, within the in-flight budget (and on schedule with
/// `--rate`), retrying what a full mempool turns away.
async fn submit(
    share: Share,
    handle: NodeHandle,
    txs: Arc<Vec<Transaction>>,
    permits: Arc<Semaphore>,
    events: mpsc::UnboundedSender<Event>,
    stop: CancellationToken,
) {
    let n = txs.len();
    let batch = share.load.batch;
    let mut start = share.node * batch;
    while start < n {
        let end = (start + batch).min(n);
        if let Some(rate) = share.load.rate {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep_until(due(share.started, start, rate)) => {}
            }
        }
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
        start += share.nodes * batch;
    }
    let _ = events.send(Event::SubmitterDone);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_rotate_over_nodes() {
        assert_eq!(node_of(0, 4, 500), 0);
        assert_eq!(node_of(500, 4, 500), 1);
        assert_eq!(node_of(4 * 500 + 1, 4, 500), 0);
        assert_eq!(node_of(250, 4, 100), 2);
    }

    #[test]
    fn the_schedule_spaces_batches_by_the_rate() {
        let t = tokio::time::Instant::now();
        assert_eq!(due(t, 0, 5_000), t);
        assert_eq!(due(t, 100, 5_000), t + Duration::from_millis(20));
        assert_eq!(due(t, 10_000, 5_000), t + Duration::from_secs(2));
    }
}
