//! The values the wallet hands out: its addresses and contacts, balances, history lines, a send
//! preview and masternode steps. They hold no secrets.

use super::chain::WalletUtxo;
use crate::types::{Address, Amount, Hash, OutPoint, PublicKey, Transaction};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One of the wallet's own addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressEntry {
    /// The address (the hash of `pubkey`), in its network's encoding when shown.
    pub address: Address,
    /// User label ("" for none; change addresses are labelled "change").
    pub label: String,
    /// Whether it is on the change chain (`false`: the receive chain).
    pub change: bool,
    /// Its index on its chain, the last level of `m/44'/6060'/0'/<change>'/<index>'`.
    pub index: u32,
    /// The key it pays to; inputs spending its outputs carry it.
    pub pubkey: PublicKey,
}

/// An address-book entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// The name the user gave it.
    pub label: String,
    /// Where payments to the contact go.
    pub address: Address,
}

/// Which way value moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Paid to someone else.
    Outgoing,
    /// Paid to one of our addresses from outside the wallet.
    Incoming,
    /// Between own addresses (collateral, masternode registration/exit).
    #[serde(rename = "self")]
    SelfTransfer,
}

/// Status of a history entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// In the mempool, not yet in a final block.
    Pending,
    /// In a final block.
    Final {
        /// Height of the final block that holds it.
        height: u64,
    },
    /// Another transaction spent (or is spending) one of its inputs: it will never be final.
    Conflicted,
    /// Unknown to the node and its inputs are unspent: never submitted or evicted. Its coins
    /// are spendable again; it may be submitted again.
    Dropped,
}

impl fmt::Display for TxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxStatus::Pending => f.write_str("pending"),
            TxStatus::Final { height } => write!(f, "final at {height}"),
            TxStatus::Conflicted => f.write_str("conflicted"),
            TxStatus::Dropped => f.write_str("dropped"),
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Outgoing => "sent",
            Direction::Incoming => "received",
            Direction::SelfTransfer => "self",
        })
    }
}

/// One line of the wallet's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The transaction's id ([`Transaction::txid`]).
    pub txid: Hash,
    /// Which way the value moved.
    pub direction: Direction,
    /// Value paid out (outgoing), received (incoming) or moved (self), in base units.
    pub amount: Amount,
    /// Fee in base units, when known (always for own transactions, never for incoming ones).
    pub fee: Option<Amount>,
    /// Where the transaction stands now.
    pub status: TxStatus,
    /// Unix time (seconds) when this wallet created it; `None` for incoming.
    pub time: Option<u64>,
    /// What it was ("payment", "masternode registration", ...; "" for incoming).
    pub memo: String,
}

/// Balances in base units.
///
/// - `finalized`: outputs of final blocks paying the wallet that no pending transaction is
///   spending (includes masternode collateral; see `collateral`).
/// - `pending`: outputs of mempool transactions paying the wallet (incoming payments and the
///   change of its own pending sends) not themselves being spent.
/// - `outgoing`: final outputs that pending transactions are spending (leaving the wallet;
///   not part of `finalized`).
/// - `collateral`: the part of `finalized` held as masternode collateral (not spent by sends).
///
/// After every pending transaction is final the balance is `finalized + pending`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Balances {
    /// Final and not being spent.
    pub finalized: Amount,
    /// Unconfirmed incoming (including own change).
    pub pending: Amount,
    /// Final outputs being spent by pending transactions.
    pub outgoing: Amount,
    /// Masternode collateral within `finalized`.
    pub collateral: Amount,
}

impl Balances {
    /// What a send can use now: `finalized - collateral`.
    pub fn spendable(&self) -> Amount {
        self.finalized
            .checked_sub(self.collateral)
            .unwrap_or(Amount::ZERO)
    }
}

/// A send ready for the confirmation screen: everything the user must see before signing.
#[derive(Clone)]
pub struct SendPreview {
    /// Where the payment goes.
    pub recipient: Address,
    /// Amount paid to the recipient, in base units.
    pub amount: Amount,
    /// Fee in base units (includes change below the dust limit, if any).
    pub fee: Amount,
    /// Change in base units (zero when no change output).
    pub change: Amount,
    /// The fresh change address, when there is a change output.
    pub change_address: Option<Address>,
    /// The outputs the transaction spends, largest first.
    pub inputs: Vec<WalletUtxo>,
    /// Exact size of the signed transaction in bytes.
    pub size: usize,
    /// Fee rate used, base units per byte.
    pub fee_rate: u64,
    /// The transaction with the change output, unsigned.
    pub(super) tx: Transaction,
    /// The chain id the signatures will commit to.
    pub(super) chain_id: Hash,
    /// Index of the change address on the change chain, reserved when the send is confirmed.
    pub(super) change_index: Option<u32>,
}

impl fmt::Debug for SendPreview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendPreview")
            .field("recipient", &self.recipient)
            .field("amount", &self.amount)
            .field("fee", &self.fee)
            .field("change", &self.change)
            .field("inputs", &self.inputs.len())
            .field("size", &self.size)
            .finish()
    }
}

/// One step of masternode registration (see
/// [`Wallet::prepare_register_masternode`](super::Wallet::prepare_register_masternode)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MasternodeStep {
    /// No final output of exactly the collateral existed: this signed self-transfer creates one
    /// (output `collateral`). Submit it, wait until it is final, then call
    /// `prepare_register_masternode` again.
    FundCollateral {
        /// The signed self-transfer.
        tx: Transaction,
        /// The collateral output it creates.
        collateral: OutPoint,
    },
    /// The signed registration transaction referencing `collateral`. Submit it.
    Register {
        /// The signed registration.
        tx: Transaction,
        /// The collateral output (stays unspent; spending it ends the masternode).
        collateral: OutPoint,
    },
}

impl MasternodeStep {
    /// The transaction to submit.
    pub fn tx(&self) -> &Transaction {
        match self {
            MasternodeStep::FundCollateral { tx, .. } | MasternodeStep::Register { tx, .. } => tx,
        }
    }
}
