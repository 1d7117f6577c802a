//! Top line: network, height, peers, sync state and data age.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{bad, badge, dim, good, warn};
use crate::app::App;
use crate::format::{format_duration_secs, group_thousands, UNKNOWN};
use crate::view_model::SyncState;

/// Sync state as a styled span: "syncing 1,200/5,000" (the height and the best known one).
pub(crate) fn sync_span(sync: &SyncState) -> Span<'static> {
    match sync {
        SyncState::Unknown => Span::styled("sync unknown", dim()),
        SyncState::WaitingForPeers => Span::styled("waiting for peers", warn()),
        SyncState::Syncing {
            current, target, ..
        } => Span::styled(
            match target {
                Some(t) => format!(
                    "syncing {}/{}",
                    group_thousands(*current),
                    group_thousands(*t)
                ),
                None => format!("syncing {}", group_thousands(*current)),
            },
            warn(),
        ),
        SyncState::Synced => Span::styled("synced", good()),
    }
}

/// The catch-up rate and time left while syncing, e.g. "85.3 blk/s, 45s left" (`None` when
/// not syncing; "rate unknown" before the node measured one).
pub(crate) fn sync_rate_text(sync: &SyncState) -> Option<String> {
    let SyncState::Syncing {
        blocks_per_10s,
        secs_left,
        ..
    } = sync
    else {
        return None;
    };
    let rate = blocks_per_10s.map_or_else(
        || "rate unknown".to_string(),
        |r| format!("{}.{} blk/s", group_thousands(r / 10), r % 10),
    );
    Some(match secs_left {
        Some(s) => format!("{rate}, {} left", format_duration_secs(*s)),
        None => rate,
    })
}

/// "updated Ns ago" styled by staleness.
pub(crate) fn age_span(app: &App) -> Span<'static> {
    if !app.has_view() {
        return Span::styled("waiting for node…", warn());
    }
    if app.view.disconnected.is_some() {
        let age = app.data_age_secs().map_or_else(String::new, |a| {
            format!(", data {} old", format_duration_secs(a))
        });
        return Span::styled(format!("disconnected, retrying{age}"), bad());
    }
    match app.data_age_secs() {
        None => Span::styled("data age unknown", dim()),
        Some(age) => {
            let style = match age {
                0..=4 => dim(),
                5..=29 => warn(),
                _ => bad(),
            };
            Span::styled(format!("updated {} ago", format_duration_secs(age)), style)
        }
    }
}

pub(crate) fn render(app: &App, frame: &mut Frame, area: Rect) {
    let vm = &app.view;
    let sep = || Span::styled(" │ ", dim());
    let mut spans = vec![
        Span::styled(" TimeCoin ", badge(Color::Black, Color::Cyan)),
        Span::raw(" "),
        match &vm.node.network {
            Some(n) => Span::styled(n.clone(), Style::new().add_modifier(Modifier::BOLD)),
            None => Span::styled("network unknown", dim()),
        },
        sep(),
        Span::raw("height "),
        match vm.overview.height {
            Some(h) => Span::styled(
                group_thousands(h),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            None => Span::styled(UNKNOWN, dim()),
        },
        sep(),
        Span::raw("peers "),
        match vm.overview.peer_count {
            Some(0) => Span::styled("0", bad()),
            Some(n) => Span::raw(n.to_string()),
            None => Span::styled(UNKNOWN, dim()),
        },
        sep(),
        sync_span(&vm.node.sync),
    ];
    let age = age_span(app);
    let age_width = u16::try_from(age.width() + 2).unwrap_or(u16::MAX);
    let fits = |spans: &[Span], extra: usize| {
        let used: usize = spans.iter().map(Span::width).sum();
        used + extra + usize::from(age_width) <= usize::from(area.width)
    };
    if let Some(rate) = sync_rate_text(&vm.node.sync) {
        let rate = Span::styled(format!(" · {rate}"), warn());
        if fits(&spans, rate.width()) {
            spans.push(rate);
        }
    }
    if vm.wallet.loaded {
        let wallet = if vm.wallet.locked {
            Span::styled("wallet locked", warn())
        } else {
            Span::styled("wallet unlocked", good())
        };
        if fits(&spans, 3 + wallet.width()) {
            spans.push(sep());
            spans.push(wallet);
        }
    }
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(age_width)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)), left);
    frame.render_widget(
        Paragraph::new(Line::from(vec![age, Span::raw(" ")])).right_aligned(),
        right,
    );
}
