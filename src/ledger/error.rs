//! Typed reasons why a transaction or block is invalid.

use crate::types::{Hash, OutPoint, PublicKey};
use thiserror::Error;

/// Why a transaction is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TxError {
    /// A coinbase outside the first position of a block.
    #[error("coinbase transactions are only valid as the first transaction of a block")]
    UnexpectedCoinbase,
    /// No inputs.
    #[error("transaction has no inputs")]
    NoInputs,
    /// No outputs on a transfer.
    #[error("transfer has no outputs")]
    NoOutputs,
    /// Zero-value output.
    #[error("output {0} has zero value")]
    ZeroOutput(usize),
    /// An input spends an outpoint twice within the transaction.
    #[error("input {0:?} appears twice")]
    DuplicateInput(OutPoint),
    /// Input not in the UTXO set (already spent or never existed).
    #[error("input {0:?} is missing or already spent")]
    MissingInput(OutPoint),
    /// Input's key does not own the output.
    #[error("input {0} key does not own the output")]
    WrongOwner(usize),
    /// Bad signature.
    #[error("input {0} has an invalid signature")]
    BadSignature(usize),
    /// Value overflow.
    #[error("value overflow")]
    Overflow,
    /// Outputs exceed inputs.
    #[error("outputs exceed inputs")]
    OutputsExceedInputs,
    /// Fee below the floor.
    #[error("fee {fee} below the minimum {min} for {size} bytes")]
    FeeTooLow {
        /// Fee paid.
        fee: u64,
        /// Minimum fee.
        min: u64,
        /// Size in bytes.
        size: usize,
    },
    /// Too large.
    #[error("transaction of {0} bytes exceeds the size limit")]
    TooLarge(usize),
    /// Lock time not reached.
    #[error("lock time {0} not reached")]
    Locked(u64),
    /// Masternode registration problem.
    #[error("masternode: {0}")]
    Masternode(String),
    /// The transaction concerns a masternode banned for equivocation, by its node key or its
    /// collateral: a ban is for good, so it can never exit, update or register again.
    #[error("masternode {node_key:?} is banned for equivocation, for good: its node key and collateral cannot exit, update or register again (register a new node key with another collateral)")]
    BannedMasternode {
        /// The banned masternode's node key.
        node_key: PublicKey,
    },
    /// Bad owner signature on a masternode transaction.
    #[error("invalid masternode owner signature")]
    BadOwnerSignature,
    /// Version not supported.
    #[error("unsupported transaction version")]
    Version,
}

/// Why a block is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlockError {
    /// Wrong height.
    #[error("expected height {expected}, got {got}")]
    Height {
        /// Expected.
        expected: u64,
        /// Got.
        got: u64,
    },
    /// Does not extend the tip.
    #[error("block does not extend the tip {0:?}")]
    PrevHash(Hash),
    /// Merkle root mismatch.
    #[error("merkle root does not match the body")]
    MerkleRoot,
    /// Validator set hash mismatch.
    #[error("validator set hash does not match")]
    ValidatorSet,
    /// Last commit hash mismatch, or a last commit at height 1.
    #[error("last commit hash does not match the block's last commit")]
    LastCommit,
    /// The previous block's certificate carried in this block is not valid.
    #[error("last commit is not a valid certificate of the previous block: {0}")]
    LastCommitInvalid(String),
    /// Proposer is not a validator.
    #[error("proposer {0:?} is not in the validator set")]
    Proposer(PublicKey),
    /// Too big.
    #[error("block of {0} bytes exceeds the 2 MB limit")]
    TooLarge(usize),
    /// Time before parent.
    #[error("block time before its parent")]
    Time,
    /// Missing or bad coinbase.
    #[error("bad coinbase: {0}")]
    Coinbase(String),
    /// A transaction is invalid.
    #[error("transaction {index} ({txid}): {err}")]
    Tx {
        /// Position in the block.
        index: usize,
        /// Its id.
        txid: Hash,
        /// Why.
        err: TxError,
    },
    /// Two transactions spend one outpoint.
    #[error("double spend of {0:?} within the block")]
    DoubleSpend(OutPoint),
    /// Bad evidence.
    #[error("invalid evidence: {0}")]
    Evidence(String),
}
