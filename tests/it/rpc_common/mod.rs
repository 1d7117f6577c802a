//! Shared helpers of the RPC integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use secrecy::SecretString;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use timecoin::rpc::auth::basic_header;
use timecoin::rpc::client::{ClientError, RpcClient};
use timecoin::rpc::mock::MockBackend;
use timecoin::rpc::{start, RpcAuth, RpcBackend, RpcErr, RpcLimits};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const USER: &str = "user";
pub const PASS: &str = "pass";

pub struct TestServer {
    pub addr: SocketAddr,
    pub mock: Arc<MockBackend>,
    pub shutdown: CancellationToken,
    pub handle: JoinHandle<()>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::with_limits(RpcLimits::default()).await
    }

    pub async fn with_limits(limits: RpcLimits) -> TestServer {
        let auth = RpcAuth::user_password(USER, &SecretString::from(PASS));
        Self::with_auth(auth, limits).await
    }

    pub async fn with_auth(auth: RpcAuth, limits: RpcLimits) -> TestServer {
        let mock = Arc::new(MockBackend::new());
        let shutdown = CancellationToken::new();
        let backend: Arc<dyn RpcBackend> = mock.clone();
        let (addr, handle) = start(
            "127.0.0.1:0".parse().unwrap(),
            auth,
            backend,
            limits,
            shutdown.clone(),
        )
        .await
        .unwrap();
        TestServer {
            addr,
            mock,
            shutdown,
            handle,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn client(&self) -> RpcClient {
        RpcClient::new(&self.url(), Some(basic_header(USER, PASS))).unwrap()
    }

    pub fn anon_client(&self) -> RpcClient {
        RpcClient::new(&self.url(), None).unwrap()
    }

    /// Calls and maps RPC errors to `Err(RpcErr)`.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcErr> {
        match self.client().call(method, params).await {
            Ok(v) => Ok(v),
            Err(ClientError::Rpc(e)) => Err(e),
            Err(e) => panic!("transport failure: {e}"),
        }
    }

    /// Calls and expects success.
    pub async fn ok(&self, method: &str, params: Value) -> Value {
        self.call(method, params)
            .await
            .unwrap_or_else(|e| panic!("{method} failed: {e:?}"))
    }

    /// Calls and expects an error; returns its code.
    pub async fn err(&self, method: &str, params: Value) -> i64 {
        match self.call(method, params).await {
            Ok(v) => panic!("{method} unexpectedly returned {v}"),
            Err(e) => e.code,
        }
    }

    /// Posts a raw body with the right credentials.
    pub async fn raw(&self, body: &str) -> (u16, Option<Value>) {
        let (status, bytes) = self
            .client()
            .post_raw(body.as_bytes().to_vec(), None)
            .await
            .unwrap();
        (status.as_u16(), serde_json::from_slice(&bytes).ok())
    }
}

/// A raw HTTP/1.1 request with `Connection: close`; returns (status, body).
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    extra_headers: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra_headers}Content-Length: 0\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let status: u16 = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
