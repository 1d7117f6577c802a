//! `timed masternode register|status|update|exit`: the masternode lifecycle of a running node,
//! over its JSON-RPC server (so it works against a node running as a service). The node's
//! wallet builds the transactions (`registermasternode` and friends), so it also keeps the
//! collateral out of later sends. Each transaction is first built as a dry run and shown;
//! the confirmed call then insists on that dry run's txid and fee, so what is sent is what
//! was shown.

use super::args::{MasternodeAction, MasternodeArgs, NodeArgs};
use super::resolve;
use super::wallet_cmd::{client_for, confirm_send, passphrase, rpc_call};
use crate::rpc::client::RpcClient;
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// `println!` that ignores a closed stdout (`timed masternode status | head -1`) instead of
/// panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// How long the node wallet stays unlocked when this command unlocks it (it is locked again
/// at the end).
const UNLOCK_SECS: u64 = 120;

/// Runs a masternode action.
pub fn run(args: MasternodeArgs, node: &NodeArgs) -> Result<(), String> {
    let config = resolve::load_config(node).map_err(|e| e.to_string())?;
    let auth = match (&args.rpc_user, &args.rpc_password) {
        (Some(u), Some(p)) => Some(crate::rpc::auth::basic_header(u, p)),
        _ => match &args.cookie {
            Some(f) => {
                let (u, p) = crate::rpc::auth::read_cookie(f)
                    .map_err(|e| format!("--cookie {}: {e}", f.display()))?;
                Some(crate::rpc::auth::basic_header(&u, &p))
            }
            None => None,
        },
    };
    let mut c = client_for(&config, config.node.network, args.rpc_url.as_deref(), auth)?;
    let mut s = Session {
        c: &mut c,
        args: &args,
        unlocked_by_us: false,
    };
    // `--collateral` else `[masternode] collateral`.
    let configured = config.masternode.collateral.clone();
    let or_configured = |c: &Option<String>| c.clone().or_else(|| configured.clone());
    let r = match &args.action {
        MasternodeAction::Status => s.status(),
        MasternodeAction::Register {
            tier,
            collateral,
            payout,
            p2p_addr,
            wait_secs,
        } => s.register(
            tier,
            or_configured(collateral).as_deref(),
            payout.as_deref(),
            p2p_addr.as_deref(),
            Duration::from_secs(*wait_secs),
        ),
        MasternodeAction::Update {
            p2p_addr,
            payout,
            collateral,
        } => {
            if p2p_addr.is_none() && payout.is_none() {
                Err("nothing to update: give --p2p-addr and/or --payout".into())
            } else {
                let mut o = Map::new();
                put(&mut o, "p2paddr", p2p_addr.as_deref());
                put(&mut o, "payout", payout.as_deref());
                put(&mut o, "collateral", or_configured(collateral).as_deref());
                s.step("updatemasternode", &[], o).map(drop)
            }
        }
        MasternodeAction::Exit { collateral } => {
            let mut o = Map::new();
            put(&mut o, "collateral", or_configured(collateral).as_deref());
            s.step("exitmasternode", &[], o).map(drop)
        }
    };
    s.relock();
    r
}

fn put(o: &mut Map<String, Value>, k: &str, v: Option<&str>) {
    if let Some(v) = v {
        o.insert(k.into(), json!(v));
    }
}

struct Session<'a> {
    c: &'a mut RpcClient,
    args: &'a MasternodeArgs,
    unlocked_by_us: bool,
}

fn s<'v>(v: &'v Value, k: &str) -> &'v str {
    v.get(k).and_then(Value::as_str).unwrap_or("?")
}

impl Session<'_> {
    fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        rpc_call(self.c, method, params).map_err(|e| {
            if e.contains("No wallet is loaded") {
                format!(
                    "{e}\nThe node loads its wallet ([wallet] file, else <datadir>/wallet.dat) \
                     when it starts: create it, then restart the node."
                )
            } else {
                e
            }
        })
    }

    /// Calls `method`; if the node's wallet is locked, unlocks it (passphrase from
    /// `--passphrase-file`, TIMECOIN_WALLET_PASSPHRASE or a prompt) and calls again.
    fn wallet_call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        match self.call(method, params.clone()) {
            Err(e) if e.contains("walletpassphrase") && !self.unlocked_by_us => {
                let p = passphrase(
                    self.args.passphrase_file.as_deref(),
                    "the node's wallet is locked; wallet passphrase: ",
                    false,
                )?;
                self.call("walletpassphrase", json!([p.as_str(), UNLOCK_SECS]))
                    .map_err(|e| format!("{e} (--passphrase-file)"))?;
                self.unlocked_by_us = true;
                self.call(method, params)
            }
            other => other,
        }
    }

    fn relock(&mut self) {
        if self.unlocked_by_us {
            let _ = self.call("walletlock", json!([]));
        }
    }

    fn status(&mut self) -> Result<(), String> {
        let st = self.call("getmasternodestatus", json!([]))?;
        out!("state      {}", s(&st, "state"));
        out!("status     {}", s(&st, "status"));
        if let Some(k) = st.get("nodekey").and_then(Value::as_str) {
            out!("node key   {k}");
        }
        if st.get("tier").is_some() {
            out!("tier       {} (weight {})", s(&st, "tier"), st["weight"]);
            out!(
                "collateral {}:{}",
                s(&st, "collateralhash"),
                st.get("collateralindex").unwrap_or(&Value::Null)
            );
            out!("p2p addr   {}", s(&st, "address"));
            out!("payout     {}", s(&st, "payout"));
            out!("registered at height {}", st["registeredheight"]);
            match st.get("lastvoteheight").and_then(Value::as_u64) {
                Some(h) => out!("last vote at height {h}"),
                None => out!("last vote: none seen"),
            }
        }
        Ok(())
    }

    /// Previews `method` (a dry run), asks, then sends it bound to the preview's txid and fee.
    /// Returns the node's report of what was sent.
    fn step(
        &mut self,
        method: &str,
        lead: &[Value],
        opts: Map<String, Value>,
    ) -> Result<Value, String> {
        let params = |extra: Map<String, Value>| {
            let mut o = opts.clone();
            o.extend(extra);
            let mut p = lead.to_vec();
            p.push(Value::Object(o));
            Value::Array(p)
        };
        let mut dry = Map::new();
        dry.insert("dryrun".into(), json!(true));
        let preview = self.wallet_call(method, params(dry))?;
        show_preview(&preview);
        if !self.args.yes {
            confirm_send()?;
        }
        let mut bound = Map::new();
        bound.insert("txid".into(), preview["txid"].clone());
        bound.insert("maxfee".into(), preview["fee"].clone());
        let sent = self.wallet_call(method, params(bound))?;
        out!("sent {}", s(&sent, "txid"));
        match s(&sent, "step") {
            "fund_collateral" => {}
            "register" => out!(
                "the masternode becomes active 2 blocks after the registration is final; \
                 watch it with `timed masternode status`"
            ),
            "exit" => out!(
                "the node leaves the voting set once the exit is final; the collateral is \
                 spendable again"
            ),
            _ => out!("the change applies once the transaction is final"),
        }
        Ok(sent)
    }

    fn register(
        &mut self,
        tier: &str,
        collateral: Option<&str>,
        payout: Option<&str>,
        p2p_addr: Option<&str>,
        wait: Duration,
    ) -> Result<(), String> {
        let st = self.call("getmasternodestatus", json!([]))?;
        match s(&st, "state") {
            "DISABLED" => {
                return Err(
                    "masternode mode is off on this node: set [masternode] enabled = \
                            true in its config and restart it, then register"
                        .into(),
                )
            }
            "WAITING_FOR_REGISTRATION" => {}
            other => {
                return Err(format!(
                    "this node is already a masternode ({other}): see `timed masternode status`"
                ))
            }
        }
        let mut opts = Map::new();
        put(&mut opts, "collateral", collateral);
        put(&mut opts, "payout", payout);
        put(&mut opts, "p2paddr", p2p_addr);
        let sent = self.step("registermasternode", &[json!(tier)], opts.clone())?;
        if s(&sent, "step") != "fund_collateral" {
            return Ok(());
        }
        // Step 2 of 2, once the collateral output is final.
        let txid = s(&sent, "txid").to_string();
        out!(
            "waiting for the collateral transfer to be final (up to {} s)",
            wait.as_secs()
        );
        let start = Instant::now();
        loop {
            let final_now = self
                .call("getrawtransaction", json!([txid, true]))
                .ok()
                .and_then(|v| v.get("blockheight").and_then(Value::as_u64));
            if let Some(h) = final_now {
                out!("final at height {h}");
                break;
            }
            if start.elapsed() > wait {
                return Err(format!(
                    "the collateral transfer {txid} is not final after {} s; run the same \
                     command again once it is (it will be used), or raise --wait-secs",
                    wait.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        opts.insert("collateral".into(), sent["collateral"].clone());
        self.step("registermasternode", &[json!(tier)], opts)
            .map(drop)
    }
}

/// An amount field as TIME with 8 decimals ("?" if absent or malformed).
fn amount(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(|x| crate::rpc::json::parse_amount(x).ok())
        .map(|a| a.to_string())
        .unwrap_or_else(|| "?".into())
}

fn show_preview(p: &Value) {
    let fee = amount(p, "fee");
    let spent = amount(p, "spent");
    let collateral = crate::types::Tier::from_name(s(p, "tier"))
        .map(|t| t.collateral().to_string())
        .unwrap_or_else(|| "?".into());
    match s(p, "step") {
        "fund_collateral" => {
            out!(
                "step 1 of 2: move {collateral} TIME, the {} collateral, within the wallet to a \
                 new address of its own",
                s(p, "tier")
            );
            out!(
                "collateral {} (created by this transfer)",
                s(p, "collateral")
            );
            out!("fee        {fee} TIME");
            out!("leaves the wallet: {spent} TIME (the fee)");
            out!(
                "then step 2, the registration (its fee is shown before it is sent), once this \
                 transfer is final"
            );
        }
        "register" => {
            out!("register this node as a {} masternode", s(p, "tier"));
            out!("node key   {}", s(p, "nodekey"));
            out!(
                "collateral {} ({collateral} TIME, stays in the wallet, locked while registered)",
                s(p, "collateral")
            );
            out!("p2p addr   {}", s(p, "p2paddr"));
            out!("payout     {}", s(p, "payout"));
            out!("fee        {fee} TIME");
            out!("leaves the wallet: {spent} TIME (the fee)");
        }
        "update" => {
            out!(
                "update the masternode with collateral {}",
                s(p, "collateral")
            );
            out!("p2p addr   {}", s(p, "p2paddr"));
            out!("payout     {}", s(p, "payout"));
            out!("fee        {fee} TIME");
        }
        _ => {
            out!(
                "exit the {} masternode with collateral {} (node key {})",
                s(p, "tier"),
                s(p, "collateral"),
                s(p, "nodekey")
            );
            out!("fee        {fee} TIME");
            out!("it stops voting once the exit is final; the collateral becomes spendable");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn field_of_missing_is_placeholder() {
        let v = serde_json::json!({"a": "b"});
        assert_eq!(super::s(&v, "a"), "b");
        assert_eq!(super::s(&v, "z"), "?");
    }
}
