//! A message popup: a send's result, how to see the mnemonic elsewhere, ...

use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::Line;
use ratatui::Frame;

use super::{open_box, paragraph, Popup};
use crate::keymap::{label_of, Command, Context};
use crate::widgets::dim;

/// A titled text, closed by the viewer keys.
#[derive(Debug)]
pub(crate) struct Message {
    title: String,
    body: String,
    is_error: bool,
}

impl Message {
    pub(crate) fn popup(
        title: impl Into<String>,
        body: impl Into<String>,
        is_error: bool,
    ) -> Popup {
        Popup::Message(Message {
            title: title.into(),
            body: body.into(),
            is_error,
        })
    }

    pub(crate) fn draw(&self, frame: &mut Frame, area: Rect) {
        let accent = if self.is_error {
            Color::Red
        } else {
            Color::Green
        };
        let inner = open_box(frame, area, 70, 8, &self.title, accent);
        let mut lines: Vec<Line> = self
            .body
            .lines()
            .map(|l| Line::raw(l.to_string()))
            .collect();
        lines.push(Line::styled(
            format!("{} to close", label_of(Context::Viewer, Command::Close)),
            dim(),
        ));
        paragraph(frame, inner, lines);
    }
}
