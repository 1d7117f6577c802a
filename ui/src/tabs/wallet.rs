//! Wallet tab: lock state, balances, history, addresses and address book.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, TableState};
use ratatui::Frame;

use crate::app::{App, WalletPane};
use crate::format::{
    format_duration_secs, format_time_fixed, format_time_unit, format_utc_minutes, group_thousands,
    truncate_middle, UNKNOWN,
};
use crate::view_model::{AddressKind, HistoryRow, TxDirection, TxStatus};
use crate::widgets::{bad, dim, good, label_style, panel, panel_table, warn};

pub(crate) fn render(app: &App, frame: &mut Frame, area: Rect) {
    let w = &app.view.wallet;
    if !w.loaded {
        let lines = vec![
            Line::styled("No wallet loaded.", warn()),
            Line::raw(""),
            Line::raw("The node runs without a wallet. Start it with a wallet file in the data"),
            Line::raw("directory (see README, \"Wallet\") to send and receive TIME here."),
        ];
        frame.render_widget(Paragraph::new(lines).block(panel(" Wallet ", false)), area);
        return;
    }
    let [top, history_area, bottom] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Min(5),
        Constraint::Length(if area.height >= 30 { 10 } else { 7 }),
    ])
    .areas(area);

    let lock = if w.locked {
        Span::styled("locked (u to unlock)", warn())
    } else {
        Span::styled(
            match app.auto_lock_remaining_secs() {
                Some(s) => format!("unlocked (auto-lock in {})", format_duration_secs(s)),
                None => "unlocked".to_string(),
            },
            good(),
        )
    };
    let lines = vec![
        Line::from(vec![
            Span::styled("Wallet ", label_style()),
            Span::styled(
                w.name.clone().unwrap_or_else(|| "(unnamed)".into()),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw("   "),
            lock,
        ]),
        Line::from(vec![
            Span::styled("Final    ", label_style()),
            Span::styled(
                format_time_unit(w.balance_finalized),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::styled("   Pending ", label_style()),
            Span::raw(format!("+{}", format_time_unit(w.balance_pending))),
        ]),
    ];
    frame.render_widget(Paragraph::new(lines).block(panel(" Wallet ", false)), top);

    render_history(app, frame, history_area);

    let [addr_area, contacts_area] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(bottom);
    render_addresses(app, frame, addr_area);
    render_contacts(app, frame, contacts_area);
}

fn render_history(app: &App, frame: &mut Frame, area: Rect) {
    let w = &app.view.wallet;
    let focused = app.wallet_pane == WalletPane::History;
    let title = format!(" History ({}) ", w.history.len());
    if w.history.is_empty() {
        let p =
            Paragraph::new(Line::styled("no transactions yet", dim())).block(panel(title, focused));
        frame.render_widget(p, area);
        return;
    }
    let right = |s: String| Cell::from(Line::from(s).right_aligned());
    let sign = |d: TxDirection| match d {
        TxDirection::Incoming => "+",
        TxDirection::Outgoing => "-",
        TxDirection::SelfTransfer => " ",
    };
    let amount_text =
        |h: &HistoryRow| format!("{}{}", sign(h.direction), format_time_fixed(h.amount_units));
    let fee_text = |h: &HistoryRow| h.fee_units.map_or_else(String::new, format_time_fixed);
    // The amount and fee columns are as wide as their widest entry (at least their header,
    // and 17 as before for amounts), so no amount is cut: a right-aligned cell too narrow
    // loses its leading digits, and 1,000,000 read ",000,000".
    let widest = |min: usize, f: &dyn Fn(&HistoryRow) -> String| {
        let longest = w.history.iter().map(|h| f(h).chars().count()).max();
        u16::try_from(longest.unwrap_or(0).max(min)).unwrap_or(u16::MAX)
    };
    let amount_width = widest(17, &amount_text);
    let fee_width = widest(10, &fee_text);
    // Txid, Dir, Amount, Fee, Status, Height and six one-column gaps before Time; when the
    // full time does not fit beside them (80 columns with a 1,000,000 TIME amount), the year
    // goes rather than digits of an amount.
    let before_time = 8 + 4 + amount_width + fee_width + 10 + 7 + 6;
    let short_time = before_time.saturating_add(16) > area.width.saturating_sub(2);
    let time_text = |t: u64| {
        let full = format_utc_minutes(t);
        match full.get(5..) {
            Some(month_on) if short_time => month_on.to_string(),
            _ => full,
        }
    };
    let rows: Vec<Row> = w
        .history
        .iter()
        .map(|h| {
            let (dir, style) = match h.direction {
                TxDirection::Incoming => ("in", good()),
                TxDirection::Outgoing => ("out", Style::new()),
                TxDirection::SelfTransfer => ("self", dim()),
            };
            let status = match h.status {
                TxStatus::Pending => Span::styled("pending", warn()),
                TxStatus::Final => Span::styled("final", good()),
                TxStatus::Conflicted => Span::styled("conflicted", bad()),
            };
            Row::new(vec![
                Cell::from(h.txid_short.clone()),
                Cell::from(dir),
                Cell::from(Line::styled(amount_text(h), style).right_aligned()),
                right(fee_text(h)),
                Cell::from(status),
                right(
                    h.height
                        .map_or_else(|| UNKNOWN.to_string(), group_thousands),
                ),
                Cell::from(h.time_unix.map_or_else(|| UNKNOWN.to_string(), time_text)),
            ])
        })
        .collect();
    let table = panel_table(
        rows,
        Constraint::from_lengths([
            8,
            4,
            amount_width,
            fee_width,
            10,
            7,
            if short_time { 11 } else { 16 },
        ]),
        [
            Cell::from("Txid"),
            Cell::from("Dir"),
            Cell::from(Line::from("Amount TIME").right_aligned()),
            Cell::from(Line::from("Fee").right_aligned()),
            Cell::from("Status"),
            Cell::from(Line::from("Height").right_aligned()),
            Cell::from("Time (UTC)"),
        ],
        title,
        focused,
    );
    let mut state = TableState::default().with_selected(Some(app.wallet_selection[0]));
    frame.render_stateful_widget(table, area, &mut state);
}

fn render_addresses(app: &App, frame: &mut Frame, area: Rect) {
    let w = &app.view.wallet;
    let focused = app.wallet_pane == WalletPane::Addresses;
    let title = format!(" Addresses ({}) ", w.addresses.len());
    let addr_width = usize::from(area.width.saturating_sub(2 + 7 + 12 + 2)).max(12);
    let rows: Vec<Row> = w
        .addresses
        .iter()
        .map(|a| {
            Row::new(vec![
                Cell::from(match a.kind {
                    AddressKind::Receive => "recv",
                    AddressKind::Change => "change",
                }),
                Cell::from(if a.label.is_empty() {
                    "-".to_string()
                } else {
                    a.label.clone()
                }),
                Cell::from(truncate_middle(&a.address, addr_width)),
            ])
        })
        .collect();
    let table = panel_table(
        rows,
        [
            Constraint::Length(6),
            Constraint::Length(11),
            Constraint::Min(12),
        ],
        ["Kind", "Label", "Address"],
        title,
        focused,
    );
    let mut state = TableState::default()
        .with_selected((!w.addresses.is_empty()).then_some(app.wallet_selection[1]));
    frame.render_stateful_widget(table, area, &mut state);
}

fn render_contacts(app: &App, frame: &mut Frame, area: Rect) {
    let w = &app.view.wallet;
    let focused = app.wallet_pane == WalletPane::Contacts;
    let title = format!(" Address book ({}) ", w.contacts.len());
    if w.contacts.is_empty() {
        let p = Paragraph::new(Line::styled("empty: press a to add", dim()))
            .block(panel(title, focused));
        frame.render_widget(p, area);
        return;
    }
    let addr_width = usize::from(area.width.saturating_sub(2 + 10 + 1)).max(10);
    let rows: Vec<Row> = w
        .contacts
        .iter()
        .map(|c| {
            Row::new(vec![
                Cell::from(c.label.clone()),
                Cell::from(truncate_middle(&c.address, addr_width)),
            ])
        })
        .collect();
    let table = panel_table(
        rows,
        [Constraint::Length(10), Constraint::Min(10)],
        ["Name", "Address"],
        title,
        focused,
    );
    let mut state = TableState::default().with_selected(Some(app.wallet_selection[2]));
    frame.render_stateful_widget(table, area, &mut state);
}
