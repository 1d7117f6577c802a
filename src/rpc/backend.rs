//! The interface between the RPC layer and the node.
//!
//! The node implements [`RpcBackend`]; the RPC layer turns the plain structs returned here into
//! Bitcoin Core shaped JSON. Every method is synchronous and every call is made on tokio's
//! blocking thread pool (`spawn_blocking`), never on a runtime worker thread: an implementation
//! may read sled, run Argon2 or wait for an async task, e.g. with
//! `tokio::runtime::Handle::block_on(fut)` on a handle it kept. Methods marked "Blocking" below
//! are the ones expected to be slow; the others should answer from in-memory snapshots so that
//! cheap calls stay cheap (they hold one of the server's request slots while they run).

use crate::consensus::Step;
pub use crate::p2p::store::BanEntry;
use crate::types::{
    Address, Amount, Block, BlockHeader, CommitCertificate, Hash, Network, OutPoint, PublicKey,
    Tier, Transaction, TxOut,
};
pub use crate::wallet::WalletError;
use secrecy::SecretString;
use thiserror::Error;

/// What the node tells the RPC layer. See the module documentation for threading rules.
pub trait RpcBackend: Send + Sync + 'static {
    // ----- node -----

    /// `Some(message)` while the node is starting (loading the chain, replaying): every method
    /// except `help`, `uptime` and `stop` then fails with -28 and that message.
    fn warmup(&self) -> Option<String> {
        None
    }
    /// The network this node runs on (addresses are parsed and shown for it).
    fn network(&self) -> Network;
    /// Seconds since the node started.
    fn uptime_secs(&self) -> u64;
    /// Requests a graceful shutdown and returns at once. Blocking.
    fn stop(&self);

    // ----- chain -----

    /// Tip and sync state.
    fn chain_info(&self) -> ChainInfo;
    /// Hash of the finalized block at `height` on the best chain. Blocking.
    fn block_hash(&self, height: u64) -> Option<Hash>;
    /// A finalized block with its commit certificate. Blocking.
    fn block(&self, hash: &Hash) -> Option<BlockWithCert>;
    /// A finalized block header. Blocking.
    fn header(&self, hash: &Hash) -> Option<BlockHeader>;
    /// A transaction from the chain index or the mempool. Blocking.
    fn transaction(&self, txid: &Hash) -> Option<TxLookup>;
    /// An unspent output; with `include_mempool`, outputs spent in the mempool are hidden and
    /// outputs created there are shown. Blocking.
    fn utxo(&self, outpoint: &OutPoint, include_mempool: bool) -> Option<UtxoEntry>;
    /// Unspent outputs paying any of `addrs` (finalized; plus outputs of mempool transactions
    /// when `include_mempool`), each flagged when a mempool transaction spends it.
    fn address_utxos(&self, addrs: &[Address], include_mempool: bool) -> Vec<AddressUtxo>;

    // ----- mempool -----

    /// Validates a transaction, adds it to the mempool and relays it. Blocking.
    fn submit_tx(&self, tx: Transaction) -> Result<Hash, SubmitError>;
    /// Every transaction in the mempool with its size, fee and dependencies.
    fn mempool_entries(&self) -> Vec<MempoolEntry>;
    /// Mempool totals and limits.
    fn mempool_info(&self) -> MempoolInfo;

    // ----- p2p -----

    /// Peers connected now, from the node's latest peers snapshot.
    fn peers(&self) -> Vec<PeerInfo>;
    /// Number of connected peers (default: `peers().len()`).
    fn connection_count(&self) -> usize {
        self.peers().len()
    }
    /// Version and listen addresses.
    fn node_info(&self) -> NodeInfo;
    /// `addnode`: add to / remove from the persistent peer list, or try once.
    fn add_node(&self, addr: &str, command: AddNodeCommand) -> Result<(), NetError>;
    /// `setban`: ban a normalized IP or subnet (`1.2.3.4` or `1.2.3.0/24`) or lift a ban.
    fn set_ban(&self, subnet: &str, action: BanAction) -> Result<(), NetError>;
    /// Bans in force (`listbanned` names each by [`BanEntry::target`]).
    fn list_banned(&self) -> Vec<BanEntry>;

    // ----- consensus and masternodes -----

    /// Height, round, step and votes of the height being decided now.
    fn consensus_info(&self) -> ConsensusInfo;
    /// Every registered masternode (pending, active, banned).
    fn masternodes(&self) -> Vec<MasternodeInfo>;
    /// This node's own masternode status.
    fn masternode_status(&self) -> OwnMasternodeStatus;

    // ----- wallet (all blocking) -----

    /// Finalized and pending balances.
    fn wallet_balances(&self) -> Result<WalletBalances, WalletError>;
    /// A fresh receiving address, remembered under `label`.
    fn wallet_new_address(&self, label: &str) -> Result<Address, WalletError>;
    /// Every unspent output the wallet owns, pending ones included (height `None`).
    fn wallet_unspent(&self) -> Result<Vec<WalletUtxo>, WalletError>;
    /// Wallet history, newest last: `count` entries after skipping the `skip` newest.
    fn wallet_transactions(
        &self,
        count: usize,
        skip: usize,
    ) -> Result<Vec<WalletTxEntry>, WalletError>;
    /// The wallet's transaction `txid` with its entries (`None`: not a wallet transaction).
    fn wallet_transaction(&self, txid: &Hash) -> Result<Option<WalletTransaction>, WalletError>;
    /// Builds, signs and submits a payment (the wallet must be unlocked).
    fn wallet_send(&self, req: SendRequest) -> Result<Hash, WalletError>;
    /// Unlocks the wallet for `timeout_secs` seconds (Argon2 runs here).
    fn wallet_unlock(
        &self,
        passphrase: &SecretString,
        timeout_secs: u64,
    ) -> Result<(), WalletError>;
    /// Locks the wallet now.
    fn wallet_lock(&self) -> Result<(), WalletError>;
    /// Names `address` in the wallet's address book (adds the entry, or renames it):
    /// `setlabel`. Needs no unlocked wallet: the book holds no key. A backend without a
    /// wallet keeps the default.
    fn wallet_set_label(&self, address: &Address, label: &str) -> Result<(), WalletError> {
        let _ = (address, label);
        Err(WalletError::NotLoaded)
    }
    /// Builds (and unless `dry_run`, signs and submits) a masternode transaction of the
    /// wallet for this node: `registermasternode`, `updatemasternode`, `exitmasternode`.
    fn wallet_masternode(
        &self,
        req: MasternodeTxRequest,
    ) -> Result<MasternodeTxReport, WalletError>;
    /// Selects coins and computes the fee of a payment without signing it; the preview is
    /// kept (a few at most, oldest dropped) until [`RpcBackend::wallet_confirm_send`].
    fn wallet_prepare_send(&self, req: SendRequest) -> Result<SendPreviewInfo, WalletError> {
        let _ = req;
        Err(WalletError::Refused(
            "this node cannot preview sends; use sendtoaddress".into(),
        ))
    }
    /// Signs and submits a payment prepared by [`RpcBackend::wallet_prepare_send`].
    fn wallet_confirm_send(&self, preview_id: u64) -> Result<Hash, WalletError> {
        let _ = preview_id;
        Err(WalletError::Refused(
            "this node cannot preview sends; use sendtoaddress".into(),
        ))
    }

    // ----- following the node (`getnodesnapshot`) -----

    /// The sequence number of the node's snapshot, bumped whenever it changes; the server's
    /// `getnodesnapshot` waits on it (asynchronously, outside the blocking pool). `None`: this
    /// backend publishes no snapshot.
    fn snapshot_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
    /// The node's snapshot as the terminal UI shows it (the UI's view model as JSON, no secret
    /// in it), with the newest `max_logs` log lines, and its sequence number. Blocking.
    fn node_snapshot(&self, max_logs: usize) -> Option<(u64, serde_json::Value)> {
        let _ = max_logs;
        None
    }
}

/// What a masternode transaction is to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MasternodeAction {
    /// Register this node's key. Without a collateral output of exactly the tier's amount,
    /// the first call makes one (a self-transfer) and the registration follows once it is
    /// final.
    Register {
        /// Tier (bronze, silver, gold).
        tier: Tier,
        /// Use this wallet output as the collateral (default: one the wallet finds or makes).
        collateral: Option<OutPoint>,
        /// Where rewards go (default: the collateral's address).
        payout: Option<Address>,
        /// The p2p address to announce (default: this node's advertised address).
        p2p_addr: Option<String>,
    },
    /// Change the announced address and/or payout of a registered masternode.
    Update {
        /// Its collateral (default: the registration of this node's key).
        collateral: Option<OutPoint>,
        /// New p2p address (default: unchanged).
        p2p_addr: Option<String>,
        /// New payout address (default: unchanged).
        payout: Option<Address>,
    },
    /// Leave the masternode set; the collateral becomes spendable.
    Exit {
        /// Its collateral (default: the registration of this node's key).
        collateral: Option<OutPoint>,
    },
}

/// A masternode transaction request with its guards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasternodeTxRequest {
    /// The transaction to build and its parameters.
    pub action: MasternodeAction,
    /// Build and report only: nothing is signed into the wallet, nothing is sent.
    pub dry_run: bool,
    /// Refuse if the fee would exceed this.
    pub max_fee: Option<Amount>,
    /// Refuse unless the transaction built is exactly this one (the txid of a dry run: what
    /// was previewed is what is sent).
    pub expect_txid: Option<Hash>,
}

/// Which masternode transaction was built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MasternodeTxKind {
    /// The self-transfer that creates the exact collateral (step 1 of registering).
    FundCollateral,
    /// The registration of a collateral that already exists (step 2 of registering).
    Register,
    /// An update of the announced p2p address and/or payout.
    Update,
    /// An exit: the masternode leaves the set and its collateral becomes spendable.
    Exit,
}

impl MasternodeTxKind {
    /// Name in JSON.
    pub fn name(self) -> &'static str {
        match self {
            MasternodeTxKind::FundCollateral => "fund_collateral",
            MasternodeTxKind::Register => "register",
            MasternodeTxKind::Update => "update",
            MasternodeTxKind::Exit => "exit",
        }
    }
}

/// What a masternode transaction does (a preview when not sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasternodeTxReport {
    /// Which of the masternode transactions this is.
    pub kind: MasternodeTxKind,
    /// Its id (a dry run's is the id the real one will have if nothing changes meanwhile).
    pub txid: Hash,
    /// Submitted to the node.
    pub sent: bool,
    /// The collateral output (for a funding transfer: the output it creates).
    pub collateral: OutPoint,
    /// Tier of the collateral: it sets the collateral's amount and the vote weight.
    pub tier: Tier,
    /// The masternode's node key.
    pub node_key: PublicKey,
    /// Announced p2p address.
    pub p2p_addr: String,
    /// Address the masternode's rewards are paid to.
    pub payout: Address,
    /// Fee in base units.
    pub fee: Amount,
    /// What leaves the wallet (every output pays the wallet back, so this is the fee).
    pub spent: Amount,
    /// Encoded size of the signed transaction in bytes.
    pub size: usize,
    /// Number of wallet outputs the transaction spends.
    pub inputs: usize,
}

/// A payment prepared but not signed: what the user confirms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendPreviewInfo {
    /// Pass to `walletconfirmsend`.
    pub preview_id: u64,
    /// Address the amount is paid to.
    pub address: Address,
    /// Amount to the recipient.
    pub amount: Amount,
    /// Fee in base units (includes change below the dust limit, if any).
    pub fee: Amount,
    /// Change back to a fresh own address.
    pub change: Amount,
    /// Number of wallet outputs the payment spends.
    pub inputs: usize,
    /// Size of the signed transaction in bytes.
    pub size: usize,
}

/// A block and the certificate that made it final.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockWithCert {
    /// The block, header and transactions.
    pub block: Block,
    /// Its commit certificate (`None` only for genesis).
    pub cert: Option<CommitCertificate>,
}

/// Tip and sync state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainInfo {
    /// The network this node runs on.
    pub network: Network,
    /// Chain id (hash of the genesis description).
    pub chain_id: Hash,
    /// Height of the last finalized block.
    pub height: u64,
    /// Hash of the block at `height`.
    pub best_hash: Hash,
    /// Its header time, ms since the Unix epoch.
    pub best_time_ms: u64,
    /// Highest height announced by peers (`None` when unknown).
    pub best_known_height: Option<u64>,
    /// Caught up with peers.
    pub synced: bool,
    /// Coins in existence at the tip, in base units.
    pub total_supply: Amount,
    /// Bytes of the database on disk (0 if unknown).
    pub size_on_disk: u64,
}

/// The finalized block that holds a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainingBlock {
    /// Height of the block.
    pub height: u64,
    /// Hash of the block.
    pub hash: Hash,
    /// Block time, ms since the Unix epoch.
    pub time_ms: u64,
}

/// A transaction and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxLookup {
    /// The transaction as stored or as submitted.
    pub tx: Transaction,
    /// Its finalized block; `None` while it waits in the mempool.
    pub block: Option<ContainingBlock>,
}

/// An unspent output (`gettxout`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UtxoEntry {
    /// The output: its amount and address.
    pub output: TxOut,
    /// Height of the block that created it (`None`: created in the mempool).
    pub height: Option<u64>,
    /// Created by a coinbase.
    pub coinbase: bool,
}

/// An unspent output of an address (`getaddressutxos`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressUtxo {
    /// The output's transaction id and index.
    pub outpoint: OutPoint,
    /// Amount and address of the output.
    pub output: TxOut,
    /// Height of its block; `None` while its transaction is in the mempool.
    pub height: Option<u64>,
    /// A mempool transaction spends it.
    pub spent_in_mempool: bool,
}

/// Why a submitted transaction was not accepted. Mapped to Bitcoin Core's codes.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SubmitError {
    /// Already in the mempool: `sendrawtransaction` still answers with the txid, like Bitcoin
    /// Core.
    #[error("transaction already in the mempool")]
    AlreadyKnown,
    /// Already in a finalized block (-27).
    #[error("transaction already in block chain")]
    AlreadyInChain,
    /// Spends an outpoint that a mempool transaction already spends (-26).
    #[error("txn-mempool-conflict: {0}")]
    Conflict(String),
    /// Inputs unknown or spent (-25).
    #[error("bad-txns-inputs-missingorspent: {0}")]
    MissingInputs(String),
    /// Invalid by policy or consensus: bad signature, fee too low, too large, ... (-26).
    #[error("{0}")]
    Rejected(String),
    /// The mempool is full and the fee rate is too low to evict anything (-26).
    #[error("mempool full")]
    MempoolFull,
    /// Internal failure (-1).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::mempool::MempoolError> for SubmitError {
    /// The RPC class of a mempool verdict (it decides the error code).
    fn from(e: crate::mempool::MempoolError) -> SubmitError {
        use crate::mempool::MempoolError;
        match e {
            MempoolError::AlreadyKnown => SubmitError::AlreadyKnown,
            MempoolError::AlreadyInChain => SubmitError::AlreadyInChain,
            MempoolError::Conflict(other) => SubmitError::Conflict(other.to_hex()),
            MempoolError::Invalid(crate::ledger::TxError::MissingInput(o)) => {
                SubmitError::MissingInputs(format!("{}:{}", o.txid, o.index))
            }
            MempoolError::FeeRateTooLow { .. } => SubmitError::MempoolFull,
            other => SubmitError::Rejected(other.to_string()),
        }
    }
}

/// One mempool transaction (`getrawmempool` verbose).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MempoolEntry {
    /// Id of the transaction.
    pub txid: Hash,
    /// Encoded size in bytes.
    pub size: usize,
    /// Fee in base units.
    pub fee: Amount,
    /// When it entered the mempool, seconds since the Unix epoch.
    pub time_secs: u64,
    /// Txids of mempool transactions it spends from.
    pub depends: Vec<Hash>,
}

/// Mempool totals and limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MempoolInfo {
    /// Number of transactions in the mempool.
    pub count: usize,
    /// Sum of encoded sizes.
    pub bytes: usize,
    /// Sum of fees in base units.
    pub total_fee: Amount,
    /// Most transactions the mempool holds (configured).
    pub max_count: usize,
    /// Most encoded bytes the mempool holds (configured).
    pub max_bytes: usize,
    /// Lowest fee rate accepted now (base units per byte; rises when the pool is full).
    pub min_fee_rate: u64,
    /// Configured minimum relay fee rate (base units per byte).
    pub min_relay_fee_rate: u64,
}

/// A connected peer.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerInfo {
    /// This node's number for the connection (Bitcoin Core's peer id): fixed while connected,
    /// new after a reconnect, unique since the node started.
    pub id: u64,
    /// Remote socket address, `ip:port`.
    pub addr: String,
    /// The peer's node key once the handshake proved it.
    pub node_key: Option<PublicKey>,
    /// `true`: the peer dialed us; `false`: we dialed it.
    pub inbound: bool,
    /// Last measured round trip in milliseconds.
    pub latency_ms: Option<f64>,
    /// Height the peer last reported.
    pub height: Option<u64>,
    /// Bytes sent to it.
    pub bytes_sent: u64,
    /// Bytes received from it.
    pub bytes_recv: u64,
    /// Misbehaviour score (0 = good).
    pub score: i64,
    /// Connection time, seconds since the Unix epoch.
    pub connected_since_secs: u64,
    /// Protocol version from its Hello.
    pub protocol_version: u32,
    /// User agent from its Hello, e.g. `/TimeCoin:0.1.0/`.
    pub user_agent: String,
}

/// Version and listen addresses of this node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// Numeric client version, e.g. 100 for 0.1.0 (`major*10000 + minor*100 + patch`).
    pub version: u32,
    /// User agent, e.g. `/TimeCoin:0.1.0/`.
    pub user_agent: String,
    /// P2P protocol version.
    pub protocol_version: u32,
    /// Addresses this node listens on.
    pub local_addresses: Vec<String>,
    /// `false`: peer-to-peer networking is off and the network commands fail with -9.
    pub network_active: bool,
    /// Minimum relay fee rate, base units per byte.
    pub relay_fee_rate: u64,
}

/// `addnode` commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddNodeCommand {
    /// Add to the list of peers to keep connected.
    Add,
    /// Remove from that list.
    Remove,
    /// Connect once now; not added to the list.
    OneTry,
}

/// `setban` actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BanAction {
    /// Ban until this time, seconds since the Unix epoch.
    Add {
        /// Seconds since the Unix epoch.
        until_secs: u64,
    },
    /// Lift the ban on the subnet.
    Remove,
}

/// Errors of the network commands, mapped to Bitcoin Core's codes.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NetError {
    /// Bad parameter (-8).
    #[error("{0}")]
    InvalidParameter(String),
    /// `addnode add` for a node already added (-23).
    #[error("Error: Node already added")]
    NodeAlreadyAdded,
    /// `addnode remove` for a node never added (-24).
    #[error("Error: Node could not be removed. It has not been added previously.")]
    NodeNotAdded,
    /// Already banned (-23).
    #[error("Error: IP/Subnet already banned")]
    AlreadyBanned,
    /// Unban of something not banned (-30).
    #[error("Error: Unban failed. Requested address/subnet was not previously manually banned.")]
    NotBanned,
    /// P2P disabled (-9).
    #[error("Error: Peer-to-peer functionality missing or disabled")]
    Disabled,
}

/// A vote seen in the current round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VoteSeen {
    /// Voter's node key.
    pub voter: PublicKey,
    /// Block voted for (`None` = nil).
    pub block: Option<Hash>,
}

/// Live consensus state of the height being decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsensusInfo {
    /// Height being decided (one above the last finalized block).
    pub height: u64,
    /// Round within that height, from 0.
    pub round: u32,
    /// Step (`Propose` also while the node waits between heights).
    pub step: Step,
    /// Proposer of this round.
    pub proposer: Option<PublicKey>,
    /// Hash of the proposal received this round.
    pub proposal: Option<Hash>,
    /// Locked round and block.
    pub locked: Option<(u32, Hash)>,
    /// Validator set of this height: (node key, weight).
    pub validators: Vec<(PublicKey, u64)>,
    /// Prevotes of this round.
    pub prevotes: Vec<VoteSeen>,
    /// Precommits of this round.
    pub precommits: Vec<VoteSeen>,
    /// When this round started, ms since the Unix epoch.
    pub round_started_ms: u64,
}

/// Registry state of a masternode: the ledger's rule, named once.
pub use crate::ledger::MasternodeState;

/// One registered masternode (`listmasternodes`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasternodeInfo {
    /// The masternode's node key: it signs its votes.
    pub node_key: PublicKey,
    /// Tier of the collateral: it sets the collateral's amount and the vote weight.
    pub tier: Tier,
    /// The output locked as collateral; it names the registration.
    pub collateral: OutPoint,
    /// Announced p2p address.
    pub p2p_addr: String,
    /// Address the masternode's rewards are paid to.
    pub payout: Address,
    /// Pending, active or banned.
    pub state: MasternodeState,
    /// Height of the registration.
    pub registered_height: u64,
    /// Height of the last vote seen from it.
    pub last_vote_height: Option<u64>,
}

/// This node as a masternode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnMasternodeStatus {
    /// Masternode mode is off in this node's configuration.
    Disabled,
    /// Masternode mode on, but no registration on chain for this node key yet.
    NotRegistered {
        /// This node's key.
        node_key: PublicKey,
    },
    /// Registered on chain under this node's key.
    Registered(MasternodeInfo),
}

/// Wallet balances in base units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletBalances {
    /// In finalized blocks and spendable.
    pub finalized: Amount,
    /// Incoming, not yet final.
    pub pending: Amount,
    /// Locked as masternode collateral.
    pub locked: Amount,
}

/// An unspent wallet output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletUtxo {
    /// Id of the creating transaction and index of the output.
    pub outpoint: OutPoint,
    /// The wallet address the output pays.
    pub address: Address,
    /// Label of that address.
    pub label: String,
    /// Value in base units.
    pub amount: Amount,
    /// Height of the block that created it (`None` = pending).
    pub height: Option<u64>,
    /// Spendable now (not masternode collateral).
    pub spendable: bool,
}

/// Kind of a wallet history entry (Bitcoin Core's `category`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalletTxCategory {
    /// The wallet paid out (self-transfers included).
    Send,
    /// The wallet received.
    Receive,
    /// A block reward to the wallet.
    Generate,
}

impl WalletTxCategory {
    /// Bitcoin Core's name.
    pub fn name(self) -> &'static str {
        match self {
            WalletTxCategory::Send => "send",
            WalletTxCategory::Receive => "receive",
            WalletTxCategory::Generate => "generate",
        }
    }
}

/// One wallet history entry: one output paid to or from the wallet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletTxEntry {
    /// Id of the transaction.
    pub txid: Hash,
    /// Send, receive or block reward.
    pub category: WalletTxCategory,
    /// The output's address: the payee's (send) or our own (receive); `None` with `vout`.
    pub address: Option<Address>,
    /// Absolute value (negated in JSON for sends).
    pub amount: Amount,
    /// Fee paid (sends only).
    pub fee: Option<Amount>,
    /// Index of the output in the transaction; `None` for an entry that stands for the whole
    /// transaction (one with no output to list, such as a masternode registration).
    pub vout: Option<u32>,
    /// Memo the wallet keeps for the transaction (empty when none).
    pub label: String,
    /// Containing block (`None` = pending).
    pub block: Option<(u64, Hash)>,
    /// When the wallet first saw it, seconds since the Unix epoch.
    pub time_secs: u64,
    /// Rejected or conflicted: will not confirm.
    pub abandoned: bool,
}

/// One wallet transaction with all its entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletTransaction {
    /// The transaction as signed.
    pub tx: Transaction,
    /// Entries (see [`WalletTxEntry`]); same txid, block and time.
    pub entries: Vec<WalletTxEntry>,
}

/// A payment request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendRequest {
    /// Address the amount is paid to.
    pub address: Address,
    /// Amount in base units; the recipient gets it less the fee when `subtract_fee_from_amount`.
    pub amount: Amount,
    /// Deduct the fee from the amount instead of adding it.
    pub subtract_fee_from_amount: bool,
    /// Fee rate, base units per byte (`None`: the node's minimum).
    pub fee_rate: Option<u64>,
    /// Free text kept in the wallet.
    pub comment: String,
}
