//! The tabs and the wallet tab's panes.

use crate::keymap::Context;

/// The seven tabs, in key order 1-7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// Height, finality, sparklines, node status.
    Overview,
    /// Live round state and votes per masternode.
    Consensus,
    /// One row per connected peer: address, direction, latency, height, traffic, score.
    Peers,
    /// Mempool summary and newest transactions.
    Mempool,
    /// Registered masternodes with tier, weight, status and last vote.
    Masternodes,
    /// Balances, history, addresses, send/receive.
    Wallet,
    /// Recent tracing output with level and target.
    Logs,
}

impl Tab {
    /// All tabs in order.
    pub const ALL: [Tab; 7] = [
        Tab::Overview,
        Tab::Consensus,
        Tab::Peers,
        Tab::Mempool,
        Tab::Masternodes,
        Tab::Wallet,
        Tab::Logs,
    ];

    /// Position 0-6.
    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    /// Title shown in the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Consensus => "Consensus",
            Tab::Peers => "Peers",
            Tab::Mempool => "Mempool",
            Tab::Masternodes => "Masternodes",
            Tab::Wallet => "Wallet",
            Tab::Logs => "Logs",
        }
    }

    /// Keymap context of the tab, if it has own bindings.
    pub(crate) fn context(self) -> Option<Context> {
        match self {
            Tab::Wallet => Some(Context::Wallet),
            Tab::Masternodes => Some(Context::Masternodes),
            _ => None,
        }
    }
}

/// Which wallet panel the selection keys move in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalletPane {
    /// Transaction history.
    History,
    /// Own addresses.
    Addresses,
    /// Address book.
    Contacts,
}
