//! Own addresses and the address book.
//!
//! All keys come from the 24-word phrase (empty BIP39 passphrase) at
//! `m/44'/6060'/0'/<change>'/<index>'`: change 0 is the receive chain, change 1 the change chain.
//! Deriving a new address needs the wallet unlocked; listing, labelling and the address book
//! work while locked.

use super::error::{Result, WalletError};
use super::slip10;
use super::types::{AddressEntry, Contact};
use super::wallet::Wallet;
use crate::types::{Address, Amount, SecretKey};

/// The account (the third level of every wallet path) that every wallet uses.
pub(super) const ACCOUNT: u32 = 0;

/// The key of address `index` on the receive (`change == false`) or change chain.
pub(super) fn derive(seed: &[u8; 64], change: bool, index: u32) -> Result<SecretKey> {
    slip10::derive_wallet_key(seed, ACCOUNT, change, index)
}

impl Wallet {
    /// Derives the next address of the receive or change chain, labelled `label`, and lists
    /// it (the caller saves).
    pub(super) fn push_address(
        &mut self,
        seed: &[u8; 64],
        change: bool,
        label: &str,
    ) -> Result<AddressEntry> {
        let index = if change {
            self.state.next_change
        } else {
            self.state.next_receive
        };
        let key = derive(seed, change, index)?;
        let pubkey = key.public();
        let entry = AddressEntry {
            address: Address::from_pubkey(&pubkey),
            label: label.to_string(),
            change,
            index,
            pubkey,
        };
        self.state.addresses.push(entry.clone());
        let next = index
            .checked_add(1)
            .ok_or_else(|| WalletError::Derivation("address index exhausted".to_string()))?;
        if change {
            self.state.next_change = next;
        } else {
            self.state.next_receive = next;
        }
        Ok(entry)
    }

    /// A fresh receive address with `label` (needs the wallet unlocked).
    pub fn new_address(&mut self, label: &str) -> Result<Address> {
        let seed = self.seed()?;
        let e = self.push_address(&seed, false, label)?;
        self.save()?;
        Ok(e.address)
    }

    /// A fresh change address (needs the wallet unlocked). Sends take one automatically.
    pub fn new_change_address(&mut self) -> Result<Address> {
        let seed = self.seed()?;
        let e = self.push_address(&seed, true, "change")?;
        self.save()?;
        Ok(e.address)
    }

    /// The newest receive address (shown on the receive screen, also while locked).
    pub fn receive_address(&self) -> Option<Address> {
        self.state
            .addresses
            .iter()
            .rev()
            .find(|a| !a.change)
            .map(|a| a.address)
    }

    /// All own addresses, receive and change, in creation order.
    pub fn addresses(&self) -> Vec<AddressEntry> {
        self.state.addresses.clone()
    }

    /// Whether `a` is one of the wallet's addresses.
    pub fn is_mine(&self, a: &Address) -> bool {
        self.state.addresses.iter().any(|e| e.address == *a)
    }

    /// Sets the label of an own address.
    pub fn set_label(&mut self, address: &Address, label: &str) -> Result<()> {
        if let Some(e) = self
            .state
            .addresses
            .iter_mut()
            .find(|e| e.address == *address)
        {
            e.label = label.to_string();
            self.save()?;
        }
        Ok(())
    }

    /// Adds `address` to the address book as `label` (replacing the label of a known address).
    pub fn add_contact(&mut self, label: &str, address: Address) -> Result<()> {
        match self
            .state
            .contacts
            .iter_mut()
            .find(|c| c.address == address)
        {
            Some(c) => c.label = label.to_string(),
            None => self.state.contacts.push(Contact {
                label: label.to_string(),
                address,
            }),
        }
        self.save()
    }

    /// Removes a contact; returns whether it existed.
    pub fn remove_contact(&mut self, address: &Address) -> Result<bool> {
        let before = self.state.contacts.len();
        self.state.contacts.retain(|c| c.address != *address);
        let removed = self.state.contacts.len() != before;
        if removed {
            self.save()?;
        }
        Ok(removed)
    }

    /// A copy of the address book, in the order entries were first added.
    pub fn contacts(&self) -> Vec<Contact> {
        self.state.contacts.clone()
    }

    /// Every own address, receive and change, in creation order.
    pub(super) fn own_addrs(&self) -> Vec<Address> {
        self.state.addresses.iter().map(|a| a.address).collect()
    }

    /// The entry of own address `a`, if it is one.
    pub(super) fn entry_for(&self, a: &Address) -> Option<&AddressEntry> {
        self.state.addresses.iter().find(|e| e.address == *a)
    }

    /// A `timecoin:` payment URI for the newest receive address (for the receive screen's QR
    /// code), with an optional amount and label.
    pub fn receive_uri(&self, amount: Option<Amount>, label: Option<&str>) -> Option<String> {
        let address = self.receive_address()?;
        Some(
            crate::types::PaymentUri {
                address,
                amount,
                label: label.map(str::to_string),
            }
            .format(self.network),
        )
    }
}
