//! Times as people type and read them: durations like `2h30m`, UTC dates,
//! with no date library (all hookline needs is UTC and whole units).

pub use crate::clock::now_ms;
pub use hookline_protocol::parse_duration;

/// `--since`: a duration back from `now_ms`, or a UTC time `YYYY-MM-DD`,
/// `YYYY-MM-DDTHH:MM[:SS][Z]` (a space may replace `T`).
pub fn parse_since(text: &str, now_ms: u64) -> Result<u64, String> {
    if let Ok(age) = parse_duration(text) {
        return Ok(now_ms.saturating_sub(age.as_millis() as u64));
    }
    parse_utc(text).ok_or_else(|| {
        format!("{text:?} is neither a duration (30m, 2h, 7d) nor a UTC time (2026-05-01 or 2026-05-01T14:30:00Z)")
    })
}

fn parse_utc(text: &str) -> Option<u64> {
    let text = text.trim().trim_end_matches('Z');
    let (date, time) = text.split_once(['T', ' ']).unwrap_or((text, "00:00"));
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute) = (t.next()??, t.next()??);
    let second = t.next().unwrap_or(Some(0))?;
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    (valid && secs >= 0).then_some(secs as u64 * 1000)
}

/// A span as people say it: `12s`, `5m`, `3h`, `2d`.
pub fn format_span(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// `2026-05-01 14:30:05` in UTC, what tables show.
pub fn format_utc(ms: u64) -> String {
    let (date, h, m, s, _) = split(ms);
    format!("{date} {h:02}:{m:02}:{s:02}")
}

/// `2026-05-01T14:30:05.123Z`: RFC 3339, what HAR and JSON want.
pub fn format_rfc3339(ms: u64) -> String {
    let (date, h, m, s, milli) = split(ms);
    format!("{date}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

fn split(ms: u64) -> (String, u64, u64, u64, u64) {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, mo, d) = civil_from_days(days as i64);
    (
        format!("{y:04}-{mo:02}-{d:02}"),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000,
    )
}

/// Howard Hinnant's algorithm: days since 1970-01-01 for a proleptic
/// Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_round_trip() {
        let ms = parse_since("2026-05-01T14:30:05Z", 0).unwrap();
        assert_eq!(format_utc(ms), "2026-05-01 14:30:05");
        assert_eq!(format_rfc3339(ms + 7), "2026-05-01T14:30:05.007Z");
        assert_eq!(parse_since("1970-01-02", 0), Ok(86_400_000));
        assert_eq!(parse_since("10m", 1_000_000), Ok(400_000));
        assert!(parse_since("2026-13-01", 0).is_err());
    }
}
