//! Command-line flags of `timed` (clap). Flags override the environment, which overrides the file.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// TimeCoin full node with masternodes, instant-finality BFT consensus and a terminal wallet.
///
/// With no subcommand, runs a node per ./config.toml (else the data dir's config.toml): the
/// terminal UI when stdout is a terminal, plain logs otherwise. The shipped config.toml runs a
/// local devnet of 4 masternodes and a full node, the UI on the full node with a funded faucet
/// wallet.
#[derive(Parser, Debug)]
#[command(name = "timed", version, about, long_about = None)]
pub struct Cli {
    /// Node options (used when no subcommand is given).
    #[command(flatten)]
    pub node: NodeArgs,
    /// Subcommand.
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// Options of a running node.
#[derive(Args, Debug, Clone, Default)]
pub struct NodeArgs {
    /// Configuration file (default: ./config.toml, else <datadir>/config.toml, where the data
    /// dir is --datadir or the network's default one).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Data directory (overrides [node] datadir).
    #[arg(long, value_name = "DIR", global = true)]
    pub datadir: Option<PathBuf>,
    /// Network: mainnet, testnet or devnet (overrides [node] network).
    #[arg(long, value_name = "NET")]
    pub network: Option<String>,
    /// P2P listen address (overrides [p2p] bind).
    #[arg(long, value_name = "ADDR")]
    pub p2p_bind: Option<String>,
    /// JSON-RPC listen address (overrides [rpc] bind).
    #[arg(long, value_name = "ADDR")]
    pub rpc_bind: Option<String>,
    /// Metrics listen address (overrides [metrics] bind).
    #[arg(long, value_name = "ADDR")]
    pub metrics_bind: Option<String>,
    /// Fixed peer to connect to (repeatable; adds to [p2p] connect).
    #[arg(long, value_name = "ADDR")]
    pub connect: Vec<String>,
    /// No terminal UI: logs to stderr and the log file.
    #[arg(long)]
    pub headless: bool,
    /// Rebuild indexes and the UTXO set from the stored blocks before starting.
    #[arg(long)]
    pub reindex: bool,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run a local devnet of N masternodes (and full nodes) in this process, or write configs
    /// for one process per node.
    Devnet(DevnetArgs),
    /// End-to-end load test on an in-process devnet over real TLS sockets.
    Bench(BenchArgs),
    /// Wallet file management without the UI.
    Wallet(WalletArgs),
    /// Masternode lifecycle of a running node (over its RPC): register, status, update, exit.
    Masternode(MasternodeArgs),
    /// The terminal UI, every tab, against a node running in another process (over its RPC);
    /// leaving it (q, Ctrl-C, a dropped SSH session) never stops the node.
    Attach(AttachArgs),
    /// Print a shell completion script for timed to stdout (bash, zsh or fish).
    ///
    /// bash: `timed completions bash > /etc/bash_completion.d/timed`;
    /// zsh: `timed completions zsh > /usr/local/share/zsh/site-functions/_timed`;
    /// fish: `timed completions fish > ~/.config/fish/completions/timed.fish`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: CompletionShell,
    },
}

/// Shells `timed completions` writes a script for.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionShell {
    /// GNU bash (bash-completion).
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}

impl CompletionShell {
    /// The clap_complete generator of this shell.
    pub fn generator(self) -> clap_complete::Shell {
        match self {
            CompletionShell::Bash => clap_complete::Shell::Bash,
            CompletionShell::Zsh => clap_complete::Shell::Zsh,
            CompletionShell::Fish => clap_complete::Shell::Fish,
        }
    }
}

/// `timed masternode`.
#[derive(Args, Debug)]
pub struct MasternodeArgs {
    /// RPC endpoint of the node (default: the configured node's RPC address).
    #[arg(long, value_name = "URL", global = true)]
    pub rpc_url: Option<String>,
    /// Cookie file (default: the node's data dir .cookie).
    #[arg(long, value_name = "FILE", global = true, conflicts_with = "rpc_user")]
    pub cookie: Option<PathBuf>,
    /// RPC user (with --rpc-password instead of the cookie).
    #[arg(long, value_name = "U", global = true, requires = "rpc_password")]
    pub rpc_user: Option<String>,
    /// RPC password.
    #[arg(
        long,
        value_name = "P",
        global = true,
        env = "TIMECOIN_RPC_PASSWORD",
        hide_env_values = true,
        requires = "rpc_user"
    )]
    pub rpc_password: Option<String>,
    /// Read the node wallet's passphrase from this file if it is locked (else
    /// TIMECOIN_WALLET_PASSPHRASE, else a prompt).
    #[arg(long, value_name = "FILE", global = true)]
    pub passphrase_file: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long, global = true)]
    pub yes: bool,
    /// Action.
    #[command(subcommand)]
    pub action: MasternodeAction,
}

/// Masternode actions.
#[derive(Subcommand, Debug)]
pub enum MasternodeAction {
    /// Register this node as a masternode with the node wallet's funds: makes the exact
    /// collateral (a transfer within the wallet) if needed, waits for it to be final, then
    /// registers; each transaction is previewed and confirmed.
    Register {
        /// Tier: bronze (1,000 TIME), silver (10,000) or gold (100,000).
        #[arg(long, value_name = "TIER", value_parser = ["bronze", "silver", "gold"])]
        tier: String,
        /// Use this wallet output (TXID:VOUT) of exactly the tier's amount as the collateral.
        #[arg(long, value_name = "TXID:VOUT")]
        collateral: Option<String>,
        /// Where rewards go (default: the collateral's address).
        #[arg(long, value_name = "ADDRESS")]
        payout: Option<String>,
        /// P2P address to announce (default: the node's advertised address).
        #[arg(long, value_name = "HOST:PORT")]
        p2p_addr: Option<String>,
        /// Longest wait for the collateral transfer to become final, in seconds.
        #[arg(long, value_name = "SECS", default_value_t = 600)]
        wait_secs: u64,
    },
    /// Show this node's masternode status.
    Status,
    /// Change the announced p2p address and/or payout of this node's masternode.
    Update {
        /// New p2p address.
        #[arg(long, value_name = "HOST:PORT")]
        p2p_addr: Option<String>,
        /// New payout address.
        #[arg(long, value_name = "ADDRESS")]
        payout: Option<String>,
        /// The masternode's collateral (default: this node's registration).
        #[arg(long, value_name = "TXID:VOUT")]
        collateral: Option<String>,
    },
    /// Leave the masternode set; the collateral becomes spendable again.
    Exit {
        /// The masternode's collateral (default: this node's registration).
        #[arg(long, value_name = "TXID:VOUT")]
        collateral: Option<String>,
    },
}

/// `timed attach`.
#[derive(Args, Debug)]
pub struct AttachArgs {
    /// RPC endpoint (default: the configured node's, http://127.0.0.1:<rpc port>).
    #[arg(long, value_name = "URL")]
    pub rpc_url: Option<String>,
    /// Cookie file (default: <datadir>/.cookie, or <datadir>/node0/.cookie for `timed devnet`).
    #[arg(long, value_name = "FILE", conflicts_with = "rpc_user")]
    pub cookie: Option<PathBuf>,
    /// `--rpc-user` and `--rpc-password`.
    #[command(flatten)]
    pub login: RpcLoginArgs,
}

/// `--rpc-user` and `--rpc-password`, the RPC login in place of the cookie (`timed attach` and
/// `time-cli`).
#[derive(Args, Debug)]
pub struct RpcLoginArgs {
    /// RPC user name (with --rpc-password instead of the cookie).
    #[arg(long, value_name = "U", requires = "rpc_password")]
    pub rpc_user: Option<String>,
    /// RPC password.
    #[arg(
        long,
        value_name = "P",
        env = "TIMECOIN_RPC_PASSWORD",
        requires = "rpc_user",
        hide_env_values = true
    )]
    pub rpc_password: Option<String>,
}

impl RpcLoginArgs {
    /// The user name and password, when both are given.
    pub fn user_password(&self) -> Option<(&str, &str)> {
        self.rpc_user.as_deref().zip(self.rpc_password.as_deref())
    }
}

/// `timed devnet`.
#[derive(Args, Debug)]
pub struct DevnetArgs {
    /// Number of masternodes.
    #[arg(long, default_value_t = 4)]
    pub nodes: u32,
    /// Base port: node i uses p2p base+10*i, rpc +1, metrics +2.
    #[arg(long, default_value_t = 24300)]
    pub base_port: u16,
    /// Full nodes after the masternodes (not registered; the first holds the faucet wallet and
    /// the UI shows it, so the Masternodes tab's `g` registers it). 0: the UI shows node 0.
    #[arg(long, default_value_t = 1)]
    pub full_nodes: u32,
    /// No terminal UI.
    #[arg(long)]
    pub headless: bool,
    /// `init`: write DIR/node<i>/config.toml for an N-process devnet instead of running.
    #[command(subcommand)]
    pub action: Option<DevnetAction>,
}

/// `timed devnet init`.
#[derive(Subcommand, Debug)]
pub enum DevnetAction {
    /// Write DIR/node<i>/config.toml and keys so each node can run as its own process.
    Init {
        /// Number of masternodes.
        #[arg(long, default_value_t = 4)]
        nodes: u32,
        /// Directory to write into.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Base port.
        #[arg(long, default_value_t = 24300)]
        base_port: u16,
        /// Full nodes to write after the masternodes (node<N>.., masternode mode on, not
        /// registered).
        #[arg(long, default_value_t = 1)]
        full_nodes: u32,
    },
}

/// `timed bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Number of masternodes.
    #[arg(long, default_value_t = 4)]
    pub nodes: u32,
    /// Transactions to submit.
    #[arg(long, default_value_t = 10_000)]
    pub txs: u64,
    /// Inputs per transaction.
    #[arg(long, default_value_t = 1)]
    pub inputs: u32,
    /// Outputs per transaction.
    #[arg(long, default_value_t = 2)]
    pub outputs: u32,
    /// Print one JSON object instead of a human summary.
    #[arg(long)]
    pub json: bool,
    /// Base port of the bench devnet.
    #[arg(long, default_value_t = 25300)]
    pub base_port: u16,
    /// Most submitted transactions not final yet [default: one full block, 3000]. More raises
    /// throughput a little and latency a lot (waiting in the mempool).
    #[arg(long, value_name = "N")]
    pub in_flight: Option<usize>,
    /// Submit at TXS_PER_S transactions per second, whether or not earlier ones are final (an
    /// open-loop load, as CometBFT's QA runs it), instead of keeping --in-flight outstanding:
    /// finality is then measured at that offered load. --in-flight still caps what is
    /// outstanding [then default: 8000]
    #[arg(long, value_name = "TXS_PER_S")]
    pub rate: Option<u64>,
    /// After the timed phase a fresh node (empty data dir, not a masternode) syncs the chain
    /// over TLS; reports sync_tps and sync_blocks_per_s.
    #[arg(long)]
    pub sync: bool,
    /// Delay every message on the bench's links by MS milliseconds each way (emulated WAN).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Add a uniform random delay in [0, MS] to every message, keeping each link's order.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub jitter_ms: u64,
}

/// `timed wallet`.
#[derive(Args, Debug)]
pub struct WalletArgs {
    /// Wallet file (default: [wallet] file, else <datadir>/wallet.dat).
    #[arg(long, value_name = "FILE", global = true)]
    pub wallet: Option<PathBuf>,
    /// Read the passphrase from this file (else TIMECOIN_WALLET_PASSPHRASE, else a prompt).
    #[arg(long, value_name = "FILE", global = true)]
    pub passphrase_file: Option<PathBuf>,
    /// Network of the wallet's addresses.
    #[arg(long, value_name = "NET", global = true)]
    pub network: Option<String>,
    /// Action.
    #[command(subcommand)]
    pub action: WalletAction,
}

/// Wallet actions.
#[derive(Subcommand, Debug)]
pub enum WalletAction {
    /// Create a new wallet and print its 24-word mnemonic once.
    Create,
    /// Restore a wallet from its mnemonic (read from the prompt or TIMECOIN_WALLET_MNEMONIC).
    Restore,
    /// Show addresses and balances (balances from a running node over RPC).
    Show,
    /// Print the 24-word recovery mnemonic (asks for the passphrase; reads the wallet file, so
    /// it works while the node runs; never offered over RPC or in `timed attach`).
    Mnemonic,
    /// List addresses.
    Addresses,
    /// Send coins through a running node.
    Send {
        /// Recipient address or timecoin: URI.
        to: String,
        /// Amount in TIME (e.g. 1.5).
        amount: String,
        /// Fee rate in units per byte.
        #[arg(long, default_value_t = 1)]
        fee_rate: u64,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Lock the wallet of a running node (RPC walletlock).
    Lock,
}
