//! JSON-RPC dialect, batches, limits and authentication over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rpc_common;

use rpc_common::{TestServer, PASS, USER};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use timecoin::rpc::auth::{basic_header, read_cookie};
use timecoin::rpc::client::{ClientError, RpcClient};
use timecoin::rpc::{RpcAuth, RpcLimits};

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

#[tokio::test]
async fn concurrency_limit_queues_requests() {
    let t = TestServer::with_limits(RpcLimits {
        max_concurrent: 1,
        ..RpcLimits::default()
    })
    .await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let url = t.url();
        tasks.push(tokio::spawn(async move {
            let mut c = RpcClient::new(&url, Some(basic_header(USER, PASS))).unwrap();
            c.call("getblockcount", json!([])).await.unwrap()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), json!(4));
    }
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
