//! The receive screen: the address as a QR code (as large as fits) and the payment URI.

use qrcode::EcLevel;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{open_box, paragraph};
use crate::app::App;
use crate::format::truncate_middle;
use crate::keymap::{label_of, Command, Context};
use crate::qr::qr_lines;
use crate::widgets::{dim, label_style, warn};

/// Shows the wallet's receive address; no state of its own.
#[derive(Debug, Default)]
pub(crate) struct Receive;

impl Receive {
    pub(crate) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let wallet = &app.view.wallet;
        let Some(address) = &wallet.receive_address else {
            let inner = open_box(frame, area, 60, 5, "Receive", Color::Cyan);
            paragraph(
                frame,
                inner,
                vec![Line::styled(
                    format!(
                        "No receive address yet: press {} to create one.",
                        label_of(Context::Wallet, Command::NewAddress)
                    ),
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
}
