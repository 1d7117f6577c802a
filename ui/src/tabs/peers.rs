//! Peers tab: one row per connection.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, TableState};
use ratatui::Frame;

use crate::app::{App, Tab};
use crate::format::{format_bytes, format_duration_secs, group_thousands, UNKNOWN};
use crate::view_model::PeerDirection;
use crate::widgets::{bad, dim, panel, panel_table, warn};

/// Round trip above which a peer's latency is highlighted.
const SLOW_PING_MS: u64 = 500;

fn styled_right(text: String, style: Style) -> Cell<'static> {
    Cell::from(Line::styled(text, style).right_aligned())
}

pub(crate) fn render(app: &App, frame: &mut Frame, area: Rect) {
    let peers = &app.view.peers.rows;
    let tip = app.view.overview.height;
    let inbound = peers
        .iter()
        .filter(|p| p.direction == PeerDirection::Inbound)
        .count();
    let title = format!(
        " Peers ({} connected: {inbound} in, {} out) ",
        peers.len(),
        peers.len() - inbound
    );
    if !app.has_view() {
        let p = Paragraph::new(Line::styled(
            "peer list unknown (no data from the node yet)",
            dim(),
        ))
        .block(panel(" Peers ", true));
        frame.render_widget(p, area);
        return;
    }
    if peers.is_empty() {
        let p =
            Paragraph::new(Line::styled("no peers connected", warn())).block(panel(title, true));
        frame.render_widget(p, area);
        return;
    }
    let wide = area.width >= 100;
    let right = |s: String| Cell::from(Line::from(s).right_aligned());
    let rows: Vec<Row> = peers
        .iter()
        .map(|p| {
            let mut cells = vec![
                Cell::from(p.id_short.clone()),
                Cell::from(p.address.clone()),
                Cell::from(match p.direction {
                    PeerDirection::Inbound => "in",
                    PeerDirection::Outbound => "out",
                }),
                match p.latency_ms {
                    Some(ms) => styled_right(
                        format!("{ms}ms"),
                        if ms >= SLOW_PING_MS {
                            warn()
                        } else {
                            Style::new()
                        },
                    ),
                    None => styled_right(UNKNOWN.to_string(), dim()),
                },
                match p.height {
                    // A peer two or more blocks behind our tip is lagging.
                    Some(h) => styled_right(
                        group_thousands(h),
                        if tip.is_some_and(|t| h.saturating_add(2) <= t) {
                            warn()
                        } else {
                            Style::new()
                        },
                    ),
                    None => styled_right(UNKNOWN.to_string(), dim()),
                },
                right(format_bytes(p.bytes_in)),
                right(format_bytes(p.bytes_out)),
                Cell::from(
                    Line::styled(
                        p.score.to_string(),
                        if p.score > 0 {
                            bad()
                        } else {
                            Default::default()
                        },
                    )
                    .right_aligned(),
                ),
            ];
            if wide {
                cells.push(right(format_duration_secs(p.connected_secs)));
            }
            Row::new(cells)
        })
        .collect();
    let mut widths = Constraint::from_lengths([10, 21, 3, 7, 7, 9, 9, 5]);
    let mut header = vec![
        "Peer", "Address", "Dir", "Latency", "Height", "In", "Out", "Score",
    ];
    if wide {
        widths.push(Constraint::Length(8));
        header.push("Up");
    }
    let table = panel_table(rows, widths, header, title, true);
    let mut state = TableState::default().with_selected(Some(app.selection[Tab::Peers.index()]));
    frame.render_stateful_widget(table, area, &mut state);
}
