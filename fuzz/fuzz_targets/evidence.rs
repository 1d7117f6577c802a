//! Equivocation evidence from a peer or a block: canonical re-encoding, then its id and the full
//! check (same slot, canonical order, both signatures) on its own chain id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use timecoin::types::Evidence;

fuzz_target!(|data: &[u8]| {
    if let Some(e) = timecoin_fuzz::canonical::<Evidence>(data) {
        let _ = (e.id(), e.offender(), e.verify(&e.a.chain_id));
    }
});
