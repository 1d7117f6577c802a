//! Logs tab: the node's tracing output, following new lines by default.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::{App, Tab};
use crate::format::{format_clock_ms, group_thousands};
use crate::view_model::LogLevel;
use crate::widgets::{bad, dim, panel, scroll_offset, selected_style, warn};

pub(crate) fn render(app: &App, frame: &mut Frame, area: Rect) {
    let logs = &app.view.logs;
    let follow = if app.logs_follow {
        "following"
    } else {
        "paused: End to follow"
    };
    let title = format!(
        " Logs ({} lines, {} dropped, {follow}) ",
        group_thousands(logs.lines.len() as u64),
        group_thousands(logs.dropped)
    );
    let block = panel(title, true);
    let inner = block.inner(area);
    let visible = usize::from(inner.height);
    let selected = app.selection[Tab::Logs.index()];
    let start = if app.logs_follow {
        logs.lines.len().saturating_sub(visible)
    } else {
        scroll_offset(selected, visible)
    };
    let lines: Vec<Line> = logs
        .lines
        .iter()
        .enumerate()
        .skip(start)
        .take(visible)
        .map(|(i, l)| {
            let level_style = match l.level {
                LogLevel::Error => bad(),
                LogLevel::Warn => warn(),
                LogLevel::Info => Style::new().fg(Color::Green),
                LogLevel::Debug => Style::new().fg(Color::Blue),
                LogLevel::Trace => dim(),
            };
            let line = Line::from(vec![
                Span::styled(format_clock_ms(l.time_unix_ms), dim()),
                Span::raw(" "),
                Span::styled(format!("{:<5}", l.level.to_string()), level_style),
                Span::raw(" "),
                Span::styled(format!("{}: ", l.target), Style::new().fg(Color::Cyan)),
                Span::raw(l.message.clone()),
            ]);
            if !app.logs_follow && i == selected {
                line.style(selected_style())
            } else {
                line
            }
        })
        .collect();
    if lines.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("no log lines yet", dim())).block(block),
            area,
        );
    } else {
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }
}
