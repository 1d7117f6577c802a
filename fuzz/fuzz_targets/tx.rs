//! A transaction from a peer, a block or `decoderawtransaction`: canonical re-encoding, and the
//! derived values (ids, sizes, totals, the RPC JSON shape) of every accepted one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use timecoin::types::{Hash, Network, Transaction};

fuzz_target!(|data: &[u8]| {
    if let Some(tx) = timecoin_fuzz::canonical::<Transaction>(data) {
        assert_eq!(tx.size(), data.len());
        let _ = (tx.txid(), tx.signing_hash(&Hash::ZERO), tx.output_total());
        let _ = timecoin::rpc::json::tx(&tx, Network::Devnet);
    }
});
