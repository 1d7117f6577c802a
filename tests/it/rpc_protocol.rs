//! JSON-RPC dialect, batches, limits and authentication over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::rpc_common;

use crate::rpc_common::{TestServer, PASS, USER};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use timecoin::rpc::auth::{basic_header, read_cookie};
use timecoin::rpc::backend::*;
use timecoin::rpc::client::{ClientError, RpcClient};
use timecoin::rpc::mock::MockBackend;
use timecoin::rpc::{RpcAuth, RpcBackend, RpcLimits};
use timecoin::types::{Address, BlockHeader, Hash, Network, OutPoint, Transaction};

#[tokio::test]
async fn versions_and_ids() {
    let t = TestServer::start().await;
    // 1.0: result, error and id all present.
    let (st, v) = t
        .raw(r#"{"jsonrpc":"1.0","id":"a","method":"getblockcount","params":[]}"#)
        .await;
    assert_eq!(st, 200);
    assert_eq!(v.unwrap(), json!({"result": 4, "error": null, "id": "a"}));
    // No version: the same shape; params may be absent.
    let (st, v) = t.raw(r#"{"id":7,"method":"getblockcount"}"#).await;
    assert_eq!(st, 200);
    assert_eq!(v.unwrap(), json!({"result": 4, "error": null, "id": 7}));
    // 2.0: only result or error.
    let (st, v) = t
        .raw(r#"{"jsonrpc":"2.0","id":1,"method":"getblockcount","params":{}}"#)
        .await;
    assert_eq!(st, 200);
    assert_eq!(v.unwrap(), json!({"jsonrpc": "2.0", "result": 4, "id": 1}));
    let (st, v) = t
        .raw(r#"{"jsonrpc":"2.0","id":2,"method":"nosuchmethod"}"#)
        .await;
    assert_eq!(st, 200);
    let v = v.unwrap();
    assert_eq!(v["error"]["code"], -32601);
    assert!(v.get("result").is_none());
    // Legacy errors use Bitcoin Core's HTTP statuses.
    let (st, v) = t.raw(r#"{"id":3,"method":"nosuchmethod"}"#).await;
    assert_eq!(st, 404);
    assert_eq!(v.unwrap()["error"]["code"], -32601);
    let (st, v) = t
        .raw(r#"{"id":3,"method":"getblockhash","params":[99]}"#)
        .await;
    assert_eq!(st, 500);
    let v = v.unwrap();
    assert_eq!(v["error"]["code"], -8);
    assert!(v["result"].is_null());
    // A 2.0 notification gets no body.
    let (st, v) = t.raw(r#"{"jsonrpc":"2.0","method":"getblockcount"}"#).await;
    assert_eq!(st, 204);
    assert!(v.is_none());
}

#[tokio::test]
async fn malformed_requests() {
    let t = TestServer::start().await;
    let (st, v) = t.raw("{not json").await;
    assert_eq!(st, 500);
    assert_eq!(v.unwrap()["error"]["code"], -32700);
    let (st, v) = t.raw("5").await;
    assert_eq!(st, 400);
    assert_eq!(v.unwrap()["error"]["code"], -32600);
    let (_, v) = t.raw(r#"{"id":1,"jsonrpc":3,"method":"uptime"}"#).await;
    assert_eq!(v.unwrap()["error"]["code"], -32600);
    let (_, v) = t.raw(r#"{"id":1,"method":5}"#).await;
    assert_eq!(v.unwrap()["error"]["code"], -32600);
    let (_, v) = t.raw(r#"{"id":1}"#).await;
    assert_eq!(v.unwrap()["error"]["code"], -32600);
    let (_, v) = t.raw(r#"{"id":1,"method":"uptime","params":"x"}"#).await;
    assert_eq!(v.unwrap()["error"]["code"], -32600);
    let (_, v) = t
        .raw(r#"{"id":1,"method":"getblockhash","params":{"nope":1}}"#)
        .await;
    let v = v.unwrap();
    assert_eq!(v["error"]["code"], -8);
    assert!(v["error"]["message"].as_str().unwrap().contains("nope"));
    // Wrong parameter count: -1 with the method's help.
    let (_, v) = t
        .raw(r#"{"id":1,"method":"getblockhash","params":[]}"#)
        .await;
    let v = v.unwrap();
    assert_eq!(v["error"]["code"], -1);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Arguments:"));
    // Only POST.
    let mut c = t.client();
    let (st, _) = c.post_raw(Vec::new(), None).await.unwrap();
    assert_eq!(st.as_u16(), 500, "empty POST body is a parse error");
}

#[tokio::test]
async fn batches() {
    let t = TestServer::with_limits(RpcLimits {
        max_batch: 5,
        ..RpcLimits::default()
    })
    .await;
    let (st, v) = t
        .raw(
            r#"[{"jsonrpc":"2.0","id":1,"method":"getblockcount"},
                {"id":2,"method":"getbestblockhash"},
                {"jsonrpc":"2.0","method":"uptime"},
                {"jsonrpc":"2.0","id":3,"method":"nosuch"},
                7]"#,
        )
        .await;
    assert_eq!(st, 200);
    let v = v.unwrap();
    let a = v.as_array().unwrap();
    assert_eq!(a.len(), 4, "the notification gets no entry: {v}");
    assert_eq!(a[0], json!({"jsonrpc": "2.0", "result": 4, "id": 1}));
    assert_eq!(a[1]["id"], 2);
    assert!(a[1]["error"].is_null());
    assert_eq!(a[1]["result"].as_str().unwrap().len(), 64);
    assert_eq!(a[2]["error"]["code"], -32601);
    assert_eq!(a[3]["error"]["code"], -32600);
    // Too large and empty batches.
    let big: Vec<Value> = (0..6)
        .map(|i| json!({"id": i, "method": "uptime"}))
        .collect();
    let (st, v) = t.raw(&Value::Array(big).to_string()).await;
    assert_eq!(st, 200);
    assert_eq!(v.unwrap()["error"]["code"], -32600);
    let (_, v) = t.raw("[]").await;
    assert_eq!(v.unwrap()["error"]["code"], -32600);
}

#[tokio::test]
async fn body_limit() {
    let t = TestServer::start().await;
    let pad = "x".repeat(2 * 1024 * 1024);
    let body = format!(r#"{{"id":1,"method":"validateaddress","params":["{pad}"]}}"#);
    let (st, _) = t.raw(&body).await;
    assert_eq!(st, 413);
    // Just below the limit is served.
    let pad = "x".repeat(1000 * 1000);
    let body = format!(r#"{{"id":1,"method":"validateaddress","params":["{pad}"]}}"#);
    let (st, v) = t.raw(&body).await;
    assert_eq!(st, 200);
    assert_eq!(v.unwrap()["result"]["isvalid"], false);
}

#[tokio::test]
async fn authentication() {
    let t = TestServer::start().await;
    // No credentials.
    let mut anon = t.anon_client();
    let start = Instant::now();
    assert!(matches!(
        anon.call("getblockcount", json!([])).await,
        Err(ClientError::Auth)
    ));
    assert!(start.elapsed() < Duration::from_millis(200));
    // Wrong password: 401 after the delay.
    let mut bad = RpcClient::new(&t.url(), Some(basic_header(USER, "wrong"))).unwrap();
    let start = Instant::now();
    assert!(matches!(
        bad.call("getblockcount", json!([])).await,
        Err(ClientError::Auth)
    ));
    assert!(start.elapsed() >= Duration::from_millis(250));
    let mut bad_user = RpcClient::new(&t.url(), Some(basic_header("root", PASS))).unwrap();
    assert!(matches!(
        bad_user.call("getblockcount", json!([])).await,
        Err(ClientError::Auth)
    ));
    let (st, _) = anon
        .post_raw(b"{}".to_vec(), Some("Bearer abc"))
        .await
        .unwrap();
    assert_eq!(st.as_u16(), 401);
    // User and password.
    assert_eq!(
        t.client().call("getblockcount", json!([])).await.unwrap(),
        json!(4)
    );
}

#[tokio::test]
async fn cookie_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let (auth, guard) = RpcAuth::cookie(dir.path()).unwrap();
    let t = TestServer::with_auth(auth, RpcLimits::default()).await;
    let (u, p) = read_cookie(&dir.path().join(".cookie")).unwrap();
    assert_eq!(u, "__cookie__");
    let mut c = RpcClient::new(&t.url(), Some(basic_header(&u, &p))).unwrap();
    assert_eq!(c.call("getblockcount", json!([])).await.unwrap(), json!(4));
    // Several calls on one kept-alive connection.
    for _ in 0..3 {
        assert_eq!(c.call("uptime", json!([])).await.unwrap(), json!(4242));
    }
    let mut wrong =
        RpcClient::new(&t.url(), Some(basic_header(&u, "0".repeat(64).as_str()))).unwrap();
    assert!(matches!(
        wrong.call("getblockcount", json!([])).await,
        Err(ClientError::Auth)
    ));
    t.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), t.handle)
        .await
        .unwrap()
        .unwrap();
    drop(guard);
    assert!(!dir.path().join(".cookie").exists());
}

#[tokio::test]
async fn public_bind_needs_opt_in() {
    let mock = std::sync::Arc::new(timecoin::rpc::mock::MockBackend::new());
    let auth = RpcAuth::user_password("u", &secrecy::SecretString::from("p"));
    let err = timecoin::rpc::start(
        "0.0.0.0:0".parse().unwrap(),
        auth.clone(),
        mock.clone(),
        RpcLimits::default(),
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("allow_public"), "{err}");
    let token = tokio_util::sync::CancellationToken::new();
    let (addr, handle) = timecoin::rpc::start(
        "0.0.0.0:0".parse().unwrap(),
        auth,
        mock,
        RpcLimits {
            allow_public: true,
            ..RpcLimits::default()
        },
        token.clone(),
    )
    .await
    .unwrap();
    assert_ne!(addr.port(), 0);
    token.cancel();
    handle.await.unwrap();
}

/// A mock backend whose `chain_info` (what `getblockcount` calls) counts the calls running at
/// once and holds each one until the test lets it go.
struct GateBackend {
    inner: MockBackend,
    gate: std::sync::Mutex<Gate>,
    moved: std::sync::Condvar,
}

#[derive(Default)]
struct Gate {
    /// Calls inside `chain_info` now.
    running: usize,
    /// Most calls inside at once.
    peak: usize,
    /// Calls that entered so far.
    entered: usize,
    /// Calls the test let go so far.
    released: usize,
}

impl GateBackend {
    /// Waits (deadline 10 s) until `f` holds for the gate; returns it.
    fn wait(&self, what: &str, f: impl Fn(&Gate) -> bool) {
        let (g, timeout) = self
            .moved
            .wait_timeout_while(self.gate.lock().unwrap(), Duration::from_secs(10), |g| {
                !f(g)
            })
            .unwrap();
        assert!(
            !timeout.timed_out() || f(&g),
            "timed out waiting for {what}: {} running, {} entered, {} released",
            g.running,
            g.entered,
            g.released
        );
    }

    fn release_one(&self) {
        self.gate.lock().unwrap().released += 1;
        self.moved.notify_all();
    }
}

impl RpcBackend for GateBackend {
    fn network(&self) -> Network {
        self.inner.network()
    }
    fn uptime_secs(&self) -> u64 {
        self.inner.uptime_secs()
    }
    fn stop(&self) {
        self.inner.stop()
    }
    fn chain_info(&self) -> ChainInfo {
        let mut g = self.gate.lock().unwrap();
        g.running += 1;
        g.entered += 1;
        g.peak = g.peak.max(g.running);
        let ticket = g.entered;
        self.moved.notify_all();
        // Call n leaves once n calls were released (deadline: a stuck test fails, not hangs).
        let (mut g, _) = self
            .moved
            .wait_timeout_while(g, Duration::from_secs(20), |g| g.released < ticket)
            .unwrap();
        g.running -= 1;
        self.moved.notify_all();
        drop(g);
        self.inner.chain_info()
    }
    fn block_hash(&self, height: u64) -> Option<Hash> {
        self.inner.block_hash(height)
    }
    fn block(&self, hash: &Hash) -> Option<BlockWithCert> {
        self.inner.block(hash)
    }
    fn header(&self, hash: &Hash) -> Option<BlockHeader> {
        self.inner.header(hash)
    }
    fn transaction(&self, txid: &Hash) -> Option<TxLookup> {
        self.inner.transaction(txid)
    }
    fn utxo(&self, outpoint: &OutPoint, include_mempool: bool) -> Option<UtxoEntry> {
        self.inner.utxo(outpoint, include_mempool)
    }
    fn address_utxos(&self, addrs: &[Address], include_mempool: bool) -> Vec<AddressUtxo> {
        self.inner.address_utxos(addrs, include_mempool)
    }
    fn submit_tx(&self, tx: Transaction) -> Result<Hash, SubmitError> {
        self.inner.submit_tx(tx)
    }
    fn mempool_entries(&self) -> Vec<MempoolEntry> {
        self.inner.mempool_entries()
    }
    fn mempool_info(&self) -> MempoolInfo {
        self.inner.mempool_info()
    }
    fn peers(&self) -> Vec<PeerInfo> {
        self.inner.peers()
    }
    fn node_info(&self) -> NodeInfo {
        self.inner.node_info()
    }
    fn add_node(&self, addr: &str, command: AddNodeCommand) -> Result<(), NetError> {
        self.inner.add_node(addr, command)
    }
    fn set_ban(&self, subnet: &str, action: BanAction) -> Result<(), NetError> {
        self.inner.set_ban(subnet, action)
    }
    fn list_banned(&self) -> Vec<BanEntry> {
        self.inner.list_banned()
    }
    fn consensus_info(&self) -> ConsensusInfo {
        self.inner.consensus_info()
    }
    fn masternodes(&self) -> Vec<MasternodeInfo> {
        self.inner.masternodes()
    }
    fn masternode_status(&self) -> OwnMasternodeStatus {
        self.inner.masternode_status()
    }
    fn wallet_balances(&self) -> Result<WalletBalances, WalletError> {
        self.inner.wallet_balances()
    }
    fn wallet_new_address(&self, label: &str) -> Result<Address, WalletError> {
        self.inner.wallet_new_address(label)
    }
    fn wallet_unspent(&self) -> Result<Vec<WalletUtxo>, WalletError> {
        self.inner.wallet_unspent()
    }
    fn wallet_transactions(
        &self,
        count: usize,
        skip: usize,
    ) -> Result<Vec<WalletTxEntry>, WalletError> {
        self.inner.wallet_transactions(count, skip)
    }
    fn wallet_transaction(&self, txid: &Hash) -> Result<Option<WalletTransaction>, WalletError> {
        self.inner.wallet_transaction(txid)
    }
    fn wallet_send(&self, req: SendRequest) -> Result<Hash, WalletError> {
        self.inner.wallet_send(req)
    }
    fn wallet_unlock(
        &self,
        passphrase: &secrecy::SecretString,
        timeout_secs: u64,
    ) -> Result<(), WalletError> {
        self.inner.wallet_unlock(passphrase, timeout_secs)
    }
    fn wallet_lock(&self) -> Result<(), WalletError> {
        self.inner.wallet_lock()
    }
    fn wallet_masternode(
        &self,
        req: timecoin::rpc::backend::MasternodeTxRequest,
    ) -> Result<timecoin::rpc::backend::MasternodeTxReport, WalletError> {
        self.inner.wallet_masternode(req)
    }
}

/// `max_concurrent: K` with N > K requests sent at once: exactly K run at a time, the others
/// queue (and all succeed). The backend holds every call until the test releases it, one at a
/// time, so without the limit all N would be inside at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limit_queues_requests() {
    const K: usize = 2;
    const N: usize = 8;
    let backend = Arc::new(GateBackend {
        inner: MockBackend::new(),
        gate: Default::default(),
        moved: Default::default(),
    });
    let shutdown = tokio_util::sync::CancellationToken::new();
    let (addr, _server) = timecoin::rpc::start(
        "127.0.0.1:0".parse().unwrap(),
        RpcAuth::user_password(USER, &secrecy::SecretString::from(PASS)),
        backend.clone(),
        RpcLimits {
            max_concurrent: K,
            ..RpcLimits::default()
        },
        shutdown.clone(),
    )
    .await
    .unwrap();
    let url = format!("http://{addr}");
    let mut tasks = Vec::new();
    for _ in 0..N {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = RpcClient::new(&url, Some(basic_header(USER, PASS))).unwrap();
            c.call("getblockcount", json!([])).await.unwrap()
        }));
    }
    for released in 0..N {
        // Each release lets one queued request in: K inside while enough are left.
        let b = backend.clone();
        let want = (K + released).min(N);
        tokio::task::spawn_blocking(move || {
            b.wait("the next request to reach the backend", |g| {
                g.entered >= want
            });
            b.release_one();
        })
        .await
        .unwrap();
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), json!(4));
    }
    let g = backend.gate.lock().unwrap();
    assert_eq!(g.entered, N);
    assert_eq!(
        g.peak, K,
        "requests inside the backend at once, with a limit of {K}"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn only_post() {
    let t = TestServer::start().await;
    let auth = format!("Authorization: {}\r\n", basic_header(USER, PASS));
    let (st, body) = rpc_common::http_request(t.addr, "GET", "/", &auth).await;
    assert_eq!(st, 405);
    assert!(body.contains("only POST"));
    let (st, _) = rpc_common::http_request(t.addr, "GET", "/", "").await;
    assert_eq!(st, 401);
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = TestServer::with_limits(RpcLimits {
        header_read_timeout: Duration::from_millis(300),
        body_read_timeout: Duration::from_millis(300),
        ..RpcLimits::default()
    })
    .await;
    // Headers never finish: the connection is closed.
    let mut s = tokio::net::TcpStream::connect(t.addr).await.unwrap();
    s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf))
        .await
        .expect("server closes a connection whose headers never end")
        .unwrap();
    // Body never finishes: 408.
    let mut s = tokio::net::TcpStream::connect(t.addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Length: 100\r\n\r\n{{",
        basic_header(USER, PASS)
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut buf))
        .await
        .expect("server answers a stalled body")
        .unwrap();
    assert_eq!(&buf, b"HTTP/1.1 408");
}

// ----- getnodesnapshot: the long poll `timed attach` follows the node with -----

/// A stale `since` (or none) answers at once with the current seq and snapshot.
#[tokio::test]
async fn long_poll_answers_at_once_when_the_caller_is_behind() {
    let t = TestServer::start().await;
    let start = Instant::now();
    let v = t.ok("getnodesnapshot", json!([0, 10_000])).await;
    assert_eq!(v["seq"], json!(1));
    assert_eq!(v["snapshot"]["height"], json!(4));
    let v = t.ok("getnodesnapshot", json!([])).await;
    assert_eq!(v["seq"], json!(1));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

/// With the current seq the call waits until the snapshot changes, then returns the new one.
#[tokio::test]
async fn long_poll_waits_for_a_change() {
    let t = TestServer::start().await;
    let mut client = t.client();
    let waiting =
        tokio::spawn(async move { client.call("getnodesnapshot", json!([1, 20_000])).await });
    // Still waiting while nothing changes (other calls are answered meanwhile).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished());
    assert_eq!(t.ok("getblockcount", json!([])).await, json!(4));
    let bumped = Instant::now();
    t.mock.bump_snapshot();
    let v = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the long poll returns after a change")
        .unwrap()
        .unwrap();
    assert_eq!(v["seq"], json!(2));
    assert!(bumped.elapsed() < Duration::from_secs(2));
}

/// The wait ends at the caller's timeout with the unchanged snapshot; the timeout is capped
/// and must be a non-negative number.
#[tokio::test]
async fn long_poll_timeout_is_bounded_and_checked() {
    let t = TestServer::start().await;
    let start = Instant::now();
    let v = t.ok("getnodesnapshot", json!([1, 300])).await;
    let took = start.elapsed();
    assert_eq!(v["seq"], json!(1));
    assert!(took >= Duration::from_millis(290), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // Named parameters work too.
    let v = t
        .ok("getnodesnapshot", json!({"since": 1, "timeout_ms": 0}))
        .await;
    assert_eq!(v["seq"], json!(1));
    // A huge timeout is capped at LONG_POLL_MAX, not honoured.
    let spec = timecoin::rpc::methods::find("getnodesnapshot").unwrap();
    let p =
        timecoin::rpc::methods::Params::new(spec, Some(&json!([1, u64::MAX, 100_000]))).unwrap();
    let w = timecoin::rpc::methods::snapshot_wait(&p).unwrap();
    assert_eq!(w.timeout, timecoin::rpc::methods::LONG_POLL_MAX);
    assert_eq!(w.max_logs as u64, timecoin::rpc::methods::SNAPSHOT_MAX_LOGS);
    for bad in [json!([1, -5]), json!([-1]), json!(["x"]), json!([1, 1.5])] {
        let code = t.err("getnodesnapshot", bad.clone()).await;
        assert!(code == -3 || code == -8 || code == -32602, "{bad}: {code}");
    }
}

/// No credentials, no snapshot: a 401 before anything waits.
#[tokio::test]
async fn long_poll_requires_auth() {
    let t = TestServer::start().await;
    let start = Instant::now();
    let mut anon = t.anon_client();
    assert!(matches!(
        anon.call("getnodesnapshot", json!([1, 20_000])).await,
        Err(ClientError::Auth)
    ));
    assert!(start.elapsed() < Duration::from_secs(2));
    let mut wrong = RpcClient::new(&t.url(), Some(basic_header(USER, "nope"))).unwrap();
    assert!(matches!(
        wrong.call("getnodesnapshot", json!([1, 20_000])).await,
        Err(ClientError::Auth)
    ));
}

/// Waiting calls are capped: one more fails at once with -1, and the server keeps answering
/// everything else.
#[tokio::test]
async fn long_polls_cannot_take_every_worker() {
    let t = TestServer::with_limits(RpcLimits {
        max_long_polls: 2,
        max_concurrent: 4,
        ..RpcLimits::default()
    })
    .await;
    let mut waiting = Vec::new();
    for _ in 0..2 {
        let mut c = t.client();
        // A waiter refused while a probe below held a permit tries again.
        waiting.push(tokio::spawn(async move {
            loop {
                match c.call("getnodesnapshot", json!([1, 20_000])).await {
                    Err(ClientError::Rpc(e)) if e.code == -1 => {
                        tokio::time::sleep(Duration::from_millis(20)).await
                    }
                    other => return other,
                }
            }
        }));
    }
    // Both are parked once a probe (which waits briefly if it gets a permit) is refused.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match t.call("getnodesnapshot", json!([1, 100])).await {
            Err(e) if e.code == -1 => break,
            Err(e) => panic!("unexpected error {e:?}"),
            Ok(_) => assert!(Instant::now() < deadline, "the cap never applied"),
        }
    }
    let start = Instant::now();
    assert_eq!(t.ok("getblockcount", json!([])).await, json!(4));
    assert!(start.elapsed() < Duration::from_secs(1));
    t.mock.bump_snapshot();
    for w in waiting {
        let v = tokio::time::timeout(Duration::from_secs(5), w)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(v["seq"], json!(2));
    }
    // The permits came back: a new wait is accepted (it returns at its short timeout).
    let v = t.ok("getnodesnapshot", json!([2, 100])).await;
    assert_eq!(v["seq"], json!(2));
}

/// walletpreparesend previews without signing; walletconfirmsend signs that preview once.
#[tokio::test]
async fn prepared_sends_confirm_once() {
    let t = TestServer::start().await;
    let to = Address::from_pubkey(&timecoin::rpc::mock::validator_key(3).public())
        .encode(Network::Devnet);
    let p = t.ok("walletpreparesend", json!([to, 1.5])).await;
    let id = p["previewid"].as_u64().unwrap();
    assert_eq!(p["fee"], json!(0.001));
    assert_eq!(t.err("walletconfirmsend", json!([id])).await, -13);
    t.ok("walletpassphrase", json!([MockBackend::PASSPHRASE, 60]))
        .await;
    let p = t.ok("walletpreparesend", json!([to, 1.5])).await;
    let id = p["previewid"].as_u64().unwrap();
    let txid = t.ok("walletconfirmsend", json!([id])).await;
    assert_eq!(txid.as_str().unwrap().len(), 64);
    assert_eq!(t.err("walletconfirmsend", json!([id])).await, -4);
}
