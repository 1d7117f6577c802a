//! Transaction coalescing on the way out: consecutive `Tx` frames already due are rewritten as
//! one `Txs` frame, which the receiver unpacks into the same transactions.

use super::Frame;
use crate::p2p::{frame, message};
use std::sync::Arc;

/// Transaction frames due right behind `first` (from `next`) are sent as one `Txs` batch, so
/// a busy network needs few messages per second (the receiver unpacks the batch). Nothing
/// waits for a batch to fill: only what is already due is combined.
pub(super) fn coalesce_txs(
    first: Frame,
    mut next: impl FnMut() -> Option<Frame>,
    held: &mut Option<Frame>,
    max_frame: usize,
) -> Frame {
    const HEADER: usize = 5; // length prefix + tag
    if first.get(4) != Some(&message::TX_TAG) {
        return first;
    }
    let cap = message::TX_BATCH_BYTES.min(max_frame.saturating_sub(16));
    let mut total = first.len() - HEADER;
    let mut parts = vec![first];
    while parts.len() < message::MAX_TX_BATCH {
        let Some(f) = next() else { break };
        if f.get(4) != Some(&message::TX_TAG) || total + (f.len() - HEADER) > cap {
            *held = Some(f);
            break;
        }
        total += f.len() - HEADER;
        parts.push(f);
    }
    if parts.len() == 1 {
        return parts.swap_remove(0);
    }
    let mut payload = Vec::with_capacity(total + 5);
    payload.push(message::TXS_TAG);
    crate::types::encoding::put::len(&mut payload, parts.len());
    for p in &parts {
        payload.extend_from_slice(&p[HEADER..]);
    }
    Arc::new(frame::encode_frame(&payload))
}
