//! The revealed mnemonic: 24 numbered words in four columns; dropping the popup wipes them.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::{open_box, paragraph};
use crate::action::SecretWords;
use crate::keymap::{label_of, Command, Context};
use crate::widgets::dim;

/// The words, held only while shown.
#[derive(Debug)]
pub(crate) struct MnemonicShow {
    pub(crate) words: SecretWords,
}

impl MnemonicShow {
    pub(crate) fn draw(&self, frame: &mut Frame, area: Rect) {
        let words = self.words.expose();
        let rows = words.len().div_ceil(4).max(1);
        let height = u16::try_from(rows + 5).unwrap_or(u16::MAX);
        let inner = open_box(
            frame,
            area,
            74,
            height,
            "Recovery mnemonic — keep secret",
            Color::Red,
        );
        let mut lines = Vec::with_capacity(rows + 3);
        for r in 0..rows {
            let mut spans = Vec::with_capacity(4);
            for c in 0..4 {
                let i = c * rows + r;
                if let Some(word) = words.get(i) {
                    spans.push(Span::styled(format!("{:>2}. ", i + 1), dim()));
                    spans.push(Span::styled(
                        format!("{word:<13}"),
                        Style::new().add_modifier(Modifier::BOLD),
                    ));
                }
            }
            lines.push(Line::from(spans));
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!(
                "{} closes and wipes the words from memory.",
                label_of(Context::Viewer, Command::Close)
            ),
            dim(),
        ));
        paragraph(frame, inner, lines);
    }
}
