//! The keys of one run, derived from its seed once: each derivation is a scalar multiplication,
//! and deriving the faucet's key again at every storage write cost a few percent of a run.

use timecoin::types::{Address, SecretKey};

/// Offset of the masternode owners' key indices.
const OWNER: usize = 5_000;
/// Key index of the faucet that funds the client transactions.
const FAUCET: usize = 10_000;

/// The key of masternode or rogue `i` of a run.
pub fn key_of(seed: u64, i: usize) -> SecretKey {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s[8..16].copy_from_slice(&(i as u64).to_le_bytes());
    s[16] = 0x51;
    SecretKey::from_seed(&s)
}

/// Every key a run uses, by role.
pub struct RunKeys {
    /// Masternodes first, then rogues.
    pub nodes: Vec<SecretKey>,
    /// The owner of each masternode (it signs the masternode's exit).
    pub owners: Vec<SecretKey>,
    pub faucet: SecretKey,
    pub faucet_addr: Address,
}

impl RunKeys {
    pub fn new(seed: u64, members: usize, rogues: usize) -> RunKeys {
        let faucet = key_of(seed, FAUCET);
        RunKeys {
            nodes: (0..members + rogues).map(|i| key_of(seed, i)).collect(),
            owners: (0..members).map(|i| key_of(seed, OWNER + i)).collect(),
            faucet_addr: Address::from_pubkey(&faucet.public()),
            faucet,
        }
    }
}
