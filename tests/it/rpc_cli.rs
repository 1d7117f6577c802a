//! `time-cli` against a running RPC server with the mock backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use crate::rpc_common::{TestServer, PASS, USER};
use std::process::Output;
use timecoin::rpc::{RpcAuth, RpcLimits};

async fn cli(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || support::time_cli().args(&args).output().unwrap())
        .await
        .unwrap()
}

fn args(url: &str, rest: &[&str]) -> Vec<String> {
    let mut v = vec![
        "--rpc-url".to_string(),
        url.to_string(),
        "--rpc-user".into(),
        USER.into(),
        "--rpc-password".into(),
        PASS.into(),
    ];
    v.extend(rest.iter().map(|s| s.to_string()));
    v
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_work() {
    let t = TestServer::start().await;
    let url = t.url();
    let o = cli(args(&url, &["getblockcount"])).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "4\n");

    // String results print raw.
    let o = cli(args(&url, &["getblockhash", "1"])).await;
    assert_eq!(o.status.code(), Some(0));
    let hash = stdout(&o).trim().to_string();
    assert_eq!(hash.len(), 64);

    // JSON results print indented; a hash argument stays a string even if it looks numeric.
    let o = cli(args(&url, &["getblock", &hash, "1"])).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["height"], 1);
    assert!(stdout(&o).contains("\n  \"hash\""));
    assert!(stdout(&o).contains("\"timems\""));

    // Named arguments.
    let o = cli(args(&url, &["--named", "getblockhash", "height=1"])).await;
    assert_eq!(stdout(&o).trim(), hash);

    // Amounts print with at most 8 decimals.
    let o = cli(args(&url, &["getmempoolinfo"])).await;
    assert!(
        stdout(&o).contains("\"total_fee\": 0.001"),
        "{}",
        stdout(&o)
    );

    // null prints nothing.
    let o = cli(args(&url, &["addnode", "10.9.9.9:1", "add"])).await;
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "");

    // RPC error: exit 1, code and message on stderr.
    let o = cli(args(&url, &["getblockhash", "99"])).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error code: -8"), "{}", stderr(&o));
    assert!(stderr(&o).contains("out of range"));
    let o = cli(args(&url, &["nosuchmethod"])).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("-32601"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_and_datadir() {
    let dir = tempfile::tempdir().unwrap();
    let (auth, _guard) = RpcAuth::cookie(dir.path()).unwrap();
    let t = TestServer::with_auth(auth, RpcLimits::default()).await;
    let url = t.url();
    let cookie = dir.path().join(".cookie").display().to_string();
    let o = cli(vec![
        "--rpc-url".into(),
        url.clone(),
        "--cookie".into(),
        cookie,
        "uptime".into(),
    ])
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "4242\n");
    let o = cli(vec![
        "--rpc-url".into(),
        url.clone(),
        "--datadir".into(),
        dir.path().display().to_string(),
        "getconnectioncount".into(),
    ])
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "2\n");
    // A datadir without a cookie: exit 3 with a hint.
    let empty = tempfile::tempdir().unwrap();
    let o = cli(vec![
        "--rpc-url".into(),
        url,
        "--datadir".into(),
        empty.path().display().to_string(),
        "uptime".into(),
    ])
    .await;
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("cookie"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes() {
    // 3: nothing listens (a reserved port that was free when reserved).
    let reserved = support::ports::port();
    let port = reserved.base();
    let url = format!("http://127.0.0.1:{port}");
    let o = cli(args(&url, &["getblockcount"])).await;
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains(&format!("is timed running? tried 127.0.0.1:{port}"))
            || stderr(&o).contains(&format!("Is timed running? tried 127.0.0.1:{port}")),
        "{}",
        stderr(&o)
    );

    // 4: bad credentials.
    let t = TestServer::start().await;
    let o = cli(vec![
        "--rpc-url".into(),
        t.url(),
        "--rpc-user".into(),
        USER.into(),
        "--rpc-password".into(),
        "wrong".into(),
        "getblockcount".into(),
    ])
    .await;
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("authorization failed"));

    // 2: usage errors.
    let o = cli(vec![]).await;
    assert_eq!(o.status.code(), Some(2));
    let o = cli(vec!["--bogus".into(), "getblockcount".into()]).await;
    assert_eq!(o.status.code(), Some(2));
    let o = cli(vec![
        "--rpc-user".into(),
        "u".into(),
        "getblockcount".into(),
    ])
    .await;
    assert_eq!(o.status.code(), Some(2), "--rpc-user needs --rpc-password");
    let o = cli(vec!["--network".into(), "moon".into(), "uptime".into()]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown network"));
    let o = cli(args("ftp://x:1", &["uptime"])).await;
    assert_eq!(o.status.code(), Some(2));

    // --help answers with 0.
    let o = cli(vec!["--help".into()]).await;
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("Exit codes"));
}

/// time-cli finds the node's cookie by itself, with no --cookie, --datadir or credentials: in
/// the default data dir of the network (here under a HOME of the test's own), node0/ of an
/// in-process devnet there, or the data dir itself for a single node; the network comes from
/// --network or TIMECOIN_NODE_NETWORK. (The URL is given: the default port, 127.0.0.1:24301
/// for devnet, is fixed and may be in use on the machine.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_found_without_flags() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join(".local/share/timecoin");
    let run = |url: String, env: Option<(&'static str, &'static str)>| {
        let home = home.path().to_path_buf();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut c = support::time_cli();
                c.env("HOME", &home).env_remove("XDG_DATA_HOME").args([
                    "--rpc-url",
                    &url,
                    "uptime",
                ]);
                if let Some((k, v)) = env {
                    c.env(k, v);
                }
                c.output().unwrap()
            })
            .await
            .unwrap()
        }
    };
    // The in-process devnet: <default devnet dir>/node0/.cookie.
    let node0 = data.join("devnet").join("node0");
    std::fs::create_dir_all(&node0).unwrap();
    let (auth, _guard) = RpcAuth::cookie(&node0).unwrap();
    let t = TestServer::with_auth(auth, RpcLimits::default()).await;
    let o = run(t.url(), None).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "4242\n");

    // A testnet node: <default testnet dir>/.cookie, the network from the environment.
    let testnet = data.join("testnet");
    std::fs::create_dir_all(&testnet).unwrap();
    let (auth, _guard2) = RpcAuth::cookie(&testnet).unwrap();
    let t2 = TestServer::with_auth(auth, RpcLimits::default()).await;
    let o = run(t2.url(), Some(("TIMECOIN_NODE_NETWORK", "testnet"))).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The devnet's cookie does not open the testnet node: it really read the testnet one.
    let o = run(t2.url(), None).await;
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
}
