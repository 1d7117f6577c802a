//! Prometheus metrics (`GET /metrics`) and a JSON health check (`GET /health`) on the metrics
//! address.
//!
//! `/metrics` answers in OpenMetrics text (what prometheus-client encodes) when the scraper asks
//! for `application/openmetrics-text` (Prometheus does), else in the classic Prometheus text
//! format 0.0.4 (`curl`, `promtool check metrics`, older scrapers), where a counter's HELP and
//! TYPE lines carry the `_total` name of its samples.
//!
//! [`Metrics::new`] returns cheap, clonable handles for the node to update and the
//! [`MetricsRegistry`] to serve. Every metric name starts with `timecoin_`.

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde_json::json;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Peer connection direction label (`inbound` / `outbound`).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Direction {
    /// Connected by the peer.
    Inbound,
    /// We dialed the peer (an outbound slot).
    Outbound,
}

impl EncodeLabelValue for Direction {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        encoder.write_str(match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        })
    }
}

/// `{direction="inbound|outbound"}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabel {
    /// Who opened the connection.
    pub direction: Direction,
}

/// `{reason="..."}`. Use a fixed set of short reasons (e.g. `fee_too_low`, `double_spend`,
/// `bad_signature`, `missing_inputs`, `too_large`, `mempool_full`): every distinct value is a
/// new time series. [`Metrics::reject`] reduces the reason to `[a-z0-9_]` (at most 64 chars),
/// because prometheus-client 0.23 does not escape label values.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// Short reason, reduced to `[a-z0-9_]` (at most 64 characters).
    pub reason: String,
}

/// Handles to every node metric (clone freely; updates are atomic).
#[derive(Clone, Debug)]
pub struct Metrics {
    /// `timecoin_chain_height`: height of the last finalized block.
    pub height: Gauge,
    /// `timecoin_blocks_finalized_total`.
    pub blocks_finalized: Counter,
    /// `timecoin_txs_finalized_total`.
    pub txs_finalized: Counter,
    /// `timecoin_consensus_round`: current round.
    pub round: Gauge,
    /// `timecoin_consensus_step`: 0 propose, 1 prevote, 2 precommit, 3 commit.
    pub step: Gauge,
    /// `timecoin_consensus_rounds_per_height`: rounds needed to finalize each height (1 = first
    /// round).
    pub rounds_per_height: Histogram,
    /// `timecoin_consensus_finality_latency_seconds`: from height start to the block final.
    pub finality_latency: Histogram,
    /// `timecoin_p2p_peers{direction}`.
    pub peers: Family<DirectionLabel, Gauge>,
    /// `timecoin_p2p_bytes_received_total`.
    pub bytes_in: Counter,
    /// `timecoin_p2p_bytes_sent_total`.
    pub bytes_out: Counter,
    /// `timecoin_p2p_bans_total`: bans issued.
    pub bans: Counter,
    /// `timecoin_p2p_banned`: bans in force.
    pub banned: Gauge,
    /// `timecoin_mempool_txs`.
    pub mempool_txs: Gauge,
    /// `timecoin_mempool_bytes`.
    pub mempool_bytes: Gauge,
    /// `timecoin_mempool_rejected_total{reason}`.
    pub rejected_txs: Family<ReasonLabel, Counter>,
    /// `timecoin_sync_synced`: 1 when caught up with peers.
    pub synced: Gauge,
    /// `timecoin_sync_target_height`: best height announced by peers.
    pub sync_target_height: Gauge,
    /// `timecoin_storage_flush_seconds`: duration of each block commit + flush.
    pub storage_flush: Histogram,
}

/// The registry the metrics server encodes.
#[derive(Clone)]
pub struct MetricsRegistry(Arc<Registry>);

impl std::fmt::Debug for MetricsRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsRegistry")
    }
}

impl MetricsRegistry {
    /// Wraps a registry with extra metrics of the caller's.
    pub fn from_registry(r: Registry) -> MetricsRegistry {
        MetricsRegistry(Arc::new(r))
    }

    /// OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut s, &self.0);
        s
    }

    /// Prometheus text format 0.0.4: [`MetricsRegistry::encode`] with each counter family
    /// named as its samples (`x_total`), and no `# UNIT` or `# EOF` line.
    pub fn encode_text(&self) -> String {
        openmetrics_to_text(&self.encode())
    }
}

/// OpenMetrics text as Prometheus text format 0.0.4. In OpenMetrics a counter family `x` has
/// samples `x_total`; the 0.0.4 parser takes a family's name from its samples, so HELP and TYPE
/// of a counter become `x_total` (else promtool reads `x` as an empty family and `x_total` as
/// one without help).
fn openmetrics_to_text(om: &str) -> String {
    let counters: std::collections::HashSet<&str> = om
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(om.len() + 16 * counters.len());
    for line in om.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let total = if counters.contains(name) {
                    "_total"
                } else {
                    ""
                };
                out.push_str(prefix);
                out.push_str(name);
                out.push_str(total);
                if !tail.is_empty() {
                    out.push(' ');
                    out.push_str(tail);
                }
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Whether an `Accept` header asks for OpenMetrics text (with a non-zero quality).
fn accepts_openmetrics(accept: Option<&HeaderValue>) -> bool {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let ty = parts.next().unwrap_or("");
        ty.eq_ignore_ascii_case("application/openmetrics-text")
            && !parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f64>().ok())
                    .is_some_and(|q| q <= 0.0)
            })
    })
}

impl Metrics {
    /// Handles plus the registry that holds them.
    pub fn new() -> (Metrics, MetricsRegistry) {
        let mut r = Registry::with_prefix("timecoin");
        let m = Metrics::register(&mut r);
        (m, MetricsRegistry::from_registry(r))
    }

    /// Registers every family in `r` (which should have the `timecoin` prefix).
    pub fn register(r: &mut Registry) -> Metrics {
        let m = Metrics {
            height: Gauge::default(),
            blocks_finalized: Counter::default(),
            txs_finalized: Counter::default(),
            round: Gauge::default(),
            step: Gauge::default(),
            rounds_per_height: Histogram::new([1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0]),
            finality_latency: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            peers: Family::default(),
            bytes_in: Counter::default(),
            bytes_out: Counter::default(),
            bans: Counter::default(),
            banned: Gauge::default(),
            mempool_txs: Gauge::default(),
            mempool_bytes: Gauge::default(),
            rejected_txs: Family::default(),
            synced: Gauge::default(),
            sync_target_height: Gauge::default(),
            storage_flush: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
        };
        r.register(
            "chain_height",
            "Height of the last finalized block",
            m.height.clone(),
        );
        r.register(
            "blocks_finalized",
            "Blocks finalized",
            m.blocks_finalized.clone(),
        );
        r.register(
            "txs_finalized",
            "Transactions finalized",
            m.txs_finalized.clone(),
        );
        r.register(
            "consensus_round",
            "Current consensus round",
            m.round.clone(),
        );
        r.register(
            "consensus_step",
            "Current consensus step (0 propose, 1 prevote, 2 precommit, 3 commit)",
            m.step.clone(),
        );
        r.register(
            "consensus_rounds_per_height",
            "Rounds needed to finalize a height",
            m.rounds_per_height.clone(),
        );
        r.register(
            "consensus_finality_latency_seconds",
            "Time from the start of a height to its block being final",
            m.finality_latency.clone(),
        );
        r.register("p2p_peers", "Connected peers by direction", m.peers.clone());
        r.register(
            "p2p_bytes_received",
            "Bytes received from peers",
            m.bytes_in.clone(),
        );
        r.register("p2p_bytes_sent", "Bytes sent to peers", m.bytes_out.clone());
        r.register("p2p_bans", "Peer bans issued", m.bans.clone());
        r.register("p2p_banned", "Bans in force", m.banned.clone());
        r.register(
            "mempool_txs",
            "Transactions in the mempool",
            m.mempool_txs.clone(),
        );
        r.register(
            "mempool_bytes",
            "Bytes of transactions in the mempool",
            m.mempool_bytes.clone(),
        );
        r.register(
            "mempool_rejected",
            "Transactions rejected by the mempool, by reason",
            m.rejected_txs.clone(),
        );
        r.register(
            "sync_synced",
            "1 when caught up with peers",
            m.synced.clone(),
        );
        r.register(
            "sync_target_height",
            "Best height announced by peers",
            m.sync_target_height.clone(),
        );
        r.register(
            "storage_flush_seconds",
            "Duration of a block commit and flush",
            m.storage_flush.clone(),
        );
        // Both directions exist from the start, so dashboards see 0 rather than no data.
        m.set_peers(0, 0);
        m
    }

    /// Counts `n` transactions rejected for `reason` (sanitized into a label value).
    pub fn reject(&self, reason: &str, n: u64) {
        let reason: String = reason
            .chars()
            .take(64)
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        self.rejected_txs
            .get_or_create(&ReasonLabel { reason })
            .inc_by(n);
    }

    /// Sets the peer gauges.
    pub fn set_peers(&self, inbound: usize, outbound: usize) {
        self.peers
            .get_or_create(&DirectionLabel {
                direction: Direction::Inbound,
            })
            .set(inbound as i64);
        self.peers
            .get_or_create(&DirectionLabel {
                direction: Direction::Outbound,
            })
            .set(outbound as i64);
    }
}

/// What `/health` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthSnapshot {
    /// Height of the last finalized block.
    pub height: u64,
    /// Peers connected now, inbound and outbound.
    pub peers: usize,
    /// Seconds since the last finalized block (`None` before the first).
    pub last_block_age_secs: Option<u64>,
    /// Caught up with peers.
    pub synced: bool,
}

impl HealthSnapshot {
    /// Healthy: synced and at least one peer.
    pub fn healthy(&self) -> bool {
        self.synced && self.peers > 0
    }

    /// `ok`, `no_peers` or `syncing`.
    pub fn status(&self) -> &'static str {
        if self.peers == 0 {
            "no_peers"
        } else if !self.synced {
            "syncing"
        } else {
            "ok"
        }
    }
}

/// The node's source of health data (answer from a snapshot, do not block).
pub trait HealthSource: Send + Sync + 'static {
    /// The state to report now; runs on every `/health` request, so it must not block.
    fn health(&self) -> HealthSnapshot;
}

impl<F> HealthSource for F
where
    F: Fn() -> HealthSnapshot + Send + Sync + 'static,
{
    fn health(&self) -> HealthSnapshot {
        self()
    }
}

/// Why the metrics server could not start.
#[derive(Debug, Error)]
#[error("cannot bind the metrics server to {addr}: {source}; choose another address with --metrics-bind or [metrics] bind")]
pub struct MetricsError {
    /// The address the server tried to bind.
    pub addr: SocketAddr,
    /// Why binding failed (address in use, permission denied, ...).
    pub source: std::io::Error,
}

struct State {
    registry: MetricsRegistry,
    health: Arc<dyn HealthSource>,
}

type Resp = Response<Full<Bytes>>;

/// Open scrape connections at most.
const MAX_CONNECTIONS: usize = 64;

/// Serves `GET /metrics` and `GET /health` on `bind` until `shutdown`; returns the bound
/// address and the server task.
pub async fn start(
    bind: SocketAddr,
    registry: MetricsRegistry,
    health: Arc<dyn HealthSource>,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, JoinHandle<()>), MetricsError> {
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|source| MetricsError { addr: bind, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| MetricsError { addr: bind, source })?;
    if !bind.ip().is_loopback() {
        tracing::info!(target: "metrics", %local, "metrics server listens on a non-loopback address");
    }
    let state = Arc::new(State { registry, health });
    let handle = tokio::spawn(async move {
        let tracker = TaskTracker::new();
        let conns = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        loop {
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break,
                p = conns.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let stream = tokio::select! {
                _ = shutdown.cancelled() => break,
                r = listener.accept() => match r {
                    Ok((s, _)) => s,
                    Err(e) => {
                        tracing::warn!(target: "metrics", "accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let st = state.clone();
            let sd = shutdown.clone();
            tracker.spawn(async move {
                let _permit = permit;
                let svc = service_fn(move |req| {
                    let st = st.clone();
                    async move { Ok::<_, Infallible>(respond(&req, &st)) }
                });
                let mut b = http1::Builder::new();
                b.timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10));
                let conn = b.serve_connection(TokioIo::new(stream), svc);
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => {}
                    _ = sd.cancelled() => {
                        conn.as_mut().graceful_shutdown();
                        let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
                    }
                }
            });
        }
        tracker.close();
        let _ = tokio::time::timeout(Duration::from_secs(3), tracker.wait()).await;
    });
    tracing::info!(target: "metrics", %local, "metrics server listening");
    Ok((local, handle))
}

fn respond(req: &Request<Incoming>, st: &State) -> Resp {
    let (status, ctype, body) = match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => {
            if accepts_openmetrics(req.headers().get(hyper::header::ACCEPT)) {
                (
                    StatusCode::OK,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    st.registry.encode(),
                )
            } else {
                (
                    StatusCode::OK,
                    "text/plain; version=0.0.4; charset=utf-8",
                    st.registry.encode_text(),
                )
            }
        }
        (&Method::GET, "/health") => {
            let h = st.health.health();
            let body = json!({
                "status": h.status(),
                "height": h.height,
                "peers": h.peers,
                "last_block_age_secs": h.last_block_age_secs,
                "synced": h.synced,
            });
            let status = if h.healthy() {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (status, "application/json", format!("{body}\n"))
        }
        (_, "/metrics" | "/health") => (
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".to_string(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /metrics or /health\n".to_string(),
        ),
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_encodes_every_family() {
        let (m, r) = Metrics::new();
        m.reject("Fee too low!", 1);
        let text = r.encode();
        for name in [
            "timecoin_chain_height",
            "timecoin_blocks_finalized_total",
            "timecoin_txs_finalized_total",
            "timecoin_consensus_round",
            "timecoin_consensus_step",
            "timecoin_consensus_rounds_per_height_bucket",
            "timecoin_consensus_finality_latency_seconds_bucket",
            "timecoin_p2p_peers{direction=\"inbound\"}",
            "timecoin_p2p_bytes_received_total",
            "timecoin_p2p_bytes_sent_total",
            "timecoin_p2p_bans_total",
            "timecoin_mempool_txs",
            "timecoin_mempool_bytes",
            "timecoin_mempool_rejected_total{reason=\"fee_too_low_\"}",
            "timecoin_sync_synced",
            "timecoin_storage_flush_seconds_bucket",
        ] {
            assert!(text.contains(name), "{name} missing in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn text_format_names_counters_as_their_samples() {
        let (m, r) = Metrics::new();
        m.blocks_finalized.inc();
        let text = r.encode_text();
        assert!(text.contains("# HELP timecoin_blocks_finalized_total Blocks finalized"));
        assert!(text.contains("# TYPE timecoin_blocks_finalized_total counter\n"));
        assert!(text.contains("\ntimecoin_blocks_finalized_total 1\n"));
        assert!(text.contains("# TYPE timecoin_chain_height gauge\n"));
        assert!(!text.contains("# EOF"));
        assert_eq!(
            text.lines().filter(|l| l.starts_with('#')).count(),
            r.encode().lines().filter(|l| l.starts_with('#')).count() - 1
        );
    }

    #[test]
    fn accept_header_selects_openmetrics() {
        let h = |s: &'static str| HeaderValue::from_static(s);
        // What Prometheus 2.x sends.
        assert!(accepts_openmetrics(Some(&h(
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        ))));
        assert!(!accepts_openmetrics(None));
        assert!(!accepts_openmetrics(Some(&h("*/*"))));
        assert!(!accepts_openmetrics(Some(&h("text/plain;version=0.0.4"))));
        assert!(!accepts_openmetrics(Some(&h(
            "application/openmetrics-text;q=0"
        ))));
    }

    #[test]
    fn health_status() {
        let h = HealthSnapshot {
            height: 1,
            peers: 1,
            last_block_age_secs: Some(0),
            synced: true,
        };
        assert!(h.healthy());
        assert_eq!(h.status(), "ok");
        let f = move || h.clone();
        assert_eq!(HealthSource::health(&f).height, 1);
    }
}
