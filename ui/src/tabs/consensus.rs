//! Consensus tab: live height/round/step, proposer, every masternode's
//! prevote and precommit in the current round, recent rounds.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, TableState};
use ratatui::Frame;

use crate::app::{App, Tab};
use crate::format::{format_ms, group_thousands, UNKNOWN};
use crate::view_model::{BetweenHeights, ConsensusStep, RoundOutcome, ValidatorVoteRow, VoteState};
use crate::widgets::{bad, dim, good, label_style, panel, panel_table, value_or_unknown, warn};

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
/// A vote cell: the value (when `wide`) and how long after the round started it arrived.
/// Between heights a vote not seen is "not seen" (a quorum decided without it, or it came
/// late), not an alarm.
fn vote_cell(
    vote: &VoteState,
    after_ms: Option<u64>,
    step_passed: bool,
    decided: bool,
    wide: bool,
) -> Cell<'static> {
    let after = after_ms.map_or_else(String::new, |ms| format!(" {}", format_ms(ms)));
    match vote {
        VoteState::Value(v) if wide => Cell::from(Span::styled(format!("✓ {v}{after}"), good())),
        VoteState::Value(_) => Cell::from(Span::styled(format!("✓{after}"), good())),
        VoteState::Nil => Cell::from(Span::styled(format!("nil{after}"), warn())),
        VoteState::NotVoted if decided => Cell::from(Span::styled("· not seen", dim())),
        VoteState::NotVoted if step_passed => Cell::from(Span::styled("✗ missing", bad())),
        VoteState::NotVoted => Cell::from(Span::styled("· waiting", dim())),
    }
}

/// The first summary line between heights: what was decided and when the next height starts.
fn between_lines(app: &App, b: &BetweenHeights, next: Option<u64>) -> Vec<Line<'static>> {
    let elapsed = app.elapsed_ms();
    let bold = |s: String| Span::styled(s, Style::new().add_modifier(Modifier::BOLD));
    let last = match (b.decided, b.decided_ago_ms) {
        (Some((h, r)), ago) => {
            let how = if b.synced {
                "taken from a peer".to_string()
            } else {
                format!("decided in round {r}")
            };
            let ago = ago.map_or_else(String::new, |a| {
                format!(", {} ago", format_ms(a.saturating_add(elapsed)))
            });
            vec![
                Span::styled("Last height ", label_style()),
                bold(group_thousands(h)),
                Span::raw(format!(" {how}{ago}")),
            ]
        }
        _ => vec![
            Span::styled("Last height ", label_style()),
            Span::styled("none decided since start", dim()),
        ],
    };
    let wait = match (b.pending_txs, b.next_height_in_ms) {
        (Some(n), _) if n > 0 => Span::styled(
            format!("{n} transaction(s) waiting, the next height starts now"),
            good(),
        ),
        (_, Some(ms)) => {
            let left = ms.saturating_sub(elapsed);
            let when = if left == 0 {
                "due now".to_string()
            } else {
                format!("in {:.1} s", left as f64 / 1000.0)
            };
            Span::raw(format!("waiting for transactions, next block {when}"))
        }
        _ => Span::styled("waiting for the next height", dim()),
    };
    vec![
        Line::from(last),
        Line::from(vec![
            Span::styled("Next       ", label_style()),
            bold(next.map_or_else(|| UNKNOWN.to_string(), group_thousands)),
            Span::raw(": "),
            wait,
        ]),
    ]
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
    let mut summary = vec![
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
    if let Some(b) = &c.between_heights {
        let mut lines = between_lines(app, b, c.height);
        lines.extend(summary.drain(2..));
        summary = lines;
    }
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
    let decided = c.between_heights.is_some();
    let wide = votes_area.width >= 78;
    let vote_width = if wide { 20 } else { 11 };
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
                vote_cell(
                    &v.prevote,
                    v.prevote_after_ms,
                    prevote_passed,
                    decided,
                    wide,
                ),
                vote_cell(
                    &v.precommit,
                    v.precommit_after_ms,
                    precommit_passed,
                    decided,
                    wide,
                ),
            ])
        })
        .collect();
    let title = match c.between_heights.as_ref().and_then(|b| b.decided) {
        Some((h, r)) if wide => format!(
            " Votes of height {}, round {r} ({} masternodes, weight {total}) ",
            group_thousands(h),
            c.validators.len()
        ),
        Some((h, r)) => format!(" Votes of height {}, round {r} ", group_thousands(h)),
        None => format!(
            " Votes ({} masternodes, weight {total}) ",
            c.validators.len()
        ),
    };
    let table = panel_table(
        rows,
        Constraint::from_lengths([
            if wide { 18 } else { 16 },
            if wide { 6 } else { 3 },
            vote_width,
            vote_width,
        ]),
        [
            "Masternode",
            if wide { "Weight" } else { "Wt" },
            "Prevote",
            "Precommit",
        ],
        title,
        true,
    );
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
    let rounds = panel_table(
        round_rows,
        [
            Constraint::Length(7),
            Constraint::Length(2),
            Constraint::Length(7),
            Constraint::Min(8),
        ],
        ["Height", "R", "Time", "Outcome"],
        " Recent rounds ",
        false,
    );
    frame.render_widget(rounds, rounds_area);
}
