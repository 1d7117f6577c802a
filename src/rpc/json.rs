//! JSON shaping: amounts, transactions, blocks and headers in Bitcoin Core's field names, and a
//! serializer that prints amounts with at most 8 decimals.
//!
//! Amounts are JSON numbers in TIME, like Bitcoin Core's BTC amounts. Without serde_json's
//! `arbitrary_precision` a number is an `f64`: the base-unit count is converted to the nearest
//! double of `units / 1e8`, and [`write_json`] prints every float with `{:.8}` and trailing zeros
//! trimmed. That output is the exact amount for every amount below 2^25 TIME (33,554,432 TIME,
//! where the spacing of doubles is still below half a base unit); clients that parse amounts
//! into doubles (as most Bitcoin clients do) have the same bound. Incoming amounts are accepted
//! as JSON numbers or strings; strings are parsed exactly with [`Amount::parse_time`].

use crate::types::tx::TxKind;
use crate::types::{
    Address, Amount, Block, BlockHeader, CommitCertificate, Encode, Hash, Network, Transaction,
    COIN,
};
use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use serde_json::{json, Map, Value};
use std::io;

/// An amount as a JSON number of TIME.
pub fn amount(a: Amount) -> Value {
    serde_json::Number::from_f64(a.0 as f64 / COIN as f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// A negated amount as a JSON number of TIME (Bitcoin Core's sends and fees).
pub fn neg_amount(a: Amount) -> Value {
    serde_json::Number::from_f64(-(a.0 as f64) / COIN as f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// A fee rate in base units per byte as TIME per kB (Bitcoin Core's `BTC/kvB` convention).
pub fn fee_rate_per_kb(units_per_byte: u64) -> Value {
    amount(Amount(units_per_byte.saturating_mul(1000)))
}

/// Why a JSON amount is not acceptable.
pub fn parse_amount(v: &Value) -> Result<Amount, String> {
    match v {
        Value::String(s) => Amount::parse_time(s).map_err(|e| format!("Invalid amount: {e}")),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                return u
                    .checked_mul(COIN)
                    .map(Amount)
                    .ok_or_else(|| "Amount out of range".to_string());
            }
            let f = n.as_f64().ok_or_else(|| "Invalid amount".to_string())?;
            if !f.is_finite() || f < 0.0 {
                return Err("Amount out of range".into());
            }
            let units = f * COIN as f64;
            if units >= u64::MAX as f64 {
                return Err("Amount out of range".into());
            }
            let rounded = units.round();
            // The double and the product carry a relative error of a few epsilon; anything
            // further from a whole base unit had more than 8 decimals.
            if (units - rounded).abs() > (units * 4.0 * f64::EPSILON).max(1e-6) {
                return Err("Invalid amount: at most 8 decimals are allowed".into());
            }
            Ok(Amount(rounded as u64))
        }
        _ => Err("Amount is not a number or string".into()),
    }
}

/// Serializes `v`, amounts (all floats) with at most 8 decimals; pretty with 2-space indent.
pub fn write_json(v: &Value, pretty: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let res = if pretty {
        let mut ser =
            serde_json::Serializer::with_formatter(&mut out, EightDecimals(PrettyFormatter::new()));
        v.serialize(&mut ser)
    } else {
        let mut ser =
            serde_json::Serializer::with_formatter(&mut out, EightDecimals(CompactFormatter));
        v.serialize(&mut ser)
    };
    // Serializing a Value into a Vec cannot fail (string keys, finite numbers, no I/O errors).
    debug_assert!(res.is_ok());
    out
}

/// Formats `f` with 8 decimals, trailing zeros trimmed (at least one decimal kept).
pub fn format_8(f: f64) -> String {
    let mut s = format!("{f:.8}");
    while s.ends_with('0') && !s.ends_with(".0") {
        s.pop();
    }
    if s == "-0.0" {
        s = "0.0".into();
    }
    s
}

struct EightDecimals<F>(F);

impl<F: Formatter> Formatter for EightDecimals<F> {
    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(format_8(value).as_bytes())
    }
    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        w.write_all(format_8(f64::from(value)).as_bytes())
    }
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

fn kind_name(k: &TxKind) -> &'static str {
    match k {
        TxKind::Transfer => "transfer",
        TxKind::Coinbase { .. } => "coinbase",
        TxKind::MasternodeRegister(_) => "masternode_register",
        TxKind::MasternodeUpdate(_) => "masternode_update",
        TxKind::MasternodeExit(_) => "masternode_exit",
    }
}

fn addr(a: &Address, net: Network) -> String {
    a.encode(net)
}

/// A transaction in `decoderawtransaction` shape.
pub fn tx(t: &Transaction, net: Network) -> Value {
    let bytes = t.to_bytes();
    let txid = t.txid().to_hex();
    let vin: Vec<Value> = t
        .inputs
        .iter()
        .map(|i| {
            json!({
                "txid": i.prev.txid.to_hex(),
                "vout": i.prev.index,
                "pubkey": i.pubkey.to_hex(),
                "signature": hex::encode(i.signature.0),
            })
        })
        .collect();
    let vout: Vec<Value> = t
        .outputs
        .iter()
        .enumerate()
        .map(|(n, o)| {
            json!({
                "value": amount(o.amount),
                "n": n,
                "scriptPubKey": {"address": addr(&o.address, net), "type": "pubkeyhash"},
            })
        })
        .collect();
    let mut m = Map::new();
    m.insert("txid".into(), json!(txid));
    m.insert("hash".into(), json!(txid));
    m.insert("version".into(), json!(t.version));
    m.insert("size".into(), json!(bytes.len()));
    m.insert("vsize".into(), json!(bytes.len()));
    m.insert("locktime".into(), json!(t.lock_time));
    m.insert("kind".into(), json!(kind_name(&t.kind)));
    m.insert("vin".into(), Value::Array(vin));
    m.insert("vout".into(), Value::Array(vout));
    match &t.kind {
        TxKind::Transfer => {}
        TxKind::Coinbase { height } => {
            m.insert("coinbase".into(), json!({"height": height}));
        }
        TxKind::MasternodeRegister(r) => {
            m.insert(
                "masternode".into(),
                json!({
                    "collateral": {"txid": r.collateral.txid.to_hex(), "vout": r.collateral.index},
                    "tier": r.tier.name(),
                    "nodekey": r.node_key.to_hex(),
                    "p2paddr": r.p2p_addr,
                    "payout": addr(&r.payout, net),
                    "owner": r.owner.to_hex(),
                }),
            );
        }
        TxKind::MasternodeUpdate(u) => {
            m.insert(
                "masternode".into(),
                json!({
                    "collateral": {"txid": u.collateral.txid.to_hex(), "vout": u.collateral.index},
                    "p2paddr": u.p2p_addr,
                    "payout": addr(&u.payout, net),
                    "owner": u.owner.to_hex(),
                }),
            );
        }
        TxKind::MasternodeExit(x) => {
            m.insert(
                "masternode".into(),
                json!({
                    "collateral": {"txid": x.collateral.txid.to_hex(), "vout": x.collateral.index},
                    "owner": x.owner.to_hex(),
                }),
            );
        }
    }
    Value::Object(m)
}

/// Header fields shared by `getblockheader` and `getblock`.
pub fn header(h: &BlockHeader, tip_height: u64, next: Option<Hash>, out: &mut Map<String, Value>) {
    out.insert("hash".into(), json!(h.hash().to_hex()));
    out.insert(
        "confirmations".into(),
        json!(tip_height.saturating_sub(h.height).saturating_add(1)),
    );
    out.insert("height".into(), json!(h.height));
    out.insert("version".into(), json!(h.version));
    out.insert("merkleroot".into(), json!(h.merkle_root.to_hex()));
    out.insert("time".into(), json!(h.time_ms / 1000));
    out.insert("mediantime".into(), json!(h.time_ms / 1000));
    out.insert("timems".into(), json!(h.time_ms));
    out.insert("proposer".into(), json!(h.proposer.to_hex()));
    out.insert(
        "validatorsethash".into(),
        json!(h.validator_set_hash.to_hex()),
    );
    out.insert("lastcommithash".into(), json!(h.last_commit_hash.to_hex()));
    if h.height > 0 {
        out.insert("previousblockhash".into(), json!(h.prev_hash.to_hex()));
    }
    if let Some(n) = next {
        out.insert("nextblockhash".into(), json!(n.to_hex()));
    }
}

/// A certificate summary.
pub fn cert(c: &CommitCertificate) -> Value {
    json!({
        "height": c.height,
        "round": c.round,
        "blockhash": c.block_hash.to_hex(),
        "signatures": c.sigs.len(),
        "signers": c.sigs.iter().map(|s| s.voter.to_hex()).collect::<Vec<_>>(),
    })
}

/// A block for `getblock` verbosity 1 (`full_txs = false`: ids) or 2 (full transactions).
pub fn block(
    b: &Block,
    c: Option<&CommitCertificate>,
    tip_height: u64,
    next: Option<Hash>,
    full_txs: bool,
    net: Network,
) -> Value {
    let mut m = Map::new();
    header(&b.header, tip_height, next, &mut m);
    m.insert("size".into(), json!(b.to_bytes().len()));
    m.insert("nTx".into(), json!(b.txs.len()));
    let txs: Vec<Value> = if full_txs {
        b.txs.iter().map(|t| tx(t, net)).collect()
    } else {
        b.txs.iter().map(|t| json!(t.txid().to_hex())).collect()
    };
    m.insert("tx".into(), Value::Array(txs));
    m.insert("evidence".into(), json!(b.evidence.len()));
    m.insert("commit".into(), c.map(cert).unwrap_or(Value::Null));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_print_exactly() {
        for units in [
            0u64,
            1,
            10,
            150_000_000,
            2_100_000_000_000_000,
            3_355_443_199_999_999,
        ] {
            let v = json!({"a": amount(Amount(units))});
            let s = String::from_utf8(write_json(&v, false)).unwrap();
            let num = s.trim_start_matches("{\"a\":").trim_end_matches('}');
            assert_eq!(Amount::parse_time(num).unwrap(), Amount(units), "{s}");
        }
        let s = String::from_utf8(write_json(&json!([neg_amount(Amount(5))]), false)).unwrap();
        assert_eq!(s, "[-0.00000005]");
        assert_eq!(format_8(1.0), "1.0");
        assert_eq!(format_8(0.1), "0.1");
    }

    #[test]
    fn amounts_parse() {
        assert_eq!(parse_amount(&json!("1.5")), Ok(Amount(150_000_000)));
        assert_eq!(parse_amount(&json!(1.5)), Ok(Amount(150_000_000)));
        assert_eq!(parse_amount(&json!(0.1)), Ok(Amount(10_000_000)));
        assert_eq!(parse_amount(&json!(0.00000001)), Ok(Amount(1)));
        assert_eq!(
            parse_amount(&json!(21000000.12345678)),
            Ok(Amount(2_100_000_012_345_678))
        );
        assert_eq!(parse_amount(&json!(3)), Ok(Amount(300_000_000)));
        assert!(parse_amount(&json!(0.000000001)).is_err());
        assert!(parse_amount(&json!(-1)).is_err());
        assert!(parse_amount(&json!("abc")).is_err());
        assert!(parse_amount(&json!(true)).is_err());
    }
}
