//! Every SPEC 6 RPC method that exists, against a running node: `timed devnet --headless` (two
//! masternodes in one process, node0 holding the devnet faucet wallet) in its own temp dir and
//! port range, called over HTTP with node0's cookie. The mock backend has its own tests
//! (`rpc_methods.rs`); these check the real backend (`src/app/rpc_backend.rs`) and the wallet
//! service behind it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use timecoin::rpc::auth::basic_header;
use timecoin::rpc::client::{ClientError, RpcClient};
use timecoin::types::{Address, Amount, Decode, Encode, Hash, Network, OutPoint};

const DEADLINE: Duration = Duration::from_secs(60);

/// A headless devnet process; killed when dropped.
struct Devnet {
    child: Child,
    dir: tempfile::TempDir,
    base: u16,
    _ports: support::ports::PortRange,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Devnet {
    /// Starts a devnet of `nodes` in a port range of its own and waits for its first block.
    async fn start(nodes: u32) -> Devnet {
        Self::start_in(nodes, support::ports::range(100)).await
    }

    /// [`Devnet::start`] on ports reserved before.
    async fn start_in(nodes: u32, ports: support::ports::PortRange) -> Devnet {
        let dir = tempfile::tempdir().unwrap();
        let base = ports.base();
        let log = std::fs::File::create(dir.path().join("stdout.log")).unwrap();
        let mut cmd = support::timed();
        cmd.arg("--config")
            .arg(support::empty_config(dir.path()))
            // No full node: node0 holds the faucet wallet, as this file assumes.
            .args(["devnet", "--headless", "--full-nodes", "0", "--nodes"])
            .arg(nodes.to_string())
            .arg("--base-port")
            .arg(base.to_string())
            .arg("--datadir")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let child = cmd.spawn().unwrap();
        let d = Devnet {
            child,
            dir,
            base,
            _ports: ports,
        };
        d.wait_for("the first block", || async {
            d.try_call("getblockcount", json!([]))
                .await
                .ok()
                .filter(|h| h.as_u64() >= Some(1))
        })
        .await;
        d
    }

    fn node_dir(&self, i: u32) -> PathBuf {
        self.dir.path().join(format!("node{i}"))
    }

    fn log(&self) -> String {
        let mut s = std::fs::read_to_string(self.dir.path().join("timed.log")).unwrap_or_default();
        s.push_str(
            &std::fs::read_to_string(self.dir.path().join("stdout.log")).unwrap_or_default(),
        );
        s
    }

    fn client(&self) -> Option<RpcClient> {
        let cookie = std::fs::read_to_string(self.node_dir(0).join(".cookie")).ok()?;
        let (user, pass) = cookie.trim().split_once(':')?;
        let url = format!("http://127.0.0.1:{}", self.base + 1);
        RpcClient::new(&url, Some(basic_header(user, pass))).ok()
    }

    /// Calls node0; `Err((code, message))` for an RPC error, `(0, text)` for a transport one.
    async fn try_call(&self, method: &str, params: Value) -> Result<Value, (i64, String)> {
        let mut c = self.client().ok_or((0, "no cookie yet".to_string()))?;
        match c.call(method, params).await {
            Ok(v) => Ok(v),
            Err(ClientError::Rpc(e)) => Err((e.code, e.message)),
            Err(e) => Err((0, e.to_string())),
        }
    }

    async fn ok(&self, method: &str, params: Value) -> Value {
        match self.try_call(method, params.clone()).await {
            Ok(v) => v,
            Err(e) => panic!("{method} {params} failed: {e:?}"),
        }
    }

    /// Calls and expects an RPC error; returns its code.
    async fn err(&self, method: &str, params: Value) -> i64 {
        match self.try_call(method, params.clone()).await {
            Ok(v) => panic!("{method} {params} unexpectedly returned {v}"),
            Err((0, e)) => panic!("{method} {params}: transport failure {e}"),
            Err((code, _)) => code,
        }
    }

    async fn wait_for<T, F, Fut>(&self, what: &str, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let start = Instant::now();
        loop {
            if let Some(v) = f().await {
                return v;
            }
            if start.elapsed() > DEADLINE {
                let log = self.log();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                panic!(
                    "timed out waiting for {what}; log, newest first:\n{}",
                    tail.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `txid` is in a final block.
    async fn wait_final(&self, txid: &str) -> Value {
        self.wait_for("the transaction to be final", || async {
            let v = self
                .try_call("getrawtransaction", json!([txid, true]))
                .await
                .ok()?;
            v.get("blockhash").is_some().then_some(v)
        })
        .await
    }
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

fn units(v: &Value) -> u64 {
    (v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) * 1e8).round() as u64
}

/// Chain, transaction, mempool, consensus, masternode, wallet and control methods.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_on_a_running_node() {
    let mut d = Devnet::start(2).await;

    // Control and help.
    assert!(d.ok("uptime", json!([])).await.as_u64().is_some());
    let help = s(&d.ok("help", json!([])).await);
    assert!(help.contains("getblockchaininfo"), "{help}");
    assert!(s(&d.ok("help", json!(["setban"])).await).contains("setban"));

    // Chain.
    let info = d.ok("getblockchaininfo", json!([])).await;
    assert_eq!(info["chain"], "devnet");
    let chain_id = Hash::from_hex(&s(&info["chainid"])).unwrap();
    let count = d.ok("getblockcount", json!([])).await.as_u64().unwrap();
    assert!(count >= 1);
    let best = d.ok("getbestblockhash", json!([])).await;
    assert_eq!(s(&best).len(), 64);
    let h1 = d.ok("getblockhash", json!([1])).await;
    assert_eq!(d.err("getblockhash", json!([1_000_000])).await, -8);
    let b1 = d.ok("getblock", json!([h1])).await;
    assert_eq!(b1["height"], 1);
    assert!(b1["commit"]["signatures"].as_u64() >= Some(1), "{b1}");
    let raw = s(&d.ok("getblock", json!([h1, 0])).await);
    assert_eq!(
        timecoin::types::Block::from_bytes(&hex::decode(&raw).unwrap())
            .unwrap()
            .hash()
            .to_hex(),
        s(&h1)
    );
    let hd = d.ok("getblockheader", json!([h1])).await;
    assert_eq!(hd["hash"], h1);
    assert_eq!(d.err("getblock", json!(["00".repeat(32)])).await, -5);

    // Genesis: the faucet's outputs.
    let h0 = d.ok("getblockhash", json!([0])).await;
    let g = d.ok("getblock", json!([h0, 2])).await;
    let genesis_tx = g["tx"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["vout"].as_array().is_some_and(|v| v.len() >= 100))
        .cloned()
        .unwrap_or_else(|| panic!("no faucet transaction in {g}"));
    let genesis_txid = s(&genesis_tx["txid"]);
    let gtx = d.ok("getrawtransaction", json!([genesis_txid, true])).await;
    assert_eq!(gtx["blockhash"], h0);
    let txout = d.ok("gettxout", json!([genesis_txid, 0])).await;
    let faucet0 = timecoin::wallet::devnet_faucet_address(0).encode(Network::Devnet);
    assert_eq!(txout["scriptPubKey"]["address"], json!(faucet0), "{txout}");
    let v = d.ok("validateaddress", json!([faucet0])).await;
    assert_eq!(v["isvalid"], true);
    assert_eq!(
        d.ok("validateaddress", json!(["nope"])).await["isvalid"],
        false
    );

    // Mempool and a raw transaction: faucet output 99 (the wallet spends the largest first,
    // all are equal, so take the last one the wallet lists to stay clear of it).
    let unspent = d.ok("listunspent", json!([])).await;
    let last = unspent
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["txid"] == json!(genesis_txid))
        .max_by_key(|u| u["vout"].as_u64())
        .cloned()
        .unwrap();
    let prev = OutPoint {
        txid: Hash::from_hex(&genesis_txid).unwrap(),
        index: last["vout"].as_u64().unwrap() as u32,
    };
    let fresh = d.ok("getnewaddress", json!(["raw"])).await;
    let to = Address::parse(&s(&fresh), Network::Devnet).unwrap();
    let tx = crate::support::faucet_transfer(prev, units(&last["amount"]), to, &chain_id);
    let hex_tx = hex::encode(tx.to_bytes());
    let decoded = d.ok("decoderawtransaction", json!([hex_tx])).await;
    assert_eq!(decoded["txid"], json!(tx.txid().to_hex()));
    let txid = s(&d.ok("sendrawtransaction", json!([hex_tx])).await);
    assert_eq!(txid, tx.txid().to_hex());
    // In the pool, or final already. For a moment in between (its block decided, not yet
    // durable) neither lookup finds it, so this waits with a deadline.
    let (node, t) = (&d, txid.as_str());
    d.wait_for("the transaction in the pool or in a block", || async move {
        let pool = node.try_call("getrawmempool", json!([])).await.ok()?;
        if pool.as_array()?.contains(&json!(t)) {
            return Some(());
        }
        let v = node
            .try_call("getrawtransaction", json!([t, true]))
            .await
            .ok()?;
        v.get("blockhash").map(|_| ())
    })
    .await;
    let mi = d.ok("getmempoolinfo", json!([])).await;
    assert!(mi["size"].as_u64().is_some(), "{mi}");
    d.wait_final(&txid).await;
    assert!(d
        .ok("gettxout", json!([genesis_txid, prev.index]))
        .await
        .is_null());
    // The same transaction again: already in the chain.
    assert_eq!(d.err("sendrawtransaction", json!([hex_tx])).await, -27);
    assert_eq!(d.err("decoderawtransaction", json!(["00ff"])).await, -22);

    // Consensus and masternodes.
    let ci = d.ok("getconsensusinfo", json!([])).await;
    assert!(ci["height"].as_u64() >= Some(1), "{ci}");
    // While a round runs, when it started on the wall clock (ms since the Unix epoch).
    let running = d
        .wait_for("a running round in getconsensusinfo", || async {
            let ci = d.try_call("getconsensusinfo", json!([])).await.ok()?;
            (!ci["proposer"].is_null()).then_some(ci)
        })
        .await;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let started = running["roundstarted"].as_u64().unwrap_or(0);
    assert!(
        started <= now_ms + 1_000 && started + 60_000 >= now_ms,
        "roundstarted {started} is not within the last minute of {now_ms}: {running}"
    );
    let mns = d.ok("listmasternodes", json!([])).await;
    assert_eq!(mns.as_array().unwrap().len(), 2, "{mns}");
    let st = d.ok("getmasternodestatus", json!([])).await;
    assert_eq!(st["status"], "Ready", "{st}");

    // Network.
    let ni = d.ok("getnetworkinfo", json!([])).await;
    assert!(ni["localaddresses"].as_array().is_some(), "{ni}");
    d.wait_for("node1 to connect", || async {
        (d.try_call("getconnectioncount", json!([]))
            .await
            .ok()?
            .as_u64()?
            >= 1)
            .then_some(())
    })
    .await;
    let peers = d.ok("getpeerinfo", json!([])).await;
    assert!(!peers.as_array().unwrap().is_empty());

    // The address book: setlabel writes the entry `timed attach` shows as a contact.
    let friend = s(&d.ok("getnewaddress", json!(["mine"])).await);
    assert!(d.ok("setlabel", json!([friend, "Alice"])).await.is_null());
    assert_eq!(d.err("setlabel", json!([friend, ""])).await, -8);
    assert_eq!(d.err("setlabel", json!(["notanaddress", "x"])).await, -5);
    let snap = d.ok("getnodesnapshot", json!([null, 0, 0])).await;
    assert_eq!(
        snap["snapshot"]["wallet"]["contacts"],
        json!([{"label": "Alice", "address": friend}])
    );

    // Wallet: a send, its history entries, balances.
    let before = d.ok("getbalances", json!([])).await;
    let trusted = units(&before["mine"]["trusted"]);
    let payee = s(&d.ok("getnewaddress", json!(["payee"])).await);
    let sent = s(&d.ok("sendtoaddress", json!([payee, 5])).await);
    let stx = d.wait_final(&sent).await;
    assert_eq!(s(&stx["txid"]), sent);
    let t = d.ok("gettransaction", json!([sent])).await;
    assert_eq!(t["txid"], json!(sent));
    // Its entry is the output paying `payee` (the change is not listed), at its real index.
    let to_payee = stx["vout"]
        .as_array()
        .unwrap()
        .iter()
        .position(|o| o["scriptPubKey"]["address"] == json!(payee))
        .unwrap_or_else(|| panic!("no output to {payee} in {stx}"));
    assert_eq!(
        t["details"],
        json!([{
            "address": payee,
            "category": "send",
            "amount": -5.0,
            "label": "payment",
            "vout": to_payee,
            "fee": t["fee"],
            "confirmations": t["details"][0]["confirmations"],
            "blockhash": t["blockhash"],
            "blockheight": t["blockheight"],
            "txid": sent,
            "time": t["time"],
            "timereceived": t["time"],
            "abandoned": false,
        }]),
        "{t}"
    );
    assert!(d.ok("getbalance", json!([])).await.as_f64().is_some());
    let after = d
        .wait_for("the balances to settle", || async {
            let b = d.try_call("getbalances", json!([])).await.ok()?;
            (b["mine"]["untrusted_pending"].as_f64()? == 0.0).then_some(b)
        })
        .await;
    // A send to ourselves costs only its fee.
    let fee = trusted - units(&after["mine"]["trusted"]);
    assert!(fee > 0 && fee < 100_000, "fee {fee}");
    // A fee rate in the wrong unit (1,000,000 units/byte: about 2 TIME for this send) is
    // refused by [wallet] max_fee (default 0.1 TIME), and nothing is sent.
    let (code, msg) = d
        .try_call(
            "sendtoaddress",
            json!([payee, 1, "", "", false, null, null, null, null, 1_000_000]),
        )
        .await
        .unwrap_err();
    assert_eq!(code, -4, "{msg}");
    assert!(msg.contains("max_fee"), "{msg}");
    assert_eq!(d.ok("getbalances", json!([])).await, after);

    // The faucet's genesis payment still reads what it paid (100 outputs of 10,000 TIME),
    // though two of them are spent now: one receive entry per output, each with its index and
    // address.
    let list = d.ok("listtransactions", json!(["*", 1_000])).await;
    let genesis_entries: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["txid"] == json!(genesis_txid))
        .collect();
    let genesis_outs = gtx["vout"].as_array().unwrap();
    // 100 entries, one per faucet output (the genesis pays the masternodes' owners too).
    assert_eq!(genesis_entries.len(), 100, "{list}");
    let vouts: std::collections::BTreeSet<u64> = genesis_entries
        .iter()
        .map(|e| e["vout"].as_u64().unwrap())
        .collect();
    assert_eq!(vouts.len(), 100, "each entry is another output: {vouts:?}");
    for e in &genesis_entries {
        assert_eq!(e["category"], "receive", "{e}");
        let out = &genesis_outs[e["vout"].as_u64().unwrap() as usize];
        assert_eq!(
            e["address"], out["scriptPubKey"]["address"],
            "{e} is not {out}"
        );
        assert_eq!(e["amount"], out["value"], "{e} is not {out}");
    }
    let total: u64 = genesis_entries.iter().map(|e| units(&e["amount"])).sum();
    assert_eq!(total, 1_000_000 * 100_000_000);

    // stop: the process exits cleanly.
    d.ok("stop", json!([])).await;
    let start = Instant::now();
    let status = loop {
        if let Some(st) = d.child.try_wait().unwrap() {
            break st;
        }
        assert!(start.elapsed() < DEADLINE, "the node did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status}");
}

/// `getpeerinfo`'s `id` is the connection's, as Bitcoin Core's: a peer keeps its id when an
/// earlier-listed peer leaves, and a reconnect gets an id not used before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_ids_stay_while_connected() {
    let d = Devnet::start(3).await;
    let ids = || async {
        let peers = d.try_call("getpeerinfo", json!([])).await.ok()?;
        let ids: Vec<(String, u64)> = peers
            .as_array()?
            .iter()
            .map(|p| Some((p["nodekey"].as_str()?.to_string(), p["id"].as_u64()?)))
            .collect::<Option<_>>()?;
        Some(ids)
    };
    let before = d
        .wait_for("node0's two peers", || async {
            ids().await.filter(|v| v.len() == 2)
        })
        .await;
    let (gone, stays) = (before[0].clone(), before[1].clone());
    assert_ne!(gone.1, stays.1, "{before:?}");

    assert!(d.ok("setban", json!([gone.0, "add"])).await.is_null());
    let after = d
        .wait_for("the banned peer to leave", || async {
            ids().await.filter(|v| v.len() == 1)
        })
        .await;
    assert_eq!(after, vec![stays.clone()], "the other peer keeps its id");

    assert!(d.ok("setban", json!([gone.0, "remove"])).await.is_null());
    let back = d
        .wait_for("the unbanned peer to reconnect", || async {
            ids().await.filter(|v| v.len() == 2)
        })
        .await;
    let again = back
        .iter()
        .find(|(k, _)| *k == gone.0)
        .unwrap_or_else(|| panic!("{} is not back: {back:?}", gone.0));
    assert!(
        again.1 != gone.1 && again.1 != stays.1,
        "a reconnect gets a new id: {before:?} then {back:?}"
    );
    assert!(back.contains(&stays), "{back:?}");
}

/// `setban` with subnets (IPv4 and IPv6), `listbanned`'s own output back to `setban remove`,
/// huge and absolute bantimes, and `addnode` add/remove/onetry, on a running node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bans_and_added_nodes_on_a_running_node() {
    let d = Devnet::start(1).await;

    assert!(d
        .ok("setban", json!(["10.0.0.0/8", "add", 3600]))
        .await
        .is_null());
    assert!(d
        .ok("setban", json!(["2001:db8::/32", "add"]))
        .await
        .is_null());
    assert!(d.ok("setban", json!(["192.0.2.7", "add"])).await.is_null());
    // Host bits are cleared, as Bitcoin Core's subnets.
    assert!(d
        .ok("setban", json!(["172.16.9.9/12", "add"]))
        .await
        .is_null());
    // A node key, as listbanned prints node-key bans.
    let key = "ab".repeat(32);
    assert!(d.ok("setban", json!([key, "add"])).await.is_null());
    assert_eq!(d.err("setban", json!(["10.0.0.0/8", "add"])).await, -23);
    assert_eq!(d.err("setban", json!(["10.0.0.0/33", "add"])).await, -30);
    let banned = d.ok("listbanned", json!([])).await;
    let addrs: Vec<String> = banned
        .as_array()
        .unwrap()
        .iter()
        .map(|b| s(&b["address"]))
        .collect();
    for want in [
        "10.0.0.0/8",
        "2001:db8::/32",
        "192.0.2.7/32",
        "172.16.0.0/12",
        key.as_str(),
    ] {
        assert!(addrs.iter().any(|a| a == want), "{want} not in {addrs:?}");
    }
    let ten = banned
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["address"] == "10.0.0.0/8")
        .unwrap();
    assert!(ten["time_remaining"].as_u64().unwrap() > 3000, "{ten}");

    // A huge bantime is cut to a long ban, not a panic; so is an absolute time far away.
    assert!(d
        .ok("setban", json!(["198.51.100.1", "add", i64::MAX]))
        .await
        .is_null());
    assert!(d
        .ok("setban", json!(["198.51.100.2", "add", i64::MAX, true]))
        .await
        .is_null());
    assert_eq!(
        d.err("setban", json!(["198.51.100.3", "add", 5, true]))
            .await,
        -8,
        "an absolute time in the past"
    );
    let absolute = 4_000_000_000u64;
    assert!(d
        .ok("setban", json!(["198.51.100.4", "add", absolute, true]))
        .await
        .is_null());
    let banned = d.ok("listbanned", json!([])).await;
    let find = |a: &str| {
        banned
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["address"] == a)
            .cloned()
            .unwrap_or_else(|| panic!("{a} not in {banned}"))
    };
    // To the second (the relative duration handed down is rounded to whole seconds).
    let until = find("198.51.100.4/32")["banned_until"].as_u64().unwrap();
    assert!(until.abs_diff(absolute) <= 1, "{until}");
    let long = find("198.51.100.1/32")["time_remaining"].as_u64().unwrap();
    assert!(long > 50 * 365 * 86_400, "{long}");

    // Every address listbanned prints is taken back by setban remove.
    let all: Vec<String> = banned
        .as_array()
        .unwrap()
        .iter()
        .map(|b| s(&b["address"]))
        .collect();
    for a in &all {
        assert!(d.ok("setban", json!([a, "remove"])).await.is_null(), "{a}");
    }
    assert_eq!(d.ok("listbanned", json!([])).await, json!([]));
    assert_eq!(d.err("setban", json!(["10.0.0.0/8", "remove"])).await, -30);

    // addnode: add, add again, remove, remove again; onetry is one dial.
    let peer = "127.0.0.1:9";
    assert!(d.ok("addnode", json!([peer, "add"])).await.is_null());
    assert_eq!(d.err("addnode", json!([peer, "add"])).await, -23);
    assert!(d.ok("addnode", json!([peer, "remove"])).await.is_null());
    assert_eq!(d.err("addnode", json!([peer, "remove"])).await, -24);
    assert!(d.ok("addnode", json!([peer, "onetry"])).await.is_null());
    assert_eq!(
        d.err("addnode", json!([peer, "remove"])).await,
        -24,
        "onetry does not add"
    );
    assert_eq!(d.err("addnode", json!(["nonsense", "add"])).await, -8);
}

/// `walletpassphrase <pw> 0` locks at once; a timed unlock locks on time in a headless node,
/// without the wallet being used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_unlock_timeouts_on_a_headless_node() {
    let d = Devnet::start(1).await;
    // The faucet wallet takes any passphrase.
    assert!(d.ok("walletpassphrase", json!(["x", 60])).await.is_null());
    assert!(d.ok("getnewaddress", json!([])).await.is_string());
    assert!(d.ok("walletpassphrase", json!(["x", 0])).await.is_null());
    assert_eq!(d.err("getnewaddress", json!([])).await, -13);

    assert!(d.ok("walletpassphrase", json!(["x", 1])).await.is_null());
    let locks = |log: &str| log.matches("wallet locked").count();
    let before = locks(&d.log());
    d.wait_for("the auto-lock", || async {
        (locks(&d.log()) > before).then_some(())
    })
    .await;
    assert_eq!(d.err("getnewaddress", json!([])).await, -13);
    assert!(d.ok("walletlock", json!([])).await.is_null());
}

impl Devnet {
    /// `timed wallet ARGS` against this devnet (its data dir and ports from a config file of
    /// its own), with `env` added to a clean environment.
    fn wallet_cmd(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let cfg = self.dir.path().join("wallet-cli.toml");
        std::fs::write(
            &cfg,
            format!(
                "[node]\nnetwork = \"devnet\"\ndatadir = \"{}\"\n[devnet]\nnodes = 1\nfull_nodes = 0\nbase_port = {}\n",
                self.dir.path().display(),
                self.base
            ),
        )
        .unwrap();
        let mut cmd = support::timed();
        cmd.current_dir(self.dir.path())
            .arg("--config")
            .arg(&cfg)
            .arg("wallet")
            .args(args)
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
}

fn out_of(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The `finalized` balance `timed wallet show` prints, in base units.
fn shown_finalized(show: &str) -> u64 {
    let line = show
        .lines()
        .find(|l| l.starts_with("finalized "))
        .unwrap_or_else(|| panic!("no balance in:\n{show}"));
    let v = line
        .trim_start_matches("finalized ")
        .trim_end_matches(" TIME");
    Amount::parse_time(v).unwrap().0
}

/// `timed wallet create|restore|addresses|show|send|lock` end to end against a running node:
/// a new wallet (24 words printed once, file mode 0600), the devnet faucet restored from its
/// mnemonic, its addresses, its balance read from the node, a send from it to the new wallet
/// that becomes final and shows in the new wallet's balance, restore of the new wallet's words
/// giving its addresses, and lock of the node's wallet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_commands_end_to_end() {
    use std::os::unix::fs::PermissionsExt;
    let d = Devnet::start(1).await;
    let dir = d.dir.path().to_path_buf();
    let pass = dir.join("pass.txt");
    std::fs::write(&pass, "correct horse\n").unwrap();
    let pass_arg = pass.to_str().unwrap();
    let new = dir.join("new.dat");
    let new_arg = new.to_str().unwrap();

    let created = out_of(&d.wallet_cmd(
        &["--wallet", new_arg, "--passphrase-file", pass_arg, "create"],
        &[],
    ));
    assert!(created.contains("wallet written"), "{created}");
    let words = created
        .lines()
        .find(|l| l.split_whitespace().count() == 24)
        .unwrap_or_else(|| panic!("no 24 words in:\n{created}"))
        .to_string();
    let first = created
        .lines()
        .find_map(|l| l.strip_prefix("first address: "))
        .unwrap()
        .to_string();
    assert!(first.starts_with("dtime1"), "{first}");
    let mode = std::fs::metadata(&new).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // A second create refuses to overwrite.
    let again = d.wallet_cmd(
        &["--wallet", new_arg, "--passphrase-file", pass_arg, "create"],
        &[],
    );
    assert!(!again.status.success());

    // The faucet, restored from its (public) mnemonic.
    let faucet = dir.join("faucet.dat");
    let faucet_arg = faucet.to_str().unwrap();
    let restored = out_of(&d.wallet_cmd(
        &[
            "--wallet",
            faucet_arg,
            "--passphrase-file",
            pass_arg,
            "restore",
        ],
        &[(
            "TIMECOIN_WALLET_MNEMONIC",
            timecoin::wallet::DEVNET_FAUCET_MNEMONIC,
        )],
    ));
    assert!(restored.contains("wallet restored"), "{restored}");
    // `timed wallet mnemonic` (what `timed attach` points to) prints the words back, and only
    // with the right passphrase.
    let shown = out_of(&d.wallet_cmd(
        &[
            "--wallet",
            faucet_arg,
            "--passphrase-file",
            pass_arg,
            "mnemonic",
        ],
        &[],
    ));
    assert_eq!(shown.trim(), timecoin::wallet::DEVNET_FAUCET_MNEMONIC);
    let wrong = dir.join("wrong.txt");
    std::fs::write(&wrong, "wrong horse\n").unwrap();
    let refused = d.wallet_cmd(
        &[
            "--wallet",
            faucet_arg,
            "--passphrase-file",
            wrong.to_str().unwrap(),
            "mnemonic",
        ],
        &[],
    );
    assert!(!refused.status.success());
    assert!(refused.stdout.is_empty(), "no word printed");
    let faucet_addr = timecoin::wallet::devnet_faucet_address(0).encode(Network::Devnet);
    let addrs = out_of(&d.wallet_cmd(&["--wallet", faucet_arg, "addresses"], &[]));
    assert!(addrs.contains(&faucet_addr), "{addrs}");
    let show = out_of(&d.wallet_cmd(
        &[
            "--wallet",
            faucet_arg,
            "--passphrase-file",
            pass_arg,
            "show",
        ],
        &[],
    ));
    assert!(show.contains("passphrase checked"), "{show}");
    let before = shown_finalized(&show);
    assert!(before >= 1_000_000 * 100_000_000, "{show}");

    // Send 12.5 TIME to the new wallet through the node.
    let sent = out_of(&d.wallet_cmd(
        &[
            "--wallet",
            faucet_arg,
            "--passphrase-file",
            pass_arg,
            "send",
            &first,
            "12.5",
            "--yes",
        ],
        &[],
    ));
    let txid = sent
        .lines()
        .find_map(|l| l.strip_prefix("sent "))
        .unwrap_or_else(|| panic!("no txid in:\n{sent}"))
        .to_string();
    d.wait_final(&txid).await;
    let got = d
        .wait_for("the new wallet's balance", || async {
            let show = out_of(&d.wallet_cmd(&["--wallet", new_arg, "show"], &[]));
            (shown_finalized(&show) > 0).then_some(shown_finalized(&show))
        })
        .await;
    assert_eq!(got, 1_250_000_000);
    let after = shown_finalized(&out_of(
        &d.wallet_cmd(&["--wallet", faucet_arg, "show"], &[]),
    ));
    assert!(
        after < before - 1_250_000_000 && after > before - 1_260_000_000,
        "{before} -> {after}: 12.5 TIME and a small fee"
    );

    // The new wallet's words restore its addresses.
    let copy = dir.join("copy.dat");
    let restored = out_of(&d.wallet_cmd(
        &[
            "--wallet",
            copy.to_str().unwrap(),
            "--passphrase-file",
            pass_arg,
            "restore",
        ],
        &[("TIMECOIN_WALLET_MNEMONIC", &words)],
    ));
    assert!(restored.contains(&first), "{restored}");

    // lock: the node's wallet, unlocked, is locked by the command.
    assert!(d.ok("walletpassphrase", json!(["x", 600])).await.is_null());
    assert!(d.ok("getnewaddress", json!([])).await.is_string());
    let locked = out_of(&d.wallet_cmd(&["lock"], &[]));
    assert!(locked.contains("locked"), "{locked}");
    assert_eq!(d.err("getnewaddress", json!([])).await, -13);
}

/// GET `path` on `addr`: the status and body, `None` while nothing answers there.
async fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8(buf).ok()?;
    let status = text.get(9..12)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

/// `/health` and `/metrics` of a running node, a full node of its own process: 503 while it
/// has no peer and is behind (the devnet it follows is not up yet), 200 once it has caught
/// up with the devnet's masternodes; /metrics is Prometheus text whose chain height follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_of_a_running_node() {
    let devnet_ports = support::ports::range(100);
    let base = devnet_ports.base();
    let own = support::ports::range(3);
    let fdir = tempfile::tempdir().unwrap();
    let metrics = format!("127.0.0.1:{}", own.port(2));
    let cfg = fdir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[node]\nnetwork = \"devnet\"\ndatadir = \"{dir}\"\n\
             [p2p]\nbind = \"127.0.0.1:{p2p}\"\nconnect = [\"127.0.0.1:{base}\"]\n\
             [rpc]\nbind = \"127.0.0.1:{rpc}\"\n[metrics]\nbind = \"{metrics}\"\n\
             [devnet]\nin_process = false\nnodes = 2\nbase_port = {base}\n",
            dir = fdir.path().display(),
            p2p = own.port(0),
            rpc = own.port(1),
        ),
    )
    .unwrap();
    let log = std::fs::File::create(fdir.path().join("stdout.log")).unwrap();
    let child = support::timed()
        .arg("--config")
        .arg(&cfg)
        .arg("--headless")
        .current_dir(fdir.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _full = Kill(child);
    let start = Instant::now();
    let (status, body) = loop {
        if let Some(r) = http_get(&metrics, "/health").await {
            break r;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the full node's /health never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, 503, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_ne!(v["status"], "ok", "{v}");
    assert_eq!(v["height"], 0, "{v}");
    let (status, text) = http_get(&metrics, "/metrics").await.unwrap();
    assert_eq!(status, 200);
    assert!(text.contains("timecoin_chain_height 0"), "{text}");
    // With no peer it does not claim to be synced, once its driver has published a snapshot.
    let cookie = fdir.path().join(".cookie");
    let (user, pass) = loop {
        if let Ok(c) = timecoin::rpc::auth::read_cookie(&cookie) {
            break c;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the full node wrote no RPC cookie"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let url = format!("http://127.0.0.1:{}", own.port(1));
    let mut rpc = RpcClient::new(&url, Some(basic_header(&user, &pass))).unwrap();
    let first = rpc.call("getnodesnapshot", json!([])).await.unwrap();
    let seq = first["seq"].as_u64().unwrap();
    rpc.call("getnodesnapshot", json!([seq, 10_000]))
        .await
        .unwrap();
    let info = rpc.call("getblockchaininfo", json!([])).await.unwrap();
    assert_eq!(info["synced"], false, "{info}");
    assert_eq!(info["initialblockdownload"], true, "{info}");

    // The devnet it follows comes up: the full node catches up and is healthy.
    let d = Devnet::start_in(2, devnet_ports).await;
    let target = d
        .wait_for("devnet height 3", || async {
            d.try_call("getblockcount", json!([]))
                .await
                .ok()
                .and_then(|h| h.as_u64())
                .filter(|h| *h >= 3)
        })
        .await;
    let healthy = d
        .wait_for("the full node healthy at the devnet's height", || async {
            let (status, body) = http_get(&metrics, "/health").await?;
            let v: Value = serde_json::from_str(&body).ok()?;
            (status == 200 && v["height"].as_u64()? >= target).then_some(v)
        })
        .await;
    assert_eq!(healthy["status"], "ok");
    assert_eq!(healthy["synced"], true);
    assert!(healthy["peers"].as_u64().unwrap() >= 1, "{healthy}");
    // The metrics are sampled from the node once a second.
    d.wait_for("the full node's metrics at the devnet's height", || async {
        let (_, text) = http_get(&metrics, "/metrics").await?;
        let height: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("timecoin_chain_height "))?
            .trim()
            .parse()
            .ok()?;
        (height >= target).then_some(())
    })
    .await;
    // Traffic and block commits are counted, not only declared.
    d.wait_for("the full node's traffic and commit metrics", || async {
        let (_, text) = http_get(&metrics, "/metrics").await?;
        let value = |name: &str| -> Option<f64> {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))?
                .trim()
                .parse()
                .ok()
        };
        (value("timecoin_p2p_bytes_received_total")? > 0.0
            && value("timecoin_p2p_bytes_sent_total")? > 0.0
            && value("timecoin_storage_flush_seconds_count")? > 0.0)
            .then_some(())
    })
    .await;
    // A transaction the full node turns away (its input never existed) is counted by reason.
    let nowhere = OutPoint {
        txid: Hash([7; 32]),
        index: 0,
    };
    let to = Address::parse(&s(&d.ok("getnewaddress", json!([])).await), Network::Devnet).unwrap();
    let chain_id =
        Hash::from_hex(&s(&d.ok("getblockchaininfo", json!([])).await["chainid"])).unwrap();
    let bad = crate::support::faucet_transfer(nowhere, 1_000_000, to, &chain_id);
    let err = rpc
        .call("sendrawtransaction", json!([hex::encode(bad.to_bytes())]))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Rpc(_)), "{err:?}");
    d.wait_for("the rejection in the full node's metrics", || async {
        let (_, text) = http_get(&metrics, "/metrics").await?;
        let n: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("timecoin_mempool_rejected_total{reason=\"invalid\"} "))?
            .trim()
            .parse()
            .ok()?;
        (n >= 1.0).then_some(())
    })
    .await;
}
