//! The node's answers to the RPC server: [`RpcBackend`] over a [`NodeHandle`], its snapshots,
//! its storage and (for the node that holds one) the wallet, asked through its owner's
//! [`WalletHandle`].

use super::node_reader::NodeReader;
use super::view::{devnet_names, view_model};
use super::wallet_service::task::Reply;
use super::wallet_service::{PublishedWallet, WalletHandle, WalletRequest};
use crate::consensus::Step;
use crate::node::logging::LogRing;
use crate::node::{Command, NodeHandle, NodeSnapshot};
use crate::rpc::backend::{self as rb, RpcBackend};
use crate::types::{Address, BlockHeader, Hash, Network, OutPoint, Transaction};
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

/// RPC backend of one node.
pub struct NodeRpc {
    node: NodeHandle,
    rt: tokio::runtime::Handle,
    wallet: Option<WalletHandle>,
    stop: CancellationToken,
    /// The seq of the snapshot `getnodesnapshot` serves (see [`follow_snapshot_seq`]).
    seq: watch::Receiver<u64>,
    /// The log ring and devnet size the snapshot's view model is built with.
    feed: Option<(LogRing, u32)>,
}

impl NodeRpc {
    /// A backend for `node`; `stop` is cancelled by the `stop` method.
    pub fn new(
        node: NodeHandle,
        rt: tokio::runtime::Handle,
        wallet: Option<WalletHandle>,
        stop: CancellationToken,
    ) -> NodeRpc {
        // The snapshot's seq on its own watch: `getnodesnapshot` waits on it without cloning
        // snapshots, and the forwarding task ends with the node.
        let (seq, forward) = follow_snapshot_seq(
            node.snapshot.clone(),
            |s| s.seq,
            wallet.as_ref().map(WalletHandle::view),
            node.shutdown.clone(),
        );
        rt.spawn(forward);
        NodeRpc {
            node,
            rt,
            wallet,
            stop,
            seq,
            feed: None,
        }
    }

    /// Serves `getnodesnapshot` with these logs and devnet display names.
    pub fn with_feed(mut self, logs: LogRing, devnet_nodes: u32) -> NodeRpc {
        self.feed = Some((logs, devnet_nodes));
        self
    }

    fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        let cmds = self.node.commands.clone();
        self.rt.block_on(async move {
            cmds.send(make(tx)).await.ok()?;
            rx.await.ok()
        })
    }

    /// Asks the wallet's owner and waits for its answer.
    fn wallet<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> WalletRequest,
    ) -> Result<T, rb::WalletError> {
        let w = self.wallet.as_ref().ok_or(rb::WalletError::NotLoaded)?;
        self.rt.block_on(w.ask(make)).unwrap_or_else(|| {
            Err(rb::WalletError::NodeUnavailable(
                "the node is shutting down".into(),
            ))
        })
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The seq of the snapshot `getnodesnapshot` serves, on a watch of its own, and the future
/// that keeps it current until `shutdown` or the node's watch closes. It is the node
/// snapshot's seq plus the wallet view's version: both only grow, so the sum moves whenever
/// either does, and a wallet change (a new balance, a lock) wakes an attached UI at once
/// instead of at the next node change.
fn follow_snapshot_seq<N: Send + Sync + 'static>(
    mut node: watch::Receiver<N>,
    node_seq: fn(&N) -> u64,
    mut wallet: Option<watch::Receiver<PublishedWallet>>,
    shutdown: CancellationToken,
) -> (watch::Receiver<u64>, impl std::future::Future<Output = ()>) {
    let current = move |node: &mut watch::Receiver<N>,
                        wallet: Option<&mut watch::Receiver<PublishedWallet>>| {
        let n = node_seq(&node.borrow_and_update());
        n.wrapping_add(wallet.map_or(0, |w| w.borrow_and_update().version))
    };
    let (seq_tx, seq) = watch::channel(current(&mut node, wallet.as_mut()));
    let forward = async move {
        loop {
            let wallet_changed = async {
                match wallet.as_mut() {
                    Some(w) => w.changed().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                r = node.changed() => if r.is_err() { break },
                r = wallet_changed => if r.is_err() { break },
            }
            seq_tx.send_replace(current(&mut node, wallet.as_mut()));
        }
    };
    (seq, forward)
}

impl RpcBackend for NodeRpc {
    fn network(&self) -> Network {
        self.node.spec.network
    }

    fn uptime_secs(&self) -> u64 {
        self.node.with_snapshot(|s| s.started.elapsed().as_secs())
    }

    fn stop(&self) {
        tracing::info!(target: "rpc", "stop requested over RPC");
        self.stop.cancel();
    }

    fn chain_info(&self) -> rb::ChainInfo {
        // Storage is read outside the snapshot's borrow.
        let size_on_disk = self.node.storage.size_on_disk();
        self.node.with_snapshot(|s| rb::ChainInfo {
            network: s.network,
            chain_id: s.chain_id,
            height: s.height,
            best_hash: s.tip_hash,
            best_time_ms: s.tip_time_ms,
            best_known_height: s.best_peer_height,
            synced: s.synced,
            total_supply: s.supply,
            size_on_disk,
        })
    }

    fn block_hash(&self, height: u64) -> Option<Hash> {
        self.node
            .storage
            .block(height)
            .ok()
            .flatten()
            .map(|b| b.hash())
    }

    fn block(&self, hash: &Hash) -> Option<rb::BlockWithCert> {
        let h = self.node.storage.height_of(hash).ok().flatten()?;
        let block = self.node.storage.block(h).ok().flatten()?;
        let cert = if h == 0 {
            None
        } else {
            self.node.storage.certificate(h).ok().flatten()
        };
        Some(rb::BlockWithCert { block, cert })
    }

    fn header(&self, hash: &Hash) -> Option<BlockHeader> {
        self.block(hash).map(|b| b.block.header)
    }

    fn transaction(&self, txid: &Hash) -> Option<rb::TxLookup> {
        if let Ok(Some((tx, loc))) = self.node.storage.transaction(txid) {
            let block = self.node.storage.block(loc.height).ok().flatten()?;
            return Some(rb::TxLookup {
                tx,
                block: Some(rb::ContainingBlock {
                    height: loc.height,
                    hash: block.hash(),
                    time_ms: block.header.time_ms,
                }),
            });
        }
        let tx = self
            .ask(|reply| Command::MempoolTx { txid: *txid, reply })
            .flatten()?;
        Some(rb::TxLookup { tx, block: None })
    }

    fn utxo(&self, outpoint: &OutPoint, include_mempool: bool) -> Option<rb::UtxoEntry> {
        let (u, spent_in_pool) = self.ask(|reply| Command::Utxo {
            outpoint: *outpoint,
            reply,
        })?;
        let u = u?;
        if include_mempool && spent_in_pool {
            return None;
        }
        Some(rb::UtxoEntry {
            output: u.output,
            height: Some(u.height),
            coinbase: u.coinbase,
        })
    }

    fn address_utxos(&self, addrs: &[Address], include_mempool: bool) -> Vec<rb::AddressUtxo> {
        let Ok(data) = self.rt.block_on(self.node.wallet_data(addrs.to_vec())) else {
            return vec![];
        };
        let fin = data.finalized.iter().map(|(o, u)| (o, u, Some(u.height)));
        let pend = data
            .pending
            .iter()
            .filter(|_| include_mempool)
            .map(|(o, u)| (o, u, None));
        fin.chain(pend)
            .map(|(o, u, height)| rb::AddressUtxo {
                outpoint: *o,
                output: u.output,
                height,
                spent_in_mempool: data.spent_in_mempool.contains(o),
            })
            .collect()
    }

    fn submit_tx(&self, tx: Transaction) -> Result<Hash, rb::SubmitError> {
        if self
            .node
            .storage
            .tx_location(&tx.txid())
            .ok()
            .flatten()
            .is_some()
        {
            return Err(rb::SubmitError::AlreadyInChain);
        }
        match self.rt.block_on(self.node.submit_tx(tx)) {
            Ok(Ok(id)) => Ok(id),
            Ok(Err(e)) => Err(e.into()),
            Err(e) => Err(rb::SubmitError::Internal(e.to_string())),
        }
    }

    fn mempool_entries(&self) -> Vec<rb::MempoolEntry> {
        let now = unix_secs(SystemTime::now());
        self.ask(|reply| Command::MempoolEntries { reply })
            .unwrap_or_default()
            .into_iter()
            .map(|e| rb::MempoolEntry {
                txid: e.txid,
                size: e.size,
                fee: e.fee,
                time_secs: now.saturating_sub(e.age.as_secs()),
                depends: e.depends,
            })
            .collect()
    }

    fn mempool_info(&self) -> rb::MempoolInfo {
        let limits = &self.node.spec.mempool;
        self.node.with_snapshot(|s| rb::MempoolInfo {
            count: s.mempool.count,
            bytes: s.mempool.bytes,
            total_fee: s.mempool.total_fee,
            max_count: limits.max_txs,
            max_bytes: limits.max_bytes,
            min_fee_rate: s.mempool.entry_fee_rate,
            min_relay_fee_rate: limits.min_fee_rate,
        })
    }

    fn peers(&self) -> Vec<rb::PeerInfo> {
        self.node
            .with_peers(|peers| peers.iter().map(rpc_peer).collect())
    }

    fn node_info(&self) -> rb::NodeInfo {
        rb::NodeInfo {
            version: 100,
            user_agent: format!("/timecoin:{}/", env!("CARGO_PKG_VERSION")),
            protocol_version: crate::p2p::message::PROTOCOL_VERSION,
            local_addresses: vec![self.node.p2p_addr.to_string()],
            // The node has no switch to pause networking (no `setnetworkactive`; node::start
            // always starts the p2p layer), so networking is active whenever the node answers.
            network_active: true,
            relay_fee_rate: self.node.spec.mempool.min_fee_rate,
        }
    }

    fn add_node(&self, addr: &str, command: rb::AddNodeCommand) -> Result<(), rb::NetError> {
        if addr.parse::<std::net::SocketAddr>().is_err() && !addr.contains(':') {
            return Err(rb::NetError::InvalidParameter(format!(
                "{addr}: expected host:port"
            )));
        }
        let p2p = &self.node.p2p;
        match command {
            rb::AddNodeCommand::Add if p2p.is_fixed_peer(addr) => {
                Err(rb::NetError::NodeAlreadyAdded)
            }
            rb::AddNodeCommand::Add => {
                p2p.connect(addr.to_string());
                Ok(())
            }
            rb::AddNodeCommand::OneTry => {
                p2p.connect_once(addr.to_string());
                Ok(())
            }
            rb::AddNodeCommand::Remove if p2p.disconnect_fixed(addr) => Ok(()),
            rb::AddNodeCommand::Remove => Err(rb::NetError::NodeNotAdded),
        }
    }

    fn set_ban(&self, subnet: &str, action: rb::BanAction) -> Result<(), rb::NetError> {
        match action {
            rb::BanAction::Add { .. }
                if self.list_banned().iter().any(|b| b.target() == subnet) =>
            {
                Err(rb::NetError::AlreadyBanned)
            }
            rb::BanAction::Add { until_secs } => {
                let now = unix_secs(SystemTime::now());
                // The p2p layer cuts a ban longer than MAX_BAN; nothing here can overflow.
                let secs = until_secs.saturating_sub(now).max(1);
                self.node
                    .p2p
                    .ban(subnet, Duration::from_secs(secs))
                    .map_err(|e| rb::NetError::InvalidParameter(e.to_string()))
            }
            rb::BanAction::Remove => match self.node.p2p.unban(subnet) {
                Ok(true) => Ok(()),
                Ok(false) => Err(rb::NetError::NotBanned),
                Err(e) => Err(rb::NetError::InvalidParameter(e.to_string())),
            },
        }
    }

    fn list_banned(&self) -> Vec<rb::BanEntry> {
        self.node.p2p.bans()
    }

    fn consensus_info(&self) -> rb::ConsensusInfo {
        self.node.with_snapshot(consensus_info)
    }

    fn masternodes(&self) -> Vec<rb::MasternodeInfo> {
        self.node.with_snapshot(|s| {
            let last: std::collections::HashMap<_, _> = s.last_votes.iter().copied().collect();
            s.masternodes
                .iter()
                .map(|m| rb::MasternodeInfo {
                    node_key: m.node_key,
                    tier: m.tier,
                    collateral: m.collateral,
                    p2p_addr: m.p2p_addr.clone(),
                    payout: m.payout,
                    state: m.state_at(s.height),
                    registered_height: m.registered_height,
                    last_vote_height: last.get(&m.node_key).map(|v| v.height),
                })
                .collect()
        })
    }

    fn masternode_status(&self) -> rb::OwnMasternodeStatus {
        if !self.node.spec.masternode {
            return rb::OwnMasternodeStatus::Disabled;
        }
        let me = self.node.spec.node_key.public();
        match self.masternodes().into_iter().find(|m| m.node_key == me) {
            Some(m) => rb::OwnMasternodeStatus::Registered(m),
            None => rb::OwnMasternodeStatus::NotRegistered { node_key: me },
        }
    }

    fn wallet_balances(&self) -> Result<rb::WalletBalances, rb::WalletError> {
        self.wallet(|reply| WalletRequest::Balances { reply })
    }

    fn wallet_new_address(&self, label: &str) -> Result<Address, rb::WalletError> {
        let label = label.to_string();
        self.wallet(|reply| WalletRequest::NewAddress { label, reply })
    }

    fn wallet_unspent(&self) -> Result<Vec<rb::WalletUtxo>, rb::WalletError> {
        self.wallet(|reply| WalletRequest::Unspent { reply })
    }

    fn wallet_transactions(
        &self,
        count: usize,
        skip: usize,
    ) -> Result<Vec<rb::WalletTxEntry>, rb::WalletError> {
        self.wallet(|reply| WalletRequest::Transactions { count, skip, reply })
    }

    fn wallet_transaction(
        &self,
        txid: &Hash,
    ) -> Result<Option<rb::WalletTransaction>, rb::WalletError> {
        let txid = *txid;
        self.wallet(|reply| WalletRequest::Transaction { txid, reply })
    }

    fn wallet_send(&self, req: rb::SendRequest) -> Result<Hash, rb::WalletError> {
        self.wallet(|reply| WalletRequest::Send { req, reply })
    }

    fn wallet_unlock(
        &self,
        passphrase: &SecretString,
        timeout_secs: u64,
    ) -> Result<(), rb::WalletError> {
        let passphrase = zeroize::Zeroizing::new(passphrase.expose_secret().to_string());
        self.wallet(|reply| WalletRequest::Unlock {
            passphrase,
            timeout_secs,
            reply,
        })
    }

    fn wallet_lock(&self) -> Result<(), rb::WalletError> {
        self.wallet(|reply| WalletRequest::Lock { reply })
    }

    fn wallet_set_label(&self, address: &Address, label: &str) -> Result<(), rb::WalletError> {
        let (address, label) = (*address, label.to_string());
        self.wallet(|reply| WalletRequest::SetLabel {
            address,
            label,
            reply,
        })
    }

    fn wallet_masternode(
        &self,
        req: rb::MasternodeTxRequest,
    ) -> Result<rb::MasternodeTxReport, rb::WalletError> {
        self.wallet(|reply| WalletRequest::Masternode { req, reply })
    }

    fn wallet_prepare_send(
        &self,
        req: rb::SendRequest,
    ) -> Result<rb::SendPreviewInfo, rb::WalletError> {
        self.wallet(|reply| WalletRequest::PrepareSend { req, reply })
    }

    fn wallet_confirm_send(&self, preview_id: u64) -> Result<Hash, rb::WalletError> {
        self.wallet(|reply| WalletRequest::ConfirmSend { preview_id, reply })
    }

    fn snapshot_changes(&self) -> Option<watch::Receiver<u64>> {
        self.feed.as_ref().map(|_| self.seq.clone())
    }

    fn node_snapshot(&self, max_logs: usize) -> Option<(u64, serde_json::Value)> {
        let (logs, devnet_nodes) = self.feed.as_ref()?;
        let logs = logs.tail(max_logs);
        let build = |wallet: &PublishedWallet| {
            self.node.with_snapshot_and_peers(|snap, peers| {
                let names = devnet_names(snap.network, *devnet_nodes);
                let vm = view_model(snap, peers, &wallet.summary, &logs, &names);
                (snap.seq.wrapping_add(wallet.version), vm)
            })
        };
        let (seq, vm) = match &self.wallet {
            Some(w) => w.with_view(build),
            None => build(&PublishedWallet::default()),
        };
        // Encoded outside the borrows.
        match serde_json::to_value(&vm) {
            Ok(v) => Some((seq, v)),
            Err(e) => {
                tracing::error!(target: "rpc", "cannot encode the node snapshot: {e}");
                None
            }
        }
    }
}

/// `getconsensusinfo`'s answer from the node's snapshot `s`.
fn consensus_info(s: &NodeSnapshot) -> rb::ConsensusInfo {
    // The running round's start as the vote log recorded it (else its step's), on the
    // wall clock: ms since the Unix epoch.
    let started = s
        .consensus
        .as_ref()
        .and_then(|c| {
            let log = &s.votes.rounds;
            log.iter()
                .find(|r| r.height == c.height && r.round == c.round)
        })
        .map(|r| r.started)
        .or(s.step_since);
    let round_started_ms = started
        .map(|t| {
            use crate::node::io::Clock;
            let ago = t.elapsed().as_millis() as u64;
            crate::node::io::SystemClock.unix_ms().saturating_sub(ago)
        })
        .unwrap_or(0);
    match &s.consensus {
        Some(c) => rb::ConsensusInfo {
            height: c.height,
            round: c.round,
            step: c.step,
            proposer: Some(c.proposer),
            proposal: c.proposal,
            locked: c.locked,
            validators: c.validators.iter().map(|v| (v.key, v.weight)).collect(),
            prevotes: c
                .validators
                .iter()
                .filter_map(|v| {
                    v.prevote.map(|b| rb::VoteSeen {
                        voter: v.key,
                        block: b,
                    })
                })
                .collect(),
            precommits: c
                .validators
                .iter()
                .filter_map(|v| {
                    v.precommit.map(|b| rb::VoteSeen {
                        voter: v.key,
                        block: b,
                    })
                })
                .collect(),
            round_started_ms,
        },
        None => rb::ConsensusInfo {
            height: s.height + 1,
            round: 0,
            step: Step::Propose,
            proposer: None,
            proposal: None,
            locked: None,
            validators: s
                .validators
                .validators()
                .iter()
                .map(|v| (v.key, v.weight))
                .collect(),
            prevotes: vec![],
            precommits: vec![],
            round_started_ms,
        },
    }
}

/// A connected peer as `getpeerinfo` reports it; its `id` is the connection's number, which
/// does not move when other peers come or go.
fn rpc_peer(p: &crate::p2p::PeerInfo) -> rb::PeerInfo {
    rb::PeerInfo {
        id: p.conn_id,
        addr: p.addr.to_string(),
        node_key: Some(p.id),
        inbound: p.direction == crate::p2p::Direction::Inbound,
        latency_ms: p.latency_ms.map(|l| l as f64),
        height: p.height,
        bytes_sent: p.bytes_out,
        bytes_recv: p.bytes_in,
        score: p.score as i64,
        connected_since_secs: unix_secs(p.connected_since),
        protocol_version: crate::p2p::message::PROTOCOL_VERSION,
        user_agent: format!("/timecoin:{}/", env!("CARGO_PKG_VERSION")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seq watch as `getnodesnapshot` waits on it, driven by a stand-in node snapshot
    /// (its seq alone) and a wallet view.
    fn follow(
        wallet: bool,
    ) -> (
        watch::Sender<u64>,
        watch::Sender<PublishedWallet>,
        watch::Receiver<u64>,
        CancellationToken,
    ) {
        let (node_tx, node_rx) = watch::channel(5u64);
        let (wallet_tx, wallet_rx) = watch::channel(PublishedWallet::default());
        let stop = CancellationToken::new();
        let (seq, forward) =
            follow_snapshot_seq(node_rx, |s| *s, wallet.then_some(wallet_rx), stop.clone());
        tokio::spawn(forward);
        (node_tx, wallet_tx, seq, stop)
    }

    /// Waits (at most 5 s) for the next value of `seq`.
    async fn next(seq: &mut watch::Receiver<u64>) -> u64 {
        tokio::time::timeout(Duration::from_secs(5), seq.changed())
            .await
            .expect("the seq moves within 5 s")
            .expect("the forwarder runs");
        *seq.borrow_and_update()
    }

    #[tokio::test]
    async fn a_wallet_change_wakes_the_snapshot_long_poll() {
        let (node_tx, wallet_tx, mut seq, stop) = follow(true);
        assert_eq!(*seq.borrow_and_update(), 5);
        wallet_tx.send_modify(|p| {
            p.version += 1;
            p.summary.view.balance_finalized = 42;
        });
        assert_eq!(next(&mut seq).await, 6, "a new balance moves the seq");
        node_tx.send_replace(9);
        assert_eq!(next(&mut seq).await, 10, "a node change still moves it");
        stop.cancel();
    }

    #[tokio::test]
    async fn without_a_wallet_the_seq_is_the_node_snapshots() {
        let (node_tx, wallet_tx, mut seq, stop) = follow(false);
        wallet_tx.send_modify(|p| p.version += 1);
        node_tx.send_replace(7);
        assert_eq!(next(&mut seq).await, 7);
        stop.cancel();
    }

    /// A p2p peer snapshot with connection number `conn_id`, from devnet node key `key`.
    fn p2p_peer(key: u32, conn_id: u64) -> crate::p2p::PeerInfo {
        crate::p2p::PeerInfo {
            id: crate::ledger::genesis::devnet_node_key(key).public(),
            conn_id,
            addr: "127.0.0.1:1".parse().expect("literal address"),
            direction: crate::p2p::Direction::Outbound,
            latency_ms: None,
            height: None,
            bytes_in: 0,
            bytes_out: 0,
            msgs_in: 0,
            msgs_out: 0,
            score: 0,
            connected_since: std::time::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_peers_id_stays_when_an_earlier_peer_leaves() {
        let (a, b) = (p2p_peer(1, 4), p2p_peer(2, 9));
        let ids = |list: &[crate::p2p::PeerInfo]| -> Vec<u64> {
            list.iter().map(rpc_peer).map(|p| p.id).collect()
        };
        assert_eq!(ids(&[a, b.clone()]), vec![4, 9]);
        assert_eq!(ids(&[b]), vec![9], "b keeps its id once a is gone");
    }
}
