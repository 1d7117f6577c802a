//! The one passphrase prompt: masked, with an inline error; it unlocks the wallet or reveals
//! the mnemonic, as its purpose says.

use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::Line;
use ratatui::Frame;

use super::{error_line, field_line, open_box, paragraph, Reply};
use crate::action::{Secret, UiAction};
use crate::app::Awaiting;
use crate::input::TextInput;
use crate::keymap::Command;
use crate::widgets::{dim, warn};

/// What the passphrase is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Unlock the wallet (then, e.g., go on with a send).
    Unlock,
    /// Reveal the recovery mnemonic.
    RevealMnemonic,
}

impl Purpose {
    /// The node's answer awaited once the passphrase is sent.
    fn awaiting(self) -> Awaiting {
        match self {
            Purpose::Unlock => Awaiting::Unlock,
            Purpose::RevealMnemonic => Awaiting::Mnemonic,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Purpose::Unlock => "Unlock wallet",
            Purpose::RevealMnemonic => "Reveal mnemonic",
        }
    }
}

/// A masked passphrase prompt.
#[derive(Debug)]
pub(crate) struct PassphrasePrompt {
    pub(crate) purpose: Purpose,
    /// The passphrase as typed; drawn masked.
    input: TextInput,
    /// Why the prompt is shown, e.g. "The wallet is locked. Unlock it to send."
    reason: Option<String>,
    /// Inline error (wrong passphrase, ...).
    error: Option<String>,
    /// Sent to the node, answer pending.
    waiting: bool,
}

impl PassphrasePrompt {
    pub(crate) fn new(purpose: Purpose, reason: Option<String>) -> Self {
        PassphrasePrompt {
            purpose,
            input: TextInput::masked(),
            reason,
            error: None,
            waiting: false,
        }
    }

    /// The node refused the passphrase (or failed): the prompt takes another.
    pub(crate) fn failed(&mut self, error: String) {
        self.waiting = false;
        self.error = Some(error);
    }

    pub(crate) fn awaits(&self) -> Option<Awaiting> {
        self.waiting.then(|| self.purpose.awaiting())
    }

    pub(crate) fn type_char(&mut self, c: char) {
        if !self.waiting {
            self.input.insert(c);
            self.error = None;
        }
    }

    pub(crate) fn on(&mut self, command: Command) -> Reply {
        match command {
            Command::DeleteChar => self.input.backspace(),
            Command::ClearField => self.input.clear(),
            Command::Submit if self.waiting => {}
            Command::Submit if self.input.as_str().is_empty() => {
                self.error = Some("enter the wallet passphrase".into());
            }
            Command::Submit => {
                self.waiting = true;
                self.error = None;
                let passphrase = Secret::new(self.input.take());
                let action = match self.purpose {
                    Purpose::Unlock => UiAction::Unlock { passphrase },
                    Purpose::RevealMnemonic => UiAction::RevealMnemonic { passphrase },
                };
                return Reply::keep().act(action).awaiting(self.purpose.awaiting());
            }
            Command::Close => return Reply::close(),
            _ => {}
        }
        Reply::keep()
    }

    pub(crate) fn draw(&self, frame: &mut Frame, area: Rect) {
        let inner = open_box(frame, area, 64, 8, self.purpose.title(), Color::Cyan);
        let mut lines = Vec::with_capacity(5);
        lines.push(match &self.reason {
            Some(r) => Line::styled(r.clone(), warn()),
            None => Line::raw("Enter the wallet passphrase."),
        });
        lines.push(Line::raw(""));
        lines.push(field_line("Passphrase", &self.input, !self.waiting, ""));
        lines.push(error_line(&self.error));
        if self.waiting {
            lines.push(Line::styled("checking the passphrase…", dim()));
        }
        paragraph(frame, inner, lines);
    }
}
