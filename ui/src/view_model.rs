//! Plain view-model structs: everything the screens show, as data.
//!
//! The node builds a [`ViewModel`] from its snapshots and publishes it on a
//! `tokio::sync::watch` channel; the UI only reads it. Values the node does not
//! know are `None` and render as "unknown", never as zero. Secrets (passphrases,
//! mnemonics) never appear here.

/// Everything the terminal UI shows, as one owned snapshot.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewModel {
    /// Identity and health of this node (header and overview).
    pub node: NodeInfo,
    /// Chain tip, finality and throughput (Overview tab).
    pub overview: OverviewView,
    /// Live Tendermint round state (Consensus tab).
    pub consensus: ConsensusView,
    /// Connected peers (Peers tab).
    pub peers: PeersView,
    /// Transaction pool (Mempool tab).
    pub mempool: MempoolView,
    /// Active masternode set (Masternodes tab).
    pub masternodes: MasternodesView,
    /// Wallet state without any secret (Wallet tab).
    pub wallet: WalletView,
    /// Recent tracing output (Logs tab).
    pub logs: LogsView,
    /// A fatal or serious node error, shown prominently on every tab.
    pub node_error: Option<String>,
    /// Set when the UI is attached to a node over RPC and lost it: why, while it retries
    /// (the data shown is the last it received; `published_unix_ms` says how old).
    pub disconnected: Option<String>,
    /// When the node published the snapshot this view shows, ms since the Unix epoch on the
    /// node's clock. Every "at snapshot time" figure below is as of then; the UI ages them
    /// with its own clock ([`crate::App::tick`]) and shows "updated Ns ago". `None` when the
    /// node cannot tell.
    pub published_unix_ms: Option<u64>,
}

/// Identity and health of the local node.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeInfo {
    /// Network name: "mainnet", "testnet" or "devnet".
    pub network: Option<String>,
    /// Short form of this node's public key.
    pub node_id_short: Option<String>,
    /// Software version, e.g. "0.1.0".
    pub version: Option<String>,
    /// Own masternode status as text, e.g. "active (silver)" or "not a masternode".
    pub masternode_status: Option<String>,
    /// This node's key is not registered, so the Masternodes tab's register key applies
    /// (the Overview says so).
    pub can_register: bool,
    /// Waiting for peers, catching up, or at the tip.
    pub sync: SyncState,
    /// Seconds since the node started.
    pub uptime_secs: Option<u64>,
}

/// Block synchronisation state of the node.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SyncState {
    /// The node has not reported a sync state.
    #[default]
    Unknown,
    /// No peers to sync from.
    WaitingForPeers,
    /// Downloading and verifying blocks.
    Syncing {
        /// Height verified so far.
        current: u64,
        /// Best height announced by peers, if known.
        target: Option<u64>,
        /// Blocks applied per ten seconds as the node last measured it (tenths of blocks per
        /// second: the view model stays `Eq`); `None` before the first measure.
        blocks_per_10s: Option<u64>,
        /// Seconds until `target` at that rate, as the node computed it.
        secs_left: Option<u64>,
    },
    /// At the tip of the best known chain.
    Synced,
}

/// Chain tip, finality and throughput for the Overview tab.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OverviewView {
    /// Height of the last final block.
    pub height: Option<u64>,
    /// Short hash of the last final block.
    pub tip_hash_short: Option<String>,
    /// How long the last block took from proposal to commit certificate, ms.
    pub last_finality_ms: Option<u64>,
    /// Seconds since the last block became final (at snapshot time).
    pub last_block_age_secs: Option<u64>,
    /// Finalized transactions per second, oldest first (sparkline).
    pub tx_per_sec_history: Vec<u64>,
    /// Finality latency per block in ms, oldest first (sparkline).
    pub finality_ms_history: Vec<u64>,
    /// Number of connected peers.
    pub peer_count: Option<usize>,
}

/// Step of a Tendermint round.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsensusStep {
    /// Waiting for (or making) the proposal.
    Propose,
    /// Collecting prevotes for the proposal (or nil).
    Prevote,
    /// Collecting precommits; entered once more than 2/3 of the weight prevoted.
    Precommit,
    /// A value has a commit certificate; applying the block.
    Commit,
}

impl std::fmt::Display for ConsensusStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConsensusStep::Propose => "propose",
            ConsensusStep::Prevote => "prevote",
            ConsensusStep::Precommit => "precommit",
            ConsensusStep::Commit => "commit",
        })
    }
}

/// What one masternode voted in one step of the current round.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum VoteState {
    /// No vote received (yet).
    #[default]
    NotVoted,
    /// Voted for a value (block), identified by a short hash.
    Value(String),
    /// Voted nil: for no block in this round.
    Nil,
}

/// One masternode's votes in the current round.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidatorVoteRow {
    /// Display name or short id of the masternode.
    pub name: String,
    /// Voting weight (1, 10 or 100).
    pub weight: u64,
    /// Whether this masternode proposes in the current round.
    pub is_proposer: bool,
    /// Whether this row is the local node.
    pub is_self: bool,
    /// Prevote for the current round.
    pub prevote: VoteState,
    /// Precommit for the current round.
    pub precommit: VoteState,
    /// When the prevote arrived, ms after the round started.
    pub prevote_after_ms: Option<u64>,
    /// When the precommit arrived, ms after the round started.
    pub precommit_after_ms: Option<u64>,
}

/// How a consensus round ended.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoundOutcome {
    /// The round committed a block (short hash).
    Committed(String),
    /// More than 2/3 precommitted nil; moved to the next round.
    Nil,
    /// A step timed out; moved to the next round.
    TimedOut,
    /// The round is still running.
    InProgress,
}

/// One recent consensus round.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundRecord {
    /// Height the round belonged to.
    pub height: u64,
    /// Round number within the height.
    pub round: u32,
    /// Duration of the round in ms (elapsed so far when in progress).
    pub duration_ms: Option<u64>,
    /// How the round ended.
    pub outcome: RoundOutcome,
}

/// Live Tendermint state for the Consensus tab.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsensusView {
    /// Height being decided (one above the last final block).
    pub height: Option<u64>,
    /// Round within that height, from 0.
    pub round: Option<u32>,
    /// Step of that round.
    pub step: Option<ConsensusStep>,
    /// Milliseconds spent in the current step (at snapshot time).
    pub step_elapsed_ms: Option<u64>,
    /// Proposer of the current round (name or short id).
    pub proposer: Option<String>,
    /// Locked value (short hash) and the round it was locked in.
    pub locked: Option<(String, u32)>,
    /// Valid value (short hash) and the round it became valid in.
    pub valid: Option<(String, u32)>,
    /// Every member of the active set with its votes in the current round
    /// (between heights: in the round that decided the last height).
    pub validators: Vec<ValidatorVoteRow>,
    /// Recent rounds, newest first.
    pub recent_rounds: Vec<RoundRecord>,
    /// Set while no height runs: the node waits for the next one.
    pub between_heights: Option<BetweenHeights>,
}

/// What the Consensus tab shows while the node waits between heights.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BetweenHeights {
    /// The last height decided here, and its deciding round (`validators` holds its votes).
    pub decided: Option<(u64, u32)>,
    /// The last height came from a peer by sync, not from votes seen here.
    pub synced: bool,
    /// Milliseconds since the last height was decided (at snapshot time).
    pub decided_ago_ms: Option<u64>,
    /// Transactions waiting in the mempool (the next height starts as soon as there are any).
    pub pending_txs: Option<usize>,
    /// Milliseconds until an idle node starts the next height anyway (at snapshot time).
    pub next_height_in_ms: Option<u64>,
}

/// Direction of a peer connection.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerDirection {
    /// The peer connected to us.
    Inbound,
    /// We connected to the peer.
    Outbound,
}

/// One connected peer (Peers tab).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRow {
    /// Devnet name of the peer if known, else the first 8 hex digits of its node key.
    pub id_short: String,
    /// Socket address, e.g. "127.0.0.1:24100".
    pub address: String,
    /// Who opened the connection.
    pub direction: PeerDirection,
    /// Last measured ping round trip.
    pub latency_ms: Option<u64>,
    /// Last height the peer announced.
    pub height: Option<u64>,
    /// Bytes received from the peer.
    pub bytes_in: u64,
    /// Bytes sent to the peer.
    pub bytes_out: u64,
    /// Misbehaviour score (higher is worse; a ban follows at the limit).
    pub score: i64,
    /// Seconds since the connection was established.
    pub connected_secs: u64,
}

/// Connected peers for the Peers tab.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeersView {
    /// Connected peers, one row each.
    pub rows: Vec<PeerRow>,
}

/// One transaction in the mempool.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MempoolTxRow {
    /// First 8 hex digits of the transaction id.
    pub txid_short: String,
    /// Serialized size in bytes.
    pub size_bytes: u64,
    /// Fee rate in base units per byte.
    pub fee_rate: u64,
    /// Seconds since the transaction entered the pool.
    pub age_secs: u64,
}

/// Transaction pool for the Mempool tab.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MempoolView {
    /// Number of transactions in the pool.
    pub count: Option<usize>,
    /// Total serialized size in bytes.
    pub bytes: Option<u64>,
    /// Lowest fee rate in the pool, units per byte.
    pub min_fee_rate: Option<u64>,
    /// Median fee rate in the pool, units per byte.
    pub median_fee_rate: Option<u64>,
    /// Highest fee rate in the pool, units per byte.
    pub max_fee_rate: Option<u64>,
    /// Newest transactions, newest first.
    pub newest: Vec<MempoolTxRow>,
}

/// Where a member stands, as the node derived it (the tab counts, colours and warns by it;
/// `MasternodeRow::status` is its text).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Standing {
    /// Active with voting weight in the next height.
    #[default]
    Voting,
    /// Active without a vote (free tier): relays only.
    Relay,
    /// Registered, not active yet.
    Pending,
    /// Removed from the set for equivocation (double-signing).
    Banned,
}

/// One member of the masternode set.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasternodeRow {
    /// Devnet name of the masternode if known, else the first 8 hex digits of its node key.
    pub id_short: String,
    /// Tier as text: "free", "bronze", "silver", "gold".
    pub tier: String,
    /// Voting weight from the tier: 0 (free), 1, 10 or 100.
    pub weight: u64,
    /// Status as text, e.g. "active", "pending (activates at 120)", "banned".
    pub status: String,
    /// The standing the status text words.
    pub standing: Standing,
    /// Height of the last vote seen from this masternode.
    pub last_vote_height: Option<u64>,
    /// Round of the last vote seen from this masternode.
    pub last_vote_round: Option<u32>,
    /// Address that receives block rewards.
    pub payout_address: String,
    /// Whether this row is the local node.
    pub is_self: bool,
}

/// Masternode set for the Masternodes tab.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MasternodesView {
    /// Every registered masternode: pending, active and banned.
    pub rows: Vec<MasternodeRow>,
}

/// Whether a wallet address is for receiving or for change.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressKind {
    /// Handed out to payers.
    Receive,
    /// Used for change outputs of own sends.
    Change,
}

/// One own address (Wallet tab, Addresses).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressRow {
    /// The bech32m address.
    pub address: String,
    /// User label (may be empty).
    pub label: String,
    /// Whether the address is handed out or used for change.
    pub kind: AddressKind,
}

/// Direction of a wallet transaction.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxDirection {
    /// Paid to the wallet from outside.
    Incoming,
    /// Paid from the wallet to someone else.
    Outgoing,
    /// Sent to an own address.
    SelfTransfer,
}

/// Finality status of a wallet transaction.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// In the mempool, not yet final.
    Pending,
    /// In a block with a commit certificate.
    Final,
    /// A conflicting spend became final; this one never will.
    Conflicted,
}

/// One wallet history entry.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    /// First 8 hex digits of the transaction id.
    pub txid_short: String,
    /// In, out or self.
    pub direction: TxDirection,
    /// Net amount moved, base units.
    pub amount_units: u64,
    /// Fee paid, base units (known for own sends).
    pub fee_units: Option<u64>,
    /// Pending, final or conflicted.
    pub status: TxStatus,
    /// Height of the block holding it.
    pub height: Option<u64>,
    /// Time (unix seconds): block time when final, first seen otherwise.
    pub time_unix: Option<u64>,
}

/// One address-book entry.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRow {
    /// Name of the contact.
    pub label: String,
    /// Their address, bech32m.
    pub address: String,
}

/// Wallet state (no secrets) for the Wallet tab.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WalletView {
    /// Whether a wallet file is loaded.
    pub loaded: bool,
    /// Shown wherever the wallet is named: its file stem, or the faucet's name.
    pub name: Option<String>,
    /// Whether the keys are locked.
    pub locked: bool,
    /// When the wallet locks itself, ms since the Unix epoch on the node's clock: stamped once
    /// when it is unlocked, so a republished view carries the same deadline and the UI counts
    /// down to it with its own clock ([`crate::App::tick`]). `None` when locked or unlocked
    /// without auto-lock.
    pub auto_lock_at_unix_ms: Option<u64>,
    /// Spendable balance from final transactions, base units.
    pub balance_finalized: u64,
    /// Balance from pending (not yet final) incoming transactions, base units.
    pub balance_pending: u64,
    /// Own addresses, receive and change.
    pub addresses: Vec<AddressRow>,
    /// Transaction history, newest first.
    pub history: Vec<HistoryRow>,
    /// Named addresses of others, as the user saved them.
    pub contacts: Vec<ContactRow>,
    /// Address to show on the receive screen.
    pub receive_address: Option<String>,
    /// Payment URI for the receive screen, `timecoin:<address>?amount=..`.
    pub receive_uri: Option<String>,
}

/// Severity of a log line.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Very verbose.
    Trace,
    /// Verbose.
    Debug,
    /// Normal operation.
    Info,
    /// Something is off.
    Warn,
    /// Something failed.
    Error,
}

impl std::fmt::Display for LogLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
        })
    }
}

/// One tracing event as the Logs tab shows it.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Severity of the event.
    pub level: LogLevel,
    /// Tracing target, e.g. "consensus::round".
    pub target: String,
    /// Formatted message with fields.
    pub message: String,
    /// Time of the event, unix milliseconds.
    pub time_unix_ms: u64,
}

/// Recent log lines for the Logs tab.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogsView {
    /// Lines, oldest first (the ring buffer's content).
    pub lines: Vec<LogLine>,
    /// Lines dropped because the ring buffer was full.
    pub dropped: u64,
}
