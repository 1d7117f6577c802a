//! Lock and unlock: the seed is held (zeroizing) only while unlocked, until an optional
//! auto-lock deadline; the passphrase is checked by decrypting the wallet file, which also
//! serves passphrase checks, revealing the recovery words and changing the passphrase.

use super::error::{Result, WalletError};
use super::keystore::{self, KdfParams};
use super::mnemonic;
use super::wallet::{Store, Wallet};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// What an unlocked wallet holds; the seed is zeroized when it is dropped (on lock).
pub(super) struct Unlocked {
    /// The BIP39 seed (empty passphrase) every key derives from.
    pub(super) seed: Zeroizing<[u8; 64]>,
    /// When [`Wallet::tick`] locks the wallet again; `None`: no auto-lock.
    pub(super) deadline: Option<Instant>,
}

impl Wallet {
    /// The wallet's entropy, decrypted from its file with `passphrase` (runs the KDF); the
    /// faucet's from memory.
    fn decrypt_entropy(&self, passphrase: &str) -> Result<Zeroizing<[u8; 32]>> {
        match &self.store {
            Store::File(path) => {
                let bytes = keystore::read_wallet_file(path)?;
                let (header, entropy) = keystore::open(&bytes, passphrase)?;
                if header.network != self.network {
                    return Err(WalletError::WrongNetwork {
                        found: header.network,
                        expected: self.network,
                    });
                }
                Ok(entropy)
            }
            Store::Memory(e) => Ok(e.clone()),
            Store::Scratch => Err(WalletError::NoFile("a dry-run copy cannot be unlocked")),
        }
    }

    /// [`Wallet::unlock_at`] with the current time.
    pub fn unlock(&mut self, passphrase: &str, auto_lock: Duration) -> Result<()> {
        self.unlock_at(passphrase, auto_lock, Instant::now())
    }

    /// Unlocks with `passphrase`. This runs the KDF (0.13 to 0.3 s and 64 MiB with the default
    /// parameters on the development machine): call it from a blocking thread, not from an
    /// async task.
    /// The wallet locks again at `now + auto_lock` when [`Wallet::tick`] sees that time;
    /// `Duration::ZERO` means no auto-lock. A wrong passphrase changes nothing. In-memory
    /// wallets (the faucet) accept any passphrase.
    pub fn unlock_at(&mut self, passphrase: &str, auto_lock: Duration, now: Instant) -> Result<()> {
        let entropy = self.decrypt_entropy(passphrase)?;
        let seed = mnemonic::seed_from_entropy(&entropy, "");
        if !self.state.addresses.iter().any(|a| !a.change) {
            // State file lost: start the receive chain again.
            self.push_address(&seed, false, "default")?;
            self.save()?;
        }
        let deadline = if auto_lock.is_zero() {
            None
        } else {
            now.checked_add(auto_lock)
        };
        self.unlocked = Some(Unlocked { seed, deadline });
        tracing::info!(target: "wallet", name = %self.state.name, "wallet unlocked");
        Ok(())
    }

    /// Locks: forgets the seed (zeroized).
    pub fn lock(&mut self) {
        if self.unlocked.take().is_some() {
            tracing::info!(target: "wallet", name = %self.state.name, "wallet locked");
        }
    }

    /// Whether the wallet is locked.
    pub fn is_locked(&self) -> bool {
        self.unlocked.is_none()
    }

    /// Time left before the auto-lock at `now`; `None` when locked or without auto-lock.
    pub fn auto_lock_remaining(&self, now: Instant) -> Option<Duration> {
        let d = self.unlocked.as_ref()?.deadline?;
        Some(d.saturating_duration_since(now))
    }

    /// Locks the wallet if its auto-lock time has come at `now`; returns whether it locked.
    pub fn tick(&mut self, now: Instant) -> bool {
        let expired = matches!(
            self.unlocked.as_ref().and_then(|u| u.deadline),
            Some(d) if now >= d
        );
        if expired {
            self.lock();
        }
        expired
    }

    /// The seed, if unlocked and not past the auto-lock deadline (checked against the real
    /// clock as a safety net; the owner is expected to call [`Wallet::tick`]).
    pub(super) fn seed(&mut self) -> Result<Zeroizing<[u8; 64]>> {
        self.tick(Instant::now());
        self.unlocked
            .as_ref()
            .map(|u| u.seed.clone())
            .ok_or(WalletError::Locked)
    }

    /// Checks `passphrase` against the wallet file without unlocking (runs the KDF): `Ok` or
    /// [`WalletError::WrongPassphrase`]. The faucet accepts any passphrase.
    pub fn check_passphrase(&self, passphrase: &str) -> Result<()> {
        self.decrypt_entropy(passphrase).map(drop)
    }

    /// The 24 recovery words, after checking `passphrase` against the file (works while
    /// locked; runs the KDF). The faucet returns its public phrase.
    pub fn reveal_mnemonic(&self, passphrase: &str) -> Result<Zeroizing<String>> {
        let entropy = self.decrypt_entropy(passphrase)?;
        mnemonic::phrase_from_entropy(entropy.as_ref())
    }

    /// Re-encrypts the wallet file under `new` with `kdf`. The backup `<file>.bak` is
    /// re-encrypted too (it gets the new file): a backup still under `old` would let the old
    /// passphrase open the wallet after the change. A wrong `old` passphrase changes nothing.
    pub fn change_passphrase(&mut self, old: &str, new: &str, kdf: KdfParams) -> Result<()> {
        kdf.check()?;
        let Store::File(path) = &self.store else {
            return Err(WalletError::NoFile("the devnet faucet has no passphrase"));
        };
        let entropy = self.decrypt_entropy(old)?;
        let file = keystore::seal(&entropy, new, self.network, kdf)?;
        keystore::write_replacing_backup(path, &file)?;
        tracing::info!(target: "wallet", "wallet passphrase changed");
        Ok(())
    }
}
