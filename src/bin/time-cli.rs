//! `time-cli`: sends one JSON-RPC command to a running `timed` and prints the result.
//!
//! Exit codes: 0 ok, 1 RPC error (code and message on stderr), 2 usage, 3 cannot connect (or no
//! credentials found), 4 authorization failed. String results are printed without quotes (as
//! bitcoin-cli does), `null` prints nothing, anything else prints as indented JSON.

use clap::Parser;
use serde_json::{Map, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use timecoin::app::args::RpcLoginArgs;
use timecoin::rpc::auth::{basic_header, COOKIE_FILE};
use timecoin::rpc::client::{ClientError, RpcClient};
use timecoin::rpc::endpoint::{cookie_path, Credentials};
use timecoin::rpc::{default_data_dir, default_rpc_addr, devnet_wallet_node, json, methods};
use timecoin::types::Network;

#[derive(Parser, Debug)]
#[command(
    name = "time-cli",
    version,
    about = "Send a JSON-RPC command to a running TimeCoin node (timed)",
    after_help = "Arguments are parsed as JSON when they parse (numbers, true/false, arrays, objects) \
and passed as strings otherwise; parameters the method documents as strings are always strings.\n\
Run `time-cli help` for the list of methods and `time-cli help METHOD` for one.\n\n\
Exit codes: 0 ok, 1 RPC error, 2 usage, 3 cannot connect, 4 authorization failed."
)]
struct Cli {
    /// Network, selects the default data dir and RPC port.
    #[arg(long, env = "TIMECOIN_NODE_NETWORK", default_value = "devnet", value_parser = parse_network)]
    network: Network,
    /// Data dir holding the node's `.cookie` (default: the network's default data dir).
    #[arg(long, value_name = "DIR")]
    datadir: Option<PathBuf>,
    /// RPC endpoint (default: http://127.0.0.1:<network rpc port>).
    #[arg(long, value_name = "URL")]
    rpc_url: Option<String>,
    /// Cookie file to authenticate with (default: DATADIR/.cookie).
    #[arg(long, value_name = "FILE", conflicts_with = "rpc_user")]
    cookie: Option<PathBuf>,
    #[command(flatten)]
    login: RpcLoginArgs,
    /// Pass arguments as name=value pairs (named parameters).
    #[arg(long)]
    named: bool,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 900, value_name = "SECS")]
    rpc_timeout: u64,
    /// The RPC method, e.g. getblockchaininfo.
    method: String,
    /// Its arguments.
    #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
    args: Vec<String>,
}

fn parse_network(s: &str) -> Result<Network, String> {
    s.parse()
}

/// A positional argument: JSON if it parses and the parameter is not documented as a string.
fn arg_value(method: &str, index: Option<usize>, name: Option<&str>, raw: &str) -> Value {
    let spec = methods::find(method);
    let ty = spec.and_then(|s| match (index, name) {
        (Some(i), _) => s.params.get(i).map(|p| p.ty),
        (None, Some(n)) => s.params.iter().find(|p| p.name == n).map(|p| p.ty),
        _ => None,
    });
    if ty == Some("string") {
        return Value::String(raw.to_string());
    }
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let params = if cli.named {
        let mut o = Map::new();
        for a in &cli.args {
            let Some((k, v)) = a.split_once('=') else {
                eprintln!("error: with --named every argument must be name=value (got {a:?})");
                return ExitCode::from(2);
            };
            o.insert(k.to_string(), arg_value(&cli.method, None, Some(k), v));
        }
        Value::Object(o)
    } else {
        Value::Array(
            cli.args
                .iter()
                .enumerate()
                .map(|(i, a)| arg_value(&cli.method, Some(i), None, a))
                .collect(),
        )
    };
    let dir = cli
        .datadir
        .clone()
        .unwrap_or_else(|| default_data_dir(cli.network));
    // An in-process devnet (`timed devnet`, `cargo run`) without --rpc-url: the node that holds
    // the wallet, as the devnet recorded it.
    let front = match &cli.rpc_url {
        None if !dir.join(COOKIE_FILE).exists() => devnet_wallet_node(&dir),
        _ => None,
    };
    let url = cli
        .rpc_url
        .clone()
        .or_else(|| front.as_ref().map(|(_, addr)| format!("http://{addr}")))
        .unwrap_or_else(|| format!("http://{}", default_rpc_addr(cli.network)));
    let auth = match cli.login.user_password() {
        Some((u, p)) => basic_header(u, p),
        None => {
            let path = cli.cookie.clone().unwrap_or_else(|| {
                // The in-process devnet: the wallet node's, as it recorded it.
                match &front {
                    Some((node_dir, _)) => node_dir.join(COOKIE_FILE),
                    None => cookie_path(&dir),
                }
            });
            match Credentials::Cookie(path).header() {
                Ok(h) => h,
                Err(e) => {
                    eprintln!(
                        "error: {e}\nIs timed running on {}? \
                         Otherwise pass --datadir, --cookie FILE or --rpc-user/--rpc-password.",
                        cli.network
                    );
                    return ExitCode::from(3);
                }
            }
        }
    };
    let mut client = match RpcClient::new(&url, Some(auth)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e} (--rpc-url)");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let timeout = Duration::from_secs(cli.rpc_timeout.max(1));
    let res = rt
        .block_on(async { tokio::time::timeout(timeout, client.call(&cli.method, params)).await });
    let addr = client.addr().to_string();
    match res {
        Err(_) => {
            eprintln!(
                "error: no answer from {addr} within {} s (--rpc-timeout)",
                timeout.as_secs()
            );
            ExitCode::from(3)
        }
        Ok(Ok(v)) => {
            let out = match &v {
                Value::Null => Vec::new(),
                Value::String(s) => format!("{}\n", s.trim_end_matches('\n')).into_bytes(),
                other => {
                    let mut b = json::write_json(other, true);
                    b.push(b'\n');
                    b
                }
            };
            // A closed pipe (e.g. `| head`) is not an error worth a panic.
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(&out).and_then(|()| stdout.flush());
            ExitCode::SUCCESS
        }
        Ok(Err(ClientError::Rpc(e))) => {
            eprintln!("error code: {}\nerror message:\n{}", e.code, e.message);
            ExitCode::from(1)
        }
        Ok(Err(ClientError::Auth)) => {
            eprintln!(
                "error: authorization failed at {addr}: incorrect --rpc-user/--rpc-password, or a \
                 stale cookie (restarted node? check --datadir)"
            );
            ExitCode::from(4)
        }
        Ok(Err(ClientError::Connect { source, .. })) => {
            eprintln!("error: cannot connect to {addr}: {source}\nIs timed running? tried {addr}");
            ExitCode::from(3)
        }
        Ok(Err(e @ ClientError::Transport(_))) => {
            eprintln!("error: {e} (talking to {addr})");
            ExitCode::from(3)
        }
        Ok(Err(e @ ClientError::BadUrl(_))) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
