//! Mempool tab: size, fee-rate spread, newest transactions.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, TableState};
use ratatui::Frame;

use crate::app::{App, Tab};
use crate::format::{format_bytes, format_duration_secs, group_thousands};
use crate::widgets::{dim, label_style, panel, panel_table, value_or_unknown};

pub(crate) fn render(app: &App, frame: &mut Frame, area: Rect) {
    let m = &app.view.mempool;
    let [summary_area, table_area] =
        Layout::vertical([Constraint::Length(4), Constraint::Min(3)]).areas(area);
    let rate = |r: Option<u64>| value_or_unknown(r.map(|v| v.to_string()));
    let summary = vec![
        Line::from(vec![
            Span::styled("Transactions ", label_style()),
            value_or_unknown(m.count.map(|n| group_thousands(n as u64))),
            Span::styled("   Size ", label_style()),
            value_or_unknown(m.bytes.map(format_bytes)),
        ]),
        Line::from(vec![
            Span::styled("Fee rate (units/byte)  min ", label_style()),
            rate(m.min_fee_rate),
            Span::styled("  median ", label_style()),
            rate(m.median_fee_rate),
            Span::styled("  max ", label_style()),
            rate(m.max_fee_rate),
        ]),
    ];
    frame.render_widget(
        Paragraph::new(summary).block(panel(" Mempool ", false)),
        summary_area,
    );

    if m.newest.is_empty() {
        let text = if m.count.is_some() {
            "the mempool is empty"
        } else {
            "unknown"
        };
        let p =
            Paragraph::new(Line::styled(text, dim())).block(panel(" Newest transactions ", true));
        frame.render_widget(p, table_area);
        return;
    }
    let right = |s: String| Cell::from(Line::from(s).right_aligned());
    let rows: Vec<Row> = m
        .newest
        .iter()
        .map(|tx| {
            Row::new(vec![
                Cell::from(tx.txid_short.clone()),
                right(format!("{} B", group_thousands(tx.size_bytes))),
                right(tx.fee_rate.to_string()),
                right(group_thousands(tx.size_bytes.saturating_mul(tx.fee_rate))),
                right(format_duration_secs(tx.age_secs)),
            ])
        })
        .collect();
    let table = panel_table(
        rows,
        Constraint::from_lengths([14, 10, 10, 12, 8]),
        ["Txid", "Size", "Units/B", "Fee (units)", "Age"],
        " Newest transactions ",
        true,
    );
    let mut state = TableState::default().with_selected(Some(app.selection[Tab::Mempool.index()]));
    frame.render_stateful_widget(table, table_area, &mut state);
}
