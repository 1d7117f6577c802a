//! The `timed` command: flags, configuration resolution, and running nodes, the devnet, the
//! benchmark and wallet commands.

pub mod args;
pub mod attach;
pub mod bench;
pub mod masternode_cmd;
pub mod node_reader;
pub mod resolve;
pub mod rpc_backend;
pub mod run;
pub mod servers;
pub mod theme;
mod ui_link;
pub mod view;
pub mod wallet_cmd;
pub mod wallet_service;

use crate::node::devnet::DevnetLayout;
use crate::node::logging;
use crate::types::{Amount, Network};
use crate::wallet::Wallet;
use args::{Cli, Cmd, DevnetAction, NodeArgs};
use clap::Parser;
use resolve::Plan;
use run::{run_nodes, wants_ui, RunOptions};
use std::process::ExitCode;
use std::time::Duration;

/// Entry point of `timed`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => run_from_config(&cli.node, None),
        Some(Cmd::Devnet(d)) => match d.action {
            Some(DevnetAction::Init {
                nodes,
                dir,
                base_port,
                full_nodes,
            }) => devnet_init(nodes, full_nodes, dir, base_port),
            None => run_from_config(
                &cli.node,
                Some(DevnetRun {
                    nodes: d.nodes,
                    full_nodes: d.full_nodes,
                    base_port: d.base_port,
                    headless: d.headless,
                }),
            ),
        },
        Some(Cmd::Bench(b)) => bench::run(&b),
        Some(Cmd::Wallet(w)) => wallet_cmd::run(w, &cli.node),
        Some(Cmd::Masternode(m)) => masternode_cmd::run(m, &cli.node),
        Some(Cmd::Attach(a)) => attach::run(&a, &cli.node),
        Some(Cmd::Completions { shell }) => completions(shell, &mut std::io::stdout()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the completion script of `shell` for `timed` to `out`.
pub fn completions(
    shell: args::CompletionShell,
    out: &mut dyn std::io::Write,
) -> Result<(), String> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell.generator(), &mut cmd, "timed", &mut buf);
    out.write_all(&buf)
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the completion script: {e}"))
}

/// `timed devnet` flags.
struct DevnetRun {
    nodes: u32,
    full_nodes: u32,
    base_port: u16,
    headless: bool,
}

fn devnet_init(
    nodes: u32,
    full_nodes: u32,
    dir: std::path::PathBuf,
    base_port: u16,
) -> Result<(), String> {
    if nodes == 0 || nodes > 100 {
        return Err("--nodes must be between 1 and 100".into());
    }
    if full_nodes > 10 {
        return Err("--full-nodes must be between 0 and 10".into());
    }
    if base_port
        .checked_add(((nodes + full_nodes) as u16).saturating_mul(10))
        .is_none()
    {
        return Err("--base-port is too high for that many nodes".into());
    }
    let layout = DevnetLayout {
        nodes,
        base_port,
        dir: dir.clone(),
    };
    let written = layout
        .init(full_nodes)
        .map_err(|e| format!("cannot write into {} (--dir): {e}", dir.display()))?;
    for p in written {
        println!("wrote {}", p.display());
    }
    println!(
        "run node i with: timed --config {}/node<i>/config.toml --headless",
        dir.display()
    );
    if full_nodes > 0 {
        println!(
            "node{nodes}{} not a masternode until registered; it holds the devnet faucet wallet \
             (unless you give it a wallet.dat of its own). Once the nodes run: \
             `timed --config {cfg} masternode register --tier bronze`",
            if full_nodes > 1 {
                " and up are full nodes,"
            } else {
                " is a full node,"
            },
            cfg = dir
                .join(format!("node{nodes}"))
                .join("config.toml")
                .display()
        );
    }
    Ok(())
}

/// The devnet faucet's wallet, in memory, with the configured fee cap.
fn faucet_wallet(max_fee: Amount) -> Result<Wallet, String> {
    let mut wallet = Wallet::devnet_faucet(Network::Devnet).map_err(|e| e.to_string())?;
    wallet.set_max_fee(max_fee);
    tracing::warn!(target: "wallet", "devnet faucet wallet loaded from a PUBLIC, INSECURE mnemonic: devnet only");
    Ok(wallet)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("timed")
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Runs what the configuration says; `devnet` forces an in-process devnet with these settings.
fn run_from_config(args: &NodeArgs, devnet: Option<DevnetRun>) -> Result<(), String> {
    let mut config = resolve::load_config(args).map_err(|e| e.to_string())?;
    let mut headless = args.headless;
    if let Some(d) = devnet {
        config.node.network = Network::Devnet;
        config.devnet.in_process = true;
        config.devnet.nodes = d.nodes;
        config.devnet.full_nodes = d.full_nodes;
        config.devnet.base_port = d.base_port;
        headless |= d.headless;
        config.check().map_err(|e| e.to_string())?;
    }
    let plan = resolve::plan(&config, args).map_err(|e| e.to_string())?;
    let ui = wants_ui(headless);
    let auto_lock = Duration::from_secs(config.wallet.auto_lock_secs);
    let max_fee = config.wallet.max_fee_amount().map_err(|e| e.to_string())?;
    let refresh = Duration::from_millis(config.tui.refresh_ms);
    let theme = config
        .tui
        .theme
        .resolve(std::env::var("NO_COLOR").ok().as_deref());
    match plan {
        Plan::Devnet { layout, specs } => {
            let logs =
                logging::init(&config.node.log_level, Some(&layout.dir), !ui).map_err(|e| {
                    format!("cannot open the log file in {}: {e}", layout.dir.display())
                })?;
            let wallet_node = resolve::devnet_wallet_node(&config);
            // Where the wallet is, for `time-cli` without --rpc-url (see WALLET_NODE_FILE).
            let marker = layout.dir.join(crate::rpc::WALLET_NODE_FILE);
            let line = format!(
                "node{wallet_node} 127.0.0.1:{}\n",
                layout.rpc_port(wallet_node)
            );
            if let Err(e) = std::fs::write(&marker, line) {
                tracing::warn!(target: "node", "cannot write {}: {e}", marker.display());
            }
            tracing::info!(target: "node", "the wallet and the UI are on node{wallet_node} (RPC 127.0.0.1:{})", layout.rpc_port(wallet_node));
            let opts = RunOptions {
                headless,
                wallet: Some(faucet_wallet(max_fee)?),
                auto_lock,
                refresh,
                devnet_nodes: layout.nodes + config.devnet.full_nodes,
                wallet_node: wallet_node as usize,
                theme,
            };
            runtime()?.block_on(run_nodes(specs, opts, logs))
        }
        Plan::Single(spec) => {
            let logs =
                logging::init(&config.node.log_level, Some(&spec.data_dir), !ui).map_err(|e| {
                    format!(
                        "cannot open the log file in {}: {e}",
                        spec.data_dir.display()
                    )
                })?;
            let wpath = resolve::wallet_path(&config);
            let wallet = if wpath.exists() {
                let mut w = Wallet::open(&wpath, spec.network)
                    .map_err(|e| format!("wallet {}: {e}", wpath.display()))?;
                w.set_max_fee(max_fee);
                Some(w)
            } else if resolve::holds_devnet_faucet(&config, spec.network) {
                Some(faucet_wallet(max_fee)?)
            } else {
                None
            };
            let nodes = if spec.network == Network::Devnet {
                config.devnet.nodes + config.devnet.full_nodes
            } else {
                0
            };
            let opts = RunOptions {
                headless,
                wallet,
                auto_lock,
                refresh,
                devnet_nodes: nodes,
                wallet_node: 0,
                theme,
            };
            runtime()?.block_on(run_nodes(vec![*spec], opts, logs))
        }
    }
}
