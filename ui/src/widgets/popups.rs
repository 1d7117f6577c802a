//! Drawing of the popups (help, forms, confirmations, viewers).

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{bad, centered, dim, good, header_style, label_style, panel, warn};
use crate::app::App;
use crate::format::{format_time_unit, group_thousands, truncate_middle};
use crate::input::TextInput;
use crate::keymap;
use crate::popup::{PassphrasePrompt, Popup, SendForm, TIERS};
use crate::qr::qr_lines;
use qrcode::EcLevel;

/// Draws the top popup of the stack inside `area`.
pub(crate) fn render(app: &App, frame: &mut Frame, area: Rect) {
    // Only the top popup is drawn: stacked boxes would be unreadable.
    if let Some(popup) = app.popups.last() {
        render_one(app, popup, frame, area);
    }
}

/// Clears a centered box, draws its border and returns the inner area.
fn open_box(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    height: u16,
    title: &str,
    accent: Color,
) -> Rect {
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let block = panel(
        Line::styled(
            format!(" {title} "),
            Style::new().fg(accent).add_modifier(Modifier::BOLD),
        ),
        true,
    )
    .border_style(Style::new().fg(accent));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

fn paragraph(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>) {
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

/// A text field line: label, boxed value with a cursor when focused.
fn field_line(label: &str, input: &TextInput, focused: bool, suffix: &str) -> Line<'static> {
    let value_style = if focused {
        Style::new().fg(Color::White).bg(Color::Blue)
    } else {
        Style::new().fg(Color::Gray).bg(Color::Black)
    };
    let mut text = input.display();
    if focused {
        text.push('▏');
    }
    Line::from(vec![
        Span::styled(
            format!("{label:<11}"),
            if focused {
                header_style()
            } else {
                label_style()
            },
        ),
        Span::styled(format!(" {text} "), value_style),
        Span::styled(suffix.to_string(), dim()),
    ])
}

fn error_line(error: &Option<String>) -> Line<'static> {
    match error {
        Some(e) => Line::from(vec![
            Span::raw(" ".repeat(11)),
            Span::styled(format!("✗ {e}"), bad()),
        ]),
        None => Line::raw(""),
    }
}

fn yes_no(question: &str) -> Line<'static> {
    Line::from(vec![
        Span::styled(
            question.to_string(),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw("  "),
        Span::styled("y", good().add_modifier(Modifier::BOLD)),
        Span::raw("/Enter yes · "),
        Span::styled("n", bad()),
        Span::raw("/Esc no"),
    ])
}

fn render_one(app: &App, popup: &Popup, frame: &mut Frame, area: Rect) {
    match popup {
        Popup::Help { scroll } => render_help(app, *scroll, frame, area),
        Popup::QuitConfirm => {
            let inner = open_box(frame, area, 60, 7, "Quit?", Color::Yellow);
            paragraph(
                frame,
                inner,
                vec![
                    Line::raw("A send is pending or a form is open."),
                    Line::raw("Quitting stops the node and discards it."),
                    Line::raw(""),
                    yes_no("Quit TimeCoin?"),
                ],
            );
        }
        Popup::SendForm(form) => render_send_form(app, form, frame, area),
        Popup::SendConfirm(p) => {
            let inner = open_box(frame, area, 72, 12, "Confirm send", Color::Yellow);
            let total = p.amount_units.checked_add(p.fee_units);
            let w = 12;
            let row = |label: &str, value: String| {
                Line::from(vec![
                    Span::styled(format!("{label:<w$}"), label_style()),
                    Span::raw(value),
                ])
            };
            let fee_rate = if p.size_bytes > 0 {
                format!(
                    " ({} units, {} units/byte)",
                    group_thousands(p.fee_units),
                    p.fee_units / p.size_bytes as u64
                )
            } else {
                format!(" ({} units)", group_thousands(p.fee_units))
            };
            paragraph(
                frame,
                inner,
                vec![
                    Line::from(vec![
                        Span::styled(format!("{:<w$}", "Recipient"), label_style()),
                        Span::styled(
                            p.recipient.clone(),
                            Style::new().add_modifier(Modifier::BOLD),
                        ),
                    ]),
                    row("Amount", format_time_unit(p.amount_units)),
                    row(
                        "Fee",
                        format!("{}{fee_rate}", format_time_unit(p.fee_units)),
                    ),
                    Line::from(vec![
                        Span::styled(format!("{:<w$}", "Total"), label_style()),
                        Span::styled(
                            total.map_or_else(|| "overflow".to_string(), format_time_unit),
                            Style::new().add_modifier(Modifier::BOLD),
                        ),
                    ]),
                    row(
                        "Change",
                        format!("{} to a new own address", format_time_unit(p.change_units)),
                    ),
                    row(
                        "Inputs",
                        format!(
                            "{} · size {} bytes",
                            p.inputs,
                            group_thousands(p.size_bytes as u64)
                        ),
                    ),
                    Line::raw(""),
                    Line::styled(
                        "Once signed and broadcast, a send cannot be undone.",
                        warn(),
                    ),
                    Line::raw(""),
                    yes_no("Sign and send?"),
                ],
            );
        }
        Popup::Message {
            title,
            body,
            is_error,
        } => {
            let accent = if *is_error { Color::Red } else { Color::Green };
            let inner = open_box(frame, area, 70, 8, title, accent);
            let mut lines: Vec<Line> = body.lines().map(|l| Line::raw(l.to_string())).collect();
            lines.push(Line::styled("Esc/Enter to close", dim()));
            paragraph(frame, inner, lines);
        }
        Popup::Unlock(prompt) => render_passphrase(prompt, "Unlock wallet", frame, area),
        Popup::MnemonicPassphrase(prompt) => {
            render_passphrase(prompt, "Reveal mnemonic", frame, area)
        }
        Popup::NewAddress(input) => {
            let inner = open_box(frame, area, 64, 6, "New receive address", Color::Cyan);
            paragraph(
                frame,
                inner,
                vec![
                    Line::raw("A label helps you recognise payments (optional)."),
                    Line::raw(""),
                    field_line("Label", input, true, ""),
                ],
            );
        }
        Popup::AddContact(form) => {
            let inner = open_box(frame, area, 72, 8, "Add contact", Color::Cyan);
            paragraph(
                frame,
                inner,
                vec![
                    field_line("Name", &form.fields[0], form.focus == 0, ""),
                    error_line(&form.errors[0]),
                    field_line("Address", &form.fields[1], form.focus == 1, ""),
                    error_line(&form.errors[1]),
                ],
            );
        }
        Popup::MnemonicWarning => {
            let inner = open_box(frame, area, 66, 9, "Reveal recovery mnemonic", Color::Red);
            paragraph(
                frame,
                inner,
                vec![
                    Line::styled("Anyone who sees these 24 words can take every coin", bad()),
                    Line::styled("in this wallet.", bad()),
                    Line::raw("Make sure nobody watches your screen and this session"),
                    Line::raw("is not recorded. Write the words on paper only."),
                    Line::raw(""),
                    yes_no("Show the mnemonic?"),
                ],
            );
        }
        Popup::MnemonicShow(words) => {
            let words = words.expose();
            let rows = words.len().div_ceil(4).max(1);
            let height = u16::try_from(rows + 5).unwrap_or(u16::MAX);
            let inner = open_box(
                frame,
                area,
                74,
                height,
                "Recovery mnemonic — keep secret",
                Color::Red,
            );
            let mut lines = Vec::with_capacity(rows + 3);
            for r in 0..rows {
                let mut spans = Vec::with_capacity(4);
                for c in 0..4 {
                    let i = c * rows + r;
                    if let Some(word) = words.get(i) {
                        spans.push(Span::styled(format!("{:>2}. ", i + 1), dim()));
                        spans.push(Span::styled(
                            format!("{word:<13}"),
                            Style::new().add_modifier(Modifier::BOLD),
                        ));
                    }
                }
                lines.push(Line::from(spans));
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                "Esc/Enter closes and wipes the words from memory.",
                dim(),
            ));
            paragraph(frame, inner, lines);
        }
        Popup::Receive => render_receive(app, frame, area),
        Popup::TierSelect { selected } => {
            let inner = open_box(
                frame,
                area,
                60,
                7,
                "Register this node as masternode",
                Color::Cyan,
            );
            let mut lines = vec![
                Line::raw("Choose a tier; the collateral is locked while registered."),
                Line::raw(""),
            ];
            for (i, (name, collateral, weight)) in TIERS.iter().enumerate() {
                let text = format!(
                    "{} {name:<7} collateral {:>7} TIME  weight {weight:>3}",
                    if i == *selected { "▶" } else { " " },
                    group_thousands(*collateral)
                );
                lines.push(if i == *selected {
                    Line::styled(text, super::selected_style())
                } else {
                    Line::raw(text)
                });
            }
            paragraph(frame, inner, lines);
        }
        Popup::RegisterConfirm { tier } => {
            let (name, collateral, weight) = TIERS.get(*tier).copied().unwrap_or(TIERS[0]);
            let inner = open_box(frame, area, 66, 8, "Register masternode", Color::Yellow);
            paragraph(
                frame,
                inner,
                vec![
                    Line::raw(format!(
                        "Tier {name}: {} TIME collateral, voting weight {weight}.",
                        group_thousands(collateral)
                    )),
                    Line::raw("Your wallet signs the registration transaction; this node joins"),
                    Line::raw("the active set 2 blocks after it is final."),
                    Line::raw(""),
                    yes_no("Register?"),
                ],
            );
        }
        Popup::LeaveConfirm => {
            let inner = open_box(frame, area, 64, 7, "Leave masternode set", Color::Yellow);
            paragraph(
                frame,
                inner,
                vec![
                    Line::raw("This node stops voting and its collateral is released."),
                    Line::raw("Block rewards stop once the exit is final."),
                    Line::raw(""),
                    yes_no("Leave the masternode set?"),
                ],
            );
        }
    }
}

fn render_passphrase(prompt: &PassphrasePrompt, title: &str, frame: &mut Frame, area: Rect) {
    let inner = open_box(frame, area, 64, 8, title, Color::Cyan);
    let mut lines = Vec::with_capacity(5);
    lines.push(match &prompt.reason {
        Some(r) => Line::styled(r.clone(), warn()),
        None => Line::raw("Enter the wallet passphrase."),
    });
    lines.push(Line::raw(""));
    lines.push(field_line("Passphrase", &prompt.input, !prompt.waiting, ""));
    lines.push(error_line(&prompt.error));
    if prompt.waiting {
        lines.push(Line::styled("checking the passphrase…", dim()));
    }
    paragraph(frame, inner, lines);
}

fn render_send_form(app: &App, form: &SendForm, frame: &mut Frame, area: Rect) {
    let inner = open_box(frame, area, 76, 10, "Send TIME", Color::Cyan);
    let finalized = app.view.wallet.balance_finalized;
    let labels = ["To", "Amount", "Fee rate"];
    let suffixes = ["", " TIME", " units/byte"];
    let mut lines = Vec::with_capacity(9);
    for i in 0..3 {
        lines.push(field_line(
            labels[i],
            &form.fields[i],
            form.focus == i && !form.waiting,
            suffixes[i],
        ));
        lines.push(error_line(&form.errors[i]));
    }
    lines.push(Line::from(vec![
        Span::styled(format!("{:<11}", "Available"), label_style()),
        Span::raw(format_time_unit(finalized)),
        Span::styled(" final (pending coins are not spendable yet)", dim()),
    ]));
    if let Some(e) = &form.general_error {
        lines.push(Line::styled(format!("✗ {e}"), bad()));
    } else if form.waiting {
        lines.push(Line::styled("waiting for the node's fee preview…", warn()));
    } else {
        lines.push(Line::styled(
            "Enter: preview fee and change (nothing is signed yet)",
            dim(),
        ));
    }
    paragraph(frame, inner, lines);
}

fn render_receive(app: &App, frame: &mut Frame, area: Rect) {
    let wallet = &app.view.wallet;
    let Some(address) = &wallet.receive_address else {
        let inner = open_box(frame, area, 60, 5, "Receive", Color::Cyan);
        paragraph(
            frame,
            inner,
            vec![Line::styled(
                "No receive address yet: press n to create one.",
                warn(),
            )],
        );
        return;
    };
    // Text rows below the code: blank, address, URI.
    let text_rows = 3u16;
    // Upper case bech32 uses the compact alphanumeric QR mode. Prefer more
    // error correction and a wider quiet zone when they fit.
    let upper = address.to_uppercase();
    let fit = |ec: EcLevel, quiet: usize| {
        qr_lines(&upper, ec, quiet).ok().filter(|qr| {
            qr.lines.len() as u16 + text_rows + 2 <= area.height
                && qr.width as u16 + 4 <= area.width
        })
    };
    let qr = fit(EcLevel::M, 2)
        .or_else(|| fit(EcLevel::M, 1))
        .or_else(|| fit(EcLevel::L, 2))
        .or_else(|| fit(EcLevel::L, 1));
    let uri = wallet
        .receive_uri
        .clone()
        .unwrap_or_else(|| format!("timecoin:{address}"));
    let width = area.width.min(
        u16::try_from(uri.chars().count().max(address.chars().count()).max(40) + 8 + 2)
            .unwrap_or(u16::MAX),
    );
    let height = qr.as_ref().map_or(0, |q| q.lines.len() as u16) + text_rows + 2;
    let inner = open_box(frame, area, width, height, "Receive", Color::Cyan);
    let max = usize::from(inner.width);
    let mut lines: Vec<Line> = Vec::new();
    let qr_style = Style::new().fg(Color::Black).bg(Color::White);
    match &qr {
        Some(qr) => {
            let pad = max.saturating_sub(qr.width) / 2;
            for l in &qr.lines {
                lines.push(Line::from(vec![
                    Span::raw(" ".repeat(pad)),
                    Span::styled(l.clone(), qr_style),
                ]));
            }
        }
        None => lines.push(Line::styled("(terminal too small for the QR code)", dim())),
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("Address ", label_style()),
        Span::styled(
            truncate_middle(address, max.saturating_sub(8)),
            Style::new().add_modifier(Modifier::BOLD),
        ),
    ]));
    lines.push(Line::from(vec![
        Span::styled("URI     ", label_style()),
        Span::raw(truncate_middle(&uri, max.saturating_sub(8))),
    ]));
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_help(app: &App, scroll: usize, frame: &mut Frame, area: Rect) {
    // Contexts below the help popup decide the order of the sections.
    let below: Vec<_> = {
        let mut ctx = Vec::new();
        if let Some(p) = app.popups.iter().rev().nth(1) {
            ctx.push(p.context());
        } else {
            ctx.extend(app.main_contexts());
        }
        ctx
    };
    let mut lines = Vec::new();
    for (title, rows) in keymap::help_sections(&below) {
        if rows.is_empty() {
            continue;
        }
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(title, header_style()));
        for (label, description) in rows {
            lines.push(Line::from(vec![
                Span::styled(format!("  {label:<11}"), Style::new().fg(Color::Yellow)),
                Span::raw(description),
            ]));
        }
    }
    let height = area.height;
    let inner = open_box(
        frame,
        area,
        72,
        height,
        "Help — keys (j/k scroll, Esc close)",
        Color::Cyan,
    );
    let visible = usize::from(inner.height);
    let max_scroll = lines.len().saturating_sub(visible);
    let start = scroll.min(max_scroll);
    let shown: Vec<Line> = lines.into_iter().skip(start).take(visible).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}
