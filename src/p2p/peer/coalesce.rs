//! Transaction coalescing on the way out: consecutive `Tx` frames already due are rewritten as
//! one `Txs` frame, and consecutive one-id `TxAnnounce` frames as one `TxAnnounce` of their
//! ids; the receiver unpacks either into the same items.

use super::Frame;
use crate::p2p::{frame, message};
use std::sync::Arc;

/// Frame bytes before a `Tx` frame's transaction: length prefix and tag.
const TX_HEADER: usize = 5;
/// Frame bytes before a one-id `TxAnnounce` frame's id: length prefix, tag and id count.
const ANNOUNCE_HEADER: usize = 9;

/// A kind of frame that several of can be sent as one.
struct Batchable {
    /// Bytes of each single frame before the item.
    header: usize,
    /// Tag of the combined message.
    tag: u8,
    /// Most items combined.
    max_items: usize,
    /// Most item bytes combined.
    max_bytes: usize,
}

impl Batchable {
    /// The batch kind `f` starts, if any.
    fn of(f: &[u8], max_frame: usize) -> Option<Batchable> {
        match f.get(4) {
            Some(&message::TX_TAG) => Some(Batchable {
                header: TX_HEADER,
                tag: message::TXS_TAG,
                max_items: message::MAX_TX_BATCH,
                max_bytes: message::TX_BATCH_BYTES.min(max_frame.saturating_sub(16)),
            }),
            // Only announcements of exactly one id (what the node sends) are combined.
            Some(&message::TX_ANNOUNCE_TAG) if f.len() == ANNOUNCE_HEADER + 32 => Some(Batchable {
                header: ANNOUNCE_HEADER,
                tag: message::TX_ANNOUNCE_TAG,
                max_items: message::MAX_TX_IDS,
                max_bytes: message::MAX_TX_IDS * 32,
            }),
            _ => None,
        }
    }
}

/// Whether `f` is a frame that [`coalesce_txs`] combines with the ones behind it.
pub(super) fn is_batchable(f: &[u8], max_frame: usize) -> bool {
    Batchable::of(f, max_frame).is_some()
}

/// Frames of the same batchable kind due right behind `first` (from `next`) are sent as one,
/// so a busy network needs few messages per second (the receiver unpacks the batch). Nothing
/// waits for a batch to fill: only what is already due is combined. The first frame that does
/// not fit is left in `held`.
pub(super) fn coalesce_txs(
    first: Frame,
    mut next: impl FnMut() -> Option<Frame>,
    held: &mut Option<Frame>,
    max_frame: usize,
) -> Frame {
    let Some(kind) = Batchable::of(&first, max_frame) else {
        return first;
    };
    let same = |f: &[u8]| Batchable::of(f, max_frame).is_some_and(|k| k.tag == kind.tag);
    let mut total = first.len() - kind.header;
    let mut parts = vec![first];
    while parts.len() < kind.max_items {
        let Some(f) = next() else { break };
        if !same(&f) || total + (f.len() - kind.header) > kind.max_bytes {
            *held = Some(f);
            break;
        }
        total += f.len() - kind.header;
        parts.push(f);
    }
    if parts.len() == 1 {
        return parts.swap_remove(0);
    }
    let mut payload = Vec::with_capacity(total + 5);
    payload.push(kind.tag);
    crate::types::encoding::put::len(&mut payload, parts.len());
    for p in &parts {
        payload.extend_from_slice(&p[kind.header..]);
    }
    Arc::new(frame::encode_frame(&payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::p2p::Message;
    use crate::types::encoding::Encode;
    use crate::types::Hash;
    use std::collections::VecDeque;

    fn framed(m: &Message) -> Frame {
        Arc::new(frame::encode_frame(&m.to_bytes()))
    }

    #[test]
    fn one_id_announcements_are_combined_and_other_frames_left_held() {
        let ids: Vec<Hash> = (0..3u8).map(|i| Hash([i; 32])).collect();
        let mut queue: VecDeque<Frame> = ids
            .iter()
            .skip(1)
            .map(|id| framed(&Message::TxAnnounce(vec![*id])))
            .collect();
        queue.push_back(framed(&Message::Ping(7)));
        let mut held = None;
        let first = framed(&Message::TxAnnounce(vec![ids[0]]));
        let out = coalesce_txs(first, || queue.pop_front(), &mut held, 1 << 20);
        let decoded = Message::decode(&out[4..]).expect("a valid message");
        assert_eq!(decoded, Message::TxAnnounce(ids));
        assert_eq!(held.as_deref(), Some(&*framed(&Message::Ping(7))));
    }

    #[test]
    fn announcements_are_not_mixed_with_transactions() {
        let mut chain = crate::ledger::testkit::TestChain::devnet(1);
        let tx = chain.transfer(1).expect("a faucet coin");
        let mut queue: VecDeque<Frame> = [framed(&Message::Tx(tx.clone()))].into();
        let mut held = None;
        let first = framed(&Message::TxAnnounce(vec![Hash([1; 32])]));
        let out = coalesce_txs(first.clone(), || queue.pop_front(), &mut held, 1 << 20);
        assert_eq!(out, first);
        assert_eq!(held.as_deref(), Some(&*framed(&Message::Tx(tx))));
    }
}
