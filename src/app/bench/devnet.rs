//! The bench's devnet: in-process nodes over real TLS sockets, started, awaited and stopped.

use super::BenchArgs;
use crate::consensus::ConsensusParams;
use crate::ledger::Genesis;
use crate::mempool::MempoolLimits;
use crate::node::devnet::DevnetLayout;
use crate::node::{self, NodeHandle, NodeSpec};
use crate::p2p::LinkDelay;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long the devnet may take to connect and finalize its first block.
const READY_DEADLINE: Duration = Duration::from_secs(60);

/// The running bench devnet.
pub(super) struct Devnet {
    /// The nodes, in devnet order (node 0 first).
    pub(super) nodes: Vec<NodeHandle>,
    tasks: Vec<JoinHandle<()>>,
    /// Cancelled to stop everything (Ctrl-C cancels it).
    pub(super) root: CancellationToken,
}

/// Node `i`'s spec in the bench: the devnet's, adapted by [`in_process`].
pub(super) fn bench_spec(
    layout: &DevnetLayout,
    i: u32,
    genesis: &Genesis,
    args: &BenchArgs,
) -> NodeSpec {
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
pub(super) fn in_process(mut spec: NodeSpec, args: &BenchArgs) -> NodeSpec {
    spec.rpc_bind = None;
    spec.metrics_bind = None;
    spec.link_delay = LinkDelay::from_millis(args.latency_ms, args.jitter_ms);
    spec
}

impl Devnet {
    /// Starts one node per spec, each stopped by a child of `root`.
    pub(super) async fn start(
        specs: Vec<NodeSpec>,
        root: CancellationToken,
    ) -> Result<Devnet, String> {
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
    pub(super) async fn shutdown(self) {
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
    pub(super) async fn wait_ready(&self) -> Result<(), String> {
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
    pub(super) async fn wait_height(&self, height: u64, deadline: Instant) -> Result<(), String> {
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

    /// Sleeps `d`; an error when the bench is interrupted meanwhile.
    pub(super) async fn sleep_or_cancel(&self, d: Duration) -> Result<(), String> {
        tokio::select! {
            _ = self.root.cancelled() => Err("interrupted".into()),
            _ = tokio::time::sleep(d) => Ok(()),
        }
    }

    /// Round changes so far, summed over the nodes.
    pub(super) fn rounds_over_0(&self) -> u64 {
        self.nodes
            .iter()
            .map(|h| h.snapshot.borrow().rounds_over_0)
            .sum()
    }
}
