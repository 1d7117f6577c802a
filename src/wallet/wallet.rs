//! [`Wallet`] itself: where its secret lives (a file, memory, or nowhere for a dry run), creating,
//! restoring and opening a wallet, the devnet faucet, and dry runs. What a wallet does lives
//! beside this file, one concept a file: [`super::lock`], [`super::addresses`],
//! [`super::coins`], [`super::selection`], [`super::send`], [`super::history`],
//! [`super::masternode`] and [`super::discovery`]; the non-secret state and its file in
//! [`super::meta`].

use super::addresses::ACCOUNT;
use super::error::{Result, WalletError};
use super::keystore::{self, KdfParams};
use super::lock::Unlocked;
use super::meta::State;
use super::send::DEFAULT_MAX_FEE;
use super::{mnemonic, slip10};
use crate::types::{Address, Amount, Network, SecretKey};
use std::fmt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The devnet faucet's recovery phrase. INSECURE: public knowledge, devnet only. It is the
/// BIP39 phrase of 32 zero bytes ("abandon" x 23 + "art").
pub const DEVNET_FAUCET_MNEMONIC: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art";

/// The devnet faucet wallet's name, shown wherever the wallet is named.
pub const DEVNET_FAUCET_NAME: &str = "DEVNET FAUCET (INSECURE)";

/// The key of the devnet faucet's receive address `index` (for the genesis builder), at
/// `m/44'/6060'/0'/0'/<index>'` of [`DEVNET_FAUCET_MNEMONIC`]; `index` is taken below 2^31.
pub fn devnet_faucet_key(index: u32) -> SecretKey {
    let entropy = mnemonic::parse(DEVNET_FAUCET_MNEMONIC)
        .expect("DEVNET_FAUCET_MNEMONIC is a valid 24-word phrase");
    let seed = mnemonic::seed_from_entropy(&entropy, "");
    slip10::derive_wallet_key(seed.as_ref(), ACCOUNT, false, index & !slip10::HARDENED)
        .expect("index below 2^31 after masking")
}

/// The devnet faucet's receive address `index` (fund index 0 in the devnet genesis).
pub fn devnet_faucet_address(index: u32) -> Address {
    Address::from_pubkey(&devnet_faucet_key(index).public())
}

/// Where the secret comes from.
pub(super) enum Store {
    /// An encrypted wallet file.
    File(PathBuf),
    /// In memory only (the devnet faucet): the entropy is kept, so unlock needs no passphrase.
    Memory(Zeroizing<[u8; 32]>),
    /// A throwaway copy for a dry run ([`Wallet::dry_run`]): never written, cannot unlock.
    Scratch,
}

/// An HD wallet. Locked wallets show addresses, contacts, balances and history; unlocked ones
/// also derive addresses and sign.
pub struct Wallet {
    pub(super) network: Network,
    pub(super) store: Store,
    pub(super) state: State,
    /// The seed while unlocked; `None` while locked.
    pub(super) unlocked: Option<Unlocked>,
    /// Highest fee a send may pay ([`Wallet::set_max_fee`]).
    pub(super) max_fee: Amount,
}

impl fmt::Debug for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wallet")
            .field("name", &self.state.name)
            .field("network", &self.network)
            .field("locked", &self.is_locked())
            .field("addresses", &self.state.addresses.len())
            .finish_non_exhaustive()
    }
}

impl Wallet {
    fn name_from_path(path: &Path) -> String {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "wallet".to_string())
    }

    fn init_file(
        path: &Path,
        entropy: &[u8; 32],
        passphrase: &str,
        network: Network,
        kdf: KdfParams,
    ) -> Result<Wallet> {
        if path.exists() {
            return Err(WalletError::AlreadyExists(path.to_path_buf()));
        }
        kdf.check()?;
        let file = keystore::seal(entropy, passphrase, network, kdf)?;
        let mut w = Wallet {
            network,
            store: Store::File(path.to_path_buf()),
            state: State::new(&Self::name_from_path(path)),
            unlocked: None,
            max_fee: DEFAULT_MAX_FEE,
        };
        let seed = mnemonic::seed_from_entropy(entropy, "");
        w.push_address(&seed, false, "default")?;
        // State first: a keystore without state is rebuilt on unlock; the reverse is unusable.
        w.save()?;
        keystore::write_new(path, &file)?;
        tracing::info!(target: "wallet", path = %path.display(), %network, "wallet created");
        Ok(w)
    }

    /// Creates a new wallet file at `path` (refusing to overwrite one) encrypted with
    /// `passphrase`, and returns it (locked) with its 24 recovery words, to show to the user
    /// once.
    pub fn create(
        path: &Path,
        passphrase: &str,
        network: Network,
        kdf: KdfParams,
    ) -> Result<(Wallet, Zeroizing<String>)> {
        let (entropy, words) = mnemonic::generate();
        let w = Self::init_file(path, &entropy, passphrase, network, kdf)?;
        Ok((w, words))
    }

    /// Restores a wallet from its 24 recovery words into a new file at `path` (refusing to
    /// overwrite one); returned locked.
    pub fn restore(
        path: &Path,
        words: &str,
        passphrase: &str,
        network: Network,
        kdf: KdfParams,
    ) -> Result<Wallet> {
        let entropy = mnemonic::parse(words)?;
        Self::init_file(path, &entropy, passphrase, network, kdf)
    }

    /// Opens a wallet file, locked. Checks the file's structure, checksum, network and KDF caps
    /// (no key derivation). Reads `<file>.meta.json` when present.
    pub fn open(path: &Path, network: Network) -> Result<Wallet> {
        let bytes = keystore::read_wallet_file(path)?;
        let header = keystore::parse(&bytes)?;
        if header.network != network {
            return Err(WalletError::WrongNetwork {
                found: header.network,
                expected: network,
            });
        }
        let state = match State::load(path, network)? {
            Some(state) => state,
            None => State::new(&Self::name_from_path(path)),
        };
        Ok(Wallet {
            network,
            store: Store::File(path.to_path_buf()),
            state,
            unlocked: None,
            max_fee: DEFAULT_MAX_FEE,
        })
    }

    /// The insecure devnet faucet wallet from [`DEVNET_FAUCET_MNEMONIC`]: in memory, unlocked
    /// without a timeout, named [`DEVNET_FAUCET_NAME`]. Refused on other networks.
    pub fn devnet_faucet(network: Network) -> Result<Wallet> {
        if network != Network::Devnet {
            return Err(WalletError::FaucetNotDevnet(network));
        }
        let entropy = mnemonic::parse(DEVNET_FAUCET_MNEMONIC)?;
        let seed = mnemonic::seed_from_entropy(&entropy, "");
        let mut w = Wallet {
            network,
            store: Store::Memory(entropy),
            state: State::new(DEVNET_FAUCET_NAME),
            unlocked: None,
            max_fee: DEFAULT_MAX_FEE,
        };
        w.push_address(&seed, false, "faucet")?;
        w.unlocked = Some(Unlocked {
            seed,
            deadline: None,
        });
        Ok(w)
    }

    /// The network the wallet's file (and every address it shows) belongs to.
    pub fn network(&self) -> Network {
        self.network
    }

    /// The wallet's name (file stem, or [`DEVNET_FAUCET_NAME`]).
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// The wallet file, if any.
    pub fn path(&self) -> Option<&Path> {
        match &self.store {
            Store::File(p) => Some(p),
            Store::Memory(_) | Store::Scratch => None,
        }
    }

    /// Whether this is the insecure in-memory devnet faucet.
    pub fn is_insecure_faucet(&self) -> bool {
        matches!(self.store, Store::Memory(_))
    }

    /// Writes the non-secret state beside the wallet file (atomically); the faucet and dry-run
    /// copies have no file and write nothing.
    pub(super) fn save(&self) -> Result<()> {
        if let Store::File(p) = &self.store {
            self.state.save(p, self.network)?;
        }
        Ok(())
    }

    /// Runs `step` on a throwaway copy of this wallet (same addresses, history, collateral
    /// records and lock state) that is never written, and returns what it built: a preview of
    /// a step that signs and records, e.g. [`Wallet::prepare_register_masternode`], with no
    /// trace in this wallet. Signing is deterministic, so the same step on this wallet with
    /// the same chain data builds the same transaction (same txid): a caller can preview,
    /// ask, then insist on that txid.
    pub fn dry_run<T>(&self, step: impl FnOnce(&mut Wallet) -> Result<T>) -> Result<T> {
        let mut copy = Wallet {
            network: self.network,
            store: Store::Scratch,
            state: self.state.clone(),
            unlocked: self.unlocked.as_ref().map(|u| Unlocked {
                seed: u.seed.clone(),
                deadline: u.deadline,
            }),
            max_fee: self.max_fee,
        };
        step(&mut copy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wallet::SendPreview;

    #[test]
    fn wallet_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Wallet>();
        check::<SendPreview>();
    }
}
