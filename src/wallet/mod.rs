//! The encrypted HD wallet: BIP39 recovery phrase, SLIP-10 Ed25519 keys, an Argon2id +
//! XChaCha20-Poly1305 wallet file written atomically, balances, coin selection, sending,
//! history, address book and masternode registration.
//!
//! - [`mnemonic`]: 24-word BIP39 phrases and seeds.
//! - [`slip10`]: hardened Ed25519 derivation at `m/44'/6060'/<account>'/<change>'/<index>'`.
//! - [`keystore`]: the encrypted file format and atomic writes.
//! - [`chain`]: the [`WalletChain`] trait the node implements.
//! - [`Wallet`]: everything a user does with a wallet, one concept a file: the wallet and its
//!   store (`wallet.rs`), the non-secret state file (`meta.rs`), lock and unlock (`lock.rs`),
//!   addresses and the address book (`addresses.rs`), its outputs and balances (`coins.rs`),
//!   coin selection (`selection.rs`, pure), sending (`send.rs`), history (`history.rs`),
//!   masternode steps (`masternode.rs`) and address discovery (`discovery.rs`); the values it
//!   hands out in `types.rs`.
//!
//! Secrets (entropy, seed, keys, phrase) live only in zeroizing types and never appear in Debug
//! output; the non-secret state (addresses, labels, contacts, history) lives beside the wallet
//! file in `<file>.meta.json` so that a locked wallet can still show addresses and history.

mod addresses;
pub mod chain;
mod coins;
mod discovery;
pub mod error;
mod history;
pub mod keystore;
mod lock;
mod masternode;
mod meta;
pub mod mnemonic;
mod selection;
mod send;
pub mod slip10;
mod types;
#[allow(clippy::module_inception)]
mod wallet;

pub use chain::{ChainTxStatus, WalletChain, WalletUtxo};
pub use discovery::{discover_with, DiscoveryError};
pub use error::WalletError;
pub use keystore::KdfParams;
pub use selection::DUST_LIMIT;
pub use send::DEFAULT_MAX_FEE;
pub use types::{
    AddressEntry, Balances, Contact, Direction, HistoryEntry, MasternodeStep, SendPreview, TxStatus,
};
pub use wallet::{
    devnet_faucet_address, devnet_faucet_key, Wallet, DEVNET_FAUCET_MNEMONIC, DEVNET_FAUCET_NAME,
};
