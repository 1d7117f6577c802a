//! Every RPC method against the mock backend over real HTTP: happy path and bad parameters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::rpc_common::TestServer;
use serde_json::{json, Value};
use timecoin::rpc::backend::OwnMasternodeStatus;
use timecoin::rpc::mock::validator_key;
use timecoin::types::{Address, Block, Decode, Encode, Network, Transaction};

fn s(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

#[tokio::test]
async fn chain_methods() {
    let t = TestServer::start().await;
    let info = t.ok("getblockchaininfo", json!([])).await;
    assert_eq!(info["chain"], "devnet");
    assert_eq!(info["blocks"], 4);
    assert_eq!(info["headers"], 4);
    assert_eq!(info["initialblockdownload"], false);
    assert_eq!(info["totalsupply"].as_f64(), Some(500.0));
    assert_eq!(info["chainid"].as_str().unwrap().len(), 64);
    let best = t.ok("getbestblockhash", json!([])).await;
    assert_eq!(info["bestblockhash"], best);
    assert_eq!(t.ok("getblockcount", json!([])).await, json!(4));
    assert_eq!(t.err("getblockcount", json!([1])).await, -1);

    // getblockhash
    assert_eq!(t.ok("getblockhash", json!([4])).await, best);
    assert_eq!(t.ok("getblockhash", json!({"height": 4})).await, best);
    assert_eq!(t.err("getblockhash", json!([5])).await, -8);
    assert_eq!(t.err("getblockhash", json!([-1])).await, -8);
    assert_eq!(t.err("getblockhash", json!(["x"])).await, -3);
    assert_eq!(t.err("getblockhash", json!([])).await, -1);
    assert_eq!(t.err("getblockhash", json!({"heigth": 1})).await, -8);

    // getblock
    let h1 = t.ok("getblockhash", json!([1])).await;
    let raw = t.ok("getblock", json!([h1, 0])).await;
    let block = Block::from_bytes(&hex::decode(s(&raw)).unwrap()).unwrap();
    assert_eq!(block.hash().to_hex(), s(&h1));
    assert_eq!(t.ok("getblock", json!([h1, false])).await, raw);
    let b1 = t.ok("getblock", json!([h1])).await;
    assert_eq!(b1["height"], 1);
    assert_eq!(b1["confirmations"], 4);
    assert_eq!(b1["nTx"], 1);
    assert_eq!(b1["tx"][0], json!(block.txs[0].txid().to_hex()));
    assert!(b1["previousblockhash"].is_string());
    assert!(b1["nextblockhash"].is_string());
    assert_eq!(b1["commit"]["signatures"], 2);
    let b2 = t
        .ok("getblock", json!({"blockhash": h1, "verbosity": 2}))
        .await;
    assert_eq!(b2["tx"][0]["vout"][0]["value"].as_f64(), Some(100.0));
    assert_eq!(b2["tx"][0]["kind"], "coinbase");
    let tip = t.ok("getblock", json!([best])).await;
    assert!(tip.get("nextblockhash").is_none());
    assert_eq!(tip["confirmations"], 1);
    let genesis = t
        .ok("getblock", json!([t.ok("getblockhash", json!([0])).await]))
        .await;
    assert!(genesis.get("previousblockhash").is_none());
    assert!(genesis["commit"].is_null());
    assert_eq!(t.err("getblock", json!([h1, 3])).await, -8);
    assert_eq!(t.err("getblock", json!(["zz"])).await, -8);
    assert_eq!(t.err("getblock", json!(["00".repeat(32)])).await, -5);
    assert_eq!(t.err("getblock", json!([1])).await, -3);

    // getblockheader
    let hd = t.ok("getblockheader", json!([h1])).await;
    assert_eq!(hd["hash"], h1);
    assert_eq!(hd["height"], 1);
    let hx = t.ok("getblockheader", json!([h1, false])).await;
    assert_eq!(s(&hx), hex::encode(block.header.to_bytes()));
    assert_eq!(t.err("getblockheader", json!(["11".repeat(32)])).await, -5);
    assert_eq!(t.err("getblockheader", json!([h1, "yes"])).await, -3);
}

#[tokio::test]
async fn transaction_methods() {
    let t = TestServer::start().await;
    let h1 = t.ok("getblockhash", json!([1])).await;
    let b1 = t.ok("getblock", json!([h1])).await;
    let cb = s(&b1["tx"][0]);

    // getrawtransaction
    let raw = t.ok("getrawtransaction", json!([cb])).await;
    let tx = Transaction::from_bytes(&hex::decode(s(&raw)).unwrap()).unwrap();
    assert_eq!(tx.txid().to_hex(), cb);
    let v = t.ok("getrawtransaction", json!([cb, true])).await;
    assert_eq!(v["blockhash"], h1);
    assert_eq!(v["confirmations"], 4);
    assert_eq!(v["hex"], raw);
    assert_eq!(
        t.ok("getrawtransaction", json!([cb, 1, h1])).await["txid"],
        json!(cb)
    );
    let h2 = t.ok("getblockhash", json!([2])).await;
    assert_eq!(t.err("getrawtransaction", json!([cb, 1, h2])).await, -5);
    assert_eq!(
        t.err("getrawtransaction", json!(["ab".repeat(32)])).await,
        -5
    );
    assert_eq!(t.err("getrawtransaction", json!(["abc"])).await, -8);
    let pool = t.ok("getrawmempool", json!([])).await;
    assert_eq!(pool.as_array().unwrap().len(), 1);
    let ptx = t.ok("getrawtransaction", json!([pool[0], true])).await;
    assert_eq!(ptx["confirmations"], 0);
    assert!(ptx.get("blockhash").is_none());

    // decoderawtransaction
    let d = t.ok("decoderawtransaction", json!([ptx["hex"]])).await;
    assert_eq!(d["txid"], pool[0]);
    assert_eq!(d["vout"][0]["value"].as_f64(), Some(10.0));
    assert_eq!(d["vout"][1]["value"].as_f64(), Some(89.999));
    assert_eq!(d["vin"][0]["txid"], json!(cb));
    assert!(d["vout"][0]["scriptPubKey"]["address"]
        .as_str()
        .unwrap()
        .starts_with("dtime1"));
    assert_eq!(t.err("decoderawtransaction", json!(["zz"])).await, -22);
    assert_eq!(t.err("decoderawtransaction", json!(["00"])).await, -22);
    assert_eq!(t.err("decoderawtransaction", json!([])).await, -1);

    // sendrawtransaction
    let to = Address::from_pubkey(&validator_key(8).public());
    let fresh = t.mock.spend_tx(2, to);
    let fresh_hex = hex::encode(fresh.to_bytes());
    let id = t.ok("sendrawtransaction", json!([fresh_hex])).await;
    assert_eq!(s(&id), fresh.txid().to_hex());
    // Already in the mempool: answered with the txid, like Bitcoin Core.
    assert_eq!(t.ok("sendrawtransaction", json!([fresh_hex])).await, id);
    let conflict = t
        .mock
        .spend_tx(2, Address::from_pubkey(&validator_key(7).public()));
    assert_eq!(
        t.err(
            "sendrawtransaction",
            json!([hex::encode(conflict.to_bytes())])
        )
        .await,
        -26
    );
    assert_eq!(t.err("sendrawtransaction", json!([raw])).await, -27);
    let mut missing = t.mock.spend_tx(3, to);
    missing.inputs[0].prev.txid = timecoin::types::Hash([1; 32]);
    assert_eq!(
        t.err(
            "sendrawtransaction",
            json!([hex::encode(missing.to_bytes())])
        )
        .await,
        -25
    );
    assert_eq!(t.err("sendrawtransaction", json!(["0102"])).await, -22);
    assert_eq!(t.err("sendrawtransaction", json!([7])).await, -3);
    assert_eq!(
        t.ok("getmempoolinfo", json!([])).await["size"],
        json!(2),
        "fresh tx entered the mempool"
    );

    // gettxout
    let h3 = t.ok("getblockhash", json!([3])).await;
    let cb3 = s(&t.ok("getblock", json!([h3])).await["tx"][0]);
    let out = t.ok("gettxout", json!([cb3, 0])).await;
    assert_eq!(out["value"].as_f64(), Some(100.0));
    assert_eq!(out["confirmations"], 2);
    assert_eq!(out["coinbase"], true);
    assert_eq!(out["bestblock"], t.ok("getbestblockhash", json!([])).await);
    // Block 1's coinbase output is spent by the mempool transaction.
    assert!(t.ok("gettxout", json!([cb, 0])).await.is_null());
    assert!(t.ok("gettxout", json!([cb, 0, false])).await.is_object());
    assert!(t.ok("gettxout", json!([cb3, 5])).await.is_null());
    assert_eq!(t.err("gettxout", json!([cb3])).await, -1);
    assert_eq!(t.err("gettxout", json!(["x", 0])).await, -8);
    assert_eq!(t.err("gettxout", json!([cb3, -1])).await, -8);

    // getaddressutxos: the coinbase of block 3 pays its proposer's address.
    let addr = s(&out["scriptPubKey"]["address"]);
    let list = t
        .ok("getaddressutxos", json!([{ "addresses": [addr.clone()] }]))
        .await;
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["txid"] == json!(cb3) && u["outputIndex"] == json!(0))
        .cloned()
        .expect("block 3's coinbase output is listed");
    assert_eq!(entry["satoshis"], json!(100 * 100_000_000u64));
    assert_eq!(entry["height"], json!(3));
    assert_eq!(entry["spentinmempool"], json!(false));
    // The plain array form works too.
    assert_eq!(t.ok("getaddressutxos", json!([[addr]])).await, list);
    assert_eq!(t.err("getaddressutxos", json!([["nonsense"]])).await, -5);
    assert_eq!(t.err("getaddressutxos", json!([7])).await, -3);
    assert_eq!(t.err("getaddressutxos", json!([])).await, -1);
}

#[tokio::test]
async fn mempool_methods() {
    let t = TestServer::start().await;
    let pool = t.ok("getrawmempool", json!([])).await;
    assert_eq!(pool.as_array().unwrap().len(), 1);
    let verbose = t.ok("getrawmempool", json!([true])).await;
    let e = &verbose[s(&pool[0])];
    assert_eq!(e["fee"].as_f64(), Some(0.001));
    assert!(e["vsize"].as_u64().unwrap() > 100);
    assert_eq!(t.err("getrawmempool", json!(["x"])).await, -3);
    let info = t.ok("getmempoolinfo", json!([])).await;
    assert_eq!(info["size"], 1);
    assert_eq!(info["bytes"], e["vsize"]);
    assert_eq!(info["total_fee"].as_f64(), Some(0.001));
    assert_eq!(info["mempoolminfee"].as_f64(), Some(0.00001));
    assert_eq!(info["maxmempool"], 300_000_000);
    assert_eq!(t.err("getmempoolinfo", json!([1])).await, -1);
}

#[tokio::test]
async fn network_methods() {
    let t = TestServer::start().await;
    let peers = t.ok("getpeerinfo", json!([])).await;
    assert_eq!(peers.as_array().unwrap().len(), 2);
    assert_eq!(peers[1]["inbound"], true);
    assert_eq!(peers[1]["connection_type"], "inbound");
    assert_eq!(peers[0]["pingtime"].as_f64(), Some(0.0015));
    assert_eq!(peers[1]["bytesrecv"], 2000);
    assert_eq!(t.ok("getconnectioncount", json!([])).await, json!(2));
    let ni = t.ok("getnetworkinfo", json!([])).await;
    assert_eq!(ni["connections"], 2);
    assert_eq!(ni["connections_in"], 1);
    assert_eq!(ni["connections_out"], 1);
    assert_eq!(ni["subversion"], "/TimeCoin:0.1.0/");
    assert_eq!(ni["localaddresses"][0]["port"], 24300);

    // addnode
    assert!(t
        .ok("addnode", json!(["10.1.1.1:24300", "add"]))
        .await
        .is_null());
    assert_eq!(
        t.err("addnode", json!(["10.1.1.1:24300", "add"])).await,
        -23
    );
    assert!(t
        .ok("addnode", json!(["10.1.1.1:24300", "onetry"]))
        .await
        .is_null());
    assert!(t
        .ok("addnode", json!(["10.1.1.1:24300", "remove"]))
        .await
        .is_null());
    assert_eq!(
        t.err("addnode", json!(["10.1.1.1:24300", "remove"])).await,
        -24
    );
    assert_eq!(
        t.err("addnode", json!(["10.1.1.1:24300", "delete"])).await,
        -8
    );
    assert_eq!(t.err("addnode", json!(["10.1.1.1:24300"])).await, -1);

    // setban / listbanned
    assert!(t
        .ok("setban", json!(["10.0.0.0/8", "add", 3600]))
        .await
        .is_null());
    assert!(t.ok("setban", json!(["1.2.3.4", "add"])).await.is_null());
    let banned = t.ok("listbanned", json!([])).await;
    assert_eq!(banned.as_array().unwrap().len(), 2);
    assert_eq!(banned[0]["address"], "10.0.0.0/8");
    assert!(banned[0]["time_remaining"].as_u64().unwrap() > 3000);
    assert_eq!(t.err("setban", json!(["10.0.0.0/8", "add"])).await, -23);
    assert_eq!(t.err("setban", json!(["10.0.0.0/99", "add"])).await, -30);
    assert_eq!(t.err("setban", json!(["not-an-ip", "add"])).await, -30);
    assert_eq!(t.err("setban", json!(["1.2.3.5", "add", -5])).await, -8);
    assert_eq!(
        t.err("setban", json!(["1.2.3.5", "add", 5, true])).await,
        -8
    );
    assert_eq!(t.err("setban", json!(["1.2.3.5", "ban"])).await, -8);
    assert!(t
        .ok("setban", json!(["10.0.0.0/8", "remove"]))
        .await
        .is_null());
    assert_eq!(t.err("setban", json!(["10.0.0.0/8", "remove"])).await, -30);
    assert_eq!(
        t.ok("listbanned", json!([]))
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn consensus_and_masternode_methods() {
    let t = TestServer::start().await;
    let c = t.ok("getconsensusinfo", json!([])).await;
    assert_eq!(c["height"], 5);
    assert_eq!(c["round"], 0);
    assert_eq!(c["step"], "prevote");
    assert_eq!(c["totalweight"], 11);
    assert_eq!(c["quorumweight"], 8);
    assert_eq!(c["validators"].as_array().unwrap().len(), 2);
    assert_eq!(c["validators"][0]["proposer"], true);
    assert_eq!(c["validators"][1]["prevote"], "nil");
    assert!(c["validators"][1]["precommit"].is_null());
    assert_eq!(c["prevotes"]["count"], 2);
    assert_eq!(c["prevotes"]["weight"], 11);
    assert_eq!(c["prevotes"]["forproposal"], 1);
    assert_eq!(c["prevotes"]["quorum"], false);
    assert_eq!(t.err("getconsensusinfo", json!(["x"])).await, -1);

    let all = t.ok("listmasternodes", json!([])).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[1]["tier"], "silver");
    assert_eq!(all[1]["weight"], 10);
    assert_eq!(all[0]["status"], "ENABLED");
    let silver = t.ok("listmasternodes", json!(["SILVER"])).await;
    assert_eq!(silver.as_array().unwrap().len(), 1);
    assert_eq!(t.err("listmasternodes", json!([1])).await, -3);

    let st = t.ok("getmasternodestatus", json!([])).await;
    assert_eq!(st["state"], "ENABLED");
    assert_eq!(st["tier"], "bronze");
    t.mock.lock().own = Some(OwnMasternodeStatus::Disabled);
    assert_eq!(
        t.ok("getmasternodestatus", json!([])).await["state"],
        "DISABLED"
    );
    t.mock.lock().own = Some(OwnMasternodeStatus::NotRegistered {
        node_key: validator_key(3).public(),
    });
    let st = t.ok("getmasternodestatus", json!([])).await;
    assert_eq!(st["state"], "WAITING_FOR_REGISTRATION");
    assert_eq!(st["nodekey"], validator_key(3).public().to_hex());
}

#[tokio::test]
async fn wallet_methods() {
    let t = TestServer::start().await;
    assert_eq!(t.ok("getbalance", json!([])).await.as_f64(), Some(500.0));
    assert_eq!(
        t.ok("getbalance", json!(["*", 0])).await.as_f64(),
        Some(505.0)
    );
    assert_eq!(t.err("getbalance", json!(["x"])).await, -1);
    let b = t.ok("getbalances", json!([])).await;
    assert_eq!(b["mine"]["trusted"].as_f64(), Some(500.0));
    assert_eq!(b["mine"]["untrusted_pending"].as_f64(), Some(5.0));

    let addr = t.ok("getnewaddress", json!(["savings"])).await;
    assert!(s(&addr).starts_with("dtime1"));
    assert_eq!(
        t.ok("validateaddress", json!([addr])).await["isvalid"],
        true
    );
    assert_eq!(t.mock.lock().addresses.last().unwrap().1, "savings");
    assert_eq!(t.err("getnewaddress", json!(["*"])).await, -4);
    assert_eq!(t.err("getnewaddress", json!([5])).await, -3);

    let unspent = t.ok("listunspent", json!([])).await;
    assert_eq!(unspent.as_array().unwrap().len(), 5);
    assert_eq!(unspent[0]["confirmations"], 5);
    assert_eq!(unspent[0]["amount"].as_f64(), Some(100.0));
    assert_eq!(
        t.ok("listunspent", json!([0]))
            .await
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert_eq!(
        t.ok("listunspent", json!([0, 0]))
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let mine = s(&unspent[0]["address"]);
    assert_eq!(
        t.ok("listunspent", json!([1, 9999, [mine]]))
            .await
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(t.err("listunspent", json!([1, 9999, ["bogus"]])).await, -5);
    assert_eq!(t.err("listunspent", json!([1, 9999, "x"])).await, -3);

    let hist = t.ok("listtransactions", json!([])).await;
    assert_eq!(hist.as_array().unwrap().len(), 5);
    assert_eq!(hist[0]["category"], "generate");
    assert_eq!(
        t.ok("listtransactions", json!(["*", 2, 1]))
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(t.err("listtransactions", json!(["*", -1])).await, -8);
    assert_eq!(t.err("listtransactions", json!(["*", 1, -1])).await, -8);
    assert_eq!(t.err("listtransactions", json!(["label"])).await, -8);

    let cbid = hist[1]["txid"].clone();
    let gt = t.ok("gettransaction", json!([cbid])).await;
    assert_eq!(gt["amount"].as_f64(), Some(100.0));
    assert_eq!(gt["confirmations"], 4);
    assert_eq!(gt["details"][0]["category"], "generate");
    assert!(gt["hex"].is_string());
    assert!(gt.get("decoded").is_none());
    assert!(t.ok("gettransaction", json!([cbid, false, true])).await["decoded"].is_object());
    assert_eq!(t.err("gettransaction", json!(["cd".repeat(32)])).await, -5);

    // Sending needs an unlocked wallet.
    let to = Address::from_pubkey(&validator_key(5).public()).encode(Network::Devnet);
    assert_eq!(t.err("sendtoaddress", json!([to, 1.5])).await, -13);
    assert_eq!(t.err("walletpassphrase", json!(["wrong", 60])).await, -14);
    assert_eq!(t.err("walletpassphrase", json!(["", 60])).await, -8);
    assert_eq!(
        t.err(
            "walletpassphrase",
            json!([timecoin::rpc::mock::MockBackend::PASSPHRASE, -1])
        )
        .await,
        -8
    );
    assert_eq!(t.err("walletpassphrase", json!(["x"])).await, -1);
    assert!(t
        .ok(
            "walletpassphrase",
            json!([timecoin::rpc::mock::MockBackend::PASSPHRASE, 60])
        )
        .await
        .is_null());
    assert_eq!(t.mock.lock().unlock_timeout, 60);
    let txid = t.ok("sendtoaddress", json!([to, 1.5])).await;
    assert_eq!(s(&txid).len(), 64);
    let sent = t.mock.lock().last_send.clone().unwrap();
    assert_eq!(sent.amount.0, 150_000_000);
    assert!(!sent.subtract_fee_from_amount);
    let txid2 = t
        .ok(
            "sendtoaddress",
            json!({"address": to, "amount": "0.00000001", "subtractfeefromamount": true, "fee_rate": 5, "comment": "hi"}),
        )
        .await;
    assert_ne!(txid, txid2);
    let sent = t.mock.lock().last_send.clone().unwrap();
    assert_eq!(sent.amount.0, 1);
    assert!(sent.subtract_fee_from_amount);
    assert_eq!(sent.fee_rate, Some(5));
    assert_eq!(sent.comment, "hi");
    let last = t.ok("listtransactions", json!(["*", 1])).await;
    assert_eq!(last[0]["category"], "send");
    assert_eq!(last[0]["amount"].as_f64(), Some(-0.00000001));
    assert_eq!(last[0]["fee"].as_f64(), Some(-0.001));
    assert_eq!(last[0]["confirmations"], 0);
    let gt = t.ok("gettransaction", json!([txid2])).await;
    assert_eq!(gt["amount"].as_f64(), Some(-0.00000001));
    assert_eq!(t.err("sendtoaddress", json!([to, 1_000_000])).await, -6);
    assert_eq!(t.err("sendtoaddress", json!(["dtime1bogus", 1])).await, -5);
    let testnet = Address::from_pubkey(&validator_key(5).public()).encode(Network::Testnet);
    assert_eq!(t.err("sendtoaddress", json!([testnet, 1])).await, -5);
    assert_eq!(t.err("sendtoaddress", json!([to, "abc"])).await, -3);
    assert_eq!(t.err("sendtoaddress", json!([to, 0])).await, -3);
    assert_eq!(t.err("sendtoaddress", json!([to, -1])).await, -3);
    assert_eq!(t.err("sendtoaddress", json!([to, 0.000000001])).await, -3);
    assert_eq!(t.err("sendtoaddress", json!([to])).await, -1);
    assert!(t.ok("walletlock", json!([])).await.is_null());
    assert_eq!(t.err("sendtoaddress", json!([to, 1])).await, -13);

    // No wallet loaded.
    t.mock.lock().wallet_loaded = false;
    for m in [
        "getbalance",
        "getbalances",
        "getnewaddress",
        "listunspent",
        "listtransactions",
        "walletlock",
    ] {
        assert_eq!(t.err(m, json!([])).await, -18, "{m}");
    }
}

#[tokio::test]
async fn util_and_control_methods() {
    let t = TestServer::start().await;
    let good = Address::from_pubkey(&validator_key(1).public());
    let v = t
        .ok("validateaddress", json!([good.encode(Network::Devnet)]))
        .await;
    assert_eq!(v["isvalid"], true);
    assert_eq!(v["address"], good.encode(Network::Devnet));
    let upper = good.encode(Network::Devnet).to_uppercase();
    assert_eq!(
        t.ok("validateaddress", json!([upper])).await["isvalid"],
        true
    );
    let v = t
        .ok("validateaddress", json!([good.encode(Network::Mainnet)]))
        .await;
    assert_eq!(v["isvalid"], false);
    assert!(s(&v["error"]).contains("another network"));
    assert_eq!(
        t.ok("validateaddress", json!(["nope"])).await["isvalid"],
        false
    );
    assert_eq!(t.err("validateaddress", json!([])).await, -1);
    assert_eq!(t.err("validateaddress", json!([1])).await, -3);

    assert_eq!(t.ok("uptime", json!([])).await, json!(4242));
    let help = s(&t.ok("help", json!([])).await);
    for m in timecoin::rpc::methods::METHODS {
        assert!(help.contains(m.name), "help lists {}", m.name);
    }
    let one = s(&t.ok("help", json!(["getblock"])).await);
    assert!(one.starts_with("getblock blockhash ( verbosity )"), "{one}");
    assert!(one.contains("1. blockhash (string, required)"));
    assert!(s(&t.ok("help", json!(["nosuch"])).await).contains("unknown command"));
    assert_eq!(t.err("help", json!([1])).await, -3);

    // Warm-up: everything but help/uptime/stop answers -28.
    t.mock.lock().warmup = Some("Loading block index...".into());
    assert_eq!(t.err("getblockcount", json!([])).await, -28);
    assert_eq!(t.err("getbalance", json!([])).await, -28);
    assert_eq!(t.ok("uptime", json!([])).await, json!(4242));
    t.mock.lock().warmup = None;

    assert_eq!(
        t.ok("stop", json!([])).await,
        json!("TimeCoin server stopping")
    );
    assert!(t.mock.lock().stopped);
}
