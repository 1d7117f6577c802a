//! Control and utility methods: help, stop, uptime, address checks and the snapshot long
//! poll that `timed attach` follows.

use super::params::Params;
use super::{all_help, find, method_help, RpcErr};
use crate::rpc::backend::RpcBackend;
use crate::rpc::error::code;
use crate::types::Address;
use serde_json::{json, Value};
use std::time::Duration;

/// The long-poll method, which the server waits for before calling the backend.
pub const LONG_POLL: &str = "getnodesnapshot";
/// Default wait of `getnodesnapshot`.
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

pub(super) fn help(_b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    match p.opt_str(0)? {
        None => Ok(json!(all_help())),
        Some(c) => match find(c) {
            Some(s) => Ok(json!(method_help(s))),
            None => Ok(json!(format!("help: unknown command: {c}"))),
        },
    }
}

pub(super) fn stop(b: &dyn RpcBackend, _p: &Params) -> Result<Value, RpcErr> {
    b.stop();
    Ok(json!("TimeCoin server stopping"))
}

pub(super) fn uptime(b: &dyn RpcBackend, _p: &Params) -> Result<Value, RpcErr> {
    Ok(json!(b.uptime_secs()))
}

pub(super) fn validateaddress(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let net = b.network();
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

pub(super) fn getnodesnapshot(b: &dyn RpcBackend, p: &Params) -> Result<Value, RpcErr> {
    let w = snapshot_wait(p)?;
    match b.node_snapshot(w.max_logs) {
        Some((seq, snapshot)) => Ok(json!({ "seq": seq, "snapshot": snapshot })),
        None => Err(RpcErr::new(
            code::METHOD_NOT_FOUND,
            "this node publishes no snapshot",
        )),
    }
}
