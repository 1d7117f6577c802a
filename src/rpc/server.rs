//! The HTTP/1.1 JSON-RPC server (hyper).
//!
//! Dialect (Bitcoin Core's): HTTP Basic auth; POST only; a request object with `"jsonrpc":
//! "1.0"`, `"2.0"` or no version; positional (array) or named (object) params; batch arrays.
//! Responses to 1.0 and version-less requests always carry `result`, `error` and `id` (the unused
//! one `null`) and use Bitcoin Core's HTTP status for errors (400 invalid request, 404 method
//! not found, 500 other errors). Responses to 2.0 requests carry `"jsonrpc": "2.0"`, only one of
//! `result`/`error`, and HTTP 200; 2.0 requests without an `id` are notifications and get no
//! response (HTTP 204 when nothing is left to answer). Batches answer HTTP 200 with an array.

use super::auth::RpcAuth;
use super::backend::RpcBackend;
use super::error::{code, RpcErr, RpcError};
use super::json::write_json;
use super::methods::{self, Params};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Map, Value};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Resource limits and exposure of the RPC server.
#[derive(Clone, Debug)]
pub struct RpcLimits {
    /// Largest request body; larger ones get HTTP 413.
    pub max_body_bytes: usize,
    /// Most requests in one batch.
    pub max_batch: usize,
    /// Requests processed at once; more wait for a slot.
    pub max_concurrent: usize,
    /// Open connections at most; further ones wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Time allowed to send the request headers.
    pub header_read_timeout: Duration,
    /// Time allowed to send the request body (HTTP 408 after it).
    pub body_read_timeout: Duration,
    /// Pause before answering 401 to wrong credentials (slows guessing).
    pub auth_failure_delay: Duration,
    /// Allow a non-loopback bind address (logged as a warning).
    pub allow_public: bool,
    /// `getnodesnapshot` calls waiting at once; more fail at once with -1. Each waiting call
    /// holds one of the `max_concurrent` slots, so this keeps most slots for other work.
    pub max_long_polls: usize,
}

impl Default for RpcLimits {
    fn default() -> Self {
        RpcLimits {
            max_body_bytes: 1024 * 1024,
            max_batch: 1000,
            max_concurrent: 64,
            max_connections: 256,
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
            auth_failure_delay: Duration::from_millis(250),
            allow_public: false,
            max_long_polls: 8,
        }
    }
}

struct State {
    auth: RpcAuth,
    limits: RpcLimits,
    slots: Arc<Semaphore>,
    ctx: Ctx,
}

/// What answering a request needs beyond the request.
struct Ctx {
    backend: Arc<dyn RpcBackend>,
    max_batch: usize,
    /// Permits of waiting `getnodesnapshot` calls.
    long_polls: Arc<Semaphore>,
    /// Ends every wait at shutdown.
    shutdown: CancellationToken,
}

type Resp = Response<Full<Bytes>>;

/// Binds `bind` and serves until `shutdown` is cancelled; returns the bound address (useful with
/// port 0) and the server task, which ends after open connections finished (at most 5 s).
pub async fn start(
    bind: SocketAddr,
    auth: RpcAuth,
    backend: Arc<dyn RpcBackend>,
    limits: RpcLimits,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, JoinHandle<()>), RpcError> {
    if !bind.ip().is_loopback() {
        if !limits.allow_public {
            return Err(RpcError::PublicBind(bind));
        }
        tracing::warn!(target: "rpc", %bind, "RPC server listens on a non-loopback address: anyone who can reach it may try passwords");
    }
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|source| RpcError::Bind { addr: bind, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| RpcError::Bind { addr: bind, source })?;
    let state = Arc::new(State {
        auth,
        slots: Arc::new(Semaphore::new(limits.max_concurrent.max(1))),
        ctx: Ctx {
            backend,
            max_batch: limits.max_batch,
            long_polls: Arc::new(Semaphore::new(limits.max_long_polls)),
            shutdown: shutdown.clone(),
        },
        limits,
    });
    tracing::info!(target: "rpc", %local, "RPC server listening");
    let handle = tokio::spawn(serve(listener, state, shutdown));
    Ok((local, handle))
}

async fn serve(listener: TcpListener, state: Arc<State>, shutdown: CancellationToken) {
    let tracker = TaskTracker::new();
    let conns = Arc::new(Semaphore::new(state.limits.max_connections.max(1)));
    loop {
        let conn_permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            p = conns.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(target: "rpc", "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let st = state.clone();
        let sd = shutdown.clone();
        tracker.spawn(async move {
            let _conn_permit = conn_permit;
            let svc_state = st.clone();
            let svc = service_fn(move |req| handle(req, svc_state.clone()));
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(st.limits.header_read_timeout)
                .keep_alive(true);
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(target: "rpc", %peer, "connection ended: {e}");
                    }
                }
                _ = sd.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
        });
    }
    tracker.close();
    let _ = tokio::time::timeout(Duration::from_secs(5), tracker.wait()).await;
    tracing::info!(target: "rpc", "RPC server stopped");
}

fn plain(status: StatusCode, body: &'static str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r
}

fn json_resp(status: StatusCode, v: &Value) -> Resp {
    let mut body = write_json(v, false);
    body.push(b'\n');
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn unauthorized() -> Resp {
    let mut r = plain(StatusCode::UNAUTHORIZED, "");
    r.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"jsonrpc\""),
    );
    r
}

async fn handle(req: Request<Incoming>, st: Arc<State>) -> Result<Resp, Infallible> {
    match req.headers().get(AUTHORIZATION) {
        None => return Ok(unauthorized()),
        Some(h) if !st.auth.check(h.as_bytes()) => {
            tracing::warn!(target: "rpc", "RPC request with wrong credentials");
            tokio::time::sleep(st.limits.auth_failure_delay).await;
            return Ok(unauthorized());
        }
        Some(_) => {}
    }
    if req.method() != Method::POST {
        return Ok(plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "JSONRPC server handles only POST requests",
        ));
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > st.limits.max_body_bytes as u64) {
        return Ok(plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        ));
    }
    // A slot bounds both the work in progress and the request bodies held in memory.
    let Ok(_permit) = st.slots.clone().acquire_owned().await else {
        return Ok(plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down"));
    };
    let collect = Limited::new(req.into_body(), st.limits.max_body_bytes).collect();
    let Ok(collected) = tokio::time::timeout(st.limits.body_read_timeout, collect).await else {
        return Ok(plain(StatusCode::REQUEST_TIMEOUT, "request body too slow"));
    };
    let body = match collected {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return Ok(plain(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body too large",
                ));
            }
            return Ok(plain(StatusCode::BAD_REQUEST, "cannot read request body"));
        }
    };
    let (status, v) = answer(&st.ctx, &body).await;
    Ok(match v {
        Some(v) => json_resp(status, &v),
        None => plain(StatusCode::NO_CONTENT, ""),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    Legacy,
    V2,
}

fn reply(version: Version, id: Value, r: Result<Value, RpcErr>) -> Value {
    let mut o = Map::new();
    match version {
        Version::Legacy => {
            match r {
                Ok(v) => {
                    o.insert("result".into(), v);
                    o.insert("error".into(), Value::Null);
                }
                Err(e) => {
                    o.insert("result".into(), Value::Null);
                    o.insert("error".into(), e.to_json());
                }
            }
            o.insert("id".into(), id);
        }
        Version::V2 => {
            o.insert("jsonrpc".into(), json!("2.0"));
            match r {
                Ok(v) => o.insert("result".into(), v),
                Err(e) => o.insert("error".into(), e.to_json()),
            };
            o.insert("id".into(), id);
        }
    }
    Value::Object(o)
}

fn legacy_status(e: &RpcErr) -> StatusCode {
    match e.code {
        code::INVALID_REQUEST => StatusCode::BAD_REQUEST,
        code::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Answers one request body, a single request or a batch of at most `max_batch`, as the HTTP
/// handler does once the credentials and the body size were checked: the HTTP status and the
/// JSON reply (`None`: nothing to answer, HTTP 204). Must run inside a tokio runtime (methods run
/// on its blocking pool).
pub async fn answer_body(
    backend: &Arc<dyn RpcBackend>,
    max_batch: usize,
    body: &[u8],
) -> (StatusCode, Option<Value>) {
    let ctx = Ctx {
        backend: backend.clone(),
        max_batch,
        long_polls: Arc::new(Semaphore::new(RpcLimits::default().max_long_polls)),
        shutdown: CancellationToken::new(),
    };
    answer(&ctx, body).await
}

async fn answer(ctx: &Ctx, body: &[u8]) -> (StatusCode, Option<Value>) {
    let max_batch = ctx.max_batch;
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            let e = RpcErr::new(code::PARSE_ERROR, "Parse error");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(reply(Version::Legacy, Value::Null, Err(e))),
            );
        }
    };
    match v {
        Value::Array(items) => {
            if items.is_empty() || items.len() > max_batch {
                let msg = if items.is_empty() {
                    "Empty batch".to_string()
                } else {
                    format!(
                        "Batch of {} requests exceeds the limit of {}",
                        items.len(),
                        max_batch
                    )
                };
                let e = RpcErr::new(code::INVALID_REQUEST, msg);
                return (
                    StatusCode::OK,
                    Some(reply(Version::V2, Value::Null, Err(e))),
                );
            }
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if let (_, Some(r)) = process_one(ctx, item).await {
                    out.push(r);
                }
            }
            if out.is_empty() {
                (StatusCode::NO_CONTENT, None)
            } else {
                (StatusCode::OK, Some(Value::Array(out)))
            }
        }
        other => process_one(ctx, other).await,
    }
}

async fn process_one(ctx: &Ctx, item: Value) -> (StatusCode, Option<Value>) {
    let Value::Object(obj) = item else {
        let e = RpcErr::new(code::INVALID_REQUEST, "Invalid Request object");
        return (
            StatusCode::BAD_REQUEST,
            Some(reply(Version::Legacy, Value::Null, Err(e))),
        );
    };
    let id = obj.get("id").cloned();
    let version = match obj.get("jsonrpc") {
        None => Version::Legacy,
        Some(Value::String(s)) if s == "1.0" => Version::Legacy,
        Some(Value::String(s)) if s == "2.0" => Version::V2,
        Some(_) => {
            let e = RpcErr::new(
                code::INVALID_REQUEST,
                "jsonrpc field must be a string \"1.0\" or \"2.0\"",
            );
            return (
                StatusCode::BAD_REQUEST,
                Some(reply(Version::Legacy, id.unwrap_or(Value::Null), Err(e))),
            );
        }
    };
    let notification = version == Version::V2 && id.is_none();
    let result = run(ctx, &obj).await;
    if notification {
        return (StatusCode::NO_CONTENT, None);
    }
    let status = match (&result, version) {
        (Err(e), Version::Legacy) => legacy_status(e),
        _ => StatusCode::OK,
    };
    (
        status,
        Some(reply(version, id.unwrap_or(Value::Null), result)),
    )
}

async fn run(ctx: &Ctx, obj: &Map<String, Value>) -> Result<Value, RpcErr> {
    let name = match obj.get("method") {
        Some(Value::String(s)) => s.as_str(),
        None => return Err(RpcErr::new(code::INVALID_REQUEST, "Missing method")),
        Some(_) => {
            return Err(RpcErr::new(
                code::INVALID_REQUEST,
                "Method must be a string",
            ))
        }
    };
    let spec = methods::find(name)
        .ok_or_else(|| RpcErr::new(code::METHOD_NOT_FOUND, "Method not found"))?;
    let params = Params::new(spec, obj.get("params"))?;
    tracing::debug!(target: "rpc", method = name, "RPC call");
    if spec.name == methods::LONG_POLL {
        wait_for_snapshot(ctx, &params).await?;
    }
    // Every backend call runs on the blocking pool: the node may read sled, run Argon2 or
    // `Handle::block_on` inside any method without stalling or panicking a runtime worker.
    let backend = ctx.backend.clone();
    tokio::task::spawn_blocking(move || methods::call(&*backend, spec, &params))
        .await
        .unwrap_or_else(|e| {
            tracing::error!(target: "rpc", method = spec.name, "RPC handler failed: {e}");
            Err(RpcErr::new(code::INTERNAL_ERROR, "Internal error"))
        })
}

/// `getnodesnapshot`: waits (on the runtime, not the blocking pool) until the node's snapshot
/// seq differs from the caller's `since`, the bounded timeout passes, or the server stops. A
/// call that would wait while [`RpcLimits::max_long_polls`] others do fails at once.
async fn wait_for_snapshot(ctx: &Ctx, params: &Params) -> Result<(), RpcErr> {
    let w = methods::snapshot_wait(params)?;
    let (Some(since), Some(mut rx)) = (w.since, ctx.backend.snapshot_changes()) else {
        return Ok(());
    };
    if *rx.borrow_and_update() != since || w.timeout.is_zero() {
        return Ok(());
    }
    let Ok(_permit) = ctx.long_polls.clone().try_acquire_owned() else {
        return Err(RpcErr::new(
            code::MISC_ERROR,
            "too many getnodesnapshot calls are waiting; retry in a second",
        ));
    };
    let changed = async {
        loop {
            if rx.changed().await.is_err() || *rx.borrow_and_update() != since {
                return;
            }
        }
    };
    tokio::select! {
        () = changed => {}
        () = tokio::time::sleep(w.timeout) => {}
        () = ctx.shutdown.cancelled() => {}
    }
    Ok(())
}
