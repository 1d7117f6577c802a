//! State of the popups (forms, confirmations, viewers). Drawing lives in
//! `widgets::popups`.

use crate::action::{SecretWords, SendPreview};
use crate::input::TextInput;
use crate::keymap::Context;

/// Masternode tiers offered by the register popup: (name, collateral TIME, weight). A mirror of
/// the ledger's tiers (this crate cannot import them); a test of the node ties the two.
pub const TIERS: [(&str, u64, u64); 3] = [
    ("bronze", 1_000, 1),
    ("silver", 10_000, 10),
    ("gold", 100_000, 100),
];

/// The send form: recipient, amount, fee rate, with inline errors.
#[derive(Debug)]
pub(crate) struct SendForm {
    /// Fields: recipient, amount (TIME), fee rate (units/byte).
    pub(crate) fields: [TextInput; 3],
    /// Inline error per field.
    pub(crate) errors: [Option<String>; 3],
    /// Index of the focused field.
    pub(crate) focus: usize,
    /// Error not tied to one field (e.g. from the node).
    pub(crate) general_error: Option<String>,
    /// A PreviewSend was sent and no answer has come yet.
    pub(crate) waiting: bool,
}

/// Default fee rate typed into a new send form, units per byte.
pub(crate) const DEFAULT_FEE_RATE: &str = "1";

impl SendForm {
    pub(crate) fn new(recipient: &str) -> Self {
        SendForm {
            fields: [
                TextInput::with_text(recipient),
                TextInput::new(),
                TextInput::with_text(DEFAULT_FEE_RATE),
            ],
            errors: [None, None, None],
            focus: if recipient.is_empty() { 0 } else { 1 },
            general_error: None,
            waiting: false,
        }
    }
}

/// Add-contact form: label and address.
#[derive(Debug, Default)]
pub(crate) struct ContactForm {
    /// Fields: label, address.
    pub(crate) fields: [TextInput; 2],
    /// Inline error per field.
    pub(crate) errors: [Option<String>; 2],
    /// Index of the focused field.
    pub(crate) focus: usize,
}

/// A masked passphrase prompt.
#[derive(Debug)]
pub(crate) struct PassphrasePrompt {
    /// The masked field.
    pub(crate) input: TextInput,
    /// Why the prompt is shown, e.g. "The wallet is locked. Unlock it to send."
    pub(crate) reason: Option<String>,
    /// Inline error (wrong passphrase, ...).
    pub(crate) error: Option<String>,
    /// Sent to the node, answer pending.
    pub(crate) waiting: bool,
}

impl PassphrasePrompt {
    pub(crate) fn new(reason: Option<String>) -> Self {
        PassphrasePrompt {
            input: TextInput::masked(),
            reason,
            error: None,
            waiting: false,
        }
    }
}

/// One popup; the app keeps a stack, the top one gets the keys.
#[derive(Debug)]
pub(crate) enum Popup {
    /// Keymap help, scrolled by the offset.
    Help { scroll: usize },
    /// "Quit?" confirmation.
    QuitConfirm,
    /// Send form.
    SendForm(SendForm),
    /// Full summary of a previewed send, awaiting yes/no.
    SendConfirm(SendPreview),
    /// A message (send result, ...).
    Message {
        title: String,
        body: String,
        is_error: bool,
    },
    /// Unlock prompt.
    Unlock(PassphrasePrompt),
    /// Label for a new address.
    NewAddress(TextInput),
    /// Address-book entry.
    AddContact(ContactForm),
    /// Warning before revealing the mnemonic.
    MnemonicWarning,
    /// Passphrase for revealing the mnemonic.
    MnemonicPassphrase(PassphrasePrompt),
    /// The mnemonic itself; wiped when the popup is dropped.
    MnemonicShow(SecretWords),
    /// Receive screen (QR and payment URI).
    Receive,
    /// Tier choice for masternode registration.
    TierSelect { selected: usize },
    /// Confirmation of masternode registration.
    RegisterConfirm { tier: usize },
    /// Confirmation of leaving the masternode set.
    LeaveConfirm,
}

impl Popup {
    /// Keymap context of the popup.
    pub(crate) fn context(&self) -> Context {
        match self {
            Popup::Help { .. } => Context::Help,
            Popup::QuitConfirm
            | Popup::SendConfirm(_)
            | Popup::MnemonicWarning
            | Popup::RegisterConfirm { .. }
            | Popup::LeaveConfirm => Context::Confirm,
            Popup::SendForm(_)
            | Popup::Unlock(_)
            | Popup::NewAddress(_)
            | Popup::AddContact(_)
            | Popup::MnemonicPassphrase(_) => Context::Form,
            Popup::Message { .. } | Popup::MnemonicShow(_) | Popup::Receive => Context::Viewer,
            Popup::TierSelect { .. } => Context::Select,
        }
    }

    /// Whether the popup is a form being edited (quitting asks first).
    pub(crate) fn is_form(&self) -> bool {
        self.context() == Context::Form
    }
}
