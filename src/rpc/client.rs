//! A small JSON-RPC client over one kept-alive HTTP/1.1 connection (used by `time-cli`, the
//! tests and the load example).

use super::error::RpcErr;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use thiserror::Error;
use tokio::net::TcpStream;

/// Why a call failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// Nothing answered at the address.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// host:port tried.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// HTTP 401.
    #[error("authorization failed: incorrect rpcuser or rpcpassword (or stale cookie)")]
    Auth,
    /// The server answered with an RPC error.
    #[error("error code: {}\nerror message:\n{}", .0.code, .0.message)]
    Rpc(RpcErr),
    /// A non-JSON HTTP answer.
    #[error("HTTP {status}: {body}")]
    Http {
        /// The HTTP status the server answered with.
        status: StatusCode,
        /// The body as text, as received.
        body: String,
    },
    /// The URL is not `http://host:port[/path]`.
    #[error("bad RPC URL {0:?}: expected http://host:port")]
    BadUrl(String),
    /// Connection broke mid-request.
    #[error("HTTP error: {0}")]
    Transport(String),
}

/// A JSON-RPC client.
pub struct RpcClient {
    addr: String,
    path: String,
    auth: Option<String>,
    sender: Option<SendRequest<Full<Bytes>>>,
    next_id: u64,
}

impl RpcClient {
    /// `url` is `http://host:port[/path]` or `host:port`; `auth` is an `Authorization` header
    /// value (see [`super::auth::basic_header`]).
    pub fn new(url: &str, auth: Option<String>) -> Result<RpcClient, ClientError> {
        let rest = url.strip_prefix("http://").unwrap_or(url);
        if rest.contains("://") {
            return Err(ClientError::BadUrl(url.to_string()));
        }
        let (addr, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if addr.is_empty() || !addr.contains(':') {
            return Err(ClientError::BadUrl(url.to_string()));
        }
        Ok(RpcClient {
            addr: addr.to_string(),
            path: path.to_string(),
            auth,
            sender: None,
            next_id: 1,
        })
    }

    /// host:port this client talks to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    async fn sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, ClientError> {
        let usable = match &mut self.sender {
            Some(s) => s.ready().await.is_ok(),
            None => false,
        };
        if !usable {
            let stream =
                TcpStream::connect(&self.addr)
                    .await
                    .map_err(|source| ClientError::Connect {
                        addr: self.addr.clone(),
                        source,
                    })?;
            let _ = stream.set_nodelay(true);
            let (sender, conn) = http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| ClientError::Transport(e.to_string()))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        self.sender
            .as_mut()
            .ok_or_else(|| ClientError::Transport("no connection".into()))
    }

    /// Posts `body` with this client's credentials (or `auth` if given): HTTP status and body.
    pub async fn post_raw(
        &mut self,
        body: Vec<u8>,
        auth: Option<&str>,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let host = self.addr.clone();
        let path = self.path.clone();
        let auth = auth.map(str::to_string).or_else(|| self.auth.clone());
        let mut b = Request::post(path)
            .header(HOST, host)
            .header(CONTENT_TYPE, "application/json");
        if let Some(a) = auth {
            b = b.header(AUTHORIZATION, a);
        }
        let req = b
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let sender = self.sender().await?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?
            .to_bytes();
        Ok((status, bytes))
    }

    /// Calls `method` with `params` (an array or object) and returns its result.
    pub async fn call(&mut self, method: &str, params: Value) -> Result<Value, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "1.0", "id": id, "method": method, "params": params});
        let (status, bytes) = self.post_raw(body.to_string().into_bytes(), None).await?;
        if status == StatusCode::UNAUTHORIZED {
            return Err(ClientError::Auth);
        }
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| ClientError::Http {
            status,
            body: String::from_utf8_lossy(&bytes).trim().to_string(),
        })?;
        match v.get("error") {
            Some(e) if !e.is_null() => Err(ClientError::Rpc(RpcErr {
                code: e.get("code").and_then(Value::as_i64).unwrap_or(-1),
                message: e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            })),
            _ => Ok(v.get("result").cloned().unwrap_or(Value::Null)),
        }
    }
}
