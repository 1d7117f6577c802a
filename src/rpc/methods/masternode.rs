//! Masternode methods: the registry, this node's status, and the wallet's masternode
//! transactions.

use super::params::{parse_address, parse_hash, Params};
use super::RpcErr;
use crate::rpc::backend::{
    MasternodeAction, MasternodeInfo, MasternodeState, MasternodeTxRequest, OwnMasternodeStatus,
    RpcBackend,
};
use crate::rpc::json;
use crate::types::{Address, Amount, Hash, Network, OutPoint, Tier};
use serde_json::{json, Value};

pub(super) fn listmasternodes(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let net = b.network();
    let filter = p.opt_str(0)?.map(|s| s.to_ascii_lowercase());
    let list: Vec<Value> = b
        .masternodes()
        .iter()
        .map(|mn| masternode_json(mn, net))
        .filter(|v| match &filter {
            None => true,
            Some(f) => ["tier", "status", "nodekey", "address", "payout"]
                .iter()
                .any(|k| {
                    v.get(*k)
                        .and_then(Value::as_str)
                        .map(|s| s.to_ascii_lowercase().contains(f.as_str()))
                        .unwrap_or(false)
                }),
        })
        .collect();
    Ok(Value::Array(list))
}

pub(super) fn getmasternodestatus(b: &dyn RpcBackend, _p: &Params) -> Result<Value, RpcErr> {
    let net = b.network();
    Ok(match b.masternode_status() {
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
                        MasternodeState::Pending => "Registered, waiting for activation",
                        MasternodeState::Active => "Ready",
                        MasternodeState::Banned => "Banned for equivocation",
                    }),
                );
            }
            v
        }
    })
}

pub(super) fn registermasternode(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let o = MasternodeOptions::parse(b, p.get(1), p.method())?;
    let t = p.str(0)?;
    let tier = Tier::from_name(t)
        .filter(|t| *t != Tier::Free)
        .ok_or_else(|| {
            RpcErr::param(format!(
                "tier must be bronze, silver or gold (not '{}')",
                t.chars().take(20).collect::<String>()
            ))
        })?;
    let action = MasternodeAction::Register {
        tier,
        collateral: o.collateral,
        payout: o.payout,
        p2p_addr: o.p2p_addr.clone(),
    };
    masternode_tx(b, action, &o)
}

pub(super) fn updatemasternode(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let o = MasternodeOptions::parse(b, p.get(0), p.method())?;
    if o.p2p_addr.is_none() && o.payout.is_none() {
        return Err(RpcErr::param(
            "nothing to update: give p2paddr and/or payout",
        ));
    }
    let action = MasternodeAction::Update {
        collateral: o.collateral,
        p2p_addr: o.p2p_addr.clone(),
        payout: o.payout,
    };
    masternode_tx(b, action, &o)
}

pub(super) fn exitmasternode(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let o = MasternodeOptions::parse(b, p.get(0), p.method())?;
    let action = MasternodeAction::Exit {
        collateral: o.collateral,
    };
    masternode_tx(b, action, &o)
}

/// Asks the wallet for a masternode transaction with the guards of `o`; its report as JSON.
fn masternode_tx(
    b: &dyn RpcBackend,
    action: MasternodeAction,
    o: &MasternodeOptions,
) -> Result<Value, RpcErr> {
    let net = b.network();
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

/// `txid:vout`.
fn parse_outpoint(s: &str) -> Option<OutPoint> {
    OutPoint::parse(s)
}

fn masternode_json(mn: &MasternodeInfo, net: Network) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::error::code;
    use serde_json::json;

    #[test]
    fn masternode_params_are_checked_before_the_wallet() {
        let mock = crate::rpc::mock::MockBackend::new();
        let run = |name: &str, v: Value| {
            let spec = super::super::find(name).unwrap();
            let p = Params::new(spec, Some(&v))?;
            super::super::call(&mock, spec, &p)
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
}
