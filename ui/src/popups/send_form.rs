//! The send form: recipient, amount and fee rate with inline errors; Enter asks the node for a
//! preview (nothing is signed yet), and a locked wallet is unlocked first.

use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::{
    error_line, field_line, open_box, paragraph, KeyCtx, PassphrasePrompt, Popup, Purpose,
};
use super::{Reply, Stack};
use crate::action::{AddressValidator, UiAction};
use crate::app::{App, Awaiting};
use crate::format::{format_time_unit, parse_time_amount};
use crate::input::TextInput;
use crate::keymap::Command;
use crate::widgets::{bad, dim, label_style, warn};

/// Default fee rate typed into a new send form, units per byte.
const DEFAULT_FEE_RATE: &str = "1";

/// The send form's state.
#[derive(Debug)]
pub(crate) struct SendForm {
    /// Fields: recipient, amount (TIME), fee rate (units/byte).
    fields: [TextInput; 3],
    /// Inline error per field.
    errors: [Option<String>; 3],
    /// Index of the focused field.
    focus: usize,
    /// Error not tied to one field (e.g. from the node).
    general_error: Option<String>,
    /// A PreviewSend was sent and no answer has come yet.
    pub(crate) waiting: bool,
}

/// The prompt shown when a send needs the wallet unlocked.
pub(crate) fn unlock_to_send() -> Popup {
    Popup::Passphrase(PassphrasePrompt::new(
        Purpose::Unlock,
        Some("The wallet is locked. Unlock it to send.".into()),
    ))
}

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

    pub(crate) fn awaits(&self) -> Option<Awaiting> {
        self.waiting.then_some(Awaiting::Preview)
    }

    /// The node answered the preview request (with a preview shown on top, or an error).
    pub(crate) fn answered(&mut self, error: Option<String>) {
        self.waiting = false;
        if error.is_some() {
            self.general_error = error;
        }
    }

    pub(crate) fn type_char(&mut self, c: char) {
        if !self.waiting {
            self.fields[self.focus].insert(c);
            self.errors[self.focus] = None;
        }
    }

    pub(crate) fn on(&mut self, command: Command, ctx: &KeyCtx) -> Reply {
        match command {
            Command::Submit if self.waiting => {}
            Command::Submit if ctx.view.wallet.locked => {
                return Reply::with(Stack::Push(unlock_to_send()));
            }
            Command::Submit => {
                if let Some(action) =
                    self.validate(ctx.validator, ctx.view.wallet.balance_finalized)
                {
                    self.waiting = true;
                    return Reply::keep().act(action).awaiting(Awaiting::Preview);
                }
            }
            Command::NextField => self.focus = (self.focus + 1) % 3,
            Command::PrevField => self.focus = (self.focus + 2) % 3,
            Command::DeleteChar if !self.waiting => {
                self.fields[self.focus].backspace();
                self.errors[self.focus] = None;
            }
            Command::ClearField if !self.waiting => self.fields[self.focus].clear(),
            // A preview answer that arrives later is cancelled then.
            Command::Close => return Reply::close(),
            _ => {}
        }
        Reply::keep()
    }

    /// Checks the form; on success returns the PreviewSend action, else fills the inline
    /// errors and focuses the first bad field.
    fn validate(&mut self, validator: &AddressValidator, finalized: u64) -> Option<UiAction> {
        self.errors = [None, None, None];
        self.general_error = None;
        let to = self.fields[0].as_str().trim().to_string();
        if to.is_empty() {
            self.errors[0] = Some("enter the recipient address".into());
        } else if let Err(e) = validator(&to) {
            self.errors[0] = Some(e);
        }
        let amount = match parse_time_amount(self.fields[1].as_str()) {
            Ok(units) if units > finalized => {
                self.errors[1] = Some(format!(
                    "insufficient funds: {} final balance",
                    format_time_unit(finalized)
                ));
                None
            }
            Ok(units) => Some(units),
            Err(e) => {
                self.errors[1] = Some(e.to_string());
                None
            }
        };
        let fee_rate = match self.fields[2].as_str().trim().parse::<u64>() {
            Ok(0) => {
                self.errors[2] = Some("the fee rate must be at least 1 unit/byte".into());
                None
            }
            Ok(rate) => Some(rate),
            Err(_) => {
                self.errors[2] = Some("whole units per byte, e.g. 1".into());
                None
            }
        };
        if let Some(first_bad) = self.errors.iter().position(Option::is_some) {
            self.focus = first_bad;
            return None;
        }
        Some(UiAction::PreviewSend {
            to,
            amount_units: amount?,
            fee_rate: fee_rate?,
        })
    }

    pub(crate) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let inner = open_box(frame, area, 76, 10, "Send TIME", Color::Cyan);
        let finalized = app.view.wallet.balance_finalized;
        let labels = ["To", "Amount", "Fee rate"];
        let suffixes = ["", " TIME", " units/byte"];
        let mut lines = Vec::with_capacity(9);
        for i in 0..3 {
            lines.push(field_line(
                labels[i],
                &self.fields[i],
                self.focus == i && !self.waiting,
                suffixes[i],
            ));
            lines.push(error_line(&self.errors[i]));
        }
        lines.push(Line::from(vec![
            Span::styled(format!("{:<11}", "Available"), label_style()),
            Span::raw(format_time_unit(finalized)),
            Span::styled(" final (pending coins are not spendable yet)", dim()),
        ]));
        if let Some(e) = &self.general_error {
            lines.push(Line::styled(format!("✗ {e}"), bad()));
        } else if self.waiting {
            lines.push(Line::styled("waiting for the node's fee preview…", warn()));
        } else {
            lines.push(Line::styled(
                "Enter: preview fee and change (nothing is signed yet)",
                dim(),
            ));
        }
        paragraph(frame, inner, lines);
    }
}
