//! Network methods: peers, added nodes and bans.

use super::params::Params;
use super::RpcErr;
use crate::rpc::backend::{AddNodeCommand, BanAction, RpcBackend};
use crate::rpc::error::code;
use crate::rpc::json;
use crate::types::PublicKey;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

pub(super) fn getpeerinfo(b: &dyn RpcBackend, _p: &Params) -> Result<Value, RpcErr> {
    Ok(Value::Array(
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
    ))
}

pub(super) fn getconnectioncount(b: &dyn RpcBackend, _p: &Params) -> Result<Value, RpcErr> {
    Ok(json!(b.connection_count()))
}

pub(super) fn getnetworkinfo(b: &dyn RpcBackend, _p: &Params) -> Result<Value, RpcErr> {
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

pub(super) fn addnode(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
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

pub(super) fn setban(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let subnet = normalize_subnet(p.str(0)?).ok_or_else(|| {
        RpcErr::new(
            code::CLIENT_INVALID_IP_OR_SUBNET,
            "Error: Invalid IP/Subnet",
        )
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

pub(super) fn listbanned(b: &dyn RpcBackend, _p: &Params) -> Result<Value, RpcErr> {
    // The ban list keeps no start time: a ban counts from now, as it always has here.
    let now = now_secs();
    Ok(Value::Array(
        b.list_banned()
            .iter()
            .map(|e| {
                let until = unix_secs(e.until);
                json!({
                    "address": e.target(),
                    "ban_created": now,
                    "banned_until": until,
                    "ban_duration": until.saturating_sub(now),
                    "time_remaining": until.saturating_sub(now),
                    "reason": e.reason,
                })
            })
            .collect(),
    ))
}

/// Seconds since the Unix epoch at `t` (0 before it).
fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn now_secs() -> u64 {
    unix_secs(SystemTime::now())
}

/// Parses a `setban` target and prints it canonically, as `listbanned` prints it: an IP or
/// subnet (`1.2.3.4`, `::1`, `1.2.3.9/24`) becomes `network/bits` with the host bits cleared
/// (`1.2.3.4/32`, `::1/128`, `1.2.3.0/24`, as Bitcoin Core's subnets); a node-key ban,
/// `ip/<64 hex>` or `<64 hex>` alone, keeps that form with the key in lower case.
fn normalize_subnet(s: &str) -> Option<String> {
    use crate::p2p::store::{full_prefix, network_of};
    let s = s.trim();
    if let Some(k) = PublicKey::from_hex(s) {
        return Some(k.to_hex());
    }
    let (ip, bits) = match s.split_once('/') {
        None => {
            let ip: IpAddr = s.parse().ok()?;
            (ip, full_prefix(ip))
        }
        Some((ip, rest)) => {
            let ip: IpAddr = ip.parse().ok()?;
            if let Some(k) = PublicKey::from_hex(rest) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
