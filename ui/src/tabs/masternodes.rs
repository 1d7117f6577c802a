//! Masternodes tab: tier, weight, status, last vote and payout of every member.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, TableState};
use ratatui::Frame;

use crate::app::{App, Tab};
use crate::format::{group_thousands, truncate, truncate_middle};
use crate::view_model::Standing;
use crate::widgets::{bad, dim, good, panel, panel_table, warn};

pub(crate) fn render(app: &App, frame: &mut Frame, area: Rect) {
    let rows_vm = &app.view.masternodes.rows;
    let current = app.view.consensus.height;
    let voting = rows_vm.iter().filter(|r| r.standing == Standing::Voting);
    let active = voting.clone().count();
    let weight: u64 = voting.map(|r| r.weight).sum();
    let title = format!(
        " Masternodes ({} registered, {active} active, voting weight {weight}) ",
        rows_vm.len()
    );
    if rows_vm.is_empty() {
        let text = if app.has_view() {
            "no masternodes registered"
        } else {
            "unknown"
        };
        let p = Paragraph::new(Line::styled(text, dim())).block(panel(title, true));
        frame.render_widget(p, area);
        return;
    }
    let status_width: u16 = if area.width >= 110 { 28 } else { 14 };
    let fixed = 2 + 15 + 6 + 6 + status_width + 9 + 5;
    let payout_width = usize::from(area.width.saturating_sub(fixed)).max(10);
    let rows: Vec<Row> = rows_vm
        .iter()
        .map(|r| {
            let status_style = match r.standing {
                Standing::Voting => good(),
                Standing::Banned => bad(),
                Standing::Relay | Standing::Pending => warn(),
            };
            let last_vote = match (r.last_vote_height, r.last_vote_round) {
                (Some(h), Some(round)) => format!("{}/{round}", group_thousands(h)),
                (Some(h), None) => group_thousands(h),
                _ => "unknown".to_string(),
            };
            // An active member whose last vote is two or more heights old
            // is slow or offline.
            let vote_style = match (r.last_vote_height, current) {
                (Some(h), Some(cur)) if r.weight > 0 && h.saturating_add(2) <= cur => warn(),
                (None, _) if r.weight > 0 && r.standing == Standing::Voting => warn(),
                _ => Style::new(),
            };
            let mut id = r.id_short.clone();
            if r.is_self {
                id.push_str(" (you)");
            }
            let row = Row::new(vec![
                Cell::from(id),
                Cell::from(r.tier.clone()),
                Cell::from(Line::from(r.weight.to_string()).right_aligned()),
                Cell::from(Line::styled(
                    truncate(&r.status, usize::from(status_width)),
                    status_style,
                )),
                Cell::from(Line::styled(last_vote, vote_style).right_aligned()),
                Cell::from(truncate_middle(&r.payout_address, payout_width)),
            ]);
            if r.is_self {
                row.style(Style::new().add_modifier(Modifier::BOLD))
            } else {
                row
            }
        })
        .collect();
    let table = panel_table(
        rows,
        [
            Constraint::Length(15),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(status_width),
            Constraint::Length(9),
            Constraint::Min(10),
        ],
        [
            "Id",
            "Tier",
            "Weight",
            "Status",
            "Last vote",
            "Payout address",
        ],
        title,
        true,
    );
    let mut state =
        TableState::default().with_selected(Some(app.selection[Tab::Masternodes.index()]));
    frame.render_stateful_widget(table, area, &mut state);
}
