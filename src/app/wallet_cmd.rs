//! `timed wallet ...`: wallet file management without the UI. Balances and sends go through the
//! running node's JSON-RPC server.

use super::args::{NodeArgs, WalletAction, WalletArgs};
use super::resolve;
use crate::rpc::client::RpcClient;
use crate::types::{Address, Amount, Hash, Network, OutPoint, PaymentUri, Transaction, TxOut};
use crate::wallet::{ChainTxStatus, KdfParams, Wallet, WalletChain, WalletUtxo};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use zeroize::Zeroizing;

/// Runs a wallet action.
pub fn run(args: WalletArgs, node: &NodeArgs) -> Result<(), String> {
    let config = resolve::load_config(node).map_err(|e| e.to_string())?;
    let network: Network = match &args.network {
        Some(n) => n.parse()?,
        None => config.node.network,
    };
    let path = args
        .wallet
        .clone()
        .unwrap_or_else(|| resolve::wallet_path(&config));
    match &args.action {
        WalletAction::Create => create(&path, network, &args),
        WalletAction::Restore => restore(&path, network, &args),
        WalletAction::Addresses => {
            let w = open(&path, network)?;
            for a in w.addresses() {
                let kind = if a.change { "change " } else { "receive" };
                println!("{kind} {} {}", a.address.encode(network), a.label);
            }
            Ok(())
        }
        WalletAction::Show => show(&path, network, &config, &args),
        WalletAction::Mnemonic => mnemonic(&path, network, &args),
        WalletAction::Send {
            to,
            amount,
            fee_rate,
            yes,
        } => send(&path, network, &config, &args, to, amount, *fee_rate, *yes),
        WalletAction::Lock => {
            let mut c = client(&config, network)?;
            rpc_call(&mut c, "walletlock", json!([]))?;
            println!("the node's wallet is locked");
            Ok(())
        }
    }
}

fn open(path: &Path, network: Network) -> Result<Wallet, String> {
    Wallet::open(path, network).map_err(|e| format!("wallet {}: {e}", path.display()))
}

/// The passphrase from `--passphrase-file`, `TIMECOIN_WALLET_PASSPHRASE`, or a prompt.
pub(super) fn passphrase(
    file: Option<&Path>,
    prompt: &str,
    confirm: bool,
) -> Result<Zeroizing<String>, String> {
    if let Some(f) = file {
        let s = Zeroizing::new(
            std::fs::read_to_string(f)
                .map_err(|e| format!("--passphrase-file {}: {e}", f.display()))?,
        );
        return Ok(Zeroizing::new(s.trim_end_matches(['\n', '\r']).to_string()));
    }
    if let Ok(p) = std::env::var("TIMECOIN_WALLET_PASSPHRASE") {
        return Ok(Zeroizing::new(p));
    }
    let p = read_secret(prompt)?;
    if confirm {
        let again = read_secret("repeat the passphrase: ")?;
        if *again != *p {
            return Err("the passphrases differ; nothing was written".into());
        }
    }
    Ok(p)
}

/// Reads a line without echo from the terminal (or a plain line when stdin is not a terminal).
/// Asks "sign and send? [y/N]" on the terminal; anything but yes is the error "not sent".
pub(super) fn confirm_send() -> Result<(), String> {
    eprint!("sign and send? [y/N] ");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    if matches!(line.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err("not sent".into())
    }
}

pub(super) fn read_secret(prompt: &str) -> Result<Zeroizing<String>, String> {
    use crossterm::event::{read, Event, KeyCode, KeyEvent, KeyModifiers};
    use crossterm::terminal::{disable_raw_mode, enable_raw_mode};
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    if !std::io::stdin().is_terminal() {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        return Ok(Zeroizing::new(
            line.trim_end_matches(['\n', '\r']).to_string(),
        ));
    }
    enable_raw_mode().map_err(|e| e.to_string())?;
    let mut s = Zeroizing::new(String::new());
    let result = loop {
        match read() {
            Ok(Event::Key(KeyEvent {
                code, modifiers, ..
            })) => match code {
                KeyCode::Enter => break Ok(()),
                KeyCode::Backspace => {
                    s.pop();
                }
                KeyCode::Char('c') if modifiers.contains(KeyModifiers::CONTROL) => {
                    break Err("cancelled".to_string())
                }
                KeyCode::Esc => break Err("cancelled".to_string()),
                KeyCode::Char(c) => s.push(c),
                _ => {}
            },
            Ok(_) => {}
            Err(e) => break Err(e.to_string()),
        }
    };
    let _ = disable_raw_mode();
    eprintln!();
    result.map(|_| s)
}

/// A new wallet never overwrites a file.
fn refuse_existing(path: &Path) -> Result<(), String> {
    if path.exists() {
        return Err(format!(
            "{} already exists; choose another file with --wallet",
            path.display()
        ));
    }
    Ok(())
}

/// The passphrase of a new wallet (a prompt asks for it twice).
fn new_passphrase(args: &WalletArgs) -> Result<Zeroizing<String>, String> {
    passphrase(
        args.passphrase_file.as_deref(),
        "new wallet passphrase: ",
        true,
    )
}

/// The wallet's first receiving address, encoded for `network`.
fn first_address(w: &Wallet, network: Network) -> String {
    w.receive_address()
        .map(|a| a.encode(network))
        .unwrap_or_default()
}

fn create(path: &Path, network: Network, args: &WalletArgs) -> Result<(), String> {
    refuse_existing(path)?;
    let p = new_passphrase(args)?;
    let (w, words) = Wallet::create(path, &p, network, KdfParams::default())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    println!("wallet written to {}", path.display());
    println!("first address: {}", first_address(&w, network));
    println!();
    println!("Recovery phrase (write it down, keep it offline; anyone with it owns the coins):");
    println!("{}", *words);
    Ok(())
}

fn restore(path: &Path, network: Network, args: &WalletArgs) -> Result<(), String> {
    refuse_existing(path)?;
    let words = match std::env::var("TIMECOIN_WALLET_MNEMONIC") {
        Ok(w) => Zeroizing::new(w),
        Err(_) => read_secret("recovery phrase (24 words): ")?,
    };
    let p = new_passphrase(args)?;
    let w = Wallet::restore(path, &words, &p, network, KdfParams::default())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    println!("wallet restored to {}", path.display());
    println!("first address: {}", first_address(&w, network));
    Ok(())
}

/// The RPC client of the configured node.
fn client(config: &crate::config::Config, network: Network) -> Result<RpcClient, String> {
    client_for(config, network, None, None)
}

/// The RPC client of the configured node ([`resolve::rpc_url`] and
/// [`resolve::rpc_credentials`]: the wallet node of an in-process devnet), or of `url` with
/// `auth` (an `Authorization` header value) where given.
pub(super) fn client_for(
    config: &crate::config::Config,
    network: Network,
    url: Option<&str>,
    auth: Option<String>,
) -> Result<RpcClient, String> {
    let _ = network;
    let auth = match auth {
        Some(a) => a,
        None => resolve::rpc_credentials(config).header().map_err(|e| {
            format!("{e} (is timed running? else pass --cookie or --rpc-user/--rpc-password)")
        })?,
    };
    let url = url.map_or_else(|| resolve::rpc_url(config), str::to_string);
    RpcClient::new(&url, Some(auth)).map_err(|e| format!("{e} (--rpc-url)"))
}

pub(super) fn rpc_call(c: &mut RpcClient, method: &str, params: Value) -> Result<Value, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(c.call(method, params))
        .map_err(|e| format!("{method}: {e}"))
}

/// Chain data for a wallet, fetched over RPC.
struct RpcChain {
    utxos: Vec<WalletUtxo>,
    spent_in_mempool: HashSet<OutPoint>,
    statuses: std::collections::HashMap<Hash, ChainTxStatus>,
    chain_id: Hash,
    min_fee_rate: u64,
}

impl RpcChain {
    fn fetch(c: &mut RpcClient, w: &Wallet, network: Network) -> Result<RpcChain, String> {
        let addrs: Vec<String> = w
            .addresses()
            .iter()
            .map(|a| a.address.encode(network))
            .collect();
        let info = rpc_call(c, "getblockchaininfo", json!([]))?;
        let chain_id = info
            .get("chainid")
            .and_then(Value::as_str)
            .and_then(Hash::from_hex)
            .ok_or("the node did not report its chain id")?;
        let res = rpc_call(
            c,
            "getaddressutxos",
            json!([{ "addresses": addrs, "mempool": true }]),
        )?;
        let mut utxos = Vec::new();
        let mut spent_in_mempool = HashSet::new();
        for u in res.as_array().cloned().unwrap_or_default() {
            let parsed = (|| {
                let txid = Hash::from_hex(u.get("txid")?.as_str()?)?;
                let index = u.get("outputIndex")?.as_u64()? as u32;
                let address = Address::parse(u.get("address")?.as_str()?, network).ok()?;
                let amount = Amount(u.get("satoshis")?.as_u64()?);
                let height = u.get("height").and_then(Value::as_u64);
                let spent = u
                    .get("spentinmempool")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                Some((
                    OutPoint { txid, index },
                    TxOut { amount, address },
                    height,
                    spent,
                ))
            })();
            if let Some((outpoint, output, height, spent)) = parsed {
                if spent {
                    spent_in_mempool.insert(outpoint);
                }
                utxos.push(WalletUtxo {
                    outpoint,
                    output,
                    height,
                });
            }
        }
        let min_fee_rate = rpc_call(c, "getmempoolinfo", json!([]))
            .ok()
            .and_then(|v| v.get("minrelaytxfee").and_then(Value::as_f64))
            .map(|per_kb| ((per_kb * 1e8) / 1000.0).round().max(1.0) as u64)
            .unwrap_or(1);
        let mut chain = RpcChain {
            utxos,
            spent_in_mempool,
            statuses: Default::default(),
            chain_id,
            min_fee_rate,
        };
        // The history lists the ids; their statuses come from the node one by one.
        let mut statuses = std::collections::HashMap::new();
        for h in w.history(&chain) {
            let r = rpc_call(c, "getrawtransaction", json!([h.txid.to_hex(), true]));
            let st = match r {
                Ok(v) => match v.get("blockheight").and_then(Value::as_u64) {
                    Some(height) => ChainTxStatus::Final { height },
                    None => ChainTxStatus::Pending,
                },
                Err(_) => ChainTxStatus::Unknown,
            };
            statuses.insert(h.txid, st);
        }
        chain.statuses = statuses;
        Ok(chain)
    }
}

impl WalletChain for RpcChain {
    fn utxos(&self, addrs: &[Address]) -> Vec<WalletUtxo> {
        self.utxos
            .iter()
            .filter(|u| addrs.contains(&u.output.address))
            .cloned()
            .collect()
    }
    fn spent_in_mempool(&self, o: &OutPoint) -> bool {
        self.spent_in_mempool.contains(o)
    }
    fn tx_status(&self, txid: &Hash) -> ChainTxStatus {
        self.statuses
            .get(txid)
            .copied()
            .unwrap_or(ChainTxStatus::Unknown)
    }
    /// Not fetched: these commands show balances and send, never the history's amounts.
    fn transaction(&self, _txid: &Hash) -> Option<Transaction> {
        None
    }
    fn chain_id(&self) -> Hash {
        self.chain_id
    }
    fn min_fee_rate(&self) -> u64 {
        self.min_fee_rate
    }
}

/// Prints the wallet's addresses and balances. Needs no passphrase, but one given with
/// `--passphrase-file` or `TIMECOIN_WALLET_PASSPHRASE` is checked (a wrong one is an error, so
/// a script can test a passphrase file with `show`); none is prompted for.
/// `timed wallet mnemonic`: the master secret, on the terminal of the machine that holds the
/// wallet file only.
fn mnemonic(path: &Path, network: Network, args: &WalletArgs) -> Result<(), String> {
    let w = open(path, network)?;
    let p = passphrase(
        args.passphrase_file.as_deref(),
        "wallet passphrase: ",
        false,
    )?;
    let words = w
        .reveal_mnemonic(&p)
        .map_err(|e| format!("wallet {}: {e}", path.display()))?;
    eprintln!(
        "Anyone who sees these 24 words can take every coin in this wallet; write them on paper only."
    );
    println!("{}", words.as_str());
    Ok(())
}

fn show(
    path: &Path,
    network: Network,
    config: &crate::config::Config,
    args: &WalletArgs,
) -> Result<(), String> {
    let w = open(path, network)?;
    let checked = if args.passphrase_file.is_some()
        || std::env::var_os("TIMECOIN_WALLET_PASSPHRASE").is_some()
    {
        let p = passphrase(args.passphrase_file.as_deref(), "", false)?;
        w.check_passphrase(&p)
            .map_err(|e| format!("wallet {}: {e}", path.display()))?;
        ", passphrase checked"
    } else {
        ""
    };
    println!(
        "wallet {} ({}{checked})",
        w.name(),
        if w.is_locked() { "locked" } else { "unlocked" }
    );
    for a in w.addresses() {
        let kind = if a.change { "change " } else { "receive" };
        println!("  {kind} {} {}", a.address.encode(network), a.label);
    }
    let chain = client(config, network).and_then(|mut c| RpcChain::fetch(&mut c, &w, network));
    match chain {
        Ok(chain) => {
            let b = w.balances(&chain);
            println!("finalized {} TIME", b.finalized);
            println!("pending   {} TIME", b.pending);
            if b.collateral.0 > 0 {
                println!("collateral {} TIME (within finalized)", b.collateral);
            }
        }
        Err(e) => println!("balances unknown: {e}"),
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn send(
    path: &Path,
    network: Network,
    config: &crate::config::Config,
    args: &WalletArgs,
    to: &str,
    amount: &str,
    fee_rate: u64,
    yes: bool,
) -> Result<(), String> {
    let (to, amount) = if to.starts_with("timecoin:") {
        let uri = PaymentUri::parse(to, network).map_err(|e| e.to_string())?;
        let a = match uri.amount {
            Some(a) => a,
            None => Amount::parse_time(amount).map_err(|e| format!("amount {amount:?}: {e}"))?,
        };
        (uri.address, a)
    } else {
        (
            Address::parse(to, network).map_err(|e| format!("recipient: {e}"))?,
            Amount::parse_time(amount).map_err(|e| format!("amount {amount:?}: {e}"))?,
        )
    };
    let mut w = open(path, network)?;
    w.set_max_fee(config.wallet.max_fee_amount().map_err(|e| e.to_string())?);
    let p = passphrase(
        args.passphrase_file.as_deref(),
        "wallet passphrase: ",
        false,
    )?;
    w.unlock(&p, std::time::Duration::from_secs(60))
        .map_err(|e| e.to_string())?;
    let mut c = client(config, network)?;
    let chain = RpcChain::fetch(&mut c, &w, network)?;
    let preview = w
        .prepare_send(&chain, to, amount, fee_rate)
        .map_err(|e| e.to_string())?;
    println!("recipient {}", preview.recipient.encode(network));
    println!("amount    {} TIME", preview.amount);
    println!(
        "fee       {} TIME ({} bytes at {} units/byte)",
        preview.fee, preview.size, preview.fee_rate
    );
    println!("change    {} TIME", preview.change);
    if !yes {
        confirm_send()?;
    }
    let tx: Transaction = w.confirm_send(preview).map_err(|e| e.to_string())?;
    let hex_tx = hex::encode(crate::types::Encode::to_bytes(&tx));
    let r = rpc_call(&mut c, "sendrawtransaction", json!([hex_tx]))?;
    println!("sent {}", r.as_str().unwrap_or_default());
    Ok(())
}
