//! Typed reasons why a transaction or block is invalid.

use crate::types::{Hash, OutPoint, PublicKey};
use thiserror::Error;

/// Why a transaction is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TxError {
    /// A coinbase outside the first position of a block.
    #[error("coinbase transactions are only valid as the first transaction of a block")]
    UnexpectedCoinbase,
    /// A non-coinbase transaction spends nothing.
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
    /// An input's signature does not verify; holds the input's index.
    #[error("input {0} has an invalid signature")]
    BadSignature(usize),
    /// A sum of input or output values exceeds `u64` base units.
    #[error("value overflow")]
    Overflow,
    /// Outputs hold more than the inputs: the fee would be negative.
    #[error("outputs exceed inputs")]
    OutputsExceedInputs,
    /// Fee below the floor.
    #[error("fee {fee} below the minimum {min} for {size} bytes")]
    FeeTooLow {
        /// Fee paid (inputs minus outputs), in base units.
        fee: u64,
        /// Least fee for this size: the chain's fee rate times `size`, in base units.
        min: u64,
        /// Encoded size of the transaction, in bytes.
        size: usize,
    },
    /// Encoded size above [`MAX_TX_SIZE`](crate::types::tx::MAX_TX_SIZE); holds the size in bytes.
    #[error("transaction of {0} bytes exceeds the size limit")]
    TooLarge(usize),
    /// Lock time not reached.
    #[error("lock time {0} not reached")]
    Locked(u64),
    /// A masternode registration, update or exit breaks a rule; the message says which.
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
    /// `version` is not [`TX_VERSION`](crate::types::tx::TX_VERSION).
    #[error("unsupported transaction version")]
    Version,
}

/// Why a block is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlockError {
    /// The header's height is not the tip's height + 1.
    #[error("expected height {expected}, got {got}")]
    Height {
        /// The height the block must have: the tip's height + 1.
        expected: u64,
        /// The height in the header.
        got: u64,
    },
    /// Does not extend the tip.
    #[error("block does not extend the tip {0:?}")]
    PrevHash(Hash),
    /// The header's merkle root does not match the transaction and evidence ids.
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
    /// The encoded block exceeds 2 MiB (`MAX_BLOCK_SIZE`); holds its size in bytes.
    #[error("block of {0} bytes exceeds the 2 MB limit")]
    TooLarge(usize),
    /// Header time (ms) earlier than the parent's; an equal time is allowed.
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
        /// Id of the refused transaction.
        txid: Hash,
        /// Why the transaction was refused.
        err: TxError,
    },
    /// Two transactions spend one outpoint.
    #[error("double spend of {0:?} within the block")]
    DoubleSpend(OutPoint),
    /// Evidence fails to verify, repeats an offender or names no unbanned masternode.
    #[error("invalid evidence: {0}")]
    Evidence(String),
}
