//! `[tui] theme`: the colours the terminal UI is drawn with.
//!
//! The UI crate draws one palette, made for a dark background. A theme is applied where the
//! frame leaves the process, in a [`ThemedBackend`] around the terminal backend: every cell is
//! restyled on its way out, so each widget, popup and tab gets the theme without knowing of it,
//! and the test backends of the UI crate keep drawing the palette itself.
//!
//! - `dark`: the palette as drawn.
//! - `light`: foregrounds on the terminal's own background become dark 256-colour shades
//!   (white text becomes black), the selection bar becomes light grey; cells that set both
//!   colours (header, footer, popups, the QR code) keep them, as the pair was chosen together.
//! - `mono`: no colour at all, for `NO_COLOR` users and terminals without colour: every colour
//!   is the terminal's default and a cell with a background (selection, header, footer, banners)
//!   is drawn in reverse video instead; bold stays. The QR code keeps its black on white, which
//!   scanners need whatever the terminal's colours are.

use crate::config::Theme;
use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;
use std::io::{self, Stdout, Write};

/// A terminal backend that restyles every cell drawn through it by a theme.
pub struct ThemedBackend<B> {
    theme: Theme,
    inner: B,
}

impl<B> ThemedBackend<B> {
    /// `inner` drawn with `theme` ([`Theme::Auto`] is drawn as dark; resolve it first).
    pub fn new(theme: Theme, inner: B) -> Self {
        ThemedBackend { theme, inner }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }
}

/// The QR code's pair (and its inverse): kept in every theme so that it scans.
fn is_qr_pair(fg: Color, bg: Color) -> bool {
    matches!(
        (fg, bg),
        (Color::Black, Color::White) | (Color::White, Color::Black)
    )
}

/// A foreground on the terminal's background, readable on a light one.
fn light_fg(c: Color) -> Color {
    match c {
        Color::White | Color::Gray => Color::Black,
        Color::DarkGray => Color::Indexed(244),
        Color::Red | Color::LightRed => Color::Indexed(124),
        Color::Green | Color::LightGreen => Color::Indexed(28),
        Color::Yellow | Color::LightYellow => Color::Indexed(130),
        Color::Blue | Color::LightBlue => Color::Indexed(25),
        Color::Magenta | Color::LightMagenta => Color::Indexed(90),
        Color::Cyan | Color::LightCyan => Color::Indexed(30),
        other => other,
    }
}

/// `cell` as `theme` draws it.
pub fn restyle(theme: Theme, cell: &Cell) -> Cell {
    let mut c = cell.clone();
    match theme {
        Theme::Auto | Theme::Dark => {}
        Theme::Light => {
            if c.bg == Color::Reset {
                c.fg = light_fg(c.fg);
            } else if c.bg == Color::DarkGray {
                // The selection bar, over the terminal's default (dark on light) text.
                c.bg = Color::Indexed(252);
                c.fg = light_fg(c.fg);
            }
        }
        Theme::Mono => {
            if !is_qr_pair(c.fg, c.bg) {
                if c.bg != Color::Reset {
                    c.modifier.insert(Modifier::REVERSED);
                }
                c.fg = Color::Reset;
                c.bg = Color::Reset;
            }
        }
    }
    c
}

impl<B: Backend> Backend for ThemedBackend<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let theme = self.theme;
        let cells: Vec<(u16, u16, Cell)> = content
            .map(|(x, y, cell)| (x, y, restyle(theme, cell)))
            .collect();
        self.inner
            .draw(cells.iter().map(|(x, y, cell)| (*x, *y, cell)))
    }

    fn append_lines(&mut self, n: u16) -> Result<(), Self::Error> {
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }

    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Backend::flush(&mut self.inner)
    }
}

impl<B: Write> Write for ThemedBackend<B> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Write::flush(&mut self.inner)
    }
}

/// The terminal the UI runs in.
pub type ThemedTerminal = Terminal<ThemedBackend<CrosstermBackend<Stdout>>>;

/// Enters raw mode and the alternate screen with the UI crate's panic hook (which restores the
/// terminal), and returns a terminal drawing with `theme`.
pub fn init_terminal(theme: Theme) -> io::Result<ThemedTerminal> {
    // Raw mode, the alternate screen and the restoring panic hook; the terminal it returns
    // writes to stdout as the themed one does, which replaces it.
    drop(timecoin_ui::try_init_terminal()?);
    Terminal::new(ThemedBackend::new(
        theme,
        CrosstermBackend::new(io::stdout()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::style::Style;

    fn cell(fg: Color, bg: Color, m: Modifier) -> Cell {
        let mut c = Cell::new("x");
        c.set_style(Style::new().fg(fg).bg(bg).add_modifier(m));
        c
    }

    #[test]
    fn dark_is_the_palette_itself() {
        for c in [
            cell(Color::Yellow, Color::Reset, Modifier::empty()),
            cell(Color::Black, Color::Cyan, Modifier::BOLD),
        ] {
            assert_eq!(restyle(Theme::Dark, &c), c);
        }
    }

    #[test]
    fn mono_has_no_colour_but_keeps_emphasis_and_the_qr_code() {
        let plain = restyle(
            Theme::Mono,
            &cell(Color::Green, Color::Reset, Modifier::BOLD),
        );
        assert_eq!((plain.fg, plain.bg), (Color::Reset, Color::Reset));
        assert_eq!(plain.modifier, Modifier::BOLD);
        // The selection bar (a background) is reverse video.
        let sel = restyle(
            Theme::Mono,
            &cell(Color::Reset, Color::DarkGray, Modifier::BOLD),
        );
        assert_eq!((sel.fg, sel.bg), (Color::Reset, Color::Reset));
        assert_eq!(sel.modifier, Modifier::BOLD | Modifier::REVERSED);
        let qr = cell(Color::Black, Color::White, Modifier::empty());
        assert_eq!(restyle(Theme::Mono, &qr), qr);
    }

    #[test]
    fn light_darkens_foregrounds_and_keeps_chosen_pairs() {
        let white = restyle(
            Theme::Light,
            &cell(Color::White, Color::Reset, Modifier::empty()),
        );
        assert_eq!(white.fg, Color::Black);
        let warn = restyle(
            Theme::Light,
            &cell(Color::Yellow, Color::Reset, Modifier::empty()),
        );
        assert_eq!(warn.fg, Color::Indexed(130));
        let sel = restyle(
            Theme::Light,
            &cell(Color::Reset, Color::DarkGray, Modifier::BOLD),
        );
        assert_eq!(sel.bg, Color::Indexed(252));
        let header = cell(Color::Black, Color::Cyan, Modifier::BOLD);
        assert_eq!(restyle(Theme::Light, &header), header);
    }

    /// The backend hands the restyled cells on: what reaches the terminal has the theme.
    #[test]
    fn the_backend_draws_restyled_cells() {
        let mut t = Terminal::new(ThemedBackend::new(Theme::Mono, TestBackend::new(4, 1))).unwrap();
        t.draw(|f| {
            f.buffer_mut()[(0, 0)].set_style(Style::new().fg(Color::Red).bg(Color::Blue));
        })
        .unwrap();
        let drawn = &t.backend().inner().buffer()[(0, 0)];
        assert_eq!((drawn.fg, drawn.bg), (Color::Reset, Color::Reset));
        assert!(drawn.modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn auto_follows_no_color() {
        assert_eq!(Theme::Auto.resolve(None), Theme::Dark);
        assert_eq!(Theme::Auto.resolve(Some("")), Theme::Dark);
        assert_eq!(Theme::Auto.resolve(Some("1")), Theme::Mono);
        assert_eq!(Theme::Light.resolve(Some("1")), Theme::Light);
    }
}
