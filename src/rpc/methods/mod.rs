//! The method table: one entry per method carries its name, parameters, help and handler, so
//! dispatch, named parameters and `help` all come from it, a method is named once, and a
//! method without a handler does not compile. The handlers live by category, as Bitcoin
//! Core's `help` groups them:
//!
//! - [`chain`]: blocks, headers, transactions, unspent outputs;
//! - [`mempool`]: the mempool, decoding and submitting raw transactions;
//! - [`network`]: peers, added nodes, bans;
//! - [`consensus`] and [`masternode`]: the live round, the registry, this node's masternode;
//! - [`wallet`]: Bitcoin Core's wallet methods;
//! - [`control`]: help, stop, uptime, address checks and the `getnodesnapshot` long poll.
//!
//! [`params`] checks a call's parameters against the entry and holds the parsers the
//! handlers share.

mod chain;
mod consensus;
mod control;
mod masternode;
mod mempool;
mod network;
mod params;
mod wallet;

pub use control::{
    snapshot_wait, SnapshotWait, LONG_POLL, LONG_POLL_DEFAULT, LONG_POLL_MAX, SNAPSHOT_MAX_LOGS,
};
pub use params::Params;

use super::error::{code, RpcErr};
use crate::rpc::backend::RpcBackend;
use serde_json::Value;

/// What runs a method: the backend and the checked parameters in, the JSON result out.
pub type Handler = fn(&dyn RpcBackend, &Params) -> Result<Value, RpcErr>;

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
    /// Runs it.
    pub handler: Handler,
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
    handler: Handler,
) -> MethodSpec {
    MethodSpec {
        name,
        category,
        params,
        help,
        handler,
    }
}

/// Every method, in help order.
pub static METHODS: &[MethodSpec] = &[
    m("getbestblockhash", "Blockchain", &[], "Returns the hash of the last finalized block (hex).", chain::getbestblockhash),
    m("getblock", "Blockchain", &[
        req("blockhash", "string", "The block hash"),
        opt("verbosity", "numeric", "0 for hex-encoded data, 1 for a JSON object with transaction ids, 2 with full transactions (default 1; true = 1, false = 0)"),
    ], "Returns a finalized block with its commit certificate.", chain::getblock),
    m("getblockchaininfo", "Blockchain", &[], "Returns chain state: chain, blocks, headers, bestblockhash, time, verificationprogress, initialblockdownload, size_on_disk, chainid, totalsupply, synced.", chain::getblockchaininfo),
    m("getblockcount", "Blockchain", &[], "Returns the height of the last finalized block.", chain::getblockcount),
    m("getblockhash", "Blockchain", &[req("height", "numeric", "The height index")], "Returns the hash of the finalized block at a height.", chain::getblockhash),
    m("getblockheader", "Blockchain", &[
        req("blockhash", "string", "The block hash"),
        opt("verbose", "boolean", "true for a JSON object, false for hex-encoded data (default true)"),
    ], "Returns a block header.", chain::getblockheader),
    m("getmempoolinfo", "Blockchain", &[], "Returns mempool size, bytes, fees and limits (maxmempool in bytes: [mempool] max_bytes, default 314572800 = 300 MiB).", mempool::getmempoolinfo),
    m("getrawmempool", "Blockchain", &[
        opt("verbose", "boolean", "true for an object keyed by txid, false for an array of txids (default false)"),
    ], "Returns the transaction ids in the mempool.", mempool::getrawmempool),
    m("getaddressutxos", "Blockchain", &[
        req("addresses", "object", "{\"addresses\": [\"address\", ...], \"mempool\": bool} or an array of addresses (at most 1,000)"),
    ], "Returns the unspent outputs of addresses (Dash/Insight style): address, txid, outputIndex, satoshis, height (null while in the mempool), spentinmempool.", chain::getaddressutxos),
    m("gettxout", "Blockchain", &[
        req("txid", "string", "The transaction id"),
        req("n", "numeric", "The output index"),
        opt("include_mempool", "boolean", "Whether to include the mempool (default true)"),
    ], "Returns an unspent transaction output, or null if it is spent or unknown.", chain::gettxout),
    m("getconsensusinfo", "Consensus", &[], "Returns the live Tendermint state: height, round, step, proposer, validator set with weights and the votes of the current round.", consensus::getconsensusinfo),
    m("listmasternodes", "Consensus", &[
        opt("filter", "string", "Only masternodes whose tier, status, node key or address contains this text"),
    ], "Returns every registered masternode.", masternode::listmasternodes),
    m("getmasternodestatus", "Consensus", &[], "Returns this node's own masternode status.", masternode::getmasternodestatus),
    m("registermasternode", "Consensus", &[
        req("tier", "string", "bronze (1,000 TIME), silver (10,000) or gold (100,000)"),
        opt("options", "object", "{\"collateral\": \"txid:vout\" (a wallet output of exactly the tier's amount; default: one the wallet finds, else a self-transfer makes one first), \"payout\": address (default: the collateral's), \"p2paddr\": \"host:port\" (default: this node's advertised address), \"dryrun\": bool (preview only, default false), \"maxfee\": TIME (refuse a higher fee), \"txid\": hex (refuse unless the transaction built is this dry run's)}"),
    ], "Registers this node's key as a masternode with the wallet's funds. Without an exact collateral output it first sends a self-transfer that makes one (step \"fund_collateral\"); call again once that is final. Returns step, txid, sent, collateral, tier, nodekey, p2paddr, payout, fee, spent. The wallet must be unlocked.", masternode::registermasternode),
    m("updatemasternode", "Consensus", &[
        opt("options", "object", "{\"p2paddr\": \"host:port\", \"payout\": address (each default: unchanged), \"collateral\": \"txid:vout\" (default: this node's registration), \"dryrun\", \"maxfee\", \"txid\" as for registermasternode}"),
    ], "Changes a registered masternode's announced address or payout. Same result as registermasternode.", masternode::updatemasternode),
    m("exitmasternode", "Consensus", &[
        opt("options", "object", "{\"collateral\": \"txid:vout\" (default: this node's registration), \"dryrun\", \"maxfee\", \"txid\" as for registermasternode}"),
    ], "Takes a masternode out of the set; its collateral becomes spendable again. Same result as registermasternode.", masternode::exitmasternode),
    m(LONG_POLL, "Control", &[
        opt("since", "numeric", "The seq of the snapshot the caller holds: the call waits until the node's differs (absent: answer at once)"),
        opt("timeout_ms", "numeric", "Longest wait in milliseconds (default 10000, at most 30000); then the current snapshot is returned"),
        opt("max_logs", "numeric", "Newest log lines to include (default 200, at most 500)"),
    ], "Long poll for `timed attach`: returns {seq, snapshot} as soon as the node's snapshot (seq) differs from `since`, else after the timeout. The snapshot is what the terminal UI shows (every tab, no secrets). At most 8 calls wait at once; more fail with -1.", control::getnodesnapshot),
    m("help", "Control", &[opt("command", "string", "The command to get help on")], "Lists all commands, or explains one.", control::help),
    m("stop", "Control", &[], "Stops the node gracefully.", control::stop),
    m("uptime", "Control", &[], "Returns the number of seconds the node has been running.", control::uptime),
    m("addnode", "Network", &[
        req("node", "string", "The node address (host:port)"),
        req("command", "string", "'add' to add to the list of peers kept connected, 'remove' to stop redialing it (a connection open now stays), 'onetry' to dial once without adding it"),
    ], "Adds, removes or tries a peer.", network::addnode),
    m("getconnectioncount", "Network", &[], "Returns the number of connected peers.", network::getconnectioncount),
    m("getnetworkinfo", "Network", &[], "Returns version, connections, local addresses and relay fee.", network::getnetworkinfo),
    m("getpeerinfo", "Network", &[], "Returns one object per connected peer.", network::getpeerinfo),
    m("listbanned", "Network", &[], "Returns the banned IPs and subnets.", network::listbanned),
    m("setban", "Network", &[
        req("subnet", "string", "IP, subnet (e.g. 192.168.0.6, 192.168.0.0/24, 2001:db8::/32) or node key, as listbanned prints it"),
        req("command", "string", "'add' to ban, 'remove' to unban"),
        opt("bantime", "numeric", "Seconds to ban for (0 or absent = 86400), or an absolute Unix time with absolute=true; at most 100 years"),
        opt("absolute", "boolean", "bantime is an absolute Unix time (default false)"),
    ], "Bans or unbans an IP or subnet.", network::setban),
    m("decoderawtransaction", "Rawtransactions", &[req("hexstring", "string", "The transaction hex")], "Decodes a raw transaction.", mempool::decoderawtransaction),
    m("getrawtransaction", "Rawtransactions", &[
        req("txid", "string", "The transaction id"),
        opt("verbose", "boolean", "false for hex, true for a JSON object (default false; numbers 0/1 accepted)"),
        opt("blockhash", "string", "The block that must contain the transaction"),
    ], "Returns a transaction from the chain or the mempool.", chain::getrawtransaction),
    m("sendrawtransaction", "Rawtransactions", &[
        req("hexstring", "string", "The signed transaction hex"),
        opt("maxfeerate", "numeric", "Accepted for compatibility and ignored"),
    ], "Submits a signed transaction to the mempool and relays it; returns the txid.", mempool::sendrawtransaction),
    m("validateaddress", "Util", &[req("address", "string", "The address to validate")], "Checks an address for this node's network.", control::validateaddress),
    m("getbalance", "Wallet", &[
        opt("dummy", "string", "Must be excluded or \"*\""),
        opt("minconf", "numeric", "1 (default): finalized only; 0: finalized plus pending"),
        opt("include_watchonly", "boolean", "Ignored"),
    ], "Returns the wallet balance in TIME.", wallet::getbalance),
    m("getbalances", "Wallet", &[], "Returns finalized (trusted), pending (untrusted_pending) and locked balances.", wallet::getbalances),
    m("getnewaddress", "Wallet", &[
        opt("label", "string", "Label for the address (default \"\")"),
        opt("address_type", "string", "Ignored (one address type)"),
    ], "Returns a new receiving address.", wallet::getnewaddress),
    m("gettransaction", "Wallet", &[
        req("txid", "string", "The transaction id"),
        opt("include_watchonly", "boolean", "Ignored"),
        opt("verbose", "boolean", "Also return the decoded transaction (default false)"),
    ], "Returns a wallet transaction.", wallet::gettransaction),
    m("listtransactions", "Wallet", &[
        opt("label", "string", "Must be excluded or \"*\""),
        opt("count", "numeric", "Number of entries (default 10)"),
        opt("skip", "numeric", "Number of newest entries to skip (default 0)"),
        opt("include_watchonly", "boolean", "Ignored"),
    ], "Returns the most recent wallet history entries, oldest first.", wallet::listtransactions),
    m("listunspent", "Wallet", &[
        opt("minconf", "numeric", "Minimum confirmations (default 1; 0 includes pending)"),
        opt("maxconf", "numeric", "Maximum confirmations (default 9999999)"),
        opt("addresses", "json array", "Only these addresses"),
        opt("include_unsafe", "boolean", "Include pending outputs not from this wallet (default true)"),
    ], "Returns the wallet's unspent outputs.", wallet::listunspent),
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
    ], "Sends TIME to an address; returns the txid. The wallet must be unlocked.", wallet::sendtoaddress),
    m("setlabel", "Wallet", &[
        req("address", "string", "The address to name"),
        req("label", "string", "The name (not empty; at most 100 characters)"),
    ], "Names an address in the wallet's address book (adds the entry or renames it).", wallet::setlabel),
    m("walletconfirmsend", "Wallet", &[
        req("previewid", "numeric", "The previewid from walletpreparesend"),
    ], "Signs and submits a payment prepared with walletpreparesend; returns the txid.", wallet::walletconfirmsend),
    m("walletlock", "Wallet", &[], "Locks the wallet.", wallet::walletlock),
    m("walletpreparesend", "Wallet", &[
        req("address", "string", "The recipient address"),
        req("amount", "numeric", "The amount in TIME"),
        opt("fee_rate", "numeric", "Fee rate in units per byte (default: the node's minimum)"),
    ], "Selects coins for a payment and returns its preview without signing: previewid, address, amount, fee, change, inputs, size. Confirm with walletconfirmsend (the wallet must be unlocked then).", wallet::walletpreparesend),
    m("walletpassphrase", "Wallet", &[
        req("passphrase", "string", "The wallet passphrase"),
        req("timeout", "numeric", "Seconds to stay unlocked (at most 100000000); 0 checks the passphrase and locks at once"),
    ], "Unlocks the wallet for a time.", wallet::walletpassphrase),
];

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

/// Runs one method (the server calls it on the blocking pool).
pub fn call(b: &dyn RpcBackend, spec: &'static MethodSpec, p: &Params) -> Result<Value, RpcErr> {
    if !WARMUP_OK.contains(&spec.name) {
        if let Some(msg) = b.warmup() {
            return Err(RpcErr::new(code::IN_WARMUP, msg));
        }
    }
    (spec.handler)(b, p)
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
}
