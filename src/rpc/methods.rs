//! The method table (one list drives dispatch, parameter names and `help`) and the handlers.

use super::backend::{
    AddNodeCommand, BanAction, ConsensusStep, MasternodeAction, MasternodeTxRequest,
    OwnMasternodeStatus, RpcBackend, SendRequest, SubmitError, TxLocation, VoteSeen, WalletTxEntry,
};
use super::error::{code, RpcErr};
use super::json;
use crate::types::{
    Address, Amount, BlockHeader, Decode, Encode, Hash, OutPoint, Tier, Transaction,
};
use secrecy::SecretString;
use serde_json::{json, Map, Value};
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One parameter of a method.
#[derive(Debug)]
pub struct Param {
    /// Name for named-parameter calls and help.
    pub name: &'static str,
    /// JSON type shown in help.
    pub ty: &'static str,
    /// Must be present.
    pub required: bool,
    /// Description (with the default for optional ones).
    pub help: &'static str,
}

/// One RPC method.
#[derive(Debug)]
pub struct MethodSpec {
    /// Method name.
    pub name: &'static str,
    /// Help category.
    pub category: &'static str,
    /// Parameters in positional order.
    pub params: &'static [Param],
    /// What it does and returns.
    pub help: &'static str,
}

const fn req(name: &'static str, ty: &'static str, help: &'static str) -> Param {
    Param {
        name,
        ty,
        required: true,
        help,
    }
}
const fn opt(name: &'static str, ty: &'static str, help: &'static str) -> Param {
    Param {
        name,
        ty,
        required: false,
        help,
    }
}
const fn m(
    name: &'static str,
    category: &'static str,
    params: &'static [Param],
    help: &'static str,
) -> MethodSpec {
    MethodSpec {
        name,
        category,
        params,
        help,
    }
}

/// Every method, in help order.
pub static METHODS: &[MethodSpec] = &[
    m("getbestblockhash", "Blockchain", &[], "Returns the hash of the last finalized block (hex)."),
    m("getblock", "Blockchain", &[
        req("blockhash", "string", "The block hash"),
        opt("verbosity", "numeric", "0 for hex-encoded data, 1 for a JSON object with transaction ids, 2 with full transactions (default 1; true = 1, false = 0)"),
    ], "Returns a finalized block with its commit certificate."),
    m("getblockchaininfo", "Blockchain", &[], "Returns chain state: chain, blocks, headers, bestblockhash, time, verificationprogress, initialblockdownload, size_on_disk, chainid, totalsupply, synced."),
    m("getblockcount", "Blockchain", &[], "Returns the height of the last finalized block."),
    m("getblockhash", "Blockchain", &[req("height", "numeric", "The height index")], "Returns the hash of the finalized block at a height."),
    m("getblockheader", "Blockchain", &[
        req("blockhash", "string", "The block hash"),
        opt("verbose", "boolean", "true for a JSON object, false for hex-encoded data (default true)"),
    ], "Returns a block header."),
    m("getmempoolinfo", "Blockchain", &[], "Returns mempool size, bytes, fees and limits (maxmempool in bytes: [mempool] max_bytes, default 314572800 = 300 MiB)."),
    m("getrawmempool", "Blockchain", &[
        opt("verbose", "boolean", "true for an object keyed by txid, false for an array of txids (default false)"),
    ], "Returns the transaction ids in the mempool."),
    m("getaddressutxos", "Blockchain", &[
        req("addresses", "object", "{\"addresses\": [\"address\", ...], \"mempool\": bool} or an array of addresses (at most 1,000)"),
    ], "Returns the unspent outputs of addresses (Dash/Insight style): address, txid, outputIndex, satoshis, height (null while in the mempool), spentinmempool."),
    m("gettxout", "Blockchain", &[
        req("txid", "string", "The transaction id"),
        req("n", "numeric", "The output index"),
        opt("include_mempool", "boolean", "Whether to include the mempool (default true)"),
    ], "Returns an unspent transaction output, or null if it is spent or unknown."),
    m("getconsensusinfo", "Consensus", &[], "Returns the live Tendermint state: height, round, step, proposer, validator set with weights and the votes of the current round."),
    m("listmasternodes", "Consensus", &[
        opt("filter", "string", "Only masternodes whose tier, status, node key or address contains this text"),
    ], "Returns every registered masternode."),
    m("getmasternodestatus", "Consensus", &[], "Returns this node's own masternode status."),
    m("registermasternode", "Consensus", &[
        req("tier", "string", "bronze (1,000 TIME), silver (10,000) or gold (100,000)"),
        opt("options", "object", "{\"collateral\": \"txid:vout\" (a wallet output of exactly the tier's amount; default: one the wallet finds, else a self-transfer makes one first), \"payout\": address (default: the collateral's), \"p2paddr\": \"host:port\" (default: this node's advertised address), \"dryrun\": bool (preview only, default false), \"maxfee\": TIME (refuse a higher fee), \"txid\": hex (refuse unless the transaction built is this dry run's)}"),
    ], "Registers this node's key as a masternode with the wallet's funds. Without an exact collateral output it first sends a self-transfer that makes one (step \"fund_collateral\"); call again once that is final. Returns step, txid, sent, collateral, tier, nodekey, p2paddr, payout, fee, spent. The wallet must be unlocked."),
    m("updatemasternode", "Consensus", &[
        opt("options", "object", "{\"p2paddr\": \"host:port\", \"payout\": address (each default: unchanged), \"collateral\": \"txid:vout\" (default: this node's registration), \"dryrun\", \"maxfee\", \"txid\" as for registermasternode}"),
    ], "Changes a registered masternode's announced address or payout. Same result as registermasternode."),
    m("exitmasternode", "Consensus", &[
        opt("options", "object", "{\"collateral\": \"txid:vout\" (default: this node's registration), \"dryrun\", \"maxfee\", \"txid\" as for registermasternode}"),
    ], "Takes a masternode out of the set; its collateral becomes spendable again. Same result as registermasternode."),
    m("getnodesnapshot", "Control", &[
        opt("since", "numeric", "The seq of the snapshot the caller holds: the call waits until the node's differs (absent: answer at once)"),
        opt("timeout_ms", "numeric", "Longest wait in milliseconds (default 10000, at most 30000); then the current snapshot is returned"),
        opt("max_logs", "numeric", "Newest log lines to include (default 200, at most 500)"),
    ], "Long poll for `timed attach`: returns {seq, snapshot} as soon as the node's snapshot (seq) differs from `since`, else after the timeout. The snapshot is what the terminal UI shows (every tab, no secrets). At most 8 calls wait at once; more fail with -1."),
    m("help", "Control", &[opt("command", "string", "The command to get help on")], "Lists all commands, or explains one."),
    m("stop", "Control", &[], "Stops the node gracefully."),
    m("uptime", "Control", &[], "Returns the number of seconds the node has been running."),
    m("addnode", "Network", &[
        req("node", "string", "The node address (host:port)"),
        req("command", "string", "'add' to add to the list of peers kept connected, 'remove' to stop redialing it (a connection open now stays), 'onetry' to dial once without adding it"),
    ], "Adds, removes or tries a peer."),
    m("getconnectioncount", "Network", &[], "Returns the number of connected peers."),
    m("getnetworkinfo", "Network", &[], "Returns version, connections, local addresses and relay fee."),
    m("getpeerinfo", "Network", &[], "Returns one object per connected peer."),
    m("listbanned", "Network", &[], "Returns the banned IPs and subnets."),
    m("setban", "Network", &[
        req("subnet", "string", "IP, subnet (e.g. 192.168.0.6, 192.168.0.0/24, 2001:db8::/32) or node key, as listbanned prints it"),
        req("command", "string", "'add' to ban, 'remove' to unban"),
        opt("bantime", "numeric", "Seconds to ban for (0 or absent = 86400), or an absolute Unix time with absolute=true; at most 100 years"),
        opt("absolute", "boolean", "bantime is an absolute Unix time (default false)"),
    ], "Bans or unbans an IP or subnet."),
    m("decoderawtransaction", "Rawtransactions", &[req("hexstring", "string", "The transaction hex")], "Decodes a raw transaction."),
    m("getrawtransaction", "Rawtransactions", &[
        req("txid", "string", "The transaction id"),
        opt("verbose", "boolean", "false for hex, true for a JSON object (default false; numbers 0/1 accepted)"),
        opt("blockhash", "string", "The block that must contain the transaction"),
    ], "Returns a transaction from the chain or the mempool."),
    m("sendrawtransaction", "Rawtransactions", &[
        req("hexstring", "string", "The signed transaction hex"),
        opt("maxfeerate", "numeric", "Accepted for compatibility and ignored"),
    ], "Submits a signed transaction to the mempool and relays it; returns the txid."),
    m("validateaddress", "Util", &[req("address", "string", "The address to validate")], "Checks an address for this node's network."),
    m("getbalance", "Wallet", &[
        opt("dummy", "string", "Must be excluded or \"*\""),
        opt("minconf", "numeric", "1 (default): finalized only; 0: finalized plus pending"),
        opt("include_watchonly", "boolean", "Ignored"),
    ], "Returns the wallet balance in TIME."),
    m("getbalances", "Wallet", &[], "Returns finalized (trusted), pending (untrusted_pending) and locked balances."),
    m("getnewaddress", "Wallet", &[
        opt("label", "string", "Label for the address (default \"\")"),
        opt("address_type", "string", "Ignored (one address type)"),
    ], "Returns a new receiving address."),
    m("gettransaction", "Wallet", &[
        req("txid", "string", "The transaction id"),
        opt("include_watchonly", "boolean", "Ignored"),
        opt("verbose", "boolean", "Also return the decoded transaction (default false)"),
    ], "Returns a wallet transaction."),
    m("listtransactions", "Wallet", &[
        opt("label", "string", "Must be excluded or \"*\""),
        opt("count", "numeric", "Number of entries (default 10)"),
        opt("skip", "numeric", "Number of newest entries to skip (default 0)"),
        opt("include_watchonly", "boolean", "Ignored"),
    ], "Returns the most recent wallet history entries, oldest first."),
    m("listunspent", "Wallet", &[
        opt("minconf", "numeric", "Minimum confirmations (default 1; 0 includes pending)"),
        opt("maxconf", "numeric", "Maximum confirmations (default 9999999)"),
        opt("addresses", "json array", "Only these addresses"),
        opt("include_unsafe", "boolean", "Include pending outputs not from this wallet (default true)"),
    ], "Returns the wallet's unspent outputs."),
    m("sendtoaddress", "Wallet", &[
        req("address", "string", "The recipient address"),
        req("amount", "numeric or string", "Amount in TIME"),
        opt("comment", "string", "Kept in the wallet"),
        opt("comment_to", "string", "Ignored"),
        opt("subtractfeefromamount", "boolean", "Deduct the fee from the amount (default false)"),
        opt("replaceable", "boolean", "Ignored (instant finality)"),
        opt("conf_target", "numeric", "Ignored"),
        opt("estimate_mode", "string", "Ignored"),
        opt("avoid_reuse", "boolean", "Ignored"),
        opt("fee_rate", "numeric", "Fee rate in base units per byte (default: the node's minimum)"),
        opt("verbose", "boolean", "Ignored"),
    ], "Sends TIME to an address; returns the txid. The wallet must be unlocked."),
    m("setlabel", "Wallet", &[
        req("address", "string", "The address to name"),
        req("label", "string", "The name (not empty; at most 100 characters)"),
    ], "Names an address in the wallet's address book (adds the entry or renames it)."),
    m("walletconfirmsend", "Wallet", &[
        req("previewid", "numeric", "The previewid from walletpreparesend"),
    ], "Signs and submits a payment prepared with walletpreparesend; returns the txid."),
    m("walletlock", "Wallet", &[], "Locks the wallet."),
    m("walletpreparesend", "Wallet", &[
        req("address", "string", "The recipient address"),
        req("amount", "numeric", "The amount in TIME"),
        opt("fee_rate", "numeric", "Fee rate in units per byte (default: the node's minimum)"),
    ], "Selects coins for a payment and returns its preview without signing: previewid, address, amount, fee, change, inputs, size. Confirm with walletconfirmsend (the wallet must be unlocked then)."),
    m("walletpassphrase", "Wallet", &[
        req("passphrase", "string", "The wallet passphrase"),
        req("timeout", "numeric", "Seconds to stay unlocked (at most 100000000); 0 checks the passphrase and locks at once"),
    ], "Unlocks the wallet for a time."),
];

/// The long-poll method, which the server waits for before calling the backend.
pub const LONG_POLL: &str = "getnodesnapshot";
/// Default and longest wait of `getnodesnapshot`.
pub const LONG_POLL_DEFAULT: Duration = Duration::from_secs(10);
/// Longest wait of `getnodesnapshot` (a caller cannot park a request slot for longer).
pub const LONG_POLL_MAX: Duration = Duration::from_secs(30);
/// Most log lines a snapshot carries.
pub const SNAPSHOT_MAX_LOGS: u64 = 500;

/// The parameters of a `getnodesnapshot` call, checked and bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotWait {
    /// The seq the caller holds.
    pub since: Option<u64>,
    /// How long to wait for a different one.
    pub timeout: Duration,
    /// Log lines to include.
    pub max_logs: usize,
}

/// Parses `getnodesnapshot`'s parameters: the timeout is capped at [`LONG_POLL_MAX`], the log
/// lines at [`SNAPSHOT_MAX_LOGS`]; negative or non-numeric values are errors.
pub fn snapshot_wait(p: &Params) -> Result<SnapshotWait, RpcErr> {
    let since = p.opt_u64(0)?;
    let timeout = p
        .opt_u64(1)?
        .map(|ms| Duration::from_millis(ms).min(LONG_POLL_MAX))
        .unwrap_or(LONG_POLL_DEFAULT);
    let max_logs = p.opt_u64(2)?.unwrap_or(200).min(SNAPSHOT_MAX_LOGS) as usize;
    Ok(SnapshotWait {
        since,
        timeout,
        max_logs,
    })
}

/// Methods that answer while the node warms up.
const WARMUP_OK: &[&str] = &["help", "uptime", "stop"];

/// Finds a method.
pub fn find(name: &str) -> Option<&'static MethodSpec> {
    METHODS.iter().find(|m| m.name == name)
}

/// One-line usage: `name "a" ( b )`.
pub fn usage(spec: &MethodSpec) -> String {
    let mut s = spec.name.to_string();
    let mut opened = 0;
    for p in spec.params {
        if p.required {
            s.push_str(&format!(" {}", p.name));
        } else {
            s.push_str(&format!(" ( {}", p.name));
            opened += 1;
        }
    }
    for _ in 0..opened {
        s.push_str(" )");
    }
    s
}

/// Full help of one method.
pub fn method_help(spec: &MethodSpec) -> String {
    let mut s = format!("{}\n\n{}\n", usage(spec), spec.help);
    if !spec.params.is_empty() {
        s.push_str("\nArguments:\n");
        for (i, p) in spec.params.iter().enumerate() {
            let r = if p.required { "required" } else { "optional" };
            s.push_str(&format!(
                "{}. {} ({}, {}) {}\n",
                i + 1,
                p.name,
                p.ty,
                r,
                p.help
            ));
        }
    }
    s
}

/// The list of all methods by category.
pub fn all_help() -> String {
    let mut s = String::new();
    let mut cat = "";
    for spec in METHODS {
        if spec.category != cat {
            if !cat.is_empty() {
                s.push('\n');
            }
            cat = spec.category;
            s.push_str(&format!("== {cat} ==\n"));
        }
        s.push_str(&usage(spec));
        s.push('\n');
    }
    s
}

/// Positional parameters after named ones were mapped (absent = `Null`).
pub struct Params {
    spec: &'static MethodSpec,
    v: Vec<Value>,
}

impl Params {
    /// Checks the request's `params` member against the method's table entry.
    pub fn new(spec: &'static MethodSpec, raw: Option<&Value>) -> Result<Params, RpcErr> {
        let usage_err =
            |why: String| RpcErr::new(code::MISC_ERROR, format!("{why}\n\n{}", method_help(spec)));
        let mut v = vec![Value::Null; spec.params.len()];
        match raw {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                if a.len() > spec.params.len() {
                    return Err(usage_err(format!(
                        "too many parameters: {} takes at most {}",
                        spec.name,
                        spec.params.len()
                    )));
                }
                for (i, x) in a.iter().enumerate() {
                    v[i] = x.clone();
                }
            }
            Some(Value::Object(o)) => {
                for (k, x) in o {
                    let i = spec
                        .params
                        .iter()
                        .position(|p| p.name == k)
                        .ok_or_else(|| RpcErr::param(format!("Unknown named parameter {k}")))?;
                    v[i] = x.clone();
                }
            }
            Some(_) => {
                return Err(RpcErr::new(
                    code::INVALID_REQUEST,
                    "Params must be an array or object",
                ))
            }
        }
        for (i, p) in spec.params.iter().enumerate() {
            if p.required && v[i].is_null() {
                return Err(usage_err(format!(
                    "missing required parameter \"{}\"",
                    p.name
                )));
            }
        }
        Ok(Params { spec, v })
    }

    fn name(&self, i: usize) -> &'static str {
        self.spec.params.get(i).map(|p| p.name).unwrap_or("?")
    }

    fn get(&self, i: usize) -> Option<&Value> {
        self.v.get(i).filter(|x| !x.is_null())
    }

    fn str(&self, i: usize) -> Result<&str, RpcErr> {
        self.opt_str(i)?
            .ok_or_else(|| RpcErr::param(format!("missing {}", self.name(i))))
    }

    fn opt_str(&self, i: usize) -> Result<Option<&str>, RpcErr> {
        match self.get(i) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(RpcErr::type_err(format!(
                "Expected type string for {}",
                self.name(i)
            ))),
        }
    }

    fn opt_u64(&self, i: usize) -> Result<Option<u64>, RpcErr> {
        match self.get(i) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
                RpcErr::param(format!("{} must be a non-negative integer", self.name(i)))
            }),
            Some(_) => Err(RpcErr::type_err(format!(
                "Expected type number for {}",
                self.name(i)
            ))),
        }
    }

    fn opt_i64(&self, i: usize) -> Result<Option<i64>, RpcErr> {
        match self.get(i) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| RpcErr::param(format!("{} must be an integer", self.name(i)))),
            Some(_) => Err(RpcErr::type_err(format!(
                "Expected type number for {}",
                self.name(i)
            ))),
        }
    }

    fn opt_bool(&self, i: usize) -> Result<Option<bool>, RpcErr> {
        match self.get(i) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(RpcErr::type_err(format!(
                "Expected type bool for {}",
                self.name(i)
            ))),
        }
    }

    /// A bool or an integer (0 = false, other = true), as Bitcoin Core accepts for `verbose`.
    fn opt_level(&self, i: usize) -> Result<Option<u64>, RpcErr> {
        match self.get(i) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(u64::from(*b))),
            Some(_) => self.opt_u64(i),
        }
    }

    fn hash(&self, i: usize) -> Result<Hash, RpcErr> {
        let s = self.str(i)?;
        parse_hash(self.name(i), s)
    }

    fn hex(&self, i: usize) -> Result<Vec<u8>, RpcErr> {
        hex::decode(self.str(i)?).map_err(|_| {
            RpcErr::new(
                code::DESERIALIZATION_ERROR,
                "TX decode failed: not hexadecimal",
            )
        })
    }
}

fn parse_hash(name: &str, s: &str) -> Result<Hash, RpcErr> {
    if s.len() != 64 {
        return Err(RpcErr::param(format!(
            "{name} must be of length 64 (not {}, for '{s}')",
            s.len()
        )));
    }
    Hash::from_hex(s)
        .ok_or_else(|| RpcErr::param(format!("{name} must be hexadecimal string (not '{s}')")))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn parse_address(b: &dyn RpcBackend, s: &str) -> Result<Address, RpcErr> {
    Address::parse(s, b.network()).map_err(|e| {
        RpcErr::new(
            code::INVALID_ADDRESS_OR_KEY,
            format!("Invalid TimeCoin address: {e}"),
        )
    })
}

fn decode_tx(bytes: &[u8]) -> Result<Transaction, RpcErr> {
    Transaction::from_bytes(bytes).map_err(|e| {
        RpcErr::new(
            code::DESERIALIZATION_ERROR,
            format!("TX decode failed: {e}"),
        )
    })
}

/// Runs one method (the server calls it on the blocking pool).
pub fn call(b: &dyn RpcBackend, spec: &'static MethodSpec, p: &Params) -> Result<Value, RpcErr> {
    if !WARMUP_OK.contains(&spec.name) {
        if let Some(msg) = b.warmup() {
            return Err(RpcErr::new(code::IN_WARMUP, msg));
        }
    }
    let net = b.network();
    match spec.name {
        "getbestblockhash" => Ok(json!(b.chain_info().best_hash.to_hex())),
        "getblockcount" => Ok(json!(b.chain_info().height)),
        "getblockchaininfo" => {
            let c = b.chain_info();
            let headers = c.best_known_height.unwrap_or(c.height).max(c.height);
            let progress = if headers == 0 {
                1.0
            } else {
                c.height as f64 / headers as f64
            };
            Ok(json!({
                "chain": c.network.name(),
                "blocks": c.height,
                "headers": headers,
                "bestblockhash": c.best_hash.to_hex(),
                "time": c.best_time_ms / 1000,
                "mediantime": c.best_time_ms / 1000,
                "verificationprogress": progress,
                "initialblockdownload": !c.synced,
                "synced": c.synced,
                "size_on_disk": c.size_on_disk,
                "pruned": false,
                "chainid": c.chain_id.to_hex(),
                "totalsupply": json::amount(c.total_supply),
                "warnings": [],
            }))
        }
        "getblockhash" => {
            let h = p.opt_i64(0)?.unwrap_or(-1);
            let tip = b.chain_info().height;
            if h < 0 || h as u64 > tip {
                return Err(RpcErr::param("Block height out of range"));
            }
            b.block_hash(h as u64)
                .map(|x| json!(x.to_hex()))
                .ok_or_else(|| RpcErr::param("Block height out of range"))
        }
        "getblock" => {
            let hash = p.hash(0)?;
            let verbosity = p.opt_level(1)?.unwrap_or(1);
            if verbosity > 2 {
                return Err(RpcErr::param("verbosity must be 0, 1 or 2"));
            }
            let bc = b
                .block(&hash)
                .ok_or_else(|| RpcErr::new(code::INVALID_ADDRESS_OR_KEY, "Block not found"))?;
            if verbosity == 0 {
                return Ok(json!(hex::encode(bc.block.to_bytes())));
            }
            let tip = b.chain_info().height;
            let next = b.block_hash(bc.block.header.height.saturating_add(1));
            Ok(json::block(&bc.block, bc.cert.as_ref(), tip, next, verbosity == 2, net))
        }
        "getblockheader" => {
            let hash = p.hash(0)?;
            let verbose = p.opt_bool(1)?.unwrap_or(true);
            let h: BlockHeader = b
                .header(&hash)
                .ok_or_else(|| RpcErr::new(code::INVALID_ADDRESS_OR_KEY, "Block not found"))?;
            if !verbose {
                return Ok(json!(hex::encode(h.to_bytes())));
            }
            let tip = b.chain_info().height;
            let next = b.block_hash(h.height.saturating_add(1));
            let mut m = Map::new();
            json::header(&h, tip, next, &mut m);
            Ok(Value::Object(m))
        }
        "getrawtransaction" => {
            let txid = p.hash(0)?;
            let verbose = p.opt_level(1)?.unwrap_or(0) > 0;
            let want_block = match p.opt_str(2)? {
                Some(s) => Some(parse_hash("blockhash", s)?),
                None => None,
            };
            let not_found = || {
                RpcErr::new(
                    code::INVALID_ADDRESS_OR_KEY,
                    "No such mempool or blockchain transaction. Use gettransaction for wallet transactions.",
                )
            };
            let found = b.transaction(&txid).ok_or_else(not_found)?;
            if let Some(wb) = want_block {
                match &found.location {
                    TxLocation::Block { hash, .. } if *hash == wb => {}
                    _ => {
                        return Err(RpcErr::new(
                            code::INVALID_ADDRESS_OR_KEY,
                            "No such transaction found in the provided block.",
                        ))
                    }
                }
            }
            let raw = hex::encode(found.tx.to_bytes());
            if !verbose {
                return Ok(json!(raw));
            }
            let mut v = json::tx(&found.tx, net);
            if let Value::Object(o) = &mut v {
                o.insert("hex".into(), json!(raw));
                if let TxLocation::Block { height, hash, time_ms } = found.location {
                    let tip = b.chain_info().height;
                    o.insert("blockhash".into(), json!(hash.to_hex()));
                    o.insert("blockheight".into(), json!(height));
                    o.insert(
                        "confirmations".into(),
                        json!(tip.saturating_sub(height).saturating_add(1)),
                    );
                    o.insert("time".into(), json!(time_ms / 1000));
                    o.insert("blocktime".into(), json!(time_ms / 1000));
                } else {
                    o.insert("confirmations".into(), json!(0));
                }
            }
            Ok(v)
        }
        "decoderawtransaction" => {
            let tx = decode_tx(&p.hex(0)?)?;
            Ok(json::tx(&tx, net))
        }
        "sendrawtransaction" => {
            let tx = decode_tx(&p.hex(0)?)?;
            let txid = tx.txid();
            match b.submit_tx(tx) {
                Ok(h) => Ok(json!(h.to_hex())),
                Err(SubmitError::AlreadyKnown) => Ok(json!(txid.to_hex())),
                Err(e) => Err(e.into()),
            }
        }
        "getaddressutxos" => {
            let (list, mempool) = match p.get(0) {
                Some(Value::Array(a)) => (a.clone(), false),
                Some(Value::Object(o)) => (
                    o.get("addresses")
                        .and_then(Value::as_array)
                        .cloned()
                        .ok_or_else(|| RpcErr::param("missing \"addresses\" array"))?,
                    o.get("mempool").and_then(Value::as_bool).unwrap_or(false),
                ),
                Some(_) => return Err(RpcErr::type_err("Expected an object or an array of addresses")),
                None => return Err(RpcErr::param("missing addresses")),
            };
            if list.len() > 1_000 {
                return Err(RpcErr::param("at most 1,000 addresses per call"));
            }
            let mut addrs = Vec::with_capacity(list.len());
            for v in &list {
                let s = v.as_str().ok_or_else(|| RpcErr::type_err("addresses must be strings"))?;
                let a = Address::parse(s, net)
                    .map_err(|e| RpcErr::new(super::error::code::INVALID_ADDRESS_OR_KEY, format!("Invalid address {s}: {e}")))?;
                addrs.push(a);
            }
            let utxos = b.address_utxos(&addrs, mempool);
            Ok(Value::Array(
                utxos
                    .iter()
                    .map(|u| {
                        json!({
                            "address": u.output.address.encode(net),
                            "txid": u.outpoint.txid.to_hex(),
                            "outputIndex": u.outpoint.index,
                            "satoshis": u.output.amount.0,
                            "height": u.height,
                            "spentinmempool": u.spent_in_mempool,
                        })
                    })
                    .collect(),
            ))
        }
        "gettxout" => {
            let txid = p.hash(0)?;
            let n = p.opt_u64(1)?.unwrap_or(0);
            let index = u32::try_from(n).map_err(|_| RpcErr::param("n out of range"))?;
            let mempool = p.opt_bool(2)?.unwrap_or(true);
            let c = b.chain_info();
            match b.utxo(&OutPoint { txid, index }, mempool) {
                None => Ok(Value::Null),
                Some(u) => Ok(json!({
                    "bestblock": c.best_hash.to_hex(),
                    "confirmations": u.height.map(|h| c.height.saturating_sub(h).saturating_add(1)).unwrap_or(0),
                    "value": json::amount(u.output.amount),
                    "scriptPubKey": {"address": u.output.address.encode(net), "type": "pubkeyhash"},
                    "coinbase": u.coinbase,
                })),
            }
        }
        "getrawmempool" => {
            let verbose = p.opt_bool(0)?.unwrap_or(false);
            let entries = b.mempool_entries();
            if !verbose {
                return Ok(Value::Array(
                    entries.iter().map(|e| json!(e.txid.to_hex())).collect(),
                ));
            }
            let mut o = Map::new();
            for e in entries {
                o.insert(
                    e.txid.to_hex(),
                    json!({
                        "vsize": e.size,
                        "size": e.size,
                        "time": e.time_secs,
                        "fees": {"base": json::amount(e.fee)},
                        "fee": json::amount(e.fee),
                        "depends": e.depends.iter().map(|d| d.to_hex()).collect::<Vec<_>>(),
                    }),
                );
            }
            Ok(Value::Object(o))
        }
        "getmempoolinfo" => {
            let i = b.mempool_info();
            Ok(json!({
                "loaded": true,
                "size": i.count,
                "bytes": i.bytes,
                "usage": i.bytes,
                "total_fee": json::amount(i.total_fee),
                "maxmempool": i.max_bytes,
                "maxcount": i.max_count,
                "mempoolminfee": json::fee_rate_per_kb(i.min_fee_rate),
                "minrelaytxfee": json::fee_rate_per_kb(i.min_relay_fee_rate),
                "unbroadcastcount": 0,
            }))
        }
        "getpeerinfo" => Ok(Value::Array(
            b.peers()
                .iter()
                .map(|pi| {
                    json!({
                        "id": pi.id,
                        "addr": pi.addr,
                        "nodekey": pi.node_key.map(|k| k.to_hex()),
                        "inbound": pi.inbound,
                        "connection_type": if pi.inbound { "inbound" } else { "outbound-full-relay" },
                        "conntime": pi.connected_since_secs,
                        "pingtime": pi.latency_ms.map(|l| l / 1000.0),
                        "bytessent": pi.bytes_sent,
                        "bytesrecv": pi.bytes_recv,
                        "version": pi.protocol_version,
                        "subver": pi.user_agent,
                        "synced_blocks": pi.height,
                        "banscore": pi.score,
                    })
                })
                .collect(),
        )),
        "getconnectioncount" => Ok(json!(b.connection_count())),
        "getnetworkinfo" => {
            let ni = b.node_info();
            let peers = b.peers();
            let inbound = peers.iter().filter(|x| x.inbound).count();
            let local: Vec<Value> = ni
                .local_addresses
                .iter()
                .map(|a| match a.rsplit_once(':') {
                    Some((h, port)) => json!({"address": h, "port": port.parse::<u16>().ok()}),
                    None => json!({"address": a}),
                })
                .collect();
            Ok(json!({
                "version": ni.version,
                "subversion": ni.user_agent,
                "protocolversion": ni.protocol_version,
                "localrelay": true,
                "networkactive": ni.network_active,
                "connections": peers.len(),
                "connections_in": inbound,
                "connections_out": peers.len() - inbound,
                "relayfee": json::fee_rate_per_kb(ni.relay_fee_rate),
                "localaddresses": local,
                "warnings": [],
            }))
        }
        "addnode" => {
            let node = p.str(0)?;
            let cmd = match p.str(1)? {
                "add" => AddNodeCommand::Add,
                "remove" => AddNodeCommand::Remove,
                "onetry" => AddNodeCommand::OneTry,
                other => {
                    return Err(RpcErr::param(format!(
                        "Invalid command {other:?}: use add, remove or onetry"
                    )))
                }
            };
            if node.trim().is_empty() {
                return Err(RpcErr::param("node must not be empty"));
            }
            b.add_node(node.trim(), cmd)?;
            Ok(Value::Null)
        }
        "setban" => {
            let subnet = normalize_subnet(p.str(0)?).ok_or_else(|| {
                RpcErr::new(code::CLIENT_INVALID_IP_OR_SUBNET, "Error: Invalid IP/Subnet")
            })?;
            let action = match p.str(1)? {
                "add" => {
                    let t = p.opt_i64(2)?.unwrap_or(0);
                    if t < 0 {
                        return Err(RpcErr::param("bantime must not be negative"));
                    }
                    let t = t as u64;
                    let until = if p.opt_bool(3)?.unwrap_or(false) {
                        if t <= now_secs() {
                            return Err(RpcErr::param("Error: Absolute timestamp is in the past"));
                        }
                        t
                    } else {
                        now_secs().saturating_add(if t == 0 { 86_400 } else { t })
                    };
                    BanAction::Add { until_secs: until }
                }
                "remove" => BanAction::Remove,
                other => {
                    return Err(RpcErr::param(format!(
                        "Invalid command {other:?}: use add or remove"
                    )))
                }
            };
            b.set_ban(&subnet, action)?;
            Ok(Value::Null)
        }
        "listbanned" => {
            let now = now_secs();
            Ok(Value::Array(
                b.list_banned()
                    .iter()
                    .map(|e| {
                        json!({
                            "address": e.subnet,
                            "ban_created": e.created_secs,
                            "banned_until": e.until_secs,
                            "ban_duration": e.until_secs.saturating_sub(e.created_secs),
                            "time_remaining": e.until_secs.saturating_sub(now),
                            "reason": e.reason,
                        })
                    })
                    .collect(),
            ))
        }
        "getconsensusinfo" => Ok(consensus_json(b)),
        "listmasternodes" => {
            let filter = p.opt_str(0)?.map(|s| s.to_ascii_lowercase());
            let list: Vec<Value> = b
                .masternodes()
                .iter()
                .map(|mn| masternode_json(mn, net))
                .filter(|v| match &filter {
                    None => true,
                    Some(f) => ["tier", "status", "nodekey", "address", "payout"].iter().any(|k| {
                        v.get(*k)
                            .and_then(Value::as_str)
                            .map(|s| s.to_ascii_lowercase().contains(f.as_str()))
                            .unwrap_or(false)
                    }),
                })
                .collect();
            Ok(Value::Array(list))
        }
        "getmasternodestatus" => Ok(match b.masternode_status() {
            OwnMasternodeStatus::Disabled => json!({
                "state": "DISABLED",
                "status": "Masternode mode is off ([masternode] enabled = false)",
            }),
            OwnMasternodeStatus::NotRegistered { node_key } => json!({
                "state": "WAITING_FOR_REGISTRATION",
                "status": "Masternode key loaded; no registration transaction on chain yet",
                "nodekey": node_key.to_hex(),
            }),
            OwnMasternodeStatus::Registered(mn) => {
                let mut v = masternode_json(&mn, net);
                if let Value::Object(o) = &mut v {
                    o.insert("state".into(), json!(mn.state.name()));
                    o.insert(
                        "status".into(),
                        json!(match mn.state {
                            super::backend::MasternodeState::Pending => "Registered, waiting for activation",
                            super::backend::MasternodeState::Active => "Ready",
                            super::backend::MasternodeState::Banned => "Banned for equivocation",
                        }),
                    );
                }
                v
            }
        }),
        "help" => match p.opt_str(0)? {
            None => Ok(json!(all_help())),
            Some(c) => match find(c) {
                Some(s) => Ok(json!(method_help(s))),
                None => Ok(json!(format!("help: unknown command: {c}"))),
            },
        },
        "stop" => {
            b.stop();
            Ok(json!("TimeCoin server stopping"))
        }
        "uptime" => Ok(json!(b.uptime_secs())),
        "validateaddress" => {
            let s = p.str(0)?;
            Ok(match Address::parse(s, net) {
                Ok(a) => {
                    let mut spk = vec![a.version];
                    spk.extend_from_slice(&a.hash);
                    json!({
                        "isvalid": true,
                        "address": a.encode(net),
                        "scriptPubKey": hex::encode(spk),
                        "isscript": false,
                        "iswitness": false,
                    })
                }
                Err(e) => json!({"isvalid": false, "error": e.to_string(), "error_locations": []}),
            })
        }
        "getbalance" => {
            if let Some(d) = p.opt_str(0)? {
                if d != "*" {
                    return Err(RpcErr::new(
                        code::MISC_ERROR,
                        "dummy first argument must be excluded or set to \"*\".",
                    ));
                }
            }
            let minconf = p.opt_u64(1)?.unwrap_or(1);
            let bal = b.wallet_balances()?;
            let total = if minconf == 0 {
                bal.finalized.checked_add(bal.pending).unwrap_or(bal.finalized)
            } else {
                bal.finalized
            };
            Ok(json::amount(total))
        }
        "getbalances" => {
            let bal = b.wallet_balances()?;
            Ok(json!({"mine": {
                "trusted": json::amount(bal.finalized),
                "untrusted_pending": json::amount(bal.pending),
                "immature": json::amount(Amount::ZERO),
                "locked": json::amount(bal.locked),
            }}))
        }
        "getnewaddress" => {
            let label = p.opt_str(0)?.unwrap_or("");
            if label == "*" {
                return Err(RpcErr::new(code::WALLET_ERROR, "Invalid label name"));
            }
            Ok(json!(b.wallet_new_address(label)?.encode(net)))
        }
        "listunspent" => {
            let minconf = p.opt_u64(0)?.unwrap_or(1);
            let maxconf = p.opt_u64(1)?.unwrap_or(9_999_999);
            let filter: Option<Vec<Address>> = match p.get(2) {
                None => None,
                Some(Value::Array(a)) => Some(
                    a.iter()
                        .map(|x| match x {
                            Value::String(s) => parse_address(b, s),
                            _ => Err(RpcErr::type_err("addresses must be strings")),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Some(_) => return Err(RpcErr::type_err("Expected type array for addresses")),
            };
            let tip = b.chain_info().height;
            let list: Vec<Value> = b
                .wallet_unspent()?
                .into_iter()
                .filter_map(|u| {
                    let conf = u.height.map(|h| tip.saturating_sub(h).saturating_add(1)).unwrap_or(0);
                    if conf < minconf || conf > maxconf {
                        return None;
                    }
                    if let Some(f) = &filter {
                        if !f.contains(&u.address) {
                            return None;
                        }
                    }
                    Some(json!({
                        "txid": u.outpoint.txid.to_hex(),
                        "vout": u.outpoint.index,
                        "address": u.address.encode(net),
                        "label": u.label,
                        "amount": json::amount(u.amount),
                        "confirmations": conf,
                        "spendable": u.spendable,
                        "solvable": true,
                        "safe": conf > 0,
                    }))
                })
                .collect();
            Ok(Value::Array(list))
        }
        "listtransactions" => {
            if let Some(l) = p.opt_str(0)? {
                if l != "*" {
                    return Err(RpcErr::param("label must be excluded or \"*\""));
                }
            }
            let count = p.opt_i64(1)?.unwrap_or(10);
            let skip = p.opt_i64(2)?.unwrap_or(0);
            if count < 0 {
                return Err(RpcErr::param("Negative count"));
            }
            if skip < 0 {
                return Err(RpcErr::param("Negative from"));
            }
            let tip = b.chain_info().height;
            let entries = b.wallet_transactions(count as usize, skip as usize)?;
            Ok(Value::Array(
                entries.iter().map(|e| entry_json(e, tip, net)).collect(),
            ))
        }
        "gettransaction" => {
            let txid = p.hash(0)?;
            let verbose = p.opt_bool(2)?.unwrap_or(false);
            let wt = b.wallet_transaction(&txid)?.ok_or_else(|| {
                RpcErr::new(code::INVALID_ADDRESS_OR_KEY, "Invalid or non-wallet transaction id")
            })?;
            let tip = b.chain_info().height;
            let mut net_units: i128 = 0;
            let mut fee: Option<Amount> = None;
            for e in &wt.entries {
                match e.category {
                    super::backend::WalletTxCategory::Send => {
                        net_units -= i128::from(e.amount.0);
                        fee = fee.or(e.fee);
                    }
                    _ => net_units += i128::from(e.amount.0),
                }
            }
            let amount = if net_units < 0 {
                json::neg_amount(Amount(u64::try_from(-net_units).unwrap_or(u64::MAX)))
            } else {
                json::amount(Amount(u64::try_from(net_units).unwrap_or(u64::MAX)))
            };
            let first = wt.entries.first();
            let mut o = Map::new();
            o.insert("amount".into(), amount);
            if let Some(f) = fee {
                o.insert("fee".into(), json::neg_amount(f));
            }
            let block = first.and_then(|e| e.block);
            o.insert(
                "confirmations".into(),
                json!(block.map(|(h, _)| tip.saturating_sub(h).saturating_add(1)).unwrap_or(0)),
            );
            if let Some((h, hash)) = block {
                o.insert("blockhash".into(), json!(hash.to_hex()));
                o.insert("blockheight".into(), json!(h));
            }
            o.insert("txid".into(), json!(txid.to_hex()));
            let t = first.map(|e| e.time_secs).unwrap_or(0);
            o.insert("time".into(), json!(t));
            o.insert("timereceived".into(), json!(t));
            o.insert(
                "details".into(),
                Value::Array(wt.entries.iter().map(|e| entry_json(e, tip, net)).collect()),
            );
            o.insert("hex".into(), json!(hex::encode(wt.tx.to_bytes())));
            if verbose {
                o.insert("decoded".into(), json::tx(&wt.tx, net));
            }
            Ok(Value::Object(o))
        }
        "sendtoaddress" => {
            let (address, amount) = send_target(b, p)?;
            let req = SendRequest {
                address,
                amount,
                subtract_fee_from_amount: p.opt_bool(4)?.unwrap_or(false),
                fee_rate: p.opt_u64(9)?,
                comment: p.opt_str(2)?.unwrap_or("").to_string(),
            };
            match b.wallet_send(req) {
                Ok(h) => Ok(json!(h.to_hex())),
                Err(e) => Err(e.into()),
            }
        }
        "walletpassphrase" => {
            let pass = p.str(0)?;
            if pass.is_empty() {
                return Err(RpcErr::param("passphrase cannot be empty"));
            }
            let timeout = p.opt_i64(1)?.unwrap_or(0);
            if timeout < 0 {
                return Err(RpcErr::param("Timeout cannot be negative."));
            }
            let timeout = (timeout as u64).min(100_000_000);
            let secret = SecretString::from(pass.to_string());
            b.wallet_unlock(&secret, timeout)?;
            Ok(Value::Null)
        }
        "walletlock" => {
            b.wallet_lock()?;
            Ok(Value::Null)
        }
        "setlabel" => super::wallet_labels::setlabel(b, parse_address(b, p.str(0)?)?, p.str(1)?),
        "registermasternode" | "updatemasternode" | "exitmasternode" => {
            let register = spec.name == "registermasternode";
            let o = MasternodeOptions::parse(b, p.get(usize::from(register)), spec.name)?;
            let action = match spec.name {
                "registermasternode" => {
                    let t = p.str(0)?;
                    let tier = Tier::from_name(t)
                        .filter(|t| *t != Tier::Free)
                        .ok_or_else(|| {
                            RpcErr::param(format!(
                                "tier must be bronze, silver or gold (not '{}')",
                                t.chars().take(20).collect::<String>()
                            ))
                        })?;
                    MasternodeAction::Register {
                        tier,
                        collateral: o.collateral,
                        payout: o.payout,
                        p2p_addr: o.p2p_addr,
                    }
                }
                "updatemasternode" => {
                    if o.p2p_addr.is_none() && o.payout.is_none() {
                        return Err(RpcErr::param(
                            "nothing to update: give p2paddr and/or payout",
                        ));
                    }
                    MasternodeAction::Update {
                        collateral: o.collateral,
                        p2p_addr: o.p2p_addr,
                        payout: o.payout,
                    }
                }
                _ => MasternodeAction::Exit {
                    collateral: o.collateral,
                },
            };
            let r = b.wallet_masternode(MasternodeTxRequest {
                action,
                dry_run: o.dry_run,
                max_fee: o.max_fee,
                expect_txid: o.txid,
            })?;
            Ok(json!({
                "step": r.kind.name(),
                "txid": r.txid.to_hex(),
                "sent": r.sent,
                "dryrun": !r.sent,
                "collateral": format!("{}:{}", r.collateral.txid.to_hex(), r.collateral.index),
                "tier": r.tier.name(),
                "nodekey": r.node_key.to_hex(),
                "p2paddr": r.p2p_addr,
                "payout": r.payout.encode(net),
                "fee": json::amount(r.fee),
                "spent": json::amount(r.spent),
                "size": r.size,
                "inputs": r.inputs,
            }))
        }
        "walletpreparesend" => {
            let (address, amount) = send_target(b, p)?;
            let req = SendRequest {
                address,
                amount,
                subtract_fee_from_amount: false,
                fee_rate: p.opt_u64(2)?,
                comment: String::new(),
            };
            let v = b.wallet_prepare_send(req)?;
            Ok(json!({
                "previewid": v.preview_id,
                "address": v.address.encode(net),
                "amount": json::amount(v.amount),
                "fee": json::amount(v.fee),
                "change": json::amount(v.change),
                "inputs": v.inputs,
                "size": v.size,
            }))
        }
        "walletconfirmsend" => {
            let id = p
                .opt_u64(0)?
                .ok_or_else(|| RpcErr::param("previewid is required"))?;
            Ok(json!(b.wallet_confirm_send(id)?.to_hex()))
        }
        "getnodesnapshot" => {
            let w = snapshot_wait(p)?;
            match b.node_snapshot(w.max_logs) {
                Some((seq, snapshot)) => Ok(json!({ "seq": seq, "snapshot": snapshot })),
                None => Err(RpcErr::new(
                    code::METHOD_NOT_FOUND,
                    "this node publishes no snapshot",
                )),
            }
        }
        other => Err(RpcErr::new(
            code::METHOD_NOT_FOUND,
            format!("Method not found: {other}"),
        )),
    }
}

/// The options object of the masternode methods; every key checked, unknown keys refused.
struct MasternodeOptions {
    collateral: Option<OutPoint>,
    payout: Option<Address>,
    p2p_addr: Option<String>,
    dry_run: bool,
    max_fee: Option<Amount>,
    txid: Option<Hash>,
}

impl MasternodeOptions {
    fn parse(
        b: &dyn RpcBackend,
        v: Option<&Value>,
        method: &str,
    ) -> Result<MasternodeOptions, RpcErr> {
        let mut o = MasternodeOptions {
            collateral: None,
            payout: None,
            p2p_addr: None,
            dry_run: false,
            max_fee: None,
            txid: None,
        };
        let map = match v {
            None => return Ok(o),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(RpcErr::type_err("Expected type object for options")),
        };
        let string = |k: &str, x: &Value| -> Result<String, RpcErr> {
            x.as_str()
                .map(str::to_string)
                .ok_or_else(|| RpcErr::type_err(format!("Expected type string for {k}")))
        };
        for (k, x) in map {
            match k.as_str() {
                "collateral" => {
                    let s = string(k, x)?;
                    o.collateral = Some(parse_outpoint(&s).ok_or_else(|| {
                        RpcErr::param("collateral must be \"txid:vout\" (64 hex digits, a colon, an output index)")
                    })?);
                }
                "payout" if method != "exitmasternode" => {
                    o.payout = Some(parse_address(b, &string(k, x)?)?);
                }
                "p2paddr" if method != "exitmasternode" => {
                    let s = string(k, x)?;
                    if s.is_empty() || s.len() > crate::types::tx::MAX_P2P_ADDR_LEN {
                        return Err(RpcErr::param(format!(
                            "p2paddr must be host:port, 1 to {} bytes",
                            crate::types::tx::MAX_P2P_ADDR_LEN
                        )));
                    }
                    o.p2p_addr = Some(s);
                }
                "dryrun" => {
                    o.dry_run = x
                        .as_bool()
                        .ok_or_else(|| RpcErr::type_err("Expected type bool for dryrun"))?;
                }
                "maxfee" => {
                    o.max_fee = Some(json::parse_amount(x).map_err(RpcErr::type_err)?);
                }
                "txid" => o.txid = Some(parse_hash("txid", &string(k, x)?)?),
                other => {
                    return Err(RpcErr::param(format!(
                        "unknown option '{}' for {method}",
                        other.chars().take(40).collect::<String>()
                    )))
                }
            }
        }
        Ok(o)
    }
}

/// The address and amount of a send (params 0 and 1).
fn send_target(b: &dyn RpcBackend, p: &Params) -> Result<(Address, Amount), RpcErr> {
    let address = parse_address(b, p.str(0)?)?;
    let amount = p
        .get(1)
        .map(json::parse_amount)
        .unwrap_or_else(|| Err("missing amount".into()))
        .map_err(RpcErr::type_err)?;
    if amount == Amount::ZERO {
        return Err(RpcErr::type_err("Invalid amount for send"));
    }
    Ok((address, amount))
}

/// `txid:vout`.
fn parse_outpoint(s: &str) -> Option<OutPoint> {
    OutPoint::parse(s)
}

/// Parses a `setban` target and prints it canonically, as `listbanned` prints it: an IP or
/// subnet (`1.2.3.4`, `::1`, `1.2.3.9/24`) becomes `network/bits` with the host bits cleared
/// (`1.2.3.4/32`, `::1/128`, `1.2.3.0/24`, as Bitcoin Core's subnets); a node-key ban,
/// `ip/<64 hex>` or `<64 hex>` alone, keeps that form with the key in lower case.
fn normalize_subnet(s: &str) -> Option<String> {
    use crate::p2p::store::{full_prefix, network_of};
    let s = s.trim();
    if let Some(k) = crate::types::PublicKey::from_hex(s) {
        return Some(k.to_hex());
    }
    let (ip, bits) = match s.split_once('/') {
        None => {
            let ip: IpAddr = s.parse().ok()?;
            (ip, full_prefix(ip))
        }
        Some((ip, rest)) => {
            let ip: IpAddr = ip.parse().ok()?;
            if let Some(k) = crate::types::PublicKey::from_hex(rest) {
                return Some(format!("{ip}/{}", k.to_hex()));
            }
            // Digits only: `u8::from_str` would take a leading `+`.
            if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (ip, rest.parse().ok()?)
        }
    };
    Some(format!("{}/{bits}", network_of(ip, bits)?))
}

fn entry_json(e: &WalletTxEntry, tip: u64, net: crate::types::Network) -> Value {
    let send = e.category == super::backend::WalletTxCategory::Send;
    let mut o = Map::new();
    if let Some(a) = e.address {
        o.insert("address".into(), json!(a.encode(net)));
    }
    o.insert("category".into(), json!(e.category.name()));
    o.insert(
        "amount".into(),
        if send {
            json::neg_amount(e.amount)
        } else {
            json::amount(e.amount)
        },
    );
    o.insert("label".into(), json!(e.label));
    o.insert("vout".into(), json!(e.vout));
    if let Some(f) = e.fee {
        o.insert("fee".into(), json::neg_amount(f));
    }
    o.insert(
        "confirmations".into(),
        json!(e
            .block
            .map(|(h, _)| tip.saturating_sub(h).saturating_add(1))
            .unwrap_or(0)),
    );
    if let Some((h, hash)) = e.block {
        o.insert("blockhash".into(), json!(hash.to_hex()));
        o.insert("blockheight".into(), json!(h));
    }
    o.insert("txid".into(), json!(e.txid.to_hex()));
    o.insert("time".into(), json!(e.time_secs));
    o.insert("timereceived".into(), json!(e.time_secs));
    o.insert("abandoned".into(), json!(e.abandoned));
    Value::Object(o)
}

fn masternode_json(mn: &super::backend::MasternodeInfo, net: crate::types::Network) -> Value {
    json!({
        "nodekey": mn.node_key.to_hex(),
        "tier": mn.tier.name(),
        "weight": mn.tier.weight(),
        "status": mn.state.name(),
        "collateralhash": mn.collateral.txid.to_hex(),
        "collateralindex": mn.collateral.index,
        "address": mn.p2p_addr,
        "payout": mn.payout.encode(net),
        "registeredheight": mn.registered_height,
        "lastvoteheight": mn.last_vote_height,
    })
}

fn consensus_json(b: &dyn RpcBackend) -> Value {
    let c = b.consensus_info();
    let total: u64 = c.validators.iter().map(|(_, w)| *w).sum();
    let quorum = total.saturating_mul(2) / 3 + 1;
    let vote_of = |votes: &[VoteSeen], k| -> Value {
        match votes.iter().find(|v| v.voter == k) {
            None => Value::Null,
            Some(VoteSeen { block: Some(h), .. }) => json!(h.to_hex()),
            Some(VoteSeen { block: None, .. }) => json!("nil"),
        }
    };
    let tally = |votes: &[VoteSeen]| -> Value {
        let weight_of = |k| {
            c.validators
                .iter()
                .find(|(v, _)| *v == k)
                .map(|(_, w)| *w)
                .unwrap_or(0)
        };
        let w: u64 = votes.iter().map(|v| weight_of(v.voter)).sum();
        let wp: u64 = votes
            .iter()
            .filter(|v| v.block.is_some() && v.block == c.proposal)
            .map(|v| weight_of(v.voter))
            .sum();
        json!({"count": votes.len(), "weight": w, "forproposal": wp, "quorum": wp >= quorum})
    };
    let validators: Vec<Value> = c
        .validators
        .iter()
        .map(|(k, w)| {
            json!({
                "nodekey": k.to_hex(),
                "weight": w,
                "proposer": c.proposer == Some(*k),
                "prevote": vote_of(&c.prevotes, *k),
                "precommit": vote_of(&c.precommits, *k),
            })
        })
        .collect();
    json!({
        "height": c.height,
        "round": c.round,
        "step": c.step.name(),
        "proposer": c.proposer.map(|k| k.to_hex()),
        "proposal": c.proposal.map(|h| h.to_hex()),
        "lockedround": c.locked.map(|(r, _)| r),
        "lockedblock": c.locked.map(|(_, h)| h.to_hex()),
        "roundstarted": c.round_started_ms,
        "totalweight": total,
        "quorumweight": quorum,
        "validators": validators,
        "prevotes": tally(&c.prevotes),
        "precommits": tally(&c.precommits),
        "committing": c.step == ConsensusStep::Commit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut names: Vec<_> = METHODS.iter().map(|m| m.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len(), "duplicate method names");
        for spec in METHODS {
            let mut seen_opt = false;
            for p in spec.params {
                assert!(
                    !(seen_opt && p.required),
                    "{}: required after optional",
                    spec.name
                );
                seen_opt |= !p.required;
            }
        }
        assert!(all_help().contains("getblockchaininfo"));
    }

    #[test]
    fn every_table_method_has_a_handler() {
        let mock = crate::rpc::mock::MockBackend::new();
        for spec in METHODS {
            let p = Params {
                spec,
                v: vec![Value::Null; spec.params.len()],
            };
            if let Err(e) = call(&mock, spec, &p) {
                assert_ne!(
                    e.code,
                    code::METHOD_NOT_FOUND,
                    "{} has no handler",
                    spec.name
                );
            }
        }
    }

    #[test]
    fn masternode_params_are_checked_before_the_wallet() {
        let mock = crate::rpc::mock::MockBackend::new();
        let run = |name: &str, v: Value| {
            let spec = find(name).unwrap();
            let p = Params::new(spec, Some(&v))?;
            call(&mock, spec, &p)
        };
        let txid = "ab".repeat(32);
        for (name, params) in [
            ("registermasternode", json!(["free"])),
            ("registermasternode", json!(["x".repeat(10_000)])),
            ("registermasternode", json!(["bronze", "dryrun"])),
            ("registermasternode", json!(["bronze", {"dryrun": 1}])),
            ("registermasternode", json!(["bronze", {"spend": "all"}])),
            (
                "registermasternode",
                json!(["bronze", {"collateral": txid.clone()}]),
            ),
            (
                "registermasternode",
                json!(["bronze", {"collateral": format!("{txid}:4294967296")}]),
            ),
            (
                "registermasternode",
                json!(["bronze", {"collateral": format!("{txid}:+1")}]),
            ),
            ("registermasternode", json!(["bronze", {"maxfee": -1}])),
            ("registermasternode", json!(["bronze", {"maxfee": 1e300}])),
            (
                "registermasternode",
                json!(["bronze", {"p2paddr": "a".repeat(65)}]),
            ),
            (
                "registermasternode",
                json!(["bronze", {"payout": "time1nope"}]),
            ),
            ("registermasternode", json!(["bronze", {"txid": "00"}])),
            ("updatemasternode", json!([])),
            (
                "updatemasternode",
                json!([{"collateral": format!("{txid}:0")}]),
            ),
            ("exitmasternode", json!([{"payout": "x"}])),
            ("exitmasternode", json!([{"p2paddr": "127.0.0.1:1"}])),
        ] {
            let e = run(name, params.clone()).expect_err(&format!("{name} {params}"));
            assert!(
                [
                    code::INVALID_PARAMETER,
                    code::TYPE_ERROR,
                    code::INVALID_ADDRESS_OR_KEY
                ]
                .contains(&e.code),
                "{name} {params}: {e:?} (reached the wallet?)"
            );
            assert!(e.message.len() < 200, "{name}: {}", e.message);
        }
        assert_eq!(
            parse_outpoint(&format!("{txid}:7")),
            Some(OutPoint {
                txid: Hash::from_hex(&txid).unwrap(),
                index: 7
            })
        );
    }

    #[test]
    fn subnets() {
        // Bitcoin Core's form: network/bits with the host bits cleared, as listbanned prints.
        assert_eq!(normalize_subnet("1.2.3.4").as_deref(), Some("1.2.3.4/32"));
        assert_eq!(
            normalize_subnet("10.0.0.0/8").as_deref(),
            Some("10.0.0.0/8")
        );
        assert_eq!(
            normalize_subnet(" 10.9.8.7/8 ").as_deref(),
            Some("10.0.0.0/8")
        );
        assert_eq!(normalize_subnet("::1").as_deref(), Some("::1/128"));
        assert_eq!(
            normalize_subnet("2001:db8:ffff::1/32").as_deref(),
            Some("2001:db8::/32")
        );
        let key = "AB".repeat(32);
        assert_eq!(normalize_subnet(&key), Some(key.to_lowercase()));
        assert_eq!(
            normalize_subnet(&format!("127.0.0.1/{key}")),
            Some(format!("127.0.0.1/{}", key.to_lowercase()))
        );
        for bad in [
            "1.2.3.4/33",
            "::/129",
            "1.2.3.4/+8",
            "1.2.3.4/",
            "nope",
            "1.2.3.4/ab",
        ] {
            assert_eq!(normalize_subnet(bad), None, "{bad}");
        }
    }
}
