//! Yes/no questions before something that cannot be taken back: quitting with a send or form
//! pending, revealing the mnemonic, registering, leaving the masternode set.

use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::Line;
use ratatui::Frame;

use super::{open_box, paragraph, yes_no, PassphrasePrompt, Popup, Purpose, Reply, Stack, TIERS};
use crate::action::UiAction;
use crate::format::group_thousands;
use crate::keymap::Command;
use crate::widgets::bad;

/// Which question the popup asks, and so what a yes does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConfirmKind {
    /// Quit while a send is pending or a form is open.
    Quit,
    /// Go on to the passphrase prompt that reveals the mnemonic.
    RevealMnemonic,
    /// Register this node with the tier at this index of [`TIERS`].
    Register(usize),
    /// Leave the masternode set.
    Leave,
}

/// A confirmation popup.
#[derive(Debug)]
pub(crate) struct Confirm {
    pub(crate) kind: ConfirmKind,
}

impl Confirm {
    pub(crate) fn popup(kind: ConfirmKind) -> Popup {
        Popup::Confirm(Confirm { kind })
    }

    pub(crate) fn on(&mut self, command: Command) -> Reply {
        match (self.kind, command) {
            (ConfirmKind::Quit, Command::Yes) => Reply::close().act(UiAction::Quit),
            (ConfirmKind::RevealMnemonic, Command::Yes) => {
                Reply::with(Stack::Replace(Popup::Passphrase(PassphrasePrompt::new(
                    Purpose::RevealMnemonic,
                    Some("Enter the wallet passphrase to show the mnemonic.".into()),
                ))))
            }
            (ConfirmKind::Register(tier), Command::Yes) => {
                let name = TIERS.get(tier).map_or("bronze", |t| t.0).to_string();
                Reply::close()
                    .notice(format!("registering as {name} masternode…"))
                    .act(UiAction::RegisterMasternode { tier: name })
            }
            (ConfirmKind::Leave, Command::Yes) => Reply::close()
                .notice("leaving the masternode set…")
                .act(UiAction::LeaveMasternode),
            (_, Command::Close) => Reply::close(),
            _ => Reply::keep(),
        }
    }

    pub(crate) fn draw(&self, frame: &mut Frame, area: Rect) {
        let (title, width, accent, mut lines, question) = match self.kind {
            ConfirmKind::Quit => (
                "Quit?",
                60,
                Color::Yellow,
                vec![
                    Line::raw("A send is pending or a form is open."),
                    Line::raw("Quitting stops the node and discards it."),
                ],
                "Quit TimeCoin?",
            ),
            ConfirmKind::RevealMnemonic => (
                "Reveal recovery mnemonic",
                66,
                Color::Red,
                vec![
                    Line::styled("Anyone who sees these 24 words can take every coin", bad()),
                    Line::styled("in this wallet.", bad()),
                    Line::raw("Make sure nobody watches your screen and this session"),
                    Line::raw("is not recorded. Write the words on paper only."),
                ],
                "Show the mnemonic?",
            ),
            ConfirmKind::Register(tier) => {
                let (name, collateral, weight) = TIERS.get(tier).copied().unwrap_or(TIERS[0]);
                (
                    "Register masternode",
                    66,
                    Color::Yellow,
                    vec![
                        Line::raw(format!(
                            "Tier {name}: {} TIME collateral, voting weight {weight}.",
                            group_thousands(collateral)
                        )),
                        Line::raw(
                            "Your wallet signs the registration transaction; this node joins",
                        ),
                        Line::raw("the active set 2 blocks after it is final."),
                    ],
                    "Register?",
                )
            }
            ConfirmKind::Leave => (
                "Leave masternode set",
                64,
                Color::Yellow,
                vec![
                    Line::raw("This node stops voting and its collateral is released."),
                    Line::raw("Block rewards stop once the exit is final."),
                ],
                "Leave the masternode set?",
            ),
        };
        lines.push(Line::raw(""));
        lines.push(yes_no(question));
        // Border, text, and one blank line below the question.
        let height = u16::try_from(lines.len() + 3).unwrap_or(u16::MAX);
        let inner = open_box(frame, area, width, height, title, accent);
        paragraph(frame, inner, lines);
    }
}
