//! QR codes drawn with half-block characters: one terminal cell holds two
//! vertically stacked modules.

use qrcode::{Color, EcLevel, QrCode};

/// A QR code as text lines, meant to be drawn dark-on-light (black foreground,
/// white background) so that phone scanners read it on any terminal theme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrLines {
    /// One string per terminal row, all of the same width.
    pub lines: Vec<String>,
    /// Width of every line in terminal cells: one per module, quiet zone included.
    pub width: usize,
}

/// Encodes `data` at error-correction level `ec` with a quiet zone of `quiet`
/// modules on every side.
/// Bech32 addresses are best passed in upper case: they then use the compact
/// alphanumeric mode and give a smaller code.
pub fn qr_lines(data: &str, ec: EcLevel, quiet: usize) -> Result<QrLines, String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), ec)
        .map_err(|e| format!("cannot encode QR code: {e}"))?;
    let modules = code.width();
    let colors = code.to_colors();
    let size = modules + 2 * quiet;
    let dark = |x: usize, y: usize| -> bool {
        if x < quiet || y < quiet || x >= quiet + modules || y >= quiet + modules {
            return false;
        }
        colors.get((y - quiet) * modules + (x - quiet)) == Some(&Color::Dark)
    };
    let mut lines = Vec::with_capacity(size.div_ceil(2));
    for row in (0..size).step_by(2) {
        let line: String = (0..size)
            .map(|x| match (dark(x, row), dark(x, row + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            })
            .collect();
        lines.push(line);
    }
    Ok(QrLines { lines, width: size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_fits_small_terminals() {
        let addr = "DTIME1QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7LQQQQQQQQ";
        let qr = qr_lines(addr, EcLevel::L, 1).expect("a 45-char address always encodes");
        // Version 2 (25 modules) + quiet zone: fits an 80x24 body.
        assert_eq!(qr.width, 27);
        assert_eq!(qr.lines.len(), 14);
        assert!(qr.lines.iter().all(|l| l.chars().count() == qr.width));
        // Finder pattern: the top-left corner module is dark.
        assert!(qr.lines[0]
            .chars()
            .nth(1)
            .is_some_and(|c| c == '▄' || c == '█'));
    }
}
