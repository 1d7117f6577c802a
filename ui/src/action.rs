//! The UI's side of the contract with the node: actions the UI asks for,
//! events the node answers with, and the injected address validator.

use std::sync::Arc;

use zeroize::{Zeroize, Zeroizing};

/// Checks a typed recipient address; `Err` carries the message to show
/// inline (e.g. "invalid checksum"). Injected by the binary so the UI needs no
/// dependency on the node's address code.
pub type AddressValidator = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// A secret value (passphrase, mnemonic words) that is zeroized on drop and
/// never printed by `Debug`.
#[derive(Clone, Default)]
pub struct Secret<T: Zeroize>(Zeroizing<T>);

/// A zeroizing passphrase.
pub type SecretString = Secret<String>;

/// Zeroizing mnemonic words, in order.
pub type SecretWords = Secret<Vec<String>>;

impl<T: Zeroize> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Secret(Zeroizing::new(value))
    }

    /// Borrows the secret; keep the borrow short and never log it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret::new(value)
    }
}

impl<T: Zeroize> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Compares the secrets (not in constant time: for tests and UI state only,
/// never for authentication).
impl<T: Zeroize + PartialEq> PartialEq for Secret<T> {
    fn eq(&self, other: &Self) -> bool {
        *self.0 == *other.0
    }
}

/// What the UI asks the node to do. Sent on a bounded channel by [`crate::run()`].
#[derive(Clone, Debug, PartialEq)]
pub enum UiAction {
    /// The user quit the UI; the node should shut down.
    Quit,
    /// Build and sign nothing yet: select coins and answer with
    /// [`UiEvent::SendPreview`].
    PreviewSend {
        /// Recipient address, already accepted by the [`AddressValidator`].
        to: String,
        /// Amount in base units (1 TIME = 100_000_000 units), > 0.
        amount_units: u64,
        /// Fee rate in base units per byte.
        fee_rate: u64,
    },
    /// Sign and broadcast the previewed transaction.
    ConfirmSend {
        /// Id from [`UiEvent::SendPreview`].
        preview_id: u64,
    },
    /// Discard the previewed transaction.
    CancelSend {
        /// Id from [`UiEvent::SendPreview`].
        preview_id: u64,
    },
    /// Unlock the wallet keys; the node answers with [`UiEvent::Unlocked`].
    Unlock {
        /// The wallet passphrase as typed (redacted in `Debug`).
        passphrase: SecretString,
    },
    /// Lock the wallet keys now.
    Lock,
    /// Derive a new receive address with a label.
    NewAddress {
        /// Label for the address (may be empty).
        label: String,
    },
    /// Decrypt and show the mnemonic; the node answers with
    /// [`UiEvent::Mnemonic`] or [`UiEvent::Error`].
    RevealMnemonic {
        /// The wallet passphrase as typed (redacted in `Debug`).
        passphrase: SecretString,
    },
    /// Register this node as a masternode of a tier: "bronze", "silver" or "gold".
    RegisterMasternode {
        /// Tier name in lower case.
        tier: String,
    },
    /// Exit the masternode set and release the collateral.
    LeaveMasternode,
    /// Add an entry to the address book.
    AddContact {
        /// Name of the contact.
        label: String,
        /// Their address, already accepted by the [`AddressValidator`].
        address: String,
    },
}

/// The node's answer to a [`UiAction::PreviewSend`]: the full summary shown
/// before anything is signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendPreview {
    /// Id to pass back in ConfirmSend / CancelSend.
    pub preview_id: u64,
    /// Address the amount goes to, bech32m.
    pub recipient: String,
    /// Amount sent to the recipient, base units.
    pub amount_units: u64,
    /// Fee, base units.
    pub fee_units: u64,
    /// Change returned to a fresh own address, base units.
    pub change_units: u64,
    /// Number of inputs selected.
    pub inputs: usize,
    /// Size of the signed transaction in bytes.
    pub size_bytes: usize,
}

/// Node -> UI answers and notifications, delivered on a channel.
#[derive(Clone, Debug, PartialEq)]
pub enum UiEvent {
    /// Answer to PreviewSend: show the confirmation popup.
    SendPreview(SendPreview),
    /// Answer to ConfirmSend: the txid or an error message.
    SendResult(Result<String, String>),
    /// Answer to Unlock.
    Unlocked(Result<(), String>),
    /// Answer to RevealMnemonic: the words, shown until the popup is closed.
    Mnemonic(SecretWords),
    /// Something worth telling the user (shown in the footer).
    Notice(String),
    /// An error answer to the last action (shown in the footer and in the open form).
    Error(String),
}
