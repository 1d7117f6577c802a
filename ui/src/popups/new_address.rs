//! The label of a new receive address.

use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::Line;
use ratatui::Frame;

use super::{field_line, open_box, paragraph, Reply};
use crate::action::UiAction;
use crate::input::TextInput;
use crate::keymap::Command;

/// One optional text field.
#[derive(Debug, Default)]
pub(crate) struct NewAddress {
    pub(crate) input: TextInput,
}

impl NewAddress {
    pub(crate) fn on(&mut self, command: Command) -> Reply {
        match command {
            Command::Submit => {
                let label = self.input.take().trim().to_string();
                return Reply::close()
                    .notice("creating a new address…")
                    .act(UiAction::NewAddress { label });
            }
            Command::DeleteChar => self.input.backspace(),
            Command::ClearField => self.input.clear(),
            Command::Close => return Reply::close(),
            _ => {}
        }
        Reply::keep()
    }

    pub(crate) fn draw(&self, frame: &mut Frame, area: Rect) {
        let inner = open_box(frame, area, 64, 6, "New receive address", Color::Cyan);
        paragraph(
            frame,
            inner,
            vec![
                Line::raw("A label helps you recognise payments (optional)."),
                Line::raw(""),
                field_line("Label", &self.input, true, ""),
            ],
        );
    }
}
