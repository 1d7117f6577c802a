//! Bottom two lines: key hints from the keymap, and the last notice or error.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{bad, dim};
use crate::app::App;
use crate::keymap;

pub(crate) fn render(app: &App, frame: &mut Frame, area: Rect) {
    let key_style = Style::new()
        .fg(Color::Black)
        .bg(Color::Gray)
        .add_modifier(Modifier::BOLD);
    let mut spans = Vec::new();
    let mut used = 0usize;
    let width = usize::from(area.width);
    for (label, hint) in keymap::footer_hints(&app.contexts()) {
        let len = label.chars().count() + hint.chars().count() + 3;
        if used + len > width {
            break;
        }
        used += len;
        spans.push(Span::raw(" "));
        spans.push(Span::styled(label, key_style));
        spans.push(Span::raw(format!(" {hint} ")));
    }
    let hints = Line::from(spans);
    let notice = match &app.notice {
        Some(n) if n.is_error => Line::from(vec![
            Span::styled(" ✗ ", bad()),
            Span::styled(n.text.clone(), bad()),
        ]),
        Some(n) => Line::from(vec![Span::raw(" ▸ "), Span::raw(n.text.clone())]),
        None => Line::from(Span::styled(" press ? for all keys", dim())),
    };
    frame.render_widget(Paragraph::new(vec![hints, notice]), area);
}
