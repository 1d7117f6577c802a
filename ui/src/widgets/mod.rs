//! Shared drawing pieces: header, footer and small helpers (the popups draw themselves).

pub(crate) mod footer;
pub(crate) mod header;

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Cell, Row, Table};

use crate::format::UNKNOWN;

/// Style of "unknown" values.
pub(crate) fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// Style of labels in key/value lists.
pub(crate) fn label_style() -> Style {
    Style::new().fg(Color::Gray)
}

/// Style of good states.
pub(crate) fn good() -> Style {
    Style::new().fg(Color::Green)
}

/// Yellow: the style of warnings.
pub(crate) fn warn() -> Style {
    Style::new().fg(Color::Yellow)
}

/// Bold red: the style of errors.
pub(crate) fn bad() -> Style {
    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
}

/// Style of table headers.
pub(crate) fn header_style() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}

/// Bold `fg` on a `bg` background: the brand, the active tab, key hints, the banner's title.
pub(crate) fn badge(fg: Color, bg: Color) -> Style {
    Style::new().fg(fg).bg(bg).add_modifier(Modifier::BOLD)
}

/// Style of the selected table row.
pub(crate) fn selected_style() -> Style {
    Style::new()
        .bg(Color::DarkGray)
        .add_modifier(Modifier::BOLD)
}

/// A value span, or a dim "unknown".
pub(crate) fn value_or_unknown(value: Option<String>) -> Span<'static> {
    match value {
        Some(v) => Span::raw(v),
        None => Span::styled(UNKNOWN, dim()),
    }
}

/// "label  value" line with the label padded to `width`.
pub(crate) fn kv(label: &str, width: usize, value: Span<'static>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label:<width$}"), label_style()),
        value,
    ])
}

/// Bordered panel with a title; highlighted when focused.
pub(crate) fn panel(title: impl Into<Line<'static>>, focused: bool) -> Block<'static> {
    let border = if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new().fg(Color::DarkGray)
    };
    Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(border)
        .title(title)
}

/// A table in the house look: `header` in the header style, inside a [`panel`] titled
/// `title`; the selected row is highlighted while the panel is focused.
pub(crate) fn panel_table<'a, H>(
    rows: Vec<Row<'a>>,
    widths: impl IntoIterator<Item = Constraint>,
    header: impl IntoIterator<Item = H>,
    title: impl Into<Line<'static>>,
    focused: bool,
) -> Table<'a>
where
    H: Into<Cell<'a>>,
{
    Table::new(rows, widths)
        .header(Row::new(header).style(header_style()))
        .row_highlight_style(if focused {
            selected_style()
        } else {
            Style::new()
        })
        .block(panel(title, focused))
}

/// A rectangle of at most `width` x `height` centered in `area`.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// First row to draw so that `selected` is visible in `visible` rows.
pub(crate) fn scroll_offset(selected: usize, visible: usize) -> usize {
    if visible == 0 {
        0
    } else {
        selected.saturating_sub(visible - 1)
    }
}
