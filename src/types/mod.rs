//! Core types: amounts, hashes, keys, addresses, the canonical encoding, transactions, blocks and
//! signed consensus messages. Sync only: nothing here knows about tokio, storage or the network.

pub mod address;
pub mod amount;
pub mod block;
pub(crate) mod ed25519_rule;
pub mod encoding;
pub mod hash;
pub mod id_map;
pub mod keys;
pub mod network;
pub mod sig_cache;
pub mod tx;
pub mod vote;

pub use address::{Address, AddressError, PaymentUri};
pub use amount::{Amount, COIN};
pub use block::{Block, BlockHeader};
pub use encoding::{Decode, DecodeError, Encode, Reader};
pub use hash::{Domain, Hash};
pub use keys::{PublicKey, SecretKey, Signature};
pub use network::Network;
pub use tx::{OutPoint, Tier, Transaction, TxIn, TxKind, TxOut};
pub use vote::{
    CommitCertificate, CommitSig, Evidence, Proposal, Validator, ValidatorSet, Vote, VoteKind,
};

#[cfg(test)]
mod proptests;
