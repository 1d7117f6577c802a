//! The timed phase: one submitter per node (batches round-robin, within the in-flight budget,
//! retrying what a full mempool turns away) and one finality listener per node, feeding the
//! [`Collector`].

use super::collector::{collect, Collector, Outcome};
use super::devnet::Devnet;
use super::presign::Plan;
use super::BATCH;
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

/// Node that transaction `idx` is submitted to: batches round-robin over the nodes.
pub(super) fn node_of(idx: usize, nodes: usize) -> usize {
    (idx / BATCH) % nodes
}

/// Submits every transaction, collects finality, and returns the measurements.
pub(super) async fn timed_phase(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_rotate_over_nodes() {
        assert_eq!(node_of(0, 4), 0);
        assert_eq!(node_of(BATCH, 4), 1);
        assert_eq!(node_of(4 * BATCH + 1, 4), 0);
    }
}
