//! The encrypted HD wallet: BIP39 recovery phrase, SLIP-10 Ed25519 keys, an Argon2id +
//! XChaCha20-Poly1305 wallet file written atomically, balances, coin selection, sending,
//! history, address book and masternode registration.
//!
//! - [`mnemonic`]: 24-word BIP39 phrases and seeds.
//! - [`slip10`]: hardened Ed25519 derivation at `m/44'/6060'/<account>'/<change>'/<index>'`.
//! - [`keystore`]: the encrypted file format and atomic writes.
//! - [`chain`]: the [`WalletChain`] trait the node implements.
//! - [`Wallet`]: everything a user does with a wallet.
//!
//! Secrets (entropy, seed, keys, phrase) live only in zeroizing types and never appear in Debug
//! output; the non-secret state (addresses, labels, contacts, history) lives beside the wallet
//! file in `<file>.meta.json` so that a locked wallet can still show addresses and history.

pub mod chain;
pub mod error;
pub mod keystore;
pub mod mnemonic;
pub mod slip10;
#[allow(clippy::module_inception)]
mod wallet;

pub use chain::{ChainTxStatus, WalletChain, WalletUtxo};
pub use error::WalletError;
pub use keystore::KdfParams;
pub use wallet::{
    devnet_faucet_address, devnet_faucet_key, AddressEntry, Balances, Contact, Direction,
    HistoryEntry, MasternodeStep, SendPreview, TxStatus, Wallet, DEFAULT_MAX_FEE,
    DEVNET_FAUCET_MNEMONIC, DEVNET_FAUCET_NAME, DUST_LIMIT,
};
