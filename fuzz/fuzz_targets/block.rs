//! A block (a proposal's, a sync reply's, one read back from storage) and a bare header:
//! canonical re-encoding, then the merkle root, hash and RPC JSON shape of every accepted block.
#![no_main]

use libfuzzer_sys::fuzz_target;
use timecoin::types::{Block, BlockHeader, Network};

fuzz_target!(|data: &[u8]| {
    if let Some(b) = timecoin_fuzz::canonical::<Block>(data) {
        let _ = (b.hash(), b.compute_merkle_root());
        let _ =
            timecoin::rpc::json::block(&b, Some(&b.last_commit), 0, None, true, Network::Devnet);
    }
    timecoin_fuzz::canonical::<BlockHeader>(data);
});
