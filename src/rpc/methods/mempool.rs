//! Mempool and raw-transaction methods: what waits in the mempool, decoding and submitting.

use super::params::{decode_tx, Params};
use super::RpcErr;
use crate::rpc::backend::{RpcBackend, SubmitError};
use crate::rpc::json;
use serde_json::{json, Map, Value};

pub(super) fn getrawmempool(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
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

pub(super) fn getmempoolinfo(b: &dyn RpcBackend, _p: &Params) -> Result<Value, RpcErr> {
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

pub(super) fn decoderawtransaction(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let net = b.network();
    let tx = decode_tx(&p.hex(0)?)?;
    Ok(json::tx(&tx, net))
}

pub(super) fn sendrawtransaction(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let tx = decode_tx(&p.hex(0)?)?;
    let txid = tx.txid();
    match b.submit_tx(tx) {
        Ok(h) => Ok(json!(h.to_hex())),
        Err(SubmitError::AlreadyKnown) => Ok(json!(txid.to_hex())),
        Err(e) => Err(e.into()),
    }
}
