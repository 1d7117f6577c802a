//! One frame payload from a peer: `Message::decode` (per-kind size limit, then the fields). An
//! accepted message re-encodes to the same bytes; its gossip key is computable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use timecoin::p2p::message::{gossip_key, max_len_for_tag};
use timecoin::p2p::Message;

fuzz_target!(|data: &[u8]| {
    if let Some(m) = timecoin_fuzz::round_trip(data, Message::decode) {
        assert!(max_len_for_tag(data[0]).is_some_and(|max| data.len() <= max));
        let _ = (m.kind(), m.is_internal(), gossip_key(&m, data));
    }
});
