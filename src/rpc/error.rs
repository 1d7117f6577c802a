//! JSON-RPC error codes (Bitcoin Core's `rpc/protocol.h`) and the server's own errors.

use super::backend::{NetError, SubmitError, WalletError};
use serde_json::{json, Value};
use thiserror::Error;

/// Bitcoin Core error codes used here.
pub mod code {
    /// Invalid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Not a valid request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method is not in the dispatch table (also HTTP 404).
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid method parameters (JSON-RPC 2.0 spelling; Bitcoin Core mostly uses -1/-3/-8).
    pub const INVALID_PARAMS: i64 = -32602;
    /// A handler panicked or its blocking task failed.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Generic error, also wrong parameter count (the help text follows).
    pub const MISC_ERROR: i64 = -1;
    /// Wrong parameter type, and amounts the wallet refuses (too small, fee too low, overflow).
    pub const TYPE_ERROR: i64 = -3;
    /// Invalid address or key, or not found.
    pub const INVALID_ADDRESS_OR_KEY: i64 = -5;
    /// The wallet's spendable outputs do not cover amount and fee.
    pub const WALLET_INSUFFICIENT_FUNDS: i64 = -6;
    /// Invalid parameter value, e.g. an `addnode` or `setban` argument that does not parse.
    pub const INVALID_PARAMETER: i64 = -8;
    /// P2P disabled.
    pub const CLIENT_P2P_DISABLED: i64 = -9;
    /// Node already added / IP already banned.
    pub const CLIENT_NODE_ALREADY_ADDED: i64 = -23;
    /// `addnode remove` for a node never added.
    pub const CLIENT_NODE_NOT_ADDED: i64 = -24;
    /// Invalid IP or subnet.
    pub const CLIENT_INVALID_IP_OR_SUBNET: i64 = -30;
    /// Transaction or block failed verification.
    pub const VERIFY_ERROR: i64 = -25;
    /// Rejected by policy or consensus, a mempool conflict, or a full mempool.
    pub const VERIFY_REJECTED: i64 = -26;
    /// Already in the chain.
    pub const VERIFY_ALREADY_IN_CHAIN: i64 = -27;
    /// The node is starting; the message says what it is loading.
    pub const IN_WARMUP: i64 = -28;
    /// Raw transaction or block data that does not decode.
    pub const DESERIALIZATION_ERROR: i64 = -22;
    /// Any other wallet failure, e.g. an invalid label name.
    pub const WALLET_ERROR: i64 = -4;
    /// The wallet must be unlocked with `walletpassphrase` first.
    pub const WALLET_UNLOCK_NEEDED: i64 = -13;
    /// The passphrase does not decrypt the wallet.
    pub const WALLET_PASSPHRASE_INCORRECT: i64 = -14;
    /// This node has no wallet loaded.
    pub const WALLET_NOT_FOUND: i64 = -18;
}

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcErr {
    /// One of the [`code`] constants.
    pub code: i64,
    /// Human-readable text; Bitcoin Core's own wording where scripts match on it.
    pub message: String,
}

impl RpcErr {
    /// An error with `code`.
    pub fn new(code: i64, message: impl Into<String>) -> RpcErr {
        RpcErr {
            code,
            message: message.into(),
        }
    }
    /// -8 invalid parameter.
    pub fn param(message: impl Into<String>) -> RpcErr {
        RpcErr::new(code::INVALID_PARAMETER, message)
    }
    /// -3 type error.
    pub fn type_err(message: impl Into<String>) -> RpcErr {
        RpcErr::new(code::TYPE_ERROR, message)
    }
    /// The JSON error object.
    pub fn to_json(&self) -> Value {
        json!({"code": self.code, "message": self.message})
    }
}

impl From<SubmitError> for RpcErr {
    fn from(e: SubmitError) -> RpcErr {
        let c = match e {
            SubmitError::AlreadyKnown => code::VERIFY_ALREADY_IN_CHAIN,
            SubmitError::AlreadyInChain => code::VERIFY_ALREADY_IN_CHAIN,
            SubmitError::MissingInputs(_) => code::VERIFY_ERROR,
            SubmitError::Conflict(_) | SubmitError::Rejected(_) | SubmitError::MempoolFull => {
                code::VERIFY_REJECTED
            }
            SubmitError::Internal(_) => code::MISC_ERROR,
        };
        RpcErr::new(c, e.to_string())
    }
}

impl From<WalletError> for RpcErr {
    /// Bitcoin Core's code, and its message where a script may look for it; the wallet's own
    /// message otherwise.
    fn from(e: WalletError) -> RpcErr {
        let (c, core_message) = match &e {
            WalletError::NotLoaded => (code::WALLET_NOT_FOUND, None),
            WalletError::Locked => (
                code::WALLET_UNLOCK_NEEDED,
                Some("Error: Please enter the wallet passphrase with walletpassphrase first."),
            ),
            WalletError::WrongPassphrase => (
                code::WALLET_PASSPHRASE_INCORRECT,
                Some("Error: The wallet passphrase entered was incorrect."),
            ),
            WalletError::InsufficientFunds { .. } => {
                (code::WALLET_INSUFFICIENT_FUNDS, Some("Insufficient funds"))
            }
            WalletError::AmountTooSmall { .. }
            | WalletError::FeeTooLow { .. }
            | WalletError::Overflow
            | WalletError::FeeExceedsAmount => (code::TYPE_ERROR, None),
            WalletError::Rejected(m) => return SubmitError::from(m.clone()).into(),
            _ => (code::WALLET_ERROR, None),
        };
        match core_message {
            Some(m) => RpcErr::new(c, m),
            None => RpcErr::new(c, e.to_string()),
        }
    }
}

impl From<NetError> for RpcErr {
    fn from(e: NetError) -> RpcErr {
        let c = match e {
            NetError::InvalidParameter(_) => code::INVALID_PARAMETER,
            NetError::NodeAlreadyAdded | NetError::AlreadyBanned => code::CLIENT_NODE_ALREADY_ADDED,
            NetError::NodeNotAdded => code::CLIENT_NODE_NOT_ADDED,
            NetError::NotBanned => code::CLIENT_INVALID_IP_OR_SUBNET,
            NetError::Disabled => code::CLIENT_P2P_DISABLED,
        };
        RpcErr::new(c, e.to_string())
    }
}

/// Why the RPC server (or its cookie) could not start.
#[derive(Debug, Error)]
pub enum RpcError {
    /// The bind address is taken or not allowed by the OS.
    #[error("cannot bind the RPC server to {addr}: {source}; choose another address with --rpc-bind or [rpc] bind")]
    Bind {
        /// The address the server tried to bind.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Non-loopback bind without `allow_public`.
    #[error("refusing to serve RPC on non-loopback address {0}: set [rpc] allow_public = true (and a strong rpc password) to allow it")]
    PublicBind(std::net::SocketAddr),
    /// The cookie file could not be written.
    #[error("cannot write the RPC cookie file {path}: {source}; check --datadir")]
    Cookie {
        /// The cookie file the server tried to write.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}
