//! A prevote or precommit from a peer: canonical re-encoding, then signature verification of
//! every accepted vote (the verification rule's point decoding sees arbitrary bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use timecoin::types::Vote;

fuzz_target!(|data: &[u8]| {
    if let Some(v) = timecoin_fuzz::canonical::<Vote>(data) {
        let _ = v.verify();
    }
});
