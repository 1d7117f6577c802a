//! Text formatting and parsing of amounts, sizes, durations and times.

/// Base units per TIME.
pub const UNITS_PER_TIME: u64 = 100_000_000;

/// Number of decimals of one TIME.
pub const DECIMALS: usize = 8;

/// Text shown for a value the node does not know.
pub const UNKNOWN: &str = "unknown";

/// Why a typed amount was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AmountError {
    /// Nothing typed.
    Empty,
    /// A character other than digits and one decimal point.
    Invalid,
    /// More than 8 decimals.
    TooManyDecimals,
    /// Does not fit in u64 base units.
    TooLarge,
    /// The amount is zero; only positive amounts parse.
    Zero,
}

impl std::fmt::Display for AmountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AmountError::Empty => "enter an amount in TIME, e.g. 1.5",
            AmountError::Invalid => "use digits and one '.', e.g. 1.5",
            AmountError::TooManyDecimals => "at most 8 decimals",
            AmountError::TooLarge => "amount too large",
            AmountError::Zero => "amount must be greater than zero",
        })
    }
}

/// Parses a decimal TIME amount ("1.5", "0.00000001", "10") into base units
/// with exact integer arithmetic and overflow checks.
pub fn parse_time_amount(text: &str) -> Result<u64, AmountError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(AmountError::Invalid);
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(AmountError::Invalid);
    }
    if frac_part.len() > DECIMALS {
        return Err(AmountError::TooManyDecimals);
    }
    let mut whole: u64 = 0;
    for b in int_part.bytes() {
        whole = whole
            .checked_mul(10)
            .and_then(|w| w.checked_add(u64::from(b - b'0')))
            .ok_or(AmountError::TooLarge)?;
    }
    let mut frac: u64 = 0;
    for i in 0..DECIMALS {
        let digit = frac_part
            .as_bytes()
            .get(i)
            .map_or(0, |b| u64::from(b - b'0'));
        frac = frac * 10 + digit;
    }
    let units = whole
        .checked_mul(UNITS_PER_TIME)
        .and_then(|w| w.checked_add(frac))
        .ok_or(AmountError::TooLarge)?;
    if units == 0 {
        return Err(AmountError::Zero);
    }
    Ok(units)
}

/// Formats base units as TIME with thousands separators and at least two,
/// at most eight decimals: 150_000_000 -> "1.50", 1 -> "0.00000001".
pub fn format_time(units: u64) -> String {
    let whole = units / UNITS_PER_TIME;
    let frac = units % UNITS_PER_TIME;
    let mut frac_text = format!("{frac:08}");
    while frac_text.len() > 2 && frac_text.ends_with('0') {
        frac_text.pop();
    }
    format!("{}.{}", group_thousands(whole), frac_text)
}

/// Formats base units as TIME with all eight decimals, for aligned columns:
/// 150_000_000 -> "1.50000000".
pub fn format_time_fixed(units: u64) -> String {
    format!(
        "{}.{:08}",
        group_thousands(units / UNITS_PER_TIME),
        units % UNITS_PER_TIME
    )
}

/// Formats base units as `"<amount> TIME"`.
pub fn format_time_unit(units: u64) -> String {
    format!("{} TIME", format_time(units))
}

/// Inserts ',' every three digits: 1234567 -> "1,234,567".
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats a byte count with binary units: 1536 -> "1.5 KiB".
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Formats seconds compactly: 45 -> "45s", 125 -> "2m05s", 7260 -> "2h01m", 2 days -> "2d00h".
pub fn format_duration_secs(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m{:02}s", secs / 60, secs % 60),
        3600..=86_399 => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
        _ => format!("{}d{:02}h", secs / 86_400, (secs % 86_400) / 3600),
    }
}

/// Formats milliseconds: 850 -> "850ms", 1500 -> "1.5s".
pub fn format_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format_duration_secs(ms / 1000)
    }
}

/// Formats an optional value or "unknown".
pub fn or_unknown<T>(value: Option<T>, f: impl FnOnce(T) -> String) -> String {
    value.map_or_else(|| UNKNOWN.to_string(), f)
}

/// Civil date (year, month, day) from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats unix seconds as "YYYY-MM-DD HH:MM" in UTC.
pub fn format_utc_minutes(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let rem = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Formats unix milliseconds as "HH:MM:SS.mmm" (UTC time of day).
pub fn format_clock_ms(unix_ms: u64) -> String {
    let ms = unix_ms % 1000;
    let secs = (unix_ms / 1000) % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{ms:03}",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// Shortens text to at most `max` characters, ending in '…' when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Shortens text in the middle: "dtime1qqqq…xyz9".
pub fn truncate_middle(text: &str, max: usize) -> String {
    let len = text.chars().count();
    if len <= max {
        return text.to_string();
    }
    if max < 5 {
        return truncate(text, max);
    }
    let head = (max - 1) / 2 + (max - 1) % 2;
    let tail = max - 1 - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(len - tail).collect();
    format!("{start}…{end}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_amounts_exactly() {
        assert_eq!(parse_time_amount("1.5"), Ok(150_000_000));
        assert_eq!(parse_time_amount("0.00000001"), Ok(1));
        assert_eq!(parse_time_amount(" 10 "), Ok(1_000_000_000));
        assert_eq!(parse_time_amount(".5"), Ok(50_000_000));
        assert_eq!(parse_time_amount("5."), Ok(500_000_000));
        assert_eq!(parse_time_amount("184467440737.09551615"), Ok(u64::MAX));
    }

    #[test]
    fn rejects_bad_amounts() {
        assert_eq!(parse_time_amount(""), Err(AmountError::Empty));
        assert_eq!(parse_time_amount("."), Err(AmountError::Invalid));
        assert_eq!(parse_time_amount("1.2.3"), Err(AmountError::Invalid));
        assert_eq!(parse_time_amount("-1"), Err(AmountError::Invalid));
        assert_eq!(parse_time_amount("1e5"), Err(AmountError::Invalid));
        assert_eq!(parse_time_amount("1,5"), Err(AmountError::Invalid));
        assert_eq!(
            parse_time_amount("0.000000001"),
            Err(AmountError::TooManyDecimals)
        );
        assert_eq!(
            parse_time_amount("184467440737.09551616"),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            parse_time_amount("99999999999999999999"),
            Err(AmountError::TooLarge)
        );
        assert_eq!(parse_time_amount("0.0"), Err(AmountError::Zero));
    }

    #[test]
    fn formats_amounts() {
        assert_eq!(format_time(150_000_000), "1.50");
        assert_eq!(format_time(1), "0.00000001");
        assert_eq!(format_time(0), "0.00");
        assert_eq!(
            format_time(1_000_000 * UNITS_PER_TIME + 12_345_000),
            "1,000,000.12345"
        );
        assert_eq!(format_time(u64::MAX), "184,467,440,737.09551615");
        assert_eq!(format_time_fixed(150_000_000), "1.50000000");
    }

    #[test]
    fn formats_other_values() {
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(12), "12 B");
        assert_eq!(format_duration_secs(125), "2m05s");
        assert_eq!(format_ms(1500), "1.5s");
        assert_eq!(format_utc_minutes(1_795_000_000), "2026-11-18 11:06");
        assert_eq!(format_clock_ms(1_795_000_000_123), "11:06:40.123");
        assert_eq!(truncate_middle("abcdefghij", 7), "abc…hij");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
