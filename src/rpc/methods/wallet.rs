//! Wallet methods (Bitcoin Core's), answered by the node's wallet.

use super::params::{parse_address, Params};
use super::RpcErr;
use crate::rpc::backend::{RpcBackend, SendRequest, WalletTxCategory, WalletTxEntry};
use crate::rpc::error::code;
use crate::rpc::json;
use crate::types::{Address, Amount, Encode, Network};
use secrecy::SecretString;
use serde_json::{json, Map, Value};

pub(super) fn getbalance(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
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
        bal.finalized
            .checked_add(bal.pending)
            .unwrap_or(bal.finalized)
    } else {
        bal.finalized
    };
    Ok(json::amount(total))
}

pub(super) fn getbalances(b: &dyn RpcBackend, _p: &Params) -> Result<Value, RpcErr> {
    let bal = b.wallet_balances()?;
    Ok(json!({"mine": {
        "trusted": json::amount(bal.finalized),
        "untrusted_pending": json::amount(bal.pending),
        "immature": json::amount(Amount::ZERO),
        "locked": json::amount(bal.locked),
    }}))
}

pub(super) fn getnewaddress(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let net = b.network();
    let label = p.opt_str(0)?.unwrap_or("");
    if label == "*" {
        return Err(RpcErr::new(code::WALLET_ERROR, "Invalid label name"));
    }
    Ok(json!(b.wallet_new_address(label)?.encode(net)))
}

pub(super) fn listunspent(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let net = b.network();
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
            let conf = u
                .height
                .map(|h| tip.saturating_sub(h).saturating_add(1))
                .unwrap_or(0);
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

pub(super) fn listtransactions(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let net = b.network();
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

pub(super) fn gettransaction(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let net = b.network();
    let txid = p.hash(0)?;
    let verbose = p.opt_bool(2)?.unwrap_or(false);
    let wt = b.wallet_transaction(&txid)?.ok_or_else(|| {
        RpcErr::new(
            code::INVALID_ADDRESS_OR_KEY,
            "Invalid or non-wallet transaction id",
        )
    })?;
    let tip = b.chain_info().height;
    let mut net_units: i128 = 0;
    let mut fee: Option<Amount> = None;
    for e in &wt.entries {
        match e.category {
            WalletTxCategory::Send => {
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
        json!(block
            .map(|(h, _)| tip.saturating_sub(h).saturating_add(1))
            .unwrap_or(0)),
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

pub(super) fn sendtoaddress(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
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

pub(super) fn walletpreparesend(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let net = b.network();
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

pub(super) fn walletconfirmsend(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let id = p
        .opt_u64(0)?
        .ok_or_else(|| RpcErr::param("previewid is required"))?;
    Ok(json!(b.wallet_confirm_send(id)?.to_hex()))
}

pub(super) fn walletpassphrase(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
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

pub(super) fn setlabel(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    crate::rpc::wallet_labels::setlabel(b, parse_address(b, p.str(0)?)?, p.str(1)?)
}

pub(super) fn walletlock(b: &dyn RpcBackend, _p: &Params) -> Result<Value, RpcErr> {
    b.wallet_lock()?;
    Ok(Value::Null)
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

fn entry_json(e: &WalletTxEntry, tip: u64, net: Network) -> Value {
    let send = e.category == WalletTxCategory::Send;
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
    if let Some(vout) = e.vout {
        o.insert("vout".into(), json!(vout));
    }
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
