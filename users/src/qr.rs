//! QR codes drawn in a terminal, for scanning an `otpauth://` URI into an
//! authenticator app during enrollment.
//!
//! The `qrcode` crate encodes; we draw two module rows per text line with
//! Unicode half blocks, in explicit black on white so the code reads the
//! same on a dark or a light terminal theme, with the 4-module quiet zone
//! ISO/IEC 18004 requires around it.

use qrcode::{Color, EcLevel, QrCode};
use vpsc_contract::Invalid;

/// Modules of light margin on each side (ISO/IEC 18004 §6.3.8); scanners
/// fail without it, since the terminal's own background may be dark.
const QUIET_ZONE: usize = 4;

/// Black text on a white background. Plain white (47) rather than bright
/// white (107): the Linux console and older terminals lack the bright
/// background colours. google-authenticator draws with the same pair.
const BLACK_ON_WHITE: &str = "\x1b[30;47m";

/// Back to the terminal's own colours.
const RESET: &str = "\x1b[0m";

/// Renders `text` as a QR code for a terminal: one line per two module
/// rows, each line coloured explicitly and ending in `\n`.
pub fn terminal(text: &str) -> Result<String, Invalid> {
    // Level M (15 % recovery) rather than L: a terminal's line spacing and
    // font can blur modules, and an otpauth URI still fits in version 6
    // (41×41 modules, 49 columns with the margin).
    let code = QrCode::with_error_correction_level(text, EcLevel::M).map_err(|e| {
        format!(
            "cannot draw a QR code of {} bytes ({e}): shorten the text (e.g. the account or issuer name), or type the secret into the app by hand",
            text.len()
        )
    })?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET_ZONE;
    let dark = |x: usize, y: usize| {
        let inside = QUIET_ZONE..QUIET_ZONE + width;
        inside.contains(&x)
            && inside.contains(&y)
            && colors[(y - QUIET_ZONE) * width + (x - QUIET_ZONE)] == Color::Dark
    };
    let mut out = String::with_capacity(size.div_ceil(2) * (size * 3 + 16));
    for y in (0..size).step_by(2) {
        out.push_str(BLACK_ON_WHITE);
        for x in 0..size {
            out.push(match (dark(x, y), dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push_str(RESET);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a rendering back into rows of modules (true = dark).
    fn modules(rendered: &str) -> Vec<Vec<bool>> {
        let mut rows = Vec::new();
        for line in rendered.lines() {
            let body = line
                .strip_prefix(BLACK_ON_WHITE)
                .and_then(|l| l.strip_suffix(RESET))
                .expect("every line is coloured and reset");
            let cells: Vec<char> = body.chars().collect();
            let half = |top: bool| -> Vec<bool> {
                cells
                    .iter()
                    .map(|&c| match c {
                        '█' => true,
                        '▀' => top,
                        '▄' => !top,
                        ' ' => false,
                        other => panic!("unexpected {other:?}"),
                    })
                    .collect()
            };
            rows.push(half(true));
            rows.push(half(false));
        }
        rows
    }

    #[test]
    fn rendering_reads_back_as_the_code_with_its_quiet_zone() {
        let uri = "otpauth://totp/vpsc:alice?secret=JBSWY3DPEHPK3PXP&issuer=vpsc";
        let code = QrCode::with_error_correction_level(uri, EcLevel::M).expect("fits");
        let width = code.width();
        let size = width + 2 * QUIET_ZONE;
        let rendered = terminal(uri).expect("fits");
        assert!(rendered.ends_with(&format!("{RESET}\n")));
        assert_eq!(rendered.lines().count(), size.div_ceil(2));
        let rows = modules(&rendered);
        // An odd size leaves the last line's lower half as margin.
        assert_eq!(rows.len(), size + size % 2);
        let colors = code.to_colors();
        for (y, row) in rows.iter().enumerate() {
            assert_eq!(row.len(), size);
            for (x, &is_dark) in row.iter().enumerate() {
                let expected = (QUIET_ZONE..QUIET_ZONE + width).contains(&x)
                    && (QUIET_ZONE..QUIET_ZONE + width).contains(&y)
                    && colors[(y - QUIET_ZONE) * width + x - QUIET_ZONE] == Color::Dark;
                assert_eq!(is_dark, expected, "module ({x}, {y})");
            }
        }
    }

    #[test]
    fn an_otpauth_uri_fits_an_80_column_terminal() {
        let uri = "otpauth://totp/ACME%20Corporation:alice.smith%40web1.example.org?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=ACME%20Corporation";
        let rendered = terminal(uri).expect("fits");
        let columns = rendered
            .lines()
            .map(|l| l.chars().count() - BLACK_ON_WHITE.len() - RESET.len())
            .max();
        assert!(columns.is_some_and(|c| c <= 80), "{columns:?}");
    }

    #[test]
    fn text_too_long_for_any_qr_code_is_refused() {
        let e = terminal(&"x".repeat(4000)).expect_err("too long");
        assert!(e.contains("4000 bytes") && e.contains("shorten"), "{e}");
    }
}
