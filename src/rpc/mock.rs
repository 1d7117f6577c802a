//! An in-memory [`RpcBackend`] for tests, examples and UI development: a five-block devnet
//! chain, a mempool, two peers, two masternodes and a wallet with passphrase
//! [`MockBackend::PASSPHRASE`]. Tests mutate [`MockBackend::state`] to reach other states.

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
        self.lock().warmup.clone()
    }
    fn network(&self) -> Network {
        Network::Devnet
    }
    fn uptime_secs(&self) -> u64 {
        Self::UPTIME
    }
    fn stop(&self) {
        self.lock().stopped = true;
    }
    fn chain_info(&self) -> ChainInfo {
        let st = self.lock();
        let tip = st.blocks.last().map(|b| &b.block.header);
        ChainInfo {
            network: Network::Devnet,
            chain_id: Hash([9; 32]),
            height: tip.map(|h| h.height).unwrap_or(0),
            best_hash: tip.map(|h| h.hash()).unwrap_or(Hash::ZERO),
            best_time_ms: tip.map(|h| h.time_ms).unwrap_or(0),
            best_known_height: tip.map(|h| h.height),
            synced: st.synced,
            total_supply: Amount::from_time(100 * st.blocks.len() as u64),
            size_on_disk: 12345,
        }
    }
    fn block_hash(&self, height: u64) -> Option<Hash> {
        self.lock()
            .blocks
            .get(usize::try_from(height).ok()?)
            .map(|b| b.block.hash())
    }
    fn block(&self, hash: &Hash) -> Option<BlockWithCert> {
        self.lock()
            .blocks
            .iter()
            .find(|b| b.block.hash() == *hash)
            .cloned()
    }
    fn header(&self, hash: &Hash) -> Option<BlockHeader> {
        self.block(hash).map(|b| b.block.header)
    }
    fn transaction(&self, txid: &Hash) -> Option<TxLookup> {
        let st = self.lock();
        for b in &st.blocks {
            for t in &b.block.txs {
                if t.txid() == *txid {
                    return Some(TxLookup {
                        tx: t.clone(),
                        block: Some(ContainingBlock {
                            height: b.block.header.height,
                            hash: b.block.hash(),
                            time_ms: b.block.header.time_ms,
                        }),
                    });
                }
            }
        }
        st.mempool
            .iter()
            .find(|(t, _)| t.txid() == *txid)
            .map(|(t, _)| TxLookup {
                tx: t.clone(),
                block: None,
            })
    }
    fn address_utxos(&self, addrs: &[Address], include_mempool: bool) -> Vec<AddressUtxo> {
        let st = self.lock();
        let mut out = Vec::new();
        let blocks = st
            .blocks
            .iter()
            .map(|b| (&b.block.txs, Some(b.block.header.height)));
        let pool = st.mempool.iter().map(|(t, _)| (t, None));
        let mut txs: Vec<(&Transaction, Option<u64>)> = Vec::new();
        for (list, h) in blocks {
            txs.extend(list.iter().map(|t| (t, h)));
        }
        if include_mempool {
            txs.extend(pool);
        }
        for (t, height) in txs {
            let txid = t.txid();
            for (i, o) in t.outputs.iter().enumerate() {
                let op = OutPoint {
                    txid,
                    index: i as u32,
                };
                if addrs.contains(&o.address) && !Self::spent_in_chain(&st, &op) {
                    out.push(AddressUtxo {
                        outpoint: op,
                        output: *o,
                        height,
                        spent_in_mempool: Self::spent_in_mempool(&st, &op),
                    });
                }
            }
        }
        out
    }

    fn utxo(&self, outpoint: &OutPoint, include_mempool: bool) -> Option<UtxoEntry> {
        let st = self.lock();
        let (output, height, coinbase) = Self::find_output(&st, outpoint)?;
        if height.is_none() && !include_mempool {
            return None;
        }
        if Self::spent_in_chain(&st, outpoint)
            || (include_mempool && Self::spent_in_mempool(&st, outpoint))
        {
            return None;
        }
        Some(UtxoEntry {
            output,
            height,
            coinbase,
        })
    }
    fn submit_tx(&self, tx: Transaction) -> Result<Hash, SubmitError> {
        let txid = tx.txid();
        let mut st = self.lock();
        if st.mempool.iter().any(|(t, _)| t.txid() == txid) {
            return Err(SubmitError::AlreadyKnown);
        }
        if st
            .blocks
            .iter()
            .any(|b| b.block.txs.iter().any(|t| t.txid() == txid))
        {
            return Err(SubmitError::AlreadyInChain);
        }
        if tx.is_coinbase() || tx.inputs.is_empty() {
            return Err(SubmitError::Rejected("bad-txns-vin-empty".into()));
        }
        for i in &tx.inputs {
            if Self::spent_in_mempool(&st, &i.prev) {
                return Err(SubmitError::Conflict(format!(
                    "{}:{} already spent in the mempool",
                    i.prev.txid, i.prev.index
                )));
            }
            if Self::find_output(&st, &i.prev).is_none() || Self::spent_in_chain(&st, &i.prev) {
                return Err(SubmitError::MissingInputs(format!(
                    "{}:{}",
                    i.prev.txid, i.prev.index
                )));
            }
        }
        st.mempool.push((tx, 1_700_000_100));
        Ok(txid)
    }
    fn mempool_entries(&self) -> Vec<MempoolEntry> {
        let st = self.lock();
        st.mempool
            .iter()
            .map(|(t, time)| MempoolEntry {
                txid: t.txid(),
                size: t.size(),
                fee: Self::fee_of(&st, t),
                time_secs: *time,
                depends: vec![],
            })
            .collect()
    }
    fn mempool_info(&self) -> MempoolInfo {
        let entries = self.mempool_entries();
        MempoolInfo {
            count: entries.len(),
            bytes: entries.iter().map(|e| e.size).sum(),
            total_fee: Amount(entries.iter().map(|e| e.fee.0).sum()),
            max_count: 10_000,
            max_bytes: 300_000_000,
            min_fee_rate: 1,
            min_relay_fee_rate: 1,
        }
    }
    fn peers(&self) -> Vec<PeerInfo> {
        self.lock().peers.clone()
    }
    fn node_info(&self) -> NodeInfo {
        NodeInfo {
            version: 100,
            user_agent: "/TimeCoin:0.1.0/".into(),
            protocol_version: 1,
            local_addresses: vec!["127.0.0.1:24300".into()],
            network_active: true,
            relay_fee_rate: 1,
        }
    }
    fn add_node(&self, addr: &str, command: AddNodeCommand) -> Result<(), NetError> {
        let mut st = self.lock();
        match command {
            AddNodeCommand::Add => {
                if st.added.iter().any(|a| a == addr) {
                    return Err(NetError::NodeAlreadyAdded);
                }
                st.added.push(addr.to_string());
            }
            AddNodeCommand::Remove => {
                let before = st.added.len();
                st.added.retain(|a| a != addr);
                if st.added.len() == before {
                    return Err(NetError::NodeNotAdded);
                }
            }
            AddNodeCommand::OneTry => {}
        }
        Ok(())
    }
    fn set_ban(&self, subnet: &str, action: BanAction) -> Result<(), NetError> {
        let mut st = self.lock();
        match action {
            BanAction::Add { until_secs } => {
                if st.bans.iter().any(|b| b.target() == subnet) {
                    return Err(NetError::AlreadyBanned);
                }
                let bad = |e: String| NetError::InvalidParameter(e);
                let (ip, prefix, node) =
                    crate::p2p::parse_target(subnet).map_err(|e| bad(e.to_string()))?;
                let until = std::time::UNIX_EPOCH + std::time::Duration::from_secs(until_secs);
                let left = until
                    .duration_since(std::time::SystemTime::now())
                    .unwrap_or_default();
                let entry = BanEntry::new(ip, prefix, node, left, "manual".into())
                    .ok_or_else(|| bad(format!("{subnet}: prefix too long")))?;
                st.bans.push(entry);
            }
            BanAction::Remove => {
                let before = st.bans.len();
                st.bans.retain(|b| b.target() != subnet);
                if st.bans.len() == before {
                    return Err(NetError::NotBanned);
                }
            }
        }
        Ok(())
    }
    fn list_banned(&self) -> Vec<BanEntry> {
        self.lock().bans.clone()
    }
    fn consensus_info(&self) -> ConsensusInfo {
        let v0 = validator_key(0).public();
        let v1 = validator_key(1).public();
        let proposal = Hash([5; 32]);
        ConsensusInfo {
            height: self.tip() + 1,
            round: 0,
            step: crate::consensus::Step::Prevote,
            proposer: Some(v0),
            proposal: Some(proposal),
            locked: None,
            validators: vec![(v0, 1), (v1, 10)],
            prevotes: vec![
                VoteSeen {
                    voter: v0,
                    block: Some(proposal),
                },
                VoteSeen {
                    voter: v1,
                    block: None,
                },
            ],
            precommits: vec![],
            round_started_ms: 1_700_000_005_000,
        }
    }
    fn masternodes(&self) -> Vec<MasternodeInfo> {
        self.lock().masternodes.clone()
    }
    fn masternode_status(&self) -> OwnMasternodeStatus {
        self.lock()
            .own
            .clone()
            .unwrap_or(OwnMasternodeStatus::Disabled)
    }
    fn wallet_balances(&self) -> Result<WalletBalances, WalletError> {
        let st = self.lock();
        if !st.wallet_loaded {
            return Err(WalletError::NotLoaded);
        }
        let spent = st.spent.len() as u64;
        Ok(WalletBalances {
            finalized: Amount::from_time(100 * (st.blocks.len() as u64 - spent)),
            pending: Amount::from_time(5),
            locked: Amount::ZERO,
        })
    }
    fn wallet_new_address(&self, label: &str) -> Result<Address, WalletError> {
        let mut st = self.lock();
        if !st.wallet_loaded {
            return Err(WalletError::NotLoaded);
        }
        let n = st.addresses.len() as u8;
        let a = Address::from_pubkey(&SecretKey::from_seed(&[200u8.wrapping_add(n); 32]).public());
        st.addresses.push((a, label.to_string()));
        Ok(a)
    }
    fn wallet_unspent(&self) -> Result<Vec<WalletUtxo>, WalletError> {
        let st = self.lock();
        if !st.wallet_loaded {
            return Err(WalletError::NotLoaded);
        }
        let addr = st.addresses[0].0;
        let mut v: Vec<WalletUtxo> = st
            .blocks
            .iter()
            .map(|b| WalletUtxo {
                outpoint: OutPoint {
                    txid: b.block.txs[0].txid(),
                    index: 0,
                },
                address: addr,
                label: String::new(),
                amount: Amount::from_time(100),
                height: Some(b.block.header.height),
                spendable: true,
            })
            .filter(|u| !st.spent.contains(&u.outpoint))
            .collect();
        v.push(WalletUtxo {
            outpoint: OutPoint {
                txid: Hash([3; 32]),
                index: 1,
            },
            address: addr,
            label: String::new(),
            amount: Amount::from_time(5),
            height: None,
            spendable: true,
        });
        Ok(v)
    }
    fn wallet_transactions(
        &self,
        count: usize,
        skip: usize,
    ) -> Result<Vec<WalletTxEntry>, WalletError> {
        let st = self.lock();
        if !st.wallet_loaded {
            return Err(WalletError::NotLoaded);
        }
        let n = st.history.len();
        let end = n.saturating_sub(skip);
        let start = end.saturating_sub(count);
        Ok(st.history[start..end].to_vec())
    }
    fn wallet_transaction(&self, txid: &Hash) -> Result<Option<WalletTransaction>, WalletError> {
        if !self.lock().wallet_loaded {
            return Err(WalletError::NotLoaded);
        }
        let entries: Vec<WalletTxEntry> = self
            .lock()
            .history
            .iter()
            .filter(|e| e.txid == *txid)
            .cloned()
            .collect();
        if entries.is_empty() {
            return Ok(None);
        }
        let tx = self.transaction(txid).map(|l| l.tx);
        Ok(tx.map(|tx| WalletTransaction { tx, entries }))
    }
    fn wallet_send(&self, req: SendRequest) -> Result<Hash, WalletError> {
        let (unlocked, utxo) = {
            let st = self.lock();
            if !st.wallet_loaded {
                return Err(WalletError::NotLoaded);
            }
            let next = (1..st.blocks.len() as u64).find(|h| {
                let op = OutPoint {
                    txid: st.blocks[*h as usize].block.txs[0].txid(),
                    index: 0,
                };
                !st.spent.contains(&op) && !Self::spent_in_mempool(&st, &op)
            });
            (st.unlocked, next)
        };
        if !unlocked {
            return Err(WalletError::Locked);
        }
        if req.amount > Amount::from_time(89) {
            return Err(insufficient());
        }
        let height = utxo.ok_or_else(insufficient)?;
        let mut tx = self.spend_tx(height, req.address);
        tx.outputs[0].amount = req.amount;
        // The mock's mempool speaks the RPC's submit errors, not the node's: its refusal
        // reaches the caller as the wallet's (-4).
        let txid = self
            .submit_tx(tx.clone())
            .map_err(|e| WalletError::Refused(e.to_string()))?;
        let mut st = self.lock();
        st.spent.push(tx.inputs[0].prev);
        st.history.push(WalletTxEntry {
            txid,
            category: WalletTxCategory::Send,
            address: Some(req.address),
            amount: req.amount,
            fee: Some(Amount(100_000)),
            vout: Some(0),
            label: req.comment.clone(),
            block: None,
            time_secs: 1_700_000_200,
            abandoned: false,
        });
        st.last_send = Some(req);
        Ok(txid)
    }
    fn wallet_prepare_send(&self, req: SendRequest) -> Result<SendPreviewInfo, WalletError> {
        let mut st = self.lock();
        if !st.wallet_loaded {
            return Err(WalletError::NotLoaded);
        }
        if req.amount > Amount::from_time(89) {
            return Err(insufficient());
        }
        let id = st.previews.last().map_or(1, |(i, _)| i + 1);
        let info = SendPreviewInfo {
            preview_id: id,
            address: req.address,
            amount: req.amount,
            fee: Amount(100_000),
            change: Amount(Amount::from_time(100).0 - req.amount.0 - 100_000),
            inputs: 1,
            size: 180,
        };
        st.previews.push((id, req));
        if st.previews.len() > 16 {
            st.previews.remove(0);
        }
        Ok(info)
    }
    fn wallet_confirm_send(&self, preview_id: u64) -> Result<Hash, WalletError> {
        let req = {
            let mut st = self.lock();
            let Some(i) = st.previews.iter().position(|(id, _)| *id == preview_id) else {
                return Err(WalletError::Refused(
                    "unknown or expired previewid; prepare the send again".into(),
                ));
            };
            st.previews.remove(i).1
        };
        self.wallet_send(req)
    }
    fn snapshot_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(self.snapshot_seq.subscribe())
    }
    fn node_snapshot(&self, max_logs: usize) -> Option<(u64, serde_json::Value)> {
        let seq = *self.snapshot_seq.borrow();
        let height = self.tip();
        Some((
            seq,
            serde_json::json!({ "height": height, "max_logs": max_logs }),
        ))
    }
    fn wallet_unlock(
        &self,
        passphrase: &SecretString,
        timeout_secs: u64,
    ) -> Result<(), WalletError> {
        let mut st = self.lock();
        if !st.wallet_loaded {
            return Err(WalletError::NotLoaded);
        }
        if passphrase.expose_secret() != Self::PASSPHRASE {
            return Err(WalletError::WrongPassphrase);
        }
        st.unlocked = true;
        st.unlock_timeout = timeout_secs;
        Ok(())
    }
    fn wallet_lock(&self) -> Result<(), WalletError> {
        let mut st = self.lock();
        if !st.wallet_loaded {
            return Err(WalletError::NotLoaded);
        }
        st.unlocked = false;
        Ok(())
    }

    fn wallet_set_label(&self, address: &Address, label: &str) -> Result<(), WalletError> {
        let mut st = self.lock();
        if !st.wallet_loaded {
            return Err(WalletError::NotLoaded);
        }
        match st.contacts.iter_mut().find(|(_, a)| a == address) {
            Some(entry) => entry.0 = label.to_string(),
            None => st.contacts.push((label.to_string(), *address)),
        }
        Ok(())
    }

    fn wallet_masternode(
        &self,
        req: MasternodeTxRequest,
    ) -> Result<MasternodeTxReport, WalletError> {
        let st = self.lock();
        if !st.wallet_loaded {
            return Err(WalletError::NotLoaded);
        }
        if !st.unlocked {
            return Err(WalletError::Locked);
        }
        // A fixed report: the mock checks the wallet state only, it builds nothing.
        let (kind, tier) = match &req.action {
            MasternodeAction::Register { tier, .. } => (MasternodeTxKind::Register, *tier),
            MasternodeAction::Update { .. } => (MasternodeTxKind::Update, Tier::Bronze),
            MasternodeAction::Exit { .. } => (MasternodeTxKind::Exit, Tier::Bronze),
        };
        Ok(MasternodeTxReport {
            kind,
            txid: Hash([9; 32]),
            sent: !req.dry_run,
            collateral: OutPoint::default(),
            tier,
            node_key: validator_key(9).public(),
            p2p_addr: "127.0.0.1:24300".into(),
            payout: Address::from_pubkey(&wallet_key().public()),
            fee: Amount(300),
            spent: Amount(300),
            size: 300,
            inputs: 1,
        })
    }
}

/// The mock's "not enough funds" (it keeps no amounts to report).
fn insufficient() -> WalletError {
    WalletError::InsufficientFunds {
        needed: Amount::ZERO,
        available: Amount::ZERO,
    }
}
