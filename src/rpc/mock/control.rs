//! The mock's control: warm-up, uptime, stop and the snapshot the UI follows.

use super::*;

pub(super) fn warmup(m: &MockBackend) -> Option<String> {
    m.lock().warmup.clone()
}

pub(super) fn network() -> Network {
    Network::Devnet
}

pub(super) fn uptime_secs() -> u64 {
    MockBackend::UPTIME
}

pub(super) fn stop(m: &MockBackend) {
    m.lock().stopped = true;
}

pub(super) fn snapshot_changes(m: &MockBackend) -> Option<tokio::sync::watch::Receiver<u64>> {
    Some(m.snapshot_seq.subscribe())
}

pub(super) fn node_snapshot(m: &MockBackend, max_logs: usize) -> Option<(u64, serde_json::Value)> {
    let seq = *m.snapshot_seq.borrow();
    let height = m.tip();
    Some((
        seq,
        serde_json::json!({ "height": height, "max_logs": max_logs }),
    ))
}
