//! A signed proposal from a peer: canonical re-encoding, then signature verification.
#![no_main]

use libfuzzer_sys::fuzz_target;
use timecoin::types::Proposal;

fuzz_target!(|data: &[u8]| {
    if let Some(p) = timecoin_fuzz::canonical::<Proposal>(data) {
        let _ = p.verify();
    }
});
