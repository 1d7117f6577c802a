//! Overview tab: node identity, chain tip, finality, tx/s and finality sparklines.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};
use ratatui::Frame;

use crate::app::{App, Tab};
use crate::format::{format_duration_secs, format_ms, group_thousands};
use crate::keymap::Context;
use crate::keymap::{self, Command};
use crate::widgets::header::{age_span, sync_rate_text, sync_span};
use crate::widgets::{dim, kv, panel, value_or_unknown, warn};

pub(crate) fn render(app: &App, frame: &mut Frame, area: Rect) {
    let vm = &app.view;
    let [left, right] =
        Layout::horizontal([Constraint::Length(44), Constraint::Min(30)]).areas(area);
    let w = 13;
    let node = &vm.node;
    let ov = &vm.overview;
    let mut lines = vec![
        kv("Network", w, value_or_unknown(node.network.clone())),
        kv("Node id", w, value_or_unknown(node.node_id_short.clone())),
        kv("Version", w, value_or_unknown(node.version.clone())),
        kv(
            "Masternode",
            w,
            value_or_unknown(node.masternode_status.clone()),
        ),
    ];
    if node.can_register {
        // What to do about it, with the key the keymap binds.
        let key = keymap::label_of(Context::Masternodes, Command::Register);
        let tab = Tab::Masternodes.index() + 1;
        lines.push(kv(
            "",
            w,
            Span::styled(format!("press {key} in tab {tab} to register"), dim()),
        ));
    }
    lines.push(kv("Sync", w, sync_span(&node.sync)));
    if let Some(rate) = sync_rate_text(&node.sync) {
        lines.push(kv("", w, Span::styled(rate, warn())));
    }
    lines.extend([
        kv(
            "Uptime",
            w,
            value_or_unknown(node.uptime_secs.map(format_duration_secs)),
        ),
        Line::raw(""),
        kv(
            "Height",
            w,
            value_or_unknown(ov.height.map(group_thousands)),
        ),
        kv("Tip", w, value_or_unknown(ov.tip_hash_short.clone())),
        kv(
            "Last block",
            w,
            value_or_unknown(
                ov.last_block_age_secs
                    .map(|s| format!("{} ago", format_duration_secs(s))),
            ),
        ),
        kv(
            "Finality",
            w,
            value_or_unknown(ov.last_finality_ms.map(format_ms)),
        ),
        kv(
            "Peers",
            w,
            value_or_unknown(ov.peer_count.map(|n| n.to_string())),
        ),
        kv(
            "Mempool",
            w,
            value_or_unknown(vm.mempool.count.map(|n| format!("{n} txs"))),
        ),
        Line::raw(""),
        kv("Data", w, age_span(app)),
    ]);
    frame.render_widget(Paragraph::new(lines).block(panel(" Node ", false)), left);

    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(right);
    spark(
        frame,
        top,
        "Finalized tx/s",
        &ov.tx_per_sec_history,
        |v| v.to_string(),
        Color::Green,
    );
    spark(
        frame,
        bottom,
        "Finality",
        &ov.finality_ms_history,
        format_ms,
        Color::Cyan,
    );
}

fn spark(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    data: &[u64],
    fmt: impl Fn(u64) -> String,
    color: Color,
) {
    let summary = match (data.last(), data.iter().max()) {
        (Some(last), Some(max)) => format!(" {title}: now {}, max {} ", fmt(*last), fmt(*max)),
        _ => format!(" {title} "),
    };
    let block = panel(summary, false);
    if data.is_empty() {
        let text = Paragraph::new(Line::from(Span::styled("no data yet", dim()))).block(block);
        frame.render_widget(text, area);
        return;
    }
    // Show the newest points that fit.
    let width = usize::from(area.width.saturating_sub(2));
    let start = data.len().saturating_sub(width);
    let widget = Sparkline::default()
        .block(block)
        .data(&data[start..])
        .style(Style::new().fg(color));
    frame.render_widget(widget, area);
}
