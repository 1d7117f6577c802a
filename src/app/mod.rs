//! The `timed` command: flags, configuration resolution, and running nodes, the devnet, the
//! benchmark and wallet commands.

pub mod args;
pub mod attach;
pub mod bench;
pub mod resolve;
pub mod rpc_backend;
pub mod run;
pub mod servers;
pub mod theme;
pub mod view;
pub mod wallet_cmd;
pub mod wallet_service;

use crate::node::devnet::DevnetLayout;
use crate::node::logging;
use crate::types::Network;
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
            }) => devnet_init(nodes, dir, base_port),
            None => run_from_config(&cli.node, Some((d.nodes, d.base_port, d.headless))),
        },
        Some(Cmd::Bench(b)) => bench::run(&b),
        Some(Cmd::Wallet(w)) => wallet_cmd::run(w, &cli.node),
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

fn devnet_init(nodes: u32, dir: std::path::PathBuf, base_port: u16) -> Result<(), String> {
    if nodes == 0 || nodes > 100 {
        return Err("--nodes must be between 1 and 100".into());
    }
    let layout = DevnetLayout {
        nodes,
        base_port,
        dir: dir.clone(),
    };
    let written = layout
        .init()
        .map_err(|e| format!("cannot write into {} (--dir): {e}", dir.display()))?;
    for p in written {
        println!("wrote {}", p.display());
    }
    println!(
        "run node i with: timed --config {}/node<i>/config.toml --headless",
        dir.display()
    );
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("timed")
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Runs what the configuration says; `devnet` forces an in-process devnet with these settings.
fn run_from_config(args: &NodeArgs, devnet: Option<(u32, u16, bool)>) -> Result<(), String> {
    let mut config = resolve::load_config(args).map_err(|e| e.to_string())?;
    let mut headless = args.headless;
    if let Some((nodes, base_port, h)) = devnet {
        config.node.network = Network::Devnet;
        config.devnet.in_process = true;
        config.devnet.nodes = nodes;
        config.devnet.base_port = base_port;
        headless |= h;
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
            let mut wallet = Wallet::devnet_faucet(Network::Devnet).map_err(|e| e.to_string())?;
            wallet.set_max_fee(max_fee);
            tracing::warn!(target: "wallet", "devnet faucet wallet loaded from a PUBLIC, INSECURE mnemonic: devnet only");
            let opts = RunOptions {
                headless,
                wallet: Some(wallet),
                auto_lock,
                refresh,
                devnet_nodes: layout.nodes,
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
            } else {
                None
            };
            let nodes = if spec.network == Network::Devnet {
                config.devnet.nodes
            } else {
                0
            };
            let opts = RunOptions {
                headless,
                wallet,
                auto_lock,
                refresh,
                devnet_nodes: nodes,
                theme,
            };
            runtime()?.block_on(run_nodes(vec![*spec], opts, logs))
        }
    }
}
