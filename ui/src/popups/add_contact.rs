//! An address-book entry: name and address, checked before it goes to the node.

use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::Frame;

use super::{error_line, field_line, open_box, paragraph, KeyCtx, Reply};
use crate::action::UiAction;
use crate::input::TextInput;
use crate::keymap::Command;

/// Add-contact form: label and address.
#[derive(Debug, Default)]
pub(crate) struct ContactForm {
    /// Fields: label, address.
    fields: [TextInput; 2],
    /// Inline error per field.
    errors: [Option<String>; 2],
    /// Index of the focused field.
    focus: usize,
}

impl ContactForm {
    pub(crate) fn type_char(&mut self, c: char) {
        self.fields[self.focus].insert(c);
        self.errors[self.focus] = None;
    }

    pub(crate) fn on(&mut self, command: Command, ctx: &KeyCtx) -> Reply {
        match command {
            Command::Submit => return self.submit(ctx),
            Command::NextField | Command::PrevField => self.focus = 1 - self.focus.min(1),
            Command::DeleteChar => self.fields[self.focus].backspace(),
            Command::ClearField => self.fields[self.focus].clear(),
            Command::Close => return Reply::close(),
            _ => {}
        }
        Reply::keep()
    }

    fn submit(&mut self, ctx: &KeyCtx) -> Reply {
        let label = self.fields[0].as_str().trim().to_string();
        let address = self.fields[1].as_str().trim().to_string();
        self.errors = [None, None];
        if label.is_empty() {
            self.errors[0] = Some("enter a name".into());
        }
        if address.is_empty() {
            self.errors[1] = Some("enter the address".into());
        } else if let Err(e) = (ctx.validator)(&address) {
            self.errors[1] = Some(e);
        }
        if self.errors.iter().any(Option::is_some) {
            self.focus = if self.errors[0].is_some() { 0 } else { 1 };
            return Reply::keep();
        }
        Reply::close()
            .notice(format!("adding contact {label}…"))
            .act(UiAction::AddContact { label, address })
    }

    pub(crate) fn draw(&self, frame: &mut Frame, area: Rect) {
        let inner = open_box(frame, area, 72, 8, "Add contact", Color::Cyan);
        paragraph(
            frame,
            inner,
            vec![
                field_line("Name", &self.fields[0], self.focus == 0, ""),
                error_line(&self.errors[0]),
                field_line("Address", &self.fields[1], self.focus == 1, ""),
                error_line(&self.errors[1]),
            ],
        );
    }
}
