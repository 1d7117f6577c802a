//! Bottom two lines: key hints from the keymap, and the last notice or error.

use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{bad, badge, dim};
use crate::app::App;
use crate::keymap;

fn hint_width(label: &str, hint: &str) -> usize {
    label.chars().count() + hint.chars().count() + 3
}

pub(crate) fn render(app: &App, frame: &mut Frame, area: Rect) {
    let key_style = badge(Color::Black, Color::Gray);
    let contexts = app.contexts();
    // The first context's hints are specific; the rest (help, quit) always
    // stay visible, so specific hints are dropped first when space is short.
    let (specific, essential) = contexts.split_at(1.min(contexts.len()));
    let essential = keymap::footer_hints(essential);
    let mut budget = usize::from(area.width)
        .saturating_sub(essential.iter().map(|(l, h)| hint_width(l, h)).sum());
    let mut shown = Vec::new();
    for (label, hint) in keymap::footer_hints(specific) {
        let w = hint_width(&label, hint);
        if w > budget {
            break;
        }
        budget -= w;
        shown.push((label, hint));
    }
    shown.extend(essential);
    let mut spans = Vec::with_capacity(shown.len() * 3);
    for (label, hint) in shown {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(label, key_style));
        spans.push(Span::raw(format!(" {hint} ")));
    }
    let notice = match &app.notice {
        Some(n) if n.is_error => Line::from(vec![
            Span::styled(" ✗ ", bad()),
            Span::styled(n.text.clone(), bad()),
        ]),
        Some(n) => Line::from(vec![Span::raw(" ▸ "), Span::raw(n.text.clone())]),
        None => Line::from(Span::styled(" press ? for all keys", dim())),
    };
    frame.render_widget(Paragraph::new(vec![Line::from(spans), notice]), area);
}
