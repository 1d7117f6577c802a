//! A backend that blocks on async work inside every method (as the node does with
//! `Handle::block_on`) must work for every RPC method: the server never calls the backend on a
//! runtime worker thread.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use secrecy::SecretString;
use serde_json::json;
use std::sync::Arc;
use timecoin::rpc::auth::basic_header;
use timecoin::rpc::backend::*;
use timecoin::rpc::client::{ClientError, RpcClient};
use timecoin::rpc::mock::{validator_key, MockBackend};
use timecoin::rpc::{start, RpcAuth, RpcLimits};
use timecoin::types::{Address, BlockHeader, Encode, Hash, Network, OutPoint, Transaction};
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

struct BlockOn {
    inner: MockBackend,
    rt: Handle,
}

impl BlockOn {
    fn wait(&self) {
        // Panics if called on a runtime worker thread.
        self.rt.block_on(async { tokio::task::yield_now().await });
    }
}

impl RpcBackend for BlockOn {
    fn warmup(&self) -> Option<String> {
        self.wait();
        self.inner.warmup()
    }
    fn network(&self) -> Network {
        self.wait();
        self.inner.network()
    }
    fn uptime_secs(&self) -> u64 {
        self.wait();
        self.inner.uptime_secs()
    }
    fn stop(&self) {
        self.wait();
        self.inner.stop()
    }
    fn chain_info(&self) -> ChainInfo {
        self.wait();
        self.inner.chain_info()
    }
    fn block_hash(&self, height: u64) -> Option<Hash> {
        self.wait();
        self.inner.block_hash(height)
    }
    fn block(&self, hash: &Hash) -> Option<BlockWithCert> {
        self.wait();
        self.inner.block(hash)
    }
    fn header(&self, hash: &Hash) -> Option<BlockHeader> {
        self.wait();
        self.inner.header(hash)
    }
    fn transaction(&self, txid: &Hash) -> Option<TxLookup> {
        self.wait();
        self.inner.transaction(txid)
    }
    fn utxo(&self, outpoint: &OutPoint, include_mempool: bool) -> Option<UtxoEntry> {
        self.wait();
        self.inner.utxo(outpoint, include_mempool)
    }
    fn address_utxos(&self, addrs: &[Address], include_mempool: bool) -> Vec<AddressUtxo> {
        self.wait();
        self.inner.address_utxos(addrs, include_mempool)
    }
    fn submit_tx(&self, tx: Transaction) -> Result<Hash, SubmitError> {
        self.wait();
        self.inner.submit_tx(tx)
    }
    fn mempool_entries(&self) -> Vec<MempoolEntry> {
        self.wait();
        self.inner.mempool_entries()
    }
    fn mempool_info(&self) -> MempoolInfo {
        self.wait();
        self.inner.mempool_info()
    }
    fn peers(&self) -> Vec<PeerInfo> {
        self.wait();
        self.inner.peers()
    }
    fn connection_count(&self) -> usize {
        self.wait();
        self.inner.connection_count()
    }
    fn node_info(&self) -> NodeInfo {
        self.wait();
        self.inner.node_info()
    }
    fn add_node(&self, addr: &str, command: AddNodeCommand) -> Result<(), NetError> {
        self.wait();
        self.inner.add_node(addr, command)
    }
    fn set_ban(&self, subnet: &str, action: BanAction) -> Result<(), NetError> {
        self.wait();
        self.inner.set_ban(subnet, action)
    }
    fn list_banned(&self) -> Vec<BanEntry> {
        self.wait();
        self.inner.list_banned()
    }
    fn consensus_info(&self) -> ConsensusInfo {
        self.wait();
        self.inner.consensus_info()
    }
    fn masternodes(&self) -> Vec<MasternodeInfo> {
        self.wait();
        self.inner.masternodes()
    }
    fn wallet_prepare_send(&self, req: SendRequest) -> Result<SendPreviewInfo, WalletError> {
        self.wait();
        self.inner.wallet_prepare_send(req)
    }
    fn wallet_confirm_send(&self, preview_id: u64) -> Result<Hash, WalletError> {
        self.wait();
        self.inner.wallet_confirm_send(preview_id)
    }
    /// Called on the runtime (the server waits on it asynchronously): must not block.
    fn snapshot_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.inner.snapshot_changes()
    }
    fn node_snapshot(&self, max_logs: usize) -> Option<(u64, serde_json::Value)> {
        self.wait();
        self.inner.node_snapshot(max_logs)
    }
    fn masternode_status(&self) -> OwnMasternodeStatus {
        self.wait();
        self.inner.masternode_status()
    }
    fn wallet_balances(&self) -> Result<WalletBalances, WalletError> {
        self.wait();
        self.inner.wallet_balances()
    }
    fn wallet_new_address(&self, label: &str) -> Result<Address, WalletError> {
        self.wait();
        self.inner.wallet_new_address(label)
    }
    fn wallet_unspent(&self) -> Result<Vec<WalletUtxo>, WalletError> {
        self.wait();
        self.inner.wallet_unspent()
    }
    fn wallet_transactions(
        &self,
        count: usize,
        skip: usize,
    ) -> Result<Vec<WalletTxEntry>, WalletError> {
        self.wait();
        self.inner.wallet_transactions(count, skip)
    }
    fn wallet_transaction(&self, txid: &Hash) -> Result<Option<WalletTransaction>, WalletError> {
        self.wait();
        self.inner.wallet_transaction(txid)
    }
    fn wallet_send(&self, req: SendRequest) -> Result<Hash, WalletError> {
        self.wait();
        self.inner.wallet_send(req)
    }
    fn wallet_unlock(
        &self,
        passphrase: &SecretString,
        timeout_secs: u64,
    ) -> Result<(), WalletError> {
        self.wait();
        self.inner.wallet_unlock(passphrase, timeout_secs)
    }
    fn wallet_lock(&self) -> Result<(), WalletError> {
        self.wait();
        self.inner.wallet_lock()
    }
    fn wallet_set_label(&self, address: &Address, label: &str) -> Result<(), WalletError> {
        self.wait();
        self.inner.wallet_set_label(address, label)
    }
    fn wallet_masternode(
        &self,
        req: timecoin::rpc::backend::MasternodeTxRequest,
    ) -> Result<timecoin::rpc::backend::MasternodeTxReport, WalletError> {
        self.wait();
        self.inner.wallet_masternode(req)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_may_block_on() {
    let backend = Arc::new(BlockOn {
        inner: MockBackend::new(),
        rt: Handle::current(),
    });
    let fresh = backend
        .inner
        .spend_tx(2, Address::from_pubkey(&validator_key(8).public()));
    let token = CancellationToken::new();
    let auth = RpcAuth::user_password("u", &SecretString::from("p"));
    let (addr, handle) = start(
        "127.0.0.1:0".parse().unwrap(),
        auth,
        backend.clone(),
        RpcLimits::default(),
        token.clone(),
    )
    .await
    .unwrap();
    let mut c = RpcClient::new(&format!("http://{addr}"), Some(basic_header("u", "p"))).unwrap();
    let best = c.call("getbestblockhash", json!([])).await.unwrap();
    let h1 = c.call("getblockhash", json!([1])).await.unwrap();
    let cb = c.call("getblock", json!([h1])).await.unwrap()["tx"][0].clone();
    let to = Address::from_pubkey(&validator_key(5).public()).encode(Network::Devnet);
    let calls = vec![
        ("getblockchaininfo", json!([])),
        ("getblockcount", json!([])),
        ("getbestblockhash", json!([])),
        ("getblockhash", json!([0])),
        ("getblock", json!([best, 2])),
        ("getblockheader", json!([best])),
        ("getrawtransaction", json!([cb, true])),
        (
            "decoderawtransaction",
            json!([hex::encode(fresh.to_bytes())]),
        ),
        ("sendrawtransaction", json!([hex::encode(fresh.to_bytes())])),
        ("gettxout", json!([cb, 0, false])),
        ("getrawmempool", json!([true])),
        ("getmempoolinfo", json!([])),
        ("getpeerinfo", json!([])),
        ("getconnectioncount", json!([])),
        ("getnetworkinfo", json!([])),
        ("addnode", json!(["10.0.0.1:1", "add"])),
        ("setban", json!(["10.0.0.2", "add"])),
        ("listbanned", json!([])),
        ("getconsensusinfo", json!([])),
        ("listmasternodes", json!([])),
        ("getmasternodestatus", json!([])),
        ("getbalance", json!([])),
        ("getbalances", json!([])),
        ("getnewaddress", json!([])),
        ("listunspent", json!([])),
        ("listtransactions", json!([])),
        ("gettransaction", json!([cb])),
        ("walletpassphrase", json!([MockBackend::PASSPHRASE, 10])),
        ("sendtoaddress", json!([to, 1])),
        ("registermasternode", json!(["bronze", {"dryrun": true}])),
        ("updatemasternode", json!([{"p2paddr": "127.0.0.1:1"}])),
        ("exitmasternode", json!([{"maxfee": 0.001}])),
        ("walletpreparesend", json!([to, 1])),
        // The mock numbers previews from 1.
        ("walletconfirmsend", json!([1])),
        ("getnodesnapshot", json!([1, 50])),
        ("walletlock", json!([])),
        ("setlabel", json!([to, "Bob"])),
        ("validateaddress", json!([to])),
        (
            "getaddressutxos",
            json!([{ "addresses": [to], "mempool": true }]),
        ),
        ("uptime", json!([])),
        ("help", json!([])),
        ("stop", json!([])),
    ];
    let mut covered: Vec<&str> = calls.iter().map(|(m, _)| *m).collect();
    for (method, params) in calls {
        match c.call(method, params).await {
            Ok(_) => {}
            Err(ClientError::Rpc(e)) => panic!("{method}: RPC error {e:?}"),
            Err(e) => panic!("{method}: {e} (did the handler panic?)"),
        }
    }
    covered.sort_unstable();
    let mut all: Vec<&str> = timecoin::rpc::methods::METHODS
        .iter()
        .map(|m| m.name)
        .collect();
    all.sort_unstable();
    assert_eq!(covered, all, "every method is exercised");
    token.cancel();
    handle.await.unwrap();
}
