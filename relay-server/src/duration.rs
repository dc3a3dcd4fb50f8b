//! Durations as both binaries' command lines take them: `500ms`, `9s`,
//! `2h30m`, `7d`, `1w`, and a bare number as seconds (which humantime alone
//! does not take). Here because the client embeds the relay and so already
//! depends on this crate; the wire protocol has no durations of this kind.

use std::time::Duration;

/// Parses a command-line duration.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    text.parse().map(Duration::from_secs).or_else(|_| {
        humantime::parse_duration(text)
            .map_err(|e| format!("{text:?} is not a duration ({e}): e.g. 500ms, 30m or 7d"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_documented_form() {
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
        for text in ["", "s", "10x", "-3s", "h2", "99999999999999999999d"] {
            assert!(parse_duration(text).is_err(), "{text:?} parsed");
        }
    }
}
