//! Times as people type and read them: durations like `2h30m`, UTC dates.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use crate::clock::now_ms;
pub use hookline_relay::parse_duration;

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

/// The forms `--since` documents, made whole (`T00:00:00`, `:00`) for the
/// RFC 3339 parser.
fn parse_utc(text: &str) -> Option<u64> {
    let text = text.trim().trim_end_matches('Z');
    let (date, time) = text.split_once(['T', ' ']).unwrap_or((text, "00:00"));
    let time = match time.matches(':').count() {
        1 => format!("{time}:00"),
        _ => time.to_owned(),
    };
    let at = humantime::parse_rfc3339_weak(&format!("{date}T{time}Z")).ok()?;
    at.duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_millis() as u64)
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
    let text = humantime::format_rfc3339_seconds(at(ms)).to_string();
    text.trim_end_matches('Z').replacen('T', " ", 1)
}

/// `2026-05-01T14:30:05.123Z`: RFC 3339, what HAR and JSON want.
pub fn format_rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_millis(at(ms)).to_string()
}

fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
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
        assert_eq!(
            parse_since("2026-05-01 14:30", 0),
            parse_since("2026-05-01T14:30:00", 0)
        );
        assert!(parse_since("2026-13-01", 0).is_err());
        assert!(parse_since("yesterday", 0).is_err());
    }
}
