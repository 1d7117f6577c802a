//! The popups: each file owns one popup's state, its keys and its drawing (as gitui's
//! `popups/`). The app keeps a stack; the top popup gets the keys and answers with a
//! [`Reply`] that says what happens to the stack and what goes to the node.

mod add_contact;
mod confirm;
mod help;
mod message;
mod mnemonic;
mod new_address;
mod passphrase;
mod receive;
mod send_confirm;
mod send_form;
mod tier_select;

pub(crate) use add_contact::ContactForm;
pub(crate) use confirm::{Confirm, ConfirmKind};
pub(crate) use help::Help;
pub(crate) use message::Message;
pub(crate) use mnemonic::MnemonicShow;
pub(crate) use new_address::NewAddress;
pub(crate) use passphrase::{PassphrasePrompt, Purpose};
pub(crate) use receive::Receive;
pub(crate) use send_confirm::SendConfirm;
pub(crate) use send_form::{unlock_to_send, SendForm};
pub(crate) use tier_select::TierSelect;
pub use tier_select::TIERS;

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::action::{AddressValidator, UiAction};
use crate::app::{App, Awaiting};
use crate::input::TextInput;
use crate::keymap::{label_of, Command, Context};
use crate::view_model::ViewModel;
use crate::widgets::{bad, centered, good, header_style, label_style, panel};

/// One popup of the stack.
#[derive(Debug)]
pub(crate) enum Popup {
    /// Every binding by context, from the same keymap as the footer hints.
    Help(Help),
    /// A yes/no question (quit, reveal the mnemonic, register, leave).
    Confirm(Confirm),
    /// Recipient, amount and fee rate; submitting asks the node for a preview.
    SendForm(SendForm),
    /// Full summary of a previewed send, awaiting yes/no.
    SendConfirm(SendConfirm),
    /// A message (send result, ...).
    Message(Message),
    /// The wallet passphrase, to unlock or to reveal the mnemonic.
    Passphrase(PassphrasePrompt),
    /// Label for a new address.
    NewAddress(NewAddress),
    /// Address-book entry.
    AddContact(ContactForm),
    /// The mnemonic itself; wiped when the popup is dropped.
    MnemonicShow(MnemonicShow),
    /// Receive screen (QR and payment URI).
    Receive(Receive),
    /// Tier choice for masternode registration.
    TierSelect(TierSelect),
}

/// What a key press on a popup does to the stack.
#[derive(Debug, Default)]
pub(crate) enum Stack {
    /// The popup stays.
    #[default]
    Keep,
    /// The popup closes.
    Close,
    /// The popup closes and this one takes its place.
    Replace(Popup),
    /// This one opens on top.
    Push(Popup),
    /// The popup closes with the send form below it (the send went ahead).
    CloseSend,
}

/// A popup's answer to a key: what happens to the stack, the action for the node (with the
/// answer then awaited), and a notice for the footer.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    pub(crate) stack: Stack,
    pub(crate) action: Option<UiAction>,
    pub(crate) awaiting: Option<Awaiting>,
    pub(crate) notice: Option<String>,
}

impl Reply {
    /// The key changed nothing outside the popup.
    pub(crate) fn keep() -> Reply {
        Reply::default()
    }

    /// The popup closes; no action for the node, no notice.
    pub(crate) fn close() -> Reply {
        Reply::with(Stack::Close)
    }

    /// The stack changes as `stack` says.
    pub(crate) fn with(stack: Stack) -> Reply {
        Reply {
            stack,
            ..Reply::default()
        }
    }

    /// Also sends `action` to the node.
    pub(crate) fn act(mut self, action: UiAction) -> Reply {
        self.action = Some(action);
        self
    }

    /// Also waits for the node's answer of kind `what`.
    pub(crate) fn awaiting(mut self, what: Awaiting) -> Reply {
        self.awaiting = Some(what);
        self
    }

    /// Also shows `text` in the footer.
    pub(crate) fn notice(mut self, text: impl Into<String>) -> Reply {
        self.notice = Some(text.into());
        self
    }
}

/// What a popup's keys may read: the shown data and the address check.
pub(crate) struct KeyCtx<'a> {
    pub(crate) view: &'a ViewModel,
    pub(crate) validator: &'a AddressValidator,
}

impl Popup {
    /// Keymap context of the popup.
    pub(crate) fn context(&self) -> Context {
        match self {
            Popup::Help(_) => Context::Help,
            Popup::Confirm(_) | Popup::SendConfirm(_) => Context::Confirm,
            Popup::SendForm(_)
            | Popup::Passphrase(_)
            | Popup::NewAddress(_)
            | Popup::AddContact(_) => Context::Form,
            Popup::Message(_) | Popup::MnemonicShow(_) | Popup::Receive(_) => Context::Viewer,
            Popup::TierSelect(_) => Context::Select,
        }
    }

    /// Whether the popup is a form being edited (quitting asks first).
    pub(crate) fn is_form(&self) -> bool {
        self.context() == Context::Form
    }

    /// The node's answer this popup waits for, if any (closing it stops the wait).
    pub(crate) fn awaits(&self) -> Option<Awaiting> {
        match self {
            Popup::SendForm(f) => f.awaits(),
            Popup::Passphrase(p) => p.awaits(),
            _ => None,
        }
    }

    /// Handles a command bound in the popup's context.
    pub(crate) fn on(&mut self, command: Command, ctx: &KeyCtx) -> Reply {
        match self {
            Popup::Help(p) => p.on(command),
            Popup::Confirm(p) => p.on(command),
            Popup::SendForm(p) => p.on(command, ctx),
            Popup::SendConfirm(p) => p.on(command),
            Popup::Passphrase(p) => p.on(command),
            Popup::NewAddress(p) => p.on(command),
            Popup::AddContact(p) => p.on(command, ctx),
            Popup::TierSelect(p) => p.on(command),
            Popup::Message(_) | Popup::MnemonicShow(_) | Popup::Receive(_) => match command {
                // Dropping a MnemonicShow popup zeroizes the words.
                Command::Close => Reply::close(),
                _ => Reply::keep(),
            },
        }
    }

    /// A typed character, for the popups with a text field.
    pub(crate) fn type_char(&mut self, c: char) {
        match self {
            Popup::SendForm(p) => p.type_char(c),
            Popup::Passphrase(p) => p.type_char(c),
            Popup::NewAddress(p) => p.input.insert(c),
            Popup::AddContact(p) => p.type_char(c),
            _ => {}
        }
    }

    /// Draws the popup inside `area`.
    pub(crate) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        match self {
            Popup::Help(p) => p.draw(app, frame, area),
            Popup::Confirm(p) => p.draw(frame, area),
            Popup::SendForm(p) => p.draw(app, frame, area),
            Popup::SendConfirm(p) => p.draw(frame, area),
            Popup::Message(p) => p.draw(frame, area),
            Popup::Passphrase(p) => p.draw(frame, area),
            Popup::NewAddress(p) => p.draw(frame, area),
            Popup::AddContact(p) => p.draw(frame, area),
            Popup::MnemonicShow(p) => p.draw(frame, area),
            Popup::Receive(p) => p.draw(app, frame, area),
            Popup::TierSelect(p) => p.draw(frame, area),
        }
    }
}

/// Draws the top popup of the stack inside `area` (stacked boxes would be unreadable).
pub(crate) fn render(app: &App, frame: &mut Frame, area: Rect) {
    if let Some(popup) = app.popups.last() {
        popup.draw(app, frame, area);
    }
}

/// Clears a centered box, draws its border and returns the inner area.
fn open_box(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    height: u16,
    title: &str,
    accent: Color,
) -> Rect {
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let block = panel(
        Line::styled(
            format!(" {title} "),
            Style::new().fg(accent).add_modifier(Modifier::BOLD),
        ),
        true,
    )
    .border_style(Style::new().fg(accent));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

fn paragraph(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>) {
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

/// A text field line: label, boxed value with a cursor when focused.
fn field_line(label: &str, input: &TextInput, focused: bool, suffix: &str) -> Line<'static> {
    let value_style = if focused {
        Style::new().fg(Color::White).bg(Color::Blue)
    } else {
        Style::new().fg(Color::Gray).bg(Color::Black)
    };
    let mut text = input.display();
    if focused {
        text.push('▏');
    }
    Line::from(vec![
        Span::styled(
            format!("{label:<11}"),
            if focused {
                header_style()
            } else {
                label_style()
            },
        ),
        Span::styled(format!(" {text} "), value_style),
        Span::styled(suffix.to_string(), crate::widgets::dim()),
    ])
}

fn error_line(error: &Option<String>) -> Line<'static> {
    match error {
        Some(e) => Line::from(vec![
            Span::raw(" ".repeat(11)),
            Span::styled(format!("✗ {e}"), bad()),
        ]),
        None => Line::raw(""),
    }
}

/// The question of a confirmation with its keys, as the keymap binds them.
fn yes_no(question: &str) -> Line<'static> {
    Line::from(vec![
        Span::styled(
            question.to_string(),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw("  "),
        Span::styled(
            label_of(Context::Confirm, Command::Yes),
            good().add_modifier(Modifier::BOLD),
        ),
        Span::raw(" yes · "),
        Span::styled(label_of(Context::Confirm, Command::Close), bad()),
        Span::raw(" no"),
    ])
}
