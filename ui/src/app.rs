//! Application state and its update functions: keys and node events in,
//! actions out. Drawing is in `render.rs` and takes `&App`.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::action::{AddressValidator, Secret, SendPreview, UiAction, UiEvent};
use crate::format::{format_time_unit, parse_time_amount};
use crate::keymap::{self, Command, Context};
use crate::popup::{ContactForm, PassphrasePrompt, Popup, SendForm, TIERS};
use crate::view_model::ViewModel;

/// The seven tabs, in key order 1-7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// Height, finality, sparklines, node status.
    Overview,
    /// Live round state and votes per masternode.
    Consensus,
    /// Peer table.
    Peers,
    /// Mempool summary and newest transactions.
    Mempool,
    /// Masternode set.
    Masternodes,
    /// Balances, history, addresses, send/receive.
    Wallet,
    /// Tracing output.
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
    fn context(self) -> Option<Context> {
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

/// Request sent to the node whose answer is awaited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Awaiting {
    Preview,
    SendResult,
    Unlock,
    Mnemonic,
}

/// Last message for the footer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Notice {
    pub(crate) text: String,
    pub(crate) is_error: bool,
}

/// The whole UI state. Keys and node events update it; `render` draws it.
pub struct App {
    validator: AddressValidator,
    pub(crate) view: ViewModel,
    /// A view model has arrived (before that, screens say "waiting for node").
    has_view: bool,
    /// The UI's clock when the shown data last changed, unix ms (`None`: clock not read yet).
    received_ms: Option<u64>,
    /// The UI's clock, unix ms, as of the last [`App::tick`] (`None`: not read yet, so no
    /// time counts as passed).
    clock_ms: Option<u64>,
    pub(crate) tab: Tab,
    pub(crate) selection: [usize; 7],
    pub(crate) wallet_pane: WalletPane,
    pub(crate) wallet_selection: [usize; 3],
    pub(crate) logs_follow: bool,
    pub(crate) popups: Vec<Popup>,
    pub(crate) awaiting: Option<Awaiting>,
    pub(crate) notice: Option<Notice>,
    outbox: VecDeque<UiAction>,
    quit: bool,
    /// Set when this UI cannot show the mnemonic (attached over RPC): what to run instead.
    mnemonic_elsewhere: Option<String>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("tab", &self.tab)
            .field("popups", &self.popups.len())
            .field("awaiting", &self.awaiting)
            .field("quit", &self.quit)
            .finish_non_exhaustive()
    }
}

impl App {
    /// A new UI on the Overview tab with an empty (all unknown) view model.
    pub fn new(validator: AddressValidator) -> App {
        App {
            validator,
            view: ViewModel::default(),
            has_view: false,
            received_ms: None,
            clock_ms: None,
            tab: Tab::Overview,
            selection: [0; 7],
            wallet_pane: WalletPane::History,
            wallet_selection: [0; 3],
            logs_follow: true,
            popups: Vec::new(),
            awaiting: None,
            notice: None,
            outbox: VecDeque::new(),
            quit: false,
            mnemonic_elsewhere: None,
        }
    }

    /// A UI that does not reveal the mnemonic (`m` explains `how` to see it instead of asking
    /// for the passphrase): for `timed attach`, which reaches the wallet over RPC only.
    pub fn mnemonic_elsewhere(mut self, how: impl Into<String>) -> App {
        self.mnemonic_elsewhere = Some(how.into());
        self
    }

    /// Whether the user has quit.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// The selected tab.
    pub fn tab(&self) -> Tab {
        self.tab
    }

    /// The current view model.
    pub fn view(&self) -> &ViewModel {
        &self.view
    }

    /// Whether a send is in progress: form open, preview awaited or shown, result awaited.
    pub fn send_pending(&self) -> bool {
        matches!(
            self.awaiting,
            Some(Awaiting::Preview | Awaiting::SendResult)
        ) || self
            .popups
            .iter()
            .any(|p| matches!(p, Popup::SendForm(_) | Popup::SendConfirm(_)))
    }

    /// Preview id of the confirmation popup being shown, if any.
    pub fn pending_preview(&self) -> Option<u64> {
        self.popups.iter().rev().find_map(|p| match p {
            Popup::SendConfirm(preview) => Some(preview.preview_id),
            _ => None,
        })
    }

    /// Whether any popup is open.
    pub fn popup_open(&self) -> bool {
        !self.popups.is_empty()
    }

    /// Last footer message and whether it is an error.
    pub fn notice(&self) -> Option<(&str, bool)> {
        self.notice.as_ref().map(|n| (n.text.as_str(), n.is_error))
    }

    /// Actions the app decided on outside of a key press (e.g. cancelling a
    /// preview nobody waits for any more). [`crate::run()`] forwards them.
    pub fn take_action(&mut self) -> Option<UiAction> {
        self.outbox.pop_front()
    }

    /// Takes a view model from the node; returns whether what is drawn may have changed (a
    /// republished, unchanged snapshot whose age text stays the same needs no redraw).
    pub fn set_view(&mut self, mut vm: ViewModel) -> bool {
        let before = self.clock_key();
        // Compare the data without its publication time: a heartbeat of unchanged data only
        // moves the age, which `clock_key` judges by its text.
        let published = std::mem::replace(&mut vm.published_unix_ms, self.view.published_unix_ms);
        let same = self.has_view && vm == self.view;
        vm.published_unix_ms = published;
        self.view = vm;
        self.has_view = true;
        if !same {
            self.received_ms = self.clock_ms;
            self.clamp_selections();
        }
        !same || before != self.clock_key()
    }

    /// Sets the UI's clock to `now`; returns true when a clock-driven text on screen changes
    /// ("updated 3s ago", the auto-lock countdown, "next block in 0.4 s").
    pub fn tick(&mut self, now: SystemTime) -> bool {
        let before = self.clock_key();
        self.clock_ms = Some(unix_ms(now));
        before != self.clock_key()
    }

    /// What the clock-driven texts depend on: whole seconds of data age and since the data
    /// changed, and tenths of a second while a countdown is on screen.
    fn clock_key(&self) -> (u64, u64, Option<u64>) {
        let countdown = self.view.consensus.between_heights.is_some() && self.tab == Tab::Consensus;
        (
            self.elapsed_ms() / 1000,
            self.since_received_secs(),
            countdown.then(|| self.elapsed_ms() / 100),
        )
    }

    /// Whether a view model has arrived yet.
    pub(crate) fn has_view(&self) -> bool {
        self.has_view
    }

    /// Milliseconds on the UI's clock since the node published the shown snapshot (since it
    /// arrived, when the node did not say); the figures "at snapshot time" advance by it.
    pub(crate) fn elapsed_ms(&self) -> u64 {
        let Some(now) = self.clock_ms else {
            return 0;
        };
        self.view
            .published_unix_ms
            .or(self.received_ms)
            .map_or(0, |t| now.saturating_sub(t))
    }

    /// Whole seconds since the shown data last changed (the wallet's figures are as of then;
    /// data that came before the clock was first read counts from its publication).
    pub(crate) fn since_received_secs(&self) -> u64 {
        let since = self.received_ms.or(self.view.published_unix_ms);
        match (self.clock_ms, since) {
            (Some(now), Some(t)) => now.saturating_sub(t) / 1000,
            _ => 0,
        }
    }

    /// Age of the shown data in seconds, if known.
    pub(crate) fn data_age_secs(&self) -> Option<u64> {
        self.view.published_unix_ms?;
        self.has_view.then(|| self.elapsed_ms() / 1000)
    }

    /// Keymap contexts active now, most specific first.
    pub(crate) fn contexts(&self) -> Vec<Context> {
        match self.popups.last() {
            Some(popup) => vec![popup.context(), Context::Always],
            None => self.main_contexts(),
        }
    }

    /// Keymap contexts of the main screen (no popup), most specific first.
    pub(crate) fn main_contexts(&self) -> Vec<Context> {
        let mut ctx = Vec::with_capacity(3);
        ctx.extend(self.tab.context());
        ctx.push(Context::Global);
        ctx.push(Context::Always);
        ctx
    }

    fn set_notice(&mut self, text: impl Into<String>, is_error: bool) {
        self.notice = Some(Notice {
            text: text.into(),
            is_error,
        });
    }

    /// Handles one key press; returns the action for the node, if any.
    pub fn handle_key(&mut self, key: KeyEvent) -> Option<UiAction> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let contexts = self.contexts();
        let command = keymap::lookup(&contexts, &key);
        if self.popups.is_empty() {
            return command.and_then(|c| self.main_command(c, &key));
        }
        match command {
            Some(Command::Quit) => self.request_quit(),
            Some(command) => self.popup_command(command),
            None => {
                if let KeyCode::Char(c) = key.code {
                    if !key
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                    {
                        self.type_char(c);
                    }
                }
                None
            }
        }
    }

    /// Handles pasted text (bracketed paste): inserted into the focused text
    /// field, line breaks dropped so a paste never submits a form. Ignored
    /// when no field has focus.
    pub fn handle_paste(&mut self, text: &str) {
        for c in text.chars().filter(|c| !c.is_control()) {
            self.type_char(c);
        }
    }

    fn request_quit(&mut self) -> Option<UiAction> {
        let asked = matches!(self.popups.last(), Some(Popup::QuitConfirm));
        let editing = self.popups.iter().any(Popup::is_form);
        // Asking again while the question is shown counts as yes.
        if (self.send_pending() || editing) && !asked {
            self.popups.push(Popup::QuitConfirm);
            None
        } else {
            self.popups.clear();
            self.quit = true;
            Some(UiAction::Quit)
        }
    }

    fn main_command(&mut self, command: Command, key: &KeyEvent) -> Option<UiAction> {
        match command {
            Command::SelectTab => {
                if let KeyCode::Char(c) = key.code {
                    let n = c.to_digit(10).unwrap_or(0) as usize;
                    if let Some(tab) = n.checked_sub(1).and_then(|i| Tab::ALL.get(i)) {
                        self.tab = *tab;
                    }
                }
            }
            Command::NextTab => self.tab = Tab::ALL[(self.tab.index() + 1) % Tab::ALL.len()],
            Command::PrevTab => {
                self.tab = Tab::ALL[(self.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()];
            }
            Command::Down => self.move_selection(1),
            Command::Up => self.move_selection(-1),
            Command::Top => self.move_selection(isize::MIN),
            Command::Bottom => self.move_selection(isize::MAX),
            Command::Help => self.popups.push(Popup::Help { scroll: 0 }),
            Command::Quit => return self.request_quit(),
            Command::Send => self.open_send(),
            Command::Receive => {
                if self.wallet_ready() {
                    self.popups.push(Popup::Receive);
                }
            }
            Command::Unlock => {
                if self.wallet_ready() {
                    if self.view.wallet.locked {
                        self.popups.push(Popup::Unlock(PassphrasePrompt::new(None)));
                    } else {
                        self.set_notice("the wallet is already unlocked", false);
                    }
                }
            }
            Command::Lock => {
                if self.wallet_ready() {
                    if self.view.wallet.locked {
                        self.set_notice("the wallet is already locked", false);
                    } else {
                        return Some(UiAction::Lock);
                    }
                }
            }
            Command::NewAddress => {
                if self.wallet_ready() {
                    self.popups
                        .push(Popup::NewAddress(crate::input::TextInput::new()));
                }
            }
            Command::AddContact => {
                if self.wallet_ready() {
                    self.popups.push(Popup::AddContact(ContactForm::default()));
                }
            }
            Command::RevealMnemonic => {
                if let Some(how) = &self.mnemonic_elsewhere {
                    self.popups.push(Popup::Message {
                        title: "Recovery mnemonic".into(),
                        body: how.clone(),
                        is_error: false,
                    });
                } else if self.wallet_ready() {
                    self.popups.push(Popup::MnemonicWarning);
                }
            }
            Command::NextPane => {
                self.wallet_pane = match self.wallet_pane {
                    WalletPane::History => WalletPane::Addresses,
                    WalletPane::Addresses => WalletPane::Contacts,
                    WalletPane::Contacts => WalletPane::History,
                };
            }
            Command::Register => self.popups.push(Popup::TierSelect { selected: 0 }),
            Command::Leave => self.popups.push(Popup::LeaveConfirm),
            Command::Submit
            | Command::NextField
            | Command::PrevField
            | Command::DeleteChar
            | Command::ClearField
            | Command::Yes
            | Command::Close => {}
        }
        None
    }

    /// Whether a wallet is loaded; sets an error notice when not.
    fn wallet_ready(&mut self) -> bool {
        if self.view.wallet.loaded {
            true
        } else {
            self.set_notice("no wallet loaded", true);
            false
        }
    }

    fn open_send(&mut self) {
        if !self.wallet_ready() {
            return;
        }
        let recipient = if self.wallet_pane == WalletPane::Contacts {
            self.view
                .wallet
                .contacts
                .get(self.wallet_selection[2])
                .map(|c| c.address.clone())
                .unwrap_or_default()
        } else {
            String::new()
        };
        if self.view.wallet.locked {
            self.popups.push(Popup::SendForm(SendForm::new(&recipient)));
            self.popups.push(Popup::Unlock(PassphrasePrompt::new(Some(
                "The wallet is locked. Unlock it to send.".into(),
            ))));
        } else {
            self.popups.push(Popup::SendForm(SendForm::new(&recipient)));
        }
    }

    /// Number of selectable rows of a tab (for the wallet: of one pane).
    fn row_count(&self, tab: Tab, pane: WalletPane) -> usize {
        let vm = &self.view;
        match tab {
            Tab::Overview => 0,
            Tab::Consensus => vm.consensus.validators.len(),
            Tab::Peers => vm.peers.rows.len(),
            Tab::Mempool => vm.mempool.newest.len(),
            Tab::Masternodes => vm.masternodes.rows.len(),
            Tab::Wallet => match pane {
                WalletPane::History => vm.wallet.history.len(),
                WalletPane::Addresses => vm.wallet.addresses.len(),
                WalletPane::Contacts => vm.wallet.contacts.len(),
            },
            Tab::Logs => vm.logs.lines.len(),
        }
    }

    fn selection_mut(&mut self) -> &mut usize {
        if self.tab == Tab::Wallet {
            &mut self.wallet_selection[self.wallet_pane as usize]
        } else {
            &mut self.selection[self.tab.index()]
        }
    }

    fn move_selection(&mut self, delta: isize) {
        let last = self.row_count(self.tab, self.wallet_pane).saturating_sub(1);
        let sel = self.selection_mut();
        *sel = if delta < 0 {
            sel.saturating_sub(delta.unsigned_abs())
        } else {
            sel.saturating_add(delta.unsigned_abs()).min(last)
        };
        let at_end = *sel >= last;
        if self.tab == Tab::Logs {
            self.logs_follow = at_end;
        }
    }

    /// Keeps every selection inside its (possibly shrunk) list.
    fn clamp_selections(&mut self) {
        for tab in Tab::ALL {
            let last = self.row_count(tab, self.wallet_pane).saturating_sub(1);
            let sel = &mut self.selection[tab.index()];
            *sel = (*sel).min(last);
        }
        for pane in [
            WalletPane::History,
            WalletPane::Addresses,
            WalletPane::Contacts,
        ] {
            let last = self.row_count(Tab::Wallet, pane).saturating_sub(1);
            let sel = &mut self.wallet_selection[pane as usize];
            *sel = (*sel).min(last);
        }
        if self.logs_follow {
            self.selection[Tab::Logs.index()] = self.view.logs.lines.len().saturating_sub(1);
        }
    }

    fn type_char(&mut self, c: char) {
        match self.popups.last_mut() {
            Some(Popup::SendForm(form)) if !form.waiting => {
                form.fields[form.focus].insert(c);
                form.errors[form.focus] = None;
            }
            Some(Popup::Unlock(prompt) | Popup::MnemonicPassphrase(prompt)) if !prompt.waiting => {
                prompt.input.insert(c);
                prompt.error = None;
            }
            Some(Popup::NewAddress(input)) => input.insert(c),
            Some(Popup::AddContact(form)) => {
                form.fields[form.focus].insert(c);
                form.errors[form.focus] = None;
            }
            _ => {}
        }
    }

    fn popup_command(&mut self, command: Command) -> Option<UiAction> {
        let wallet_locked = self.view.wallet.locked;
        let finalized = self.view.wallet.balance_finalized;
        let validator = self.validator.clone();
        let top = self.popups.last_mut()?;
        match (top, command) {
            (Popup::Help { scroll }, Command::Down) => {
                // Never scroll past the last line of the help text.
                let total: usize = keymap::help_sections(&[])
                    .iter()
                    .map(|(_, rows)| rows.len() + 2)
                    .sum();
                *scroll = (*scroll + 1).min(total.saturating_sub(1));
            }
            (Popup::Help { scroll }, Command::Up) => *scroll = scroll.saturating_sub(1),
            (Popup::QuitConfirm, Command::Yes) => {
                self.popups.clear();
                self.quit = true;
                return Some(UiAction::Quit);
            }
            (Popup::SendConfirm(preview), Command::Yes) => {
                let preview_id = preview.preview_id;
                self.popups
                    .retain(|p| !matches!(p, Popup::SendConfirm(_) | Popup::SendForm(_)));
                self.awaiting = Some(Awaiting::SendResult);
                self.set_notice("sending…", false);
                return Some(UiAction::ConfirmSend { preview_id });
            }
            (Popup::SendConfirm(preview), Command::Close) => {
                let preview_id = preview.preview_id;
                self.popups.pop();
                self.set_notice("send cancelled", false);
                return Some(UiAction::CancelSend { preview_id });
            }
            (Popup::MnemonicWarning, Command::Yes) => {
                self.popups.pop();
                self.popups
                    .push(Popup::MnemonicPassphrase(PassphrasePrompt::new(Some(
                        "Enter the wallet passphrase to show the mnemonic.".into(),
                    ))));
            }
            (Popup::TierSelect { selected }, Command::Down) => {
                *selected = (*selected + 1).min(TIERS.len() - 1)
            }
            (Popup::TierSelect { selected }, Command::Up) => *selected = selected.saturating_sub(1),
            (Popup::TierSelect { selected }, Command::Submit) => {
                let tier = *selected;
                self.popups.pop();
                self.popups.push(Popup::RegisterConfirm { tier });
            }
            (Popup::RegisterConfirm { tier }, Command::Yes) => {
                let name = TIERS.get(*tier).map_or("bronze", |t| t.0).to_string();
                self.popups.pop();
                self.set_notice(format!("registering as {name} masternode…"), false);
                return Some(UiAction::RegisterMasternode { tier: name });
            }
            (Popup::LeaveConfirm, Command::Yes) => {
                self.popups.pop();
                self.set_notice("leaving the masternode set…", false);
                return Some(UiAction::LeaveMasternode);
            }
            (Popup::SendForm(form), Command::Submit) => {
                if form.waiting {
                    return None;
                }
                if wallet_locked {
                    self.popups.push(Popup::Unlock(PassphrasePrompt::new(Some(
                        "The wallet is locked. Unlock it to send.".into(),
                    ))));
                    return None;
                }
                let action = validate_send(form, &validator, finalized);
                if action.is_some() {
                    form.waiting = true;
                    self.awaiting = Some(Awaiting::Preview);
                }
                return action;
            }
            (Popup::SendForm(form), Command::NextField) => form.focus = (form.focus + 1) % 3,
            (Popup::SendForm(form), Command::PrevField) => form.focus = (form.focus + 2) % 3,
            (Popup::SendForm(form), Command::DeleteChar) if !form.waiting => {
                form.fields[form.focus].backspace();
                form.errors[form.focus] = None;
            }
            (Popup::SendForm(form), Command::ClearField) if !form.waiting => {
                form.fields[form.focus].clear()
            }
            (Popup::SendForm(form), Command::Close) => {
                if form.waiting {
                    // The preview answer will be cancelled when it arrives.
                    self.awaiting = None;
                }
                self.popups.pop();
            }
            (Popup::Unlock(prompt) | Popup::MnemonicPassphrase(prompt), Command::DeleteChar) => {
                prompt.input.backspace()
            }
            (Popup::Unlock(prompt) | Popup::MnemonicPassphrase(prompt), Command::ClearField) => {
                prompt.input.clear()
            }
            (Popup::Unlock(prompt), Command::Submit) => {
                if prompt.waiting {
                    return None;
                }
                if prompt.input.as_str().is_empty() {
                    prompt.error = Some("enter the wallet passphrase".into());
                    return None;
                }
                prompt.waiting = true;
                prompt.error = None;
                let passphrase = Secret::new(prompt.input.take());
                self.awaiting = Some(Awaiting::Unlock);
                return Some(UiAction::Unlock { passphrase });
            }
            (Popup::MnemonicPassphrase(prompt), Command::Submit) => {
                if prompt.waiting {
                    return None;
                }
                if prompt.input.as_str().is_empty() {
                    prompt.error = Some("enter the wallet passphrase".into());
                    return None;
                }
                prompt.waiting = true;
                prompt.error = None;
                let passphrase = Secret::new(prompt.input.take());
                self.awaiting = Some(Awaiting::Mnemonic);
                return Some(UiAction::RevealMnemonic { passphrase });
            }
            (Popup::NewAddress(input), Command::Submit) => {
                let label = input.take().trim().to_string();
                self.popups.pop();
                self.set_notice("creating a new address…", false);
                return Some(UiAction::NewAddress { label });
            }
            (Popup::NewAddress(input), Command::DeleteChar) => input.backspace(),
            (Popup::NewAddress(input), Command::ClearField) => input.clear(),
            (Popup::AddContact(form), Command::Submit) => {
                let label = form.fields[0].as_str().trim().to_string();
                let address = form.fields[1].as_str().trim().to_string();
                form.errors = [None, None];
                if label.is_empty() {
                    form.errors[0] = Some("enter a name".into());
                }
                if address.is_empty() {
                    form.errors[1] = Some("enter the address".into());
                } else if let Err(e) = validator(&address) {
                    form.errors[1] = Some(e);
                }
                if form.errors.iter().any(Option::is_some) {
                    form.focus = if form.errors[0].is_some() { 0 } else { 1 };
                    return None;
                }
                self.popups.pop();
                self.set_notice(format!("adding contact {label}…"), false);
                return Some(UiAction::AddContact { label, address });
            }
            (Popup::AddContact(form), Command::NextField | Command::PrevField) => {
                form.focus = 1 - form.focus.min(1)
            }
            (Popup::AddContact(form), Command::DeleteChar) => form.fields[form.focus].backspace(),
            (Popup::AddContact(form), Command::ClearField) => form.fields[form.focus].clear(),
            (Popup::Unlock(_), Command::Close) => {
                self.popups.pop();
                if self.awaiting == Some(Awaiting::Unlock) {
                    self.awaiting = None;
                }
            }
            (Popup::MnemonicPassphrase(_), Command::Close) => {
                self.popups.pop();
                if self.awaiting == Some(Awaiting::Mnemonic) {
                    self.awaiting = None;
                }
            }
            (_, Command::Close) => {
                // Dropping a MnemonicShow popup zeroizes the words.
                self.popups.pop();
            }
            _ => {}
        }
        None
    }

    /// Handles one answer or notification from the node.
    pub fn handle_event(&mut self, ev: UiEvent) {
        match ev {
            UiEvent::SendPreview {
                preview_id,
                recipient,
                amount_units,
                fee_units,
                change_units,
                inputs,
                size_bytes,
            } => {
                let preview = SendPreview {
                    preview_id,
                    recipient,
                    amount_units,
                    fee_units,
                    change_units,
                    inputs,
                    size_bytes,
                };
                self.on_preview(preview);
            }
            UiEvent::SendResult(Ok(txid)) => {
                self.awaiting_done(Awaiting::SendResult);
                self.set_notice(format!("sent: {txid}"), false);
                self.popups.push(Popup::Message {
                    title: "Sent".into(),
                    body: format!(
                        "Transaction {txid} was signed and broadcast.\nIt is final once its block carries a commit certificate; watch its status in the history."
                    ),
                    is_error: false,
                });
            }
            UiEvent::SendResult(Err(e)) => {
                self.awaiting_done(Awaiting::SendResult);
                self.set_notice(format!("send failed: {e}"), true);
                self.popups.push(Popup::Message {
                    title: "Send failed".into(),
                    body: format!("{e}\nNothing was sent."),
                    is_error: true,
                });
            }
            UiEvent::Unlocked(Ok(())) => {
                self.awaiting_done(Awaiting::Unlock);
                if let Some(pos) = self
                    .popups
                    .iter()
                    .rposition(|p| matches!(p, Popup::Unlock(_)))
                {
                    self.popups.remove(pos);
                }
                // The node confirmed; the next snapshot will say so too.
                self.view.wallet.locked = false;
                self.set_notice("wallet unlocked", false);
            }
            UiEvent::Unlocked(Err(e)) => {
                self.awaiting_done(Awaiting::Unlock);
                if let Some(Popup::Unlock(prompt)) = self
                    .popups
                    .iter_mut()
                    .rev()
                    .find(|p| matches!(p, Popup::Unlock(_)))
                {
                    prompt.waiting = false;
                    prompt.error = Some(e.clone());
                }
                self.set_notice(format!("unlock failed: {e}"), true);
            }
            UiEvent::Mnemonic(words) => {
                let waiting = self.awaiting == Some(Awaiting::Mnemonic);
                self.awaiting_done(Awaiting::Mnemonic);
                match self
                    .popups
                    .iter()
                    .rposition(|p| matches!(p, Popup::MnemonicPassphrase(_)))
                {
                    Some(pos) if waiting => {
                        self.popups[pos] = Popup::MnemonicShow(words);
                    }
                    _ => {
                        // Nobody is waiting for it any more: dropping wipes it.
                        drop(words);
                        self.set_notice("mnemonic discarded (the prompt was closed)", false);
                    }
                }
            }
            UiEvent::Notice(text) => self.set_notice(text, false),
            UiEvent::Error(text) => self.on_error(text),
        }
    }

    fn awaiting_done(&mut self, what: Awaiting) {
        if self.awaiting == Some(what) {
            self.awaiting = None;
        }
    }

    fn on_preview(&mut self, preview: SendPreview) {
        let form_waiting = self
            .popups
            .iter()
            .any(|p| matches!(p, Popup::SendForm(f) if f.waiting));
        if self.awaiting == Some(Awaiting::Preview) && form_waiting {
            self.awaiting = None;
            for p in &mut self.popups {
                if let Popup::SendForm(f) = p {
                    f.waiting = false;
                }
            }
            self.popups.push(Popup::SendConfirm(preview));
        } else {
            self.outbox.push_back(UiAction::CancelSend {
                preview_id: preview.preview_id,
            });
            self.set_notice(
                "a send preview arrived after the form was closed; cancelled it",
                false,
            );
        }
    }

    fn on_error(&mut self, text: String) {
        match self.awaiting.take() {
            Some(Awaiting::Preview) => {
                if let Some(Popup::SendForm(f)) = self
                    .popups
                    .iter_mut()
                    .rev()
                    .find(|p| matches!(p, Popup::SendForm(_)))
                {
                    f.waiting = false;
                    f.general_error = Some(text.clone());
                }
            }
            Some(Awaiting::Unlock) => {
                if let Some(Popup::Unlock(prompt)) = self
                    .popups
                    .iter_mut()
                    .rev()
                    .find(|p| matches!(p, Popup::Unlock(_)))
                {
                    prompt.waiting = false;
                    prompt.error = Some(text.clone());
                }
            }
            Some(Awaiting::Mnemonic) => {
                if let Some(Popup::MnemonicPassphrase(prompt)) = self
                    .popups
                    .iter_mut()
                    .rev()
                    .find(|p| matches!(p, Popup::MnemonicPassphrase(_)))
                {
                    prompt.waiting = false;
                    prompt.error = Some(text.clone());
                }
            }
            Some(Awaiting::SendResult) => {
                self.popups.push(Popup::Message {
                    title: "Send failed".into(),
                    body: text.clone(),
                    is_error: true,
                });
            }
            None => {}
        }
        self.set_notice(text, true);
    }
}

/// Checks the send form; on success returns the PreviewSend action, else
/// fills the inline errors and focuses the first bad field.
fn validate_send(
    form: &mut SendForm,
    validator: &AddressValidator,
    finalized: u64,
) -> Option<UiAction> {
    form.errors = [None, None, None];
    form.general_error = None;
    let to = form.fields[0].as_str().trim().to_string();
    if to.is_empty() {
        form.errors[0] = Some("enter the recipient address".into());
    } else if let Err(e) = validator(&to) {
        form.errors[0] = Some(e);
    }
    let amount = match parse_time_amount(form.fields[1].as_str()) {
        Ok(units) if units > finalized => {
            form.errors[1] = Some(format!(
                "insufficient funds: {} final balance",
                format_time_unit(finalized)
            ));
            None
        }
        Ok(units) => Some(units),
        Err(e) => {
            form.errors[1] = Some(e.to_string());
            None
        }
    };
    let fee_rate = match form.fields[2].as_str().trim().parse::<u64>() {
        Ok(0) => {
            form.errors[2] = Some("the fee rate must be at least 1 unit/byte".into());
            None
        }
        Ok(rate) => Some(rate),
        Err(_) => {
            form.errors[2] = Some("whole units per byte, e.g. 1".into());
            None
        }
    };
    if let Some(first_bad) = form.errors.iter().position(Option::is_some) {
        form.focus = first_bad;
        return None;
    }
    Some(UiAction::PreviewSend {
        to,
        amount_units: amount?,
        fee_rate: fee_rate?,
    })
}

/// Milliseconds since the Unix epoch (0 before it).
fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
