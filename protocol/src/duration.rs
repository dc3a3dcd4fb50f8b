//! Durations as people type them on both ends' command lines: `500ms`, `9s`,
//! `2h30m`, `7d`, `1w`; a bare number is seconds.

use std::time::Duration;

/// Parses a duration: numbers each followed by a unit (`ms`, `s`, `m`, `h`,
/// `d`, `w`), summed; a lone number means seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let err = || {
        format!(
            "{text:?} is not a duration: use a number and a unit (ms, s, m, h, d, w), e.g. 500ms, 30m or 7d"
        )
    };
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return trimmed.parse().map(Duration::from_secs).map_err(|_| err());
    }
    let mut rest = trimmed;
    let mut total_ms: u64 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let number: u64 = rest[..digits].parse().map_err(|_| err())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit_ms: u64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            _ => return Err(err()),
        };
        rest = &rest[unit_len..];
        total_ms = number
            .checked_mul(unit_ms)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(err)?;
    }
    if trimmed.is_empty() {
        return Err(err());
    }
    Ok(Duration::from_millis(total_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_compounds_and_bare_seconds() {
        let cases = [
            ("500ms", 500),
            ("9s", 9_000),
            ("2m", 120_000),
            ("2h30m", 9_000_000),
            ("7d", 604_800_000),
            ("1w", 604_800_000),
            ("30", 30_000),
            (" 10s ", 10_000),
        ];
        for (text, ms) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for text in [
            "",
            "s",
            "10x",
            "1.5h",
            "-3s",
            "h2",
            "99999999999999999999d",
            "5 m",
        ] {
            assert!(parse_duration(text).is_err(), "{text:?} parsed");
        }
    }
}
