//! Top-level layout: header, tab bar, body, footer, popups; or the
//! "terminal too small" notice.

use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::app::{App, Tab};
use crate::popups;
use crate::widgets::{bad, badge, centered, dim, footer, header};
use crate::{tabs, MIN_HEIGHT, MIN_WIDTH};

impl App {
    /// Draws the whole UI from the current state. Never blocks, never locks.
    pub fn render(&self, frame: &mut Frame) {
        let area = frame.area();
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            let text = vec![
                Line::styled("terminal too small", bad()),
                Line::raw(format!(
                    "need {MIN_WIDTH}x{MIN_HEIGHT}, have {}x{}",
                    area.width, area.height
                )),
                Line::styled("enlarge the window or press q to quit", dim()),
            ];
            let rect = centered(area, area.width, 3);
            frame.render_widget(
                Paragraph::new(text).centered().wrap(Wrap { trim: true }),
                rect,
            );
            return;
        }
        let [header_area, tabs_area, body, footer_area] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(2),
        ])
        .areas(area);
        header::render(self, frame, header_area);
        self.render_tab_bar(frame, tabs_area);
        let banner = match (&self.view.disconnected, &self.view.node_error) {
            (Some(why), _) => Some((
                " ⚠ disconnected, retrying: ",
                format!(
                    "{why}; showing data {} old",
                    self.data_age_secs().map_or_else(
                        || "of unknown age".into(),
                        crate::format::format_duration_secs
                    )
                ),
            )),
            (None, Some(err)) => Some((" ⚠ node error: ", format!(" {err}"))),
            (None, None) => None,
        };
        let body = match banner {
            Some((title, err)) => {
                let [err_area, rest] =
                    Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(body);
                let line = Line::from(vec![
                    Span::styled(title, badge(Color::White, Color::Red)),
                    Span::styled(err, bad()),
                ]);
                frame.render_widget(Paragraph::new(line), err_area);
                rest
            }
            None => body,
        };
        tabs::render(self, frame, body);
        footer::render(self, frame, footer_area);
        popups::render(self, frame, body);
    }

    fn render_tab_bar(&self, frame: &mut Frame, area: ratatui::layout::Rect) {
        let mut spans = Vec::with_capacity(Tab::ALL.len() * 2);
        for (i, tab) in Tab::ALL.iter().enumerate() {
            spans.push(Span::raw(" "));
            let text = format!("{} {}", i + 1, tab.title());
            spans.push(if *tab == self.tab {
                Span::styled(text, badge(Color::Black, Color::Cyan))
            } else {
                Span::styled(text, Style::new().fg(Color::Gray))
            });
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
    }
}
