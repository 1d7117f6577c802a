//! Consensus tab: live height/round/step, proposer, every masternode's
//! prevote and precommit in the current round, recent rounds.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use crate::app::{App, Tab};
use crate::format::{format_ms, group_thousands, UNKNOWN};
use crate::view_model::{ConsensusStep, RoundOutcome, ValidatorVoteRow, VoteState};
use crate::widgets::{
    bad, dim, good, header_style, label_style, panel, selected_style, value_or_unknown, warn,
};

/// Weight tally of one vote step.
struct Tally {
    /// Largest weight voting for one value, and that value.
    best_value: Option<(String, u64)>,
    nil: u64,
    missing: u64,
}

fn tally(rows: &[ValidatorVoteRow], pick: impl Fn(&ValidatorVoteRow) -> &VoteState) -> Tally {
    let mut per_value: Vec<(String, u64)> = Vec::new();
    let mut nil = 0u64;
    let mut missing = 0u64;
    for row in rows {
        match pick(row) {
            VoteState::Value(v) => match per_value.iter_mut().find(|(k, _)| k == v) {
                Some((_, w)) => *w = w.saturating_add(row.weight),
                None => per_value.push((v.clone(), row.weight)),
            },
            VoteState::Nil => nil = nil.saturating_add(row.weight),
            VoteState::NotVoted => missing = missing.saturating_add(row.weight),
        }
    }
    Tally {
        best_value: per_value.into_iter().max_by_key(|(_, w)| *w),
        nil,
        missing,
    }
}

fn tally_line(name: &str, t: &Tally, total: u64) -> Line<'static> {
    // Quorum: strictly more than 2/3 of the voting weight.
    let quorum = total.saturating_mul(2) / 3 + 1;
    let mut spans = vec![Span::styled(format!("{name:<11}"), label_style())];
    match &t.best_value {
        Some((value, w)) => {
            let style = if *w >= quorum { good() } else { Style::new() };
            spans.push(Span::styled(format!("{w}/{total} for {value}"), style));
            if *w >= quorum {
                spans.push(Span::styled(" (quorum)", good()));
            }
        }
        None => spans.push(Span::raw(format!("0/{total} for a value"))),
    }
    spans.push(Span::raw(format!(" · nil {}", t.nil)));
    spans.push(Span::styled(
        format!(" · missing {}", t.missing),
        if t.missing > 0 { warn() } else { dim() },
    ));
    Line::from(spans)
}

/// A vote cell. A missing vote is "waiting" while its step is running and
/// "missing" (highlighted) once the round has moved past that step, so a
/// slow or stuck masternode stands out.
fn vote_cell(vote: &VoteState, step_passed: bool) -> Cell<'static> {
    match vote {
        VoteState::Value(v) => Cell::from(Span::styled(format!("✓ {v}"), good())),
        VoteState::Nil => Cell::from(Span::styled("nil", warn())),
        VoteState::NotVoted if step_passed => Cell::from(Span::styled("✗ missing", bad())),
        VoteState::NotVoted => Cell::from(Span::styled("· waiting", dim())),
    }
}

pub(crate) fn render(app: &App, frame: &mut Frame, area: Rect) {
    let c = &app.view.consensus;
    let total: u64 = c.validators.iter().map(|v| v.weight).sum();
    let [summary_area, rest] =
        Layout::vertical([Constraint::Length(6), Constraint::Min(4)]).areas(area);

    let step = match (c.step, c.step_elapsed_ms) {
        (Some(s), Some(ms)) => Span::styled(
            format!("{s} ({})", format_ms(ms)),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        (Some(s), None) => Span::styled(s.to_string(), Style::new().add_modifier(Modifier::BOLD)),
        (None, _) => Span::styled(UNKNOWN, dim()),
    };
    let bold = |s: Option<String>| match s {
        Some(v) => Span::styled(v, Style::new().add_modifier(Modifier::BOLD)),
        None => Span::styled(UNKNOWN, dim()),
    };
    let value_round = |v: &Option<(String, u32)>| match v {
        Some((hash, round)) => Span::raw(format!("{hash} (round {round})")),
        None => Span::styled("none", dim()),
    };
    let summary = vec![
        Line::from(vec![
            Span::styled("Height ", label_style()),
            bold(c.height.map(group_thousands)),
            Span::styled("   Round ", label_style()),
            bold(c.round.map(|r| r.to_string())),
            Span::styled("   Step ", label_style()),
            step,
            Span::styled("   Proposer ", label_style()),
            value_or_unknown(c.proposer.clone()),
        ]),
        Line::from(vec![
            Span::styled("Locked     ", label_style()),
            value_round(&c.locked),
            Span::styled("   Valid ", label_style()),
            value_round(&c.valid),
        ]),
        tally_line("Prevotes", &tally(&c.validators, |r| &r.prevote), total),
        tally_line("Precommits", &tally(&c.validators, |r| &r.precommit), total),
    ];
    frame.render_widget(
        Paragraph::new(summary).block(panel(" Round ", false)),
        summary_area,
    );

    let [votes_area, rounds_area] = Layout::horizontal([
        Constraint::Min(46),
        Constraint::Length(if rest.width >= 100 { 40 } else { 32 }),
    ])
    .areas(rest);

    let prevote_passed = matches!(
        c.step,
        Some(ConsensusStep::Precommit | ConsensusStep::Commit)
    );
    let precommit_passed = matches!(c.step, Some(ConsensusStep::Commit));
    let rows: Vec<Row> = c
        .validators
        .iter()
        .map(|v| {
            let mut name = v.name.clone();
            if v.is_proposer {
                name.push_str(" ★");
            }
            if v.is_self {
                name.push_str(" (you)");
            }
            Row::new(vec![
                Cell::from(name),
                Cell::from(Line::from(v.weight.to_string()).right_aligned()),
                vote_cell(&v.prevote, prevote_passed),
                vote_cell(&v.precommit, precommit_passed),
            ])
        })
        .collect();
    let title = format!(
        " Votes ({} masternodes, weight {total}) ",
        c.validators.len()
    );
    let table = Table::new(
        rows,
        [
            Constraint::Length(18),
            Constraint::Length(6),
            Constraint::Length(10),
            Constraint::Length(10),
        ],
    )
    .flex(Flex::Start)
    .header(Row::new(["Masternode", "Weight", "Prevote", "Precommit"]).style(header_style()))
    .row_highlight_style(selected_style())
    .block(panel(title, true));
    let mut state = TableState::default()
        .with_selected((!c.validators.is_empty()).then_some(app.selection[Tab::Consensus.index()]));
    if c.validators.is_empty() {
        let empty = Paragraph::new(Line::styled("no validator set known yet", dim()))
            .block(panel(" Votes ", true));
        frame.render_widget(empty, votes_area);
    } else {
        frame.render_stateful_widget(table, votes_area, &mut state);
    }

    let round_rows: Vec<Row> = c
        .recent_rounds
        .iter()
        .map(|r| {
            let outcome = match &r.outcome {
                RoundOutcome::Committed(hash) => Span::styled(format!("commit {hash}"), good()),
                RoundOutcome::Nil => Span::styled("nil", warn()),
                RoundOutcome::TimedOut => Span::styled("timeout", bad()),
                RoundOutcome::InProgress => Span::styled("running…", dim()),
            };
            Row::new(vec![
                Cell::from(group_thousands(r.height)),
                Cell::from(r.round.to_string()),
                Cell::from(
                    Line::from(r.duration_ms.map_or_else(|| UNKNOWN.to_string(), format_ms))
                        .right_aligned(),
                ),
                Cell::from(outcome),
            ])
        })
        .collect();
    let rounds = Table::new(
        round_rows,
        [
            Constraint::Length(7),
            Constraint::Length(2),
            Constraint::Length(7),
            Constraint::Min(8),
        ],
    )
    .header(Row::new(["Height", "R", "Time", "Outcome"]).style(header_style()))
    .block(panel(" Recent rounds ", false));
    frame.render_widget(rounds, rounds_area);
}
