//! The full summary of a previewed send (recipient, amount, fee, total, change, inputs);
//! yes signs and broadcasts it, no cancels the preview on the node.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::{open_box, paragraph, yes_no, Reply, Stack};
use crate::action::{SendPreview, UiAction};
use crate::app::Awaiting;
use crate::format::{format_time_unit, group_thousands};
use crate::keymap::Command;
use crate::widgets::{label_style, warn};

/// The preview the node made, awaiting yes or no.
#[derive(Debug)]
pub(crate) struct SendConfirm {
    pub(crate) preview: SendPreview,
}

impl SendConfirm {
    pub(crate) fn on(&mut self, command: Command) -> Reply {
        let preview_id = self.preview.preview_id;
        match command {
            Command::Yes => Reply::with(Stack::CloseSend)
                .notice("sending…")
                .act(UiAction::ConfirmSend { preview_id })
                .awaiting(Awaiting::SendResult),
            Command::Close => Reply::close()
                .notice("send cancelled")
                .act(UiAction::CancelSend { preview_id }),
            _ => Reply::keep(),
        }
    }

    pub(crate) fn draw(&self, frame: &mut Frame, area: Rect) {
        let inner = open_box(frame, area, 72, 12, "Confirm send", Color::Yellow);
        let total = self
            .preview
            .amount_units
            .checked_add(self.preview.fee_units);
        let w = 12;
        let row = |label: &str, value: String| {
            Line::from(vec![
                Span::styled(format!("{label:<w$}"), label_style()),
                Span::raw(value),
            ])
        };
        let fee_rate = if self.preview.size_bytes > 0 {
            format!(
                " ({} units, {} units/byte)",
                group_thousands(self.preview.fee_units),
                self.preview.fee_units / self.preview.size_bytes as u64
            )
        } else {
            format!(" ({} units)", group_thousands(self.preview.fee_units))
        };
        paragraph(
            frame,
            inner,
            vec![
                Line::from(vec![
                    Span::styled(format!("{:<w$}", "Recipient"), label_style()),
                    Span::styled(
                        self.preview.recipient.clone(),
                        Style::new().add_modifier(Modifier::BOLD),
                    ),
                ]),
                row("Amount", format_time_unit(self.preview.amount_units)),
                row(
                    "Fee",
                    format!("{}{fee_rate}", format_time_unit(self.preview.fee_units)),
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
                    format!(
                        "{} to a new own address",
                        format_time_unit(self.preview.change_units)
                    ),
                ),
                row(
                    "Inputs",
                    format!(
                        "{} · size {} bytes",
                        self.preview.inputs,
                        group_thousands(self.preview.size_bytes as u64)
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
}
