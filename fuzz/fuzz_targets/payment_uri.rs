//! Payment URIs and bare addresses as a user pastes them, on every network: an accepted one
//! formats to text that parses to the same value, and an address formats to the lowercase of
//! what was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use timecoin::types::{Address, Network, PaymentUri};
use timecoin_fuzz::reparse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for net in [Network::Mainnet, Network::Testnet, Network::Devnet] {
        reparse(text, |s| PaymentUri::parse(s, net), |u| u.format(net));
        if let Some(a) = reparse(text, |s| Address::parse(s, net), |a| a.encode(net)) {
            assert_eq!(a.encode(net), text.trim().to_lowercase());
        }
    }
});
