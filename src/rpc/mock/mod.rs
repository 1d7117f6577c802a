//! An in-memory [`RpcBackend`] for tests, examples and UI development: a five-block devnet
//! chain, a mempool, two peers, two masternodes and a wallet with passphrase
//! [`MockBackend::PASSPHRASE`]. Tests mutate [`MockBackend::state`] to reach other states.
//!
//! This file holds the state, the sample chain and the [`RpcBackend`] impl, which hands each
//! method to the file of its RPC category (chain, mempool, network, consensus, masternode,
//! wallet, control), as the real handlers are filed in `rpc::methods`.

mod chain;
mod consensus;
mod control;
mod masternode;
mod mempool;
mod network;
mod wallet;

use super::backend::*;
use crate::types::tx::TxKind;
use crate::types::{
    Address, Amount, Block, BlockHeader, CommitCertificate, CommitSig, Hash, Network, OutPoint,
    PublicKey, SecretKey, Signature, Tier, Transaction, TxIn, TxOut,
};
use secrecy::{ExposeSecret, SecretString};
use std::sync::{Mutex, MutexGuard};

/// Mutable state of the mock.
#[derive(Debug, Default)]
pub struct MockState {
    /// Finalized blocks, index = height.
    pub blocks: Vec<BlockWithCert>,
    /// Mempool transactions with their entry time.
    pub mempool: Vec<(Transaction, u64)>,
    /// Sync flag.
    pub synced: bool,
    /// Warm-up message.
    pub warmup: Option<String>,
    /// Peers.
    pub peers: Vec<PeerInfo>,
    /// `addnode add` list.
    pub added: Vec<String>,
    /// Bans.
    pub bans: Vec<BanEntry>,
    /// Masternodes.
    pub masternodes: Vec<MasternodeInfo>,
    /// Own masternode.
    pub own: Option<OwnMasternodeStatus>,
    /// Wallet loaded.
    pub wallet_loaded: bool,
    /// Wallet unlocked.
    pub unlocked: bool,
    /// Last unlock timeout.
    pub unlock_timeout: u64,
    /// Wallet addresses: (address, label).
    pub addresses: Vec<(Address, String)>,
    /// Address book: (label, address), as `setlabel` writes it.
    pub contacts: Vec<(String, Address)>,
    /// Wallet history.
    pub history: Vec<WalletTxEntry>,
    /// Outpoints the wallet spent.
    pub spent: Vec<OutPoint>,
    /// `stop` was called.
    pub stopped: bool,
    /// Last send request.
    pub last_send: Option<SendRequest>,
    /// Sends prepared by `walletpreparesend`, by preview id.
    pub previews: Vec<(u64, SendRequest)>,
}

/// The mock backend.
#[derive(Debug)]
pub struct MockBackend {
    /// State, mutable by tests.
    pub state: Mutex<MockState>,
    /// The snapshot seq that `getnodesnapshot` waits on; see [`MockBackend::bump_snapshot`].
    pub snapshot_seq: tokio::sync::watch::Sender<u64>,
}

/// The key that owns every mock coinbase output.
pub fn wallet_key() -> SecretKey {
    SecretKey::from_seed(&[7u8; 32])
}

/// The mock proposer / validator keys.
pub fn validator_key(i: u8) -> SecretKey {
    SecretKey::from_seed(&[100 + i; 32])
}

fn coinbase(height: u64, to: Address) -> Transaction {
    Transaction {
        version: 1,
        inputs: vec![],
        outputs: vec![TxOut {
            amount: Amount::from_time(100),
            address: to,
        }],
        lock_time: 0,
        kind: TxKind::Coinbase { height },
    }
}

impl Default for MockBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl MockBackend {
    /// The wallet passphrase.
    pub const PASSPHRASE: &'static str = "correct horse battery staple";
    /// Node uptime reported.
    pub const UPTIME: u64 = 4242;

    /// A five-block chain (heights 0..=4), one mempool transaction, synced, wallet locked.
    pub fn new() -> MockBackend {
        let wallet_addr = Address::from_pubkey(&wallet_key().public());
        let v0 = validator_key(0).public();
        let v1 = validator_key(1).public();
        let mut blocks: Vec<BlockWithCert> = Vec::new();
        let mut prev = Hash::ZERO;
        for height in 0..5u64 {
            let txs = vec![coinbase(height, wallet_addr)];
            let mut block = Block {
                header: BlockHeader {
                    version: 1,
                    height,
                    prev_hash: prev,
                    time_ms: 1_700_000_000_000 + height * 1000,
                    merkle_root: Hash::ZERO,
                    proposer: if height % 2 == 0 { v0 } else { v1 },
                    validator_set_hash: Hash::ZERO,
                    last_commit_hash: Hash::ZERO,
                },
                txs,
                evidence: vec![],
                last_commit: CommitCertificate::default(),
            };
            block.header.merkle_root = block.compute_merkle_root();
            let hash = block.hash();
            let cert = (height > 0).then(|| CommitCertificate {
                height,
                round: 0,
                block_hash: hash,
                sigs: vec![
                    CommitSig {
                        voter: v0,
                        signature: Signature::default(),
                    },
                    CommitSig {
                        voter: v1,
                        signature: Signature::default(),
                    },
                ],
            });
            blocks.push(BlockWithCert { block, cert });
            prev = hash;
        }
        let history = blocks
            .iter()
            .map(|b| WalletTxEntry {
                txid: b.block.txs[0].txid(),
                category: WalletTxCategory::Generate,
                address: Some(wallet_addr),
                amount: Amount::from_time(100),
                fee: None,
                vout: Some(0),
                label: String::new(),
                block: Some((b.block.header.height, b.block.hash())),
                time_secs: b.block.header.time_ms / 1000,
                abandoned: false,
            })
            .collect();
        let mn = |k: PublicKey, tier, i: u8| MasternodeInfo {
            node_key: k,
            tier,
            collateral: OutPoint {
                txid: Hash([i; 32]),
                index: 0,
            },
            p2p_addr: format!("127.0.0.1:2430{i}"),
            payout: wallet_addr,
            state: MasternodeState::Active,
            registered_height: 0,
            last_vote_height: Some(4),
        };
        let peer = |id: u64, inbound| PeerInfo {
            id,
            addr: format!("127.0.0.1:{}", 50000 + id),
            node_key: Some(validator_key(id as u8).public()),
            inbound,
            latency_ms: Some(1.5),
            height: Some(4),
            bytes_sent: 1000 * id,
            bytes_recv: 2000 * id,
            score: 0,
            connected_since_secs: 1_700_000_000,
            protocol_version: 1,
            user_agent: "/TimeCoin:0.1.0/".into(),
        };
        let mut state = MockState {
            blocks,
            synced: true,
            peers: vec![peer(0, false), peer(1, true)],
            masternodes: vec![mn(v0, Tier::Bronze, 0), mn(v1, Tier::Silver, 1)],
            wallet_loaded: true,
            addresses: vec![(wallet_addr, String::new())],
            history,
            ..Default::default()
        };
        state.own = Some(OwnMasternodeStatus::Registered(
            state.masternodes[0].clone(),
        ));
        let backend = MockBackend {
            state: Mutex::new(state),
            snapshot_seq: tokio::sync::watch::Sender::new(1),
        };
        let tx = backend.spend_tx(1, Address::from_pubkey(&validator_key(9).public()));
        backend.lock().mempool.push((tx, 1_700_000_010));
        backend
    }

    /// Publishes a new snapshot: waiting `getnodesnapshot` calls return.
    pub fn bump_snapshot(&self) {
        self.snapshot_seq.send_modify(|s| *s += 1);
    }

    /// Locks the state.
    pub fn lock(&self) -> MutexGuard<'_, MockState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A transfer of 10 TIME (fee 0.001) from the coinbase output of block `height` to `to`.
    pub fn spend_tx(&self, height: u64, to: Address) -> Transaction {
        let prev = {
            let st = self.lock();
            st.blocks[height as usize].block.txs[0].txid()
        };
        let key = wallet_key();
        let mut tx = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prev: OutPoint {
                    txid: prev,
                    index: 0,
                },
                pubkey: key.public(),
                signature: Signature::default(),
            }],
            outputs: vec![
                TxOut {
                    amount: Amount::from_time(10),
                    address: to,
                },
                TxOut {
                    amount: Amount(Amount::from_time(90).0 - 100_000),
                    address: Address::from_pubkey(&key.public()),
                },
            ],
            lock_time: 0,
            kind: TxKind::Transfer,
        };
        tx.sign_inputs(&Hash::ZERO, &[&key], None);
        tx
    }

    fn tip(&self) -> u64 {
        (self.lock().blocks.len() as u64).saturating_sub(1)
    }

    fn find_output(st: &MockState, op: &OutPoint) -> Option<(TxOut, Option<u64>, bool)> {
        for b in &st.blocks {
            for t in &b.block.txs {
                if t.txid() == op.txid {
                    return t
                        .outputs
                        .get(op.index as usize)
                        .map(|o| (*o, Some(b.block.header.height), t.is_coinbase()));
                }
            }
        }
        for (t, _) in &st.mempool {
            if t.txid() == op.txid {
                return t.outputs.get(op.index as usize).map(|o| (*o, None, false));
            }
        }
        None
    }

    fn spent_in_chain(st: &MockState, op: &OutPoint) -> bool {
        st.blocks
            .iter()
            .flat_map(|b| b.block.txs.iter())
            .any(|t| t.inputs.iter().any(|i| i.prev == *op))
    }

    fn spent_in_mempool(st: &MockState, op: &OutPoint) -> bool {
        st.mempool
            .iter()
            .any(|(t, _)| t.inputs.iter().any(|i| i.prev == *op))
    }

    fn fee_of(st: &MockState, t: &Transaction) -> Amount {
        let ins: u64 = t
            .inputs
            .iter()
            .filter_map(|i| Self::find_output(st, &i.prev).map(|o| o.0.amount.0))
            .sum();
        Amount(ins.saturating_sub(t.output_total().map(|a| a.0).unwrap_or(0)))
    }
}

impl RpcBackend for MockBackend {
    fn warmup(&self) -> Option<String> {
        control::warmup(self)
    }
    fn network(&self) -> Network {
        control::network()
    }
    fn uptime_secs(&self) -> u64 {
        control::uptime_secs()
    }
    fn stop(&self) {
        control::stop(self)
    }
    fn chain_info(&self) -> ChainInfo {
        chain::chain_info(self)
    }
    fn block_hash(&self, height: u64) -> Option<Hash> {
        chain::block_hash(self, height)
    }
    fn block(&self, hash: &Hash) -> Option<BlockWithCert> {
        chain::block(self, hash)
    }
    fn header(&self, hash: &Hash) -> Option<BlockHeader> {
        chain::header(self, hash)
    }
    fn transaction(&self, txid: &Hash) -> Option<TxLookup> {
        chain::transaction(self, txid)
    }
    fn address_utxos(&self, addrs: &[Address], include_mempool: bool) -> Vec<AddressUtxo> {
        chain::address_utxos(self, addrs, include_mempool)
    }
    fn utxo(&self, outpoint: &OutPoint, include_mempool: bool) -> Option<UtxoEntry> {
        chain::utxo(self, outpoint, include_mempool)
    }
    fn submit_tx(&self, tx: Transaction) -> Result<Hash, SubmitError> {
        mempool::submit_tx(self, tx)
    }
    fn mempool_entries(&self) -> Vec<MempoolEntry> {
        mempool::mempool_entries(self)
    }
    fn mempool_info(&self) -> MempoolInfo {
        mempool::mempool_info(self)
    }
    fn peers(&self) -> Vec<PeerInfo> {
        network::peers(self)
    }
    fn node_info(&self) -> NodeInfo {
        network::node_info()
    }
    fn add_node(&self, addr: &str, command: AddNodeCommand) -> Result<(), NetError> {
        network::add_node(self, addr, command)
    }
    fn set_ban(&self, subnet: &str, action: BanAction) -> Result<(), NetError> {
        network::set_ban(self, subnet, action)
    }
    fn list_banned(&self) -> Vec<BanEntry> {
        network::list_banned(self)
    }
    fn consensus_info(&self) -> ConsensusInfo {
        consensus::consensus_info(self)
    }
    fn masternodes(&self) -> Vec<MasternodeInfo> {
        masternode::masternodes(self)
    }
    fn masternode_status(&self) -> OwnMasternodeStatus {
        masternode::masternode_status(self)
    }
    fn wallet_balances(&self) -> Result<WalletBalances, WalletError> {
        wallet::wallet_balances(self)
    }
    fn wallet_new_address(&self, label: &str) -> Result<Address, WalletError> {
        wallet::wallet_new_address(self, label)
    }
    fn wallet_unspent(&self) -> Result<Vec<WalletUtxo>, WalletError> {
        wallet::wallet_unspent(self)
    }
    fn wallet_transactions(
        &self,
        count: usize,
        skip: usize,
    ) -> Result<Vec<WalletTxEntry>, WalletError> {
        wallet::wallet_transactions(self, count, skip)
    }
    fn wallet_transaction(&self, txid: &Hash) -> Result<Option<WalletTransaction>, WalletError> {
        wallet::wallet_transaction(self, txid)
    }
    fn wallet_send(&self, req: SendRequest) -> Result<Hash, WalletError> {
        wallet::wallet_send(self, req)
    }
    fn wallet_prepare_send(&self, req: SendRequest) -> Result<SendPreviewInfo, WalletError> {
        wallet::wallet_prepare_send(self, req)
    }
    fn wallet_confirm_send(&self, preview_id: u64) -> Result<Hash, WalletError> {
        wallet::wallet_confirm_send(self, preview_id)
    }
    fn snapshot_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        control::snapshot_changes(self)
    }
    fn node_snapshot(&self, max_logs: usize) -> Option<(u64, serde_json::Value)> {
        control::node_snapshot(self, max_logs)
    }
    fn wallet_unlock(
        &self,
        passphrase: &SecretString,
        timeout_secs: u64,
    ) -> Result<(), WalletError> {
        wallet::wallet_unlock(self, passphrase, timeout_secs)
    }
    fn wallet_lock(&self) -> Result<(), WalletError> {
        wallet::wallet_lock(self)
    }
    fn wallet_set_label(&self, address: &Address, label: &str) -> Result<(), WalletError> {
        wallet::wallet_set_label(self, address, label)
    }
    fn wallet_masternode(
        &self,
        req: MasternodeTxRequest,
    ) -> Result<MasternodeTxReport, WalletError> {
        masternode::wallet_masternode(self, req)
    }
}
