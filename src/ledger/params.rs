//! Consensus-critical chain parameters.

use crate::types::{Address, Amount, Hash, Network};

/// Parameters every node of one chain agrees on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainParams {
    /// Network the chain runs on (address prefix, default ports).
    pub network: Network,
    /// Chain id (signed into every vote, proposal and transaction).
    pub chain_id: Hash,
    /// New coins each block mints, in base units; shared with the fees by proposer and treasury.
    pub block_reward: Amount,
    /// Receives 10% of reward + fees.
    pub treasury: Address,
    /// Consensus fee floor in units per byte.
    pub min_fee_rate: u64,
    /// Blocks between a registration's inclusion and its activation.
    pub activation_delay: u64,
}

impl ChainParams {
    /// Treasury share in percent of reward + fees.
    pub const TREASURY_PERCENT: u64 = 10;

    /// Splits reward + fees into (proposer, treasury) shares: 90% / 10%, rounding in favour of
    /// the proposer so the sum is exact.
    pub fn split_reward(&self, total: Amount) -> (Amount, Amount) {
        let treasury =
            total.0 / 100 * Self::TREASURY_PERCENT + (total.0 % 100) * Self::TREASURY_PERCENT / 100;
        (Amount(total.0 - treasury), Amount(treasury))
    }
}
