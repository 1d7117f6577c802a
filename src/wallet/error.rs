//! The wallet's error type. Every message says what went wrong and what to do about it.

use crate::types::{Amount, Network, OutPoint};
use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong in the wallet.
#[derive(Debug, Error)]
pub enum WalletError {
    /// The passphrase does not decrypt the wallet file (the file itself is intact).
    #[error("wrong wallet passphrase: try again (check caps lock and keyboard layout)")]
    WrongPassphrase,
    /// The wallet file is damaged: its checksum or length does not match.
    #[error("wallet file is corrupt ({0}): nothing was changed; restore it from `<file>.bak` or from your 24 recovery words")]
    Corrupt(String),
    /// The file is not a wallet file this version understands.
    #[error("not a usable wallet file ({0}): check the [wallet] file path, or restore from your recovery words")]
    Format(String),
    /// The key-derivation parameters exceed the caps; refused before running the KDF.
    #[error("wallet KDF parameters too expensive (memory {m_cost_kib} KiB, time {t_cost}, lanes {p_cost}; caps are {max_m_cost_kib} KiB, 10, 8): refusing to run them; restore the wallet from its recovery words")]
    KdfTooExpensive {
        /// Memory cost requested, in KiB.
        m_cost_kib: u32,
        /// Time cost (passes) requested.
        t_cost: u32,
        /// Parallelism (lanes) requested.
        p_cost: u32,
        /// The memory cap in KiB ([`super::KdfParams::MAX_M_COST_KIB`]).
        max_m_cost_kib: u32,
    },
    /// The key-derivation parameters are below the minimums (or otherwise invalid).
    #[error("invalid wallet KDF parameters: {0}")]
    KdfInvalid(String),
    /// The wallet belongs to another network.
    #[error("wallet is for {found}, but the node runs {expected}: use a wallet file made for {expected} (see [wallet] file)")]
    WrongNetwork {
        /// The wallet's network.
        found: Network,
        /// The network the node runs.
        expected: Network,
    },
    /// The operation needs the secret keys: unlock the wallet first.
    #[error("wallet is locked: unlock it with the passphrase first")]
    Locked,
    /// Not enough spendable (finalized, not already being spent) funds.
    #[error("insufficient funds: need {needed} TIME (amount + fee) but only {available} TIME is spendable; wait for pending funds to finalize or send less")]
    InsufficientFunds {
        /// Amount plus fee needed, in base units.
        needed: Amount,
        /// What the spendable outputs hold together, in base units.
        available: Amount,
    },
    /// The fee rate is below the node's minimum relay fee rate.
    #[error("fee rate {fee_rate} units/byte is below the node's minimum of {min} units/byte: raise the fee rate")]
    FeeTooLow {
        /// Fee rate asked for, in base units per byte.
        fee_rate: u64,
        /// The node's minimum, in base units per byte.
        min: u64,
    },
    /// The fee is above the cap (`[wallet] max_fee`), most likely a fee rate in the wrong unit.
    #[error("the fee would be {fee} TIME, above the maximum of {max} TIME set by [wallet] max_fee: check the fee rate (base units per byte), or raise max_fee in the config")]
    FeeAboveMax {
        /// The fee the send would pay, in base units.
        fee: Amount,
        /// The cap (`[wallet] max_fee`), in base units.
        max: Amount,
    },
    /// The amount is zero or below the dust limit.
    #[error("amount {amount} TIME is below the dust limit of {dust} TIME: send more")]
    AmountTooSmall {
        /// Amount asked for, in base units.
        amount: Amount,
        /// The dust limit ([`super::DUST_LIMIT`]), in base units.
        dust: Amount,
    },
    /// Amount arithmetic overflowed.
    #[error("amount overflow: the amounts involved exceed the supply; check the amount")]
    Overflow,
    /// The transaction would need more inputs than fit in one transaction.
    #[error("too many small coins ({inputs} inputs) for one transaction: send a smaller amount first to consolidate")]
    TooManyInputs {
        /// How many inputs the selection had reached when the size limit was passed.
        inputs: usize,
    },
    /// A recovery phrase is not valid BIP39 English.
    #[error("invalid recovery phrase: {0}")]
    InvalidMnemonic(String),
    /// Refusing to overwrite an existing wallet file.
    #[error("wallet file {0} already exists: choose another path or move the old file away first")]
    AlreadyExists(PathBuf),
    /// The wallet file does not exist.
    #[error("wallet file {0} not found: create one with `timed wallet create` or restore one with `timed wallet restore`")]
    NotFound(PathBuf),
    /// Reading or writing a file failed.
    #[error("wallet I/O error on {path}: {source}")]
    Io {
        /// The file read or written.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: std::io::Error,
    },
    /// The wallet's state file (`<file>.meta.json`) is malformed.
    #[error("wallet state file {path} is malformed ({reason}): restore it from `{path}.bak`, or delete it and unlock to rebuild addresses")]
    Meta {
        /// The state file (`<wallet file>.meta.json`).
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A derivation index or path is out of range.
    #[error("invalid key derivation: {0}")]
    Derivation(String),
    /// No exact masternode collateral output is final yet.
    #[error("the masternode collateral output {0:?} is not final yet: wait for the collateral transfer to finalize, then register again")]
    CollateralPending(OutPoint),
    /// The outpoint is not a collateral output owned by this wallet.
    #[error("outpoint {0:?} is not an unspent output of this wallet: check the collateral outpoint in [masternode]")]
    UnknownCollateral(OutPoint),
    /// An output to spend does not belong to this wallet (a stale or foreign preview).
    #[error("output {0:?} does not belong to this wallet: prepare the send again")]
    UnknownInput(OutPoint),
    /// A parameter is out of range.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Masternode tier without collateral cannot be registered on chain.
    #[error(
        "the free tier has no collateral and needs no registration: choose bronze, silver or gold"
    )]
    FreeTier,
    /// The chosen collateral output cannot back a masternode of this tier.
    #[error("output {outpoint:?} cannot be the collateral: {reason}")]
    BadCollateral {
        /// The output given as collateral.
        outpoint: OutPoint,
        /// Why not, and what to do.
        reason: String,
    },
    /// An in-memory wallet (the devnet faucet) was asked for something needing a file.
    #[error("this wallet has no file ({0})")]
    NoFile(&'static str),
    /// The devnet faucet exists only on devnet.
    #[error("the insecure devnet faucet wallet is only available on devnet, not {0}")]
    FaucetNotDevnet(Network),
}

/// Result with [`WalletError`].
pub type Result<T, E = WalletError> = std::result::Result<T, E>;

impl WalletError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> WalletError {
        WalletError::Io {
            path: path.into(),
            source,
        }
    }
}
