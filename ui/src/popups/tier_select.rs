//! The tier choice before registering this node as a masternode.

use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::Line;
use ratatui::Frame;

use super::{open_box, paragraph, Confirm, ConfirmKind, Reply, Stack};
use crate::format::group_thousands;
use crate::keymap::Command;
use crate::widgets::selected_style;

/// Masternode tiers offered: (name, collateral TIME, weight). A mirror of the ledger's tiers
/// (this crate cannot import them); a test of the node ties the two.
pub const TIERS: [(&str, u64, u64); 3] = [
    ("bronze", 1_000, 1),
    ("silver", 10_000, 10),
    ("gold", 100_000, 100),
];

/// The list with the highlighted tier.
#[derive(Debug, Default)]
pub(crate) struct TierSelect {
    selected: usize,
}

impl TierSelect {
    pub(crate) fn on(&mut self, command: Command) -> Reply {
        match command {
            Command::Down => self.selected = (self.selected + 1).min(TIERS.len() - 1),
            Command::Up => self.selected = self.selected.saturating_sub(1),
            Command::Submit => {
                return Reply::with(Stack::Replace(Confirm::popup(ConfirmKind::Register(
                    self.selected,
                ))))
            }
            Command::Close => return Reply::close(),
            _ => {}
        }
        Reply::keep()
    }

    pub(crate) fn draw(&self, frame: &mut Frame, area: Rect) {
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
                if i == self.selected { "▶" } else { " " },
                group_thousands(*collateral)
            );
            lines.push(if i == self.selected {
                Line::styled(text, selected_style())
            } else {
                Line::raw(text)
            });
        }
        paragraph(frame, inner, lines);
    }
}
