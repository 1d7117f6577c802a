//! A commit certificate (sync replies, blocks' last commit, storage) and a validator set
//! (storage snapshots): canonical re-encoding of both. An accepted certificate is then verified
//! against the set of its own signers, which runs batch verification on arbitrary points.
#![no_main]

use libfuzzer_sys::fuzz_target;
use timecoin::types::{CommitCertificate, Hash, Validator, ValidatorSet};

fuzz_target!(|data: &[u8]| {
    if let Some(c) = timecoin_fuzz::canonical::<CommitCertificate>(data) {
        let set = ValidatorSet::new(
            c.sigs
                .iter()
                .map(|s| Validator {
                    key: s.voter,
                    weight: 1,
                })
                .collect(),
        );
        let _ = (
            c.hash(),
            c.verify(&Hash::ZERO, c.height, &c.block_hash, &set),
        );
    }
    timecoin_fuzz::canonical::<ValidatorSet>(data);
});
