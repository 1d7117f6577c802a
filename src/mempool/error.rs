//! Why a transaction was not admitted, and which of those verdicts hold on every node.

use crate::ledger::TxError;
use crate::types::Hash;
use thiserror::Error;

/// Why a transaction was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MempoolError {
    /// Already in the pool.
    #[error("transaction already in the mempool")]
    AlreadyKnown,
    /// Already in a block.
    #[error("transaction already in the chain")]
    AlreadyInChain,
    /// The id failed within the last hour for a reason the tip cannot change; holds that reason.
    #[error("transaction was rejected recently: {0}")]
    RecentlyRejected(String),
    /// Spends an outpoint another pooled transaction spends.
    #[error("conflicts with pooled transaction {0} (first seen wins)")]
    Conflict(Hash),
    /// Fails ledger validation against the chain state plus the pool's outputs.
    #[error("invalid transaction: {0}")]
    Invalid(#[from] TxError),
    /// Pool full and the fee rate is not above the lowest.
    #[error("mempool full: fee rate {rate} is not above the minimum {min}")]
    FeeRateTooLow {
        /// Fee rate offered, base units per byte (rounded down).
        rate: u64,
        /// Fee rate needed, base units per byte.
        min: u64,
    },
    /// More inputs than relay policy allows ([`super::MAX_STANDARD_TX_INPUTS`]).
    #[error("non-standard: {inputs} inputs, relay policy allows at most {max}")]
    TooManyInputs {
        /// Inputs of the transaction.
        inputs: usize,
        /// The policy's maximum.
        max: usize,
    },
}

impl MempoolError {
    /// Short reason label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            MempoolError::AlreadyKnown => "already_known",
            MempoolError::AlreadyInChain => "already_in_chain",
            MempoolError::RecentlyRejected(_) => "recently_rejected",
            MempoolError::Conflict(_) => "conflict",
            MempoolError::Invalid(_) => "invalid",
            MempoolError::FeeRateTooLow { .. } => "fee_rate",
            MempoolError::TooManyInputs { .. } => "non_standard",
        }
    }

    /// Whether the verdict holds on every node whatever its tip, pool and settings, so that no
    /// honest node would have relayed the transaction: the only verdicts a peer may be
    /// penalised for. An input's owner and amount are fixed by its outpoint (the txid commits
    /// to the outputs), so ownership, value and the chain's fee floor count as context-free;
    /// a missing or spent input, a pool conflict, lock time, masternode state and the local fee
    /// floor do not.
    pub fn is_context_free(&self) -> bool {
        match self {
            MempoolError::TooManyInputs { .. } => true,
            MempoolError::Invalid(e) => context_free(e),
            // Known or recently rejected: the first verdict was the one to act on.
            MempoolError::AlreadyKnown
            | MempoolError::AlreadyInChain
            | MempoolError::RecentlyRejected(_)
            | MempoolError::Conflict(_)
            | MempoolError::FeeRateTooLow { .. } => false,
        }
    }
}

/// Whether `e` makes a transaction invalid on every node whatever its tip (see
/// [`MempoolError::is_context_free`]).
pub(super) fn context_free(e: &TxError) -> bool {
    match e {
        TxError::UnexpectedCoinbase
        | TxError::NoInputs
        | TxError::NoOutputs
        | TxError::ZeroOutput(_)
        | TxError::DuplicateInput(_)
        | TxError::WrongOwner(_)
        | TxError::BadSignature(_)
        | TxError::BadOwnerSignature
        | TxError::Overflow
        | TxError::OutputsExceedInputs
        | TxError::FeeTooLow { .. }
        | TxError::TooLarge(_)
        | TxError::Version => true,
        TxError::MissingInput(_)
        | TxError::Locked(_)
        | TxError::Masternode(_)
        | TxError::BannedMasternode { .. } => false,
    }
}
