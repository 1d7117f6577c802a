//! The inbound memory budgets: every received frame holds a share of the node-wide budget
//! and of its peer's (counted in KiB of decoded messages) until the node drops the messages it
//! unpacked into, and reading from peers pauses while a budget is spent (backpressure).

use super::{Peer, Shared};
use tokio::sync::OwnedSemaphorePermit;

/// Units of the inbound budgets: the semaphores count KiB.
pub(super) const BUDGET_UNIT: usize = 1024;

/// Shares of the node-wide and the peer's inbound budgets held by one received frame (shared
/// by the messages it unpacks into); released when the last of them is dropped.
#[derive(Debug)]
pub(crate) struct InboundBudget {
    _global: OwnedSemaphorePermit,
    _peer: OwnedSemaphorePermit,
}

impl InboundBudget {
    /// The budget made of the permits [`take_budget`] gave (merged for one frame).
    pub(super) fn new(global: OwnedSemaphorePermit, peer: OwnedSemaphorePermit) -> InboundBudget {
        InboundBudget {
            _global: global,
            _peer: peer,
        }
    }
}

/// Budget units for `bytes`, at most `cap` (a message larger than a whole budget still fits).
fn units(bytes: usize, cap: usize) -> u32 {
    (bytes.div_ceil(BUDGET_UNIT).max(1))
        .min(cap.max(1))
        .min(u32::MAX as usize) as u32
}

/// Waits until `bytes` fit in both budgets; `None` when the peer is closed meanwhile.
pub(super) async fn take_budget(
    sh: &Shared,
    peer: &Peer,
    bytes: usize,
) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
    let g = units(bytes, sh.cfg.inbound_bytes / BUDGET_UNIT);
    let p = units(bytes, sh.cfg.peer_inbound_bytes / BUDGET_UNIT);
    tokio::select! {
        _ = peer.cancel.cancelled() => None,
        r = async {
            let peer_part = peer.inbound.clone().acquire_many_owned(p).await.ok()?;
            let global = sh.inbound_budget.clone().acquire_many_owned(g).await.ok()?;
            Some((global, peer_part))
        } => r,
    }
}
