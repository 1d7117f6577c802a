//! Application state and its update functions: keys and node events in,
//! actions out. Drawing is in `render.rs` and takes `&App`.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::action::{AddressValidator, UiAction};
use crate::keymap::{self, Command, Context};
use crate::popups::{
    Confirm, ConfirmKind, ContactForm, Help, KeyCtx, Message, NewAddress, PassphrasePrompt, Popup,
    Purpose, Receive, Reply, SendForm, Stack, TierSelect,
};
pub use crate::tab::{Tab, WalletPane};
use crate::view_model::ViewModel;

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
    pub(crate) outbox: VecDeque<UiAction>,
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
            Popup::SendConfirm(c) => Some(c.preview.preview_id),
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

    /// What the clock-driven texts depend on: whole seconds of data age and of the auto-lock
    /// countdown, and tenths of a second while a countdown is on screen.
    fn clock_key(&self) -> (u64, Option<u64>, Option<u64>) {
        let countdown = self.view.consensus.between_heights.is_some() && self.tab == Tab::Consensus;
        (
            self.elapsed_ms() / 1000,
            self.auto_lock_remaining_secs(),
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

    /// Seconds until the wallet locks itself, rounded up (0 only once the deadline is reached),
    /// counted to its deadline on the UI's clock (before the clock is first read, from the
    /// snapshot's publication); `None` when it is locked, has no auto-lock, or no time is known.
    pub(crate) fn auto_lock_remaining_secs(&self) -> Option<u64> {
        let deadline = self.view.wallet.auto_lock_at_unix_ms?;
        let now = self.clock_ms.or(self.view.published_unix_ms)?;
        Some(deadline.saturating_sub(now).div_ceil(1000))
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

    pub(crate) fn set_notice(&mut self, text: impl Into<String>, is_error: bool) {
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
        let asked = matches!(
            self.popups.last(),
            Some(Popup::Confirm(Confirm {
                kind: ConfirmKind::Quit
            }))
        );
        let editing = self.popups.iter().any(Popup::is_form);
        // Asking again while the question is shown counts as yes.
        if (self.send_pending() || editing) && !asked {
            self.popups.push(Confirm::popup(ConfirmKind::Quit));
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
            Command::Help => self.popups.push(Popup::Help(Help::default())),
            Command::Quit => return self.request_quit(),
            Command::Send => self.open_send(),
            Command::Receive => {
                if self.wallet_ready() {
                    self.popups.push(Popup::Receive(Receive));
                }
            }
            Command::Unlock => {
                if self.wallet_ready() {
                    if self.view.wallet.locked {
                        self.popups.push(Popup::Passphrase(PassphrasePrompt::new(
                            Purpose::Unlock,
                            None,
                        )));
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
                    self.popups.push(Popup::NewAddress(NewAddress::default()));
                }
            }
            Command::AddContact => {
                if self.wallet_ready() {
                    self.popups.push(Popup::AddContact(ContactForm::default()));
                }
            }
            Command::RevealMnemonic => {
                if let Some(how) = &self.mnemonic_elsewhere {
                    self.popups
                        .push(Message::popup("Recovery mnemonic", how.clone(), false));
                } else if self.wallet_ready() {
                    self.popups
                        .push(Confirm::popup(ConfirmKind::RevealMnemonic));
                }
            }
            Command::NextPane => {
                self.wallet_pane = match self.wallet_pane {
                    WalletPane::History => WalletPane::Addresses,
                    WalletPane::Addresses => WalletPane::Contacts,
                    WalletPane::Contacts => WalletPane::History,
                };
            }
            Command::Register => self.popups.push(Popup::TierSelect(TierSelect::default())),
            Command::Leave => self.popups.push(Confirm::popup(ConfirmKind::Leave)),
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
        self.popups.push(Popup::SendForm(SendForm::new(&recipient)));
        if self.view.wallet.locked {
            self.popups.push(crate::popups::unlock_to_send());
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
        if let Some(top) = self.popups.last_mut() {
            top.type_char(c);
        }
    }

    /// Gives `command` to the top popup and carries out its reply.
    fn popup_command(&mut self, command: Command) -> Option<UiAction> {
        let ctx = KeyCtx {
            view: &self.view,
            validator: &self.validator,
        };
        let reply = self.popups.last_mut()?.on(command, &ctx);
        self.apply(reply)
    }

    /// Carries out a popup's reply: the stack, the wait, the notice; returns the action.
    fn apply(&mut self, reply: Reply) -> Option<UiAction> {
        match reply.stack {
            Stack::Keep => {}
            Stack::Close => self.close_top(),
            Stack::Replace(p) => {
                self.close_top();
                self.popups.push(p);
            }
            Stack::Push(p) => self.popups.push(p),
            Stack::CloseSend => self
                .popups
                .retain(|p| !matches!(p, Popup::SendConfirm(_) | Popup::SendForm(_))),
        }
        if let Some(what) = reply.awaiting {
            self.awaiting = Some(what);
        }
        if let Some(text) = reply.notice {
            self.set_notice(text, false);
        }
        if matches!(reply.action, Some(UiAction::Quit)) {
            self.popups.clear();
            self.quit = true;
        }
        reply.action
    }

    /// Closes the top popup; an answer it waited for is no longer awaited.
    fn close_top(&mut self) {
        if let Some(p) = self.popups.pop() {
            if p.awaits().is_some() && p.awaits() == self.awaiting {
                self.awaiting = None;
            }
        }
    }
}

/// Milliseconds since the Unix epoch (0 before it).
fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
