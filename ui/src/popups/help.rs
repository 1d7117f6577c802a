//! The help popup: every binding, generated from the keymap, the sections of the keys that
//! apply below it first.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{open_box, Reply};
use crate::app::App;
use crate::keymap::{self, Command};
use crate::widgets::header_style;

/// The help text scrolled by an offset.
#[derive(Debug, Default)]
pub(crate) struct Help {
    scroll: usize,
}

impl Help {
    pub(crate) fn on(&mut self, command: Command) -> Reply {
        match command {
            Command::Down => {
                // Never scroll past the last line of the help text.
                let total: usize = keymap::help_sections(&[])
                    .iter()
                    .map(|(_, rows)| rows.len() + 2)
                    .sum();
                self.scroll = (self.scroll + 1).min(total.saturating_sub(1));
            }
            Command::Up => self.scroll = self.scroll.saturating_sub(1),
            Command::Close => return Reply::close(),
            _ => {}
        }
        Reply::keep()
    }

    pub(crate) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        // Contexts below the help popup decide the order of the sections.
        let below: Vec<_> = match app.popups.iter().rev().nth(1) {
            Some(p) => vec![p.context()],
            None => app.main_contexts(),
        };
        let mut lines = Vec::new();
        for (title, rows) in keymap::help_sections(&below) {
            if rows.is_empty() {
                continue;
            }
            if !lines.is_empty() {
                lines.push(Line::raw(""));
            }
            lines.push(Line::styled(title, header_style()));
            for (label, description) in rows {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {label:<11}"), Style::new().fg(Color::Yellow)),
                    Span::raw(description),
                ]));
            }
        }
        let inner = open_box(
            frame,
            area,
            72,
            area.height,
            "Help — keys (j/k scroll, Esc close)",
            Color::Cyan,
        );
        let visible = usize::from(inner.height);
        let max_scroll = lines.len().saturating_sub(visible);
        let start = self.scroll.min(max_scroll);
        let shown: Vec<Line> = lines.into_iter().skip(start).take(visible).collect();
        frame.render_widget(Paragraph::new(shown), inner);
    }
}
