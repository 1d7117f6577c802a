//! Blockchain methods: the tip, blocks, headers, transactions and unspent outputs.

use super::params::{parse_hash, Params};
use super::RpcErr;
use crate::rpc::backend::{ContainingBlock, RpcBackend};
use crate::rpc::error::code;
use crate::rpc::json;
use crate::types::{Address, BlockHeader, Encode, OutPoint};
use serde_json::{json, Map, Value};

pub(super) fn getbestblockhash(b: &dyn RpcBackend, _p: &Params) -> Result<Value, RpcErr> {
    Ok(json!(b.chain_info().best_hash.to_hex()))
}

pub(super) fn getblockcount(b: &dyn RpcBackend, _p: &Params) -> Result<Value, RpcErr> {
    Ok(json!(b.chain_info().height))
}

pub(super) fn getblockchaininfo(b: &dyn RpcBackend, _p: &Params) -> Result<Value, RpcErr> {
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

pub(super) fn getblockhash(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let h = p.opt_i64(0)?.unwrap_or(-1);
    let tip = b.chain_info().height;
    if h < 0 || h as u64 > tip {
        return Err(RpcErr::param("Block height out of range"));
    }
    b.block_hash(h as u64)
        .map(|x| json!(x.to_hex()))
        .ok_or_else(|| RpcErr::param("Block height out of range"))
}

pub(super) fn getblock(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let net = b.network();
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
    Ok(json::block(
        &bc.block,
        bc.cert.as_ref(),
        tip,
        next,
        verbosity == 2,
        net,
    ))
}

pub(super) fn getblockheader(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
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

pub(super) fn getrawtransaction(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let net = b.network();
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
        if found.block.map(|blk| blk.hash) != Some(wb) {
            return Err(RpcErr::new(
                code::INVALID_ADDRESS_OR_KEY,
                "No such transaction found in the provided block.",
            ));
        }
    }
    let raw = hex::encode(found.tx.to_bytes());
    if !verbose {
        return Ok(json!(raw));
    }
    let mut v = json::tx(&found.tx, net);
    if let Value::Object(o) = &mut v {
        o.insert("hex".into(), json!(raw));
        if let Some(ContainingBlock {
            height,
            hash,
            time_ms,
        }) = found.block
        {
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

pub(super) fn getaddressutxos(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let net = b.network();
    let (list, mempool) = match p.get(0) {
        Some(Value::Array(a)) => (a.clone(), false),
        Some(Value::Object(o)) => (
            o.get("addresses")
                .and_then(Value::as_array)
                .cloned()
                .ok_or_else(|| RpcErr::param("missing \"addresses\" array"))?,
            o.get("mempool").and_then(Value::as_bool).unwrap_or(false),
        ),
        Some(_) => {
            return Err(RpcErr::type_err(
                "Expected an object or an array of addresses",
            ))
        }
        None => return Err(RpcErr::param("missing addresses")),
    };
    if list.len() > 1_000 {
        return Err(RpcErr::param("at most 1,000 addresses per call"));
    }
    let mut addrs = Vec::with_capacity(list.len());
    for v in &list {
        let s = v
            .as_str()
            .ok_or_else(|| RpcErr::type_err("addresses must be strings"))?;
        let a = Address::parse(s, net).map_err(|e| {
            RpcErr::new(
                code::INVALID_ADDRESS_OR_KEY,
                format!("Invalid address {s}: {e}"),
            )
        })?;
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

pub(super) fn gettxout(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let net = b.network();
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
