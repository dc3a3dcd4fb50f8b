//! Linear's freshness lives in the signed body: reading `webhookTimestamp`,
//! and rewriting it for a replay without touching any other byte.

use serde::Deserialize;

const FIELD: &str = "webhookTimestamp";

#[derive(Deserialize)]
struct TopLevel {
    #[serde(rename = "webhookTimestamp")]
    timestamp: Option<serde_json::Value>,
}

/// The body's top-level `webhookTimestamp` in milliseconds, if it is a JSON
/// object with that field. Linear's SDK does arithmetic on the parsed value,
/// so a numeric string counts as JavaScript would coerce it; anything else
/// (absent, null, text) means no timestamp, and the SDK skips the check.
pub(crate) fn timestamp_ms(body: &[u8]) -> Option<i64> {
    let value = serde_json::from_slice::<TopLevel>(body).ok()?.timestamp?;
    let number = match value {
        serde_json::Value::Number(number) => number
            .as_i64()
            .map_or_else(|| number.as_f64(), |ms| Some(ms as f64)),
        serde_json::Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    }?;
    // Fractions are dropped; out-of-range values saturate, far outside any tolerance either way.
    number.is_finite().then_some(number as i64)
}

/// `body` with its top-level `webhookTimestamp` set to `now_unix` in
/// milliseconds, every other byte unchanged (so what the receiver parses is
/// what was stored, apart from the time). `None` when the body has no such
/// numeric field. Linear signs the body, so sign it again afterwards.
pub fn refresh_linear_timestamp(body: &[u8], now_unix: i64) -> Option<Vec<u8>> {
    timestamp_ms(body)?;
    let new_ms = now_unix.saturating_mul(1000);
    let key = format!("\"{FIELD}\"");
    let mut from = 0;
    while let Some(offset) = find(&body[from..], key.as_bytes()) {
        let after_key = from + offset + key.len();
        if let Some(candidate) = replace_number_at(body, after_key, new_ms)
            && timestamp_ms(&candidate) == Some(new_ms)
        {
            return Some(candidate);
        }
        from = after_key;
    }
    None
}

/// Replaces the number after `: ` at `pos` (a key's end), if one is there.
fn replace_number_at(body: &[u8], pos: usize, new_ms: i64) -> Option<Vec<u8>> {
    let skip_ws = |mut i: usize| {
        while body.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        i
    };
    let colon = skip_ws(pos);
    if body.get(colon) != Some(&b':') {
        return None;
    }
    let start = skip_ws(colon + 1);
    let end = start
        + body[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
            .count();
    if end == start {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&body[..start]);
    out.extend_from_slice(new_ms.to_string().as_bytes());
    out.extend_from_slice(&body[end..]);
    Some(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_the_top_level_number() {
        assert_eq!(
            timestamp_ms(br#"{"a":1,"webhookTimestamp":1780000000500}"#),
            Some(1_780_000_000_500)
        );
        assert_eq!(timestamp_ms(br#"{"data":{"webhookTimestamp":5}}"#), None);
        assert_eq!(timestamp_ms(b"not json"), None);
        assert_eq!(timestamp_ms(br#"{"webhookTimestamp":"soon"}"#), None);
        assert_eq!(
            timestamp_ms(br#"{"webhookTimestamp":"1780000000000"}"#),
            Some(1_780_000_000_000)
        );
        assert_eq!(
            timestamp_ms(br#"{"webhookTimestamp":1.5e12}"#),
            Some(1_500_000_000_000)
        );
    }

    #[test]
    fn refresh_keeps_every_other_byte() {
        let body =
            b"{ \"data\": {\"webhookTimestamp\": 1},\n  \"webhookTimestamp\" :  1779999000000 }\n";
        let fresh = refresh_linear_timestamp(body, 1_780_000_000).unwrap();
        assert_eq!(
            fresh,
            b"{ \"data\": {\"webhookTimestamp\": 1},\n  \"webhookTimestamp\" :  1780000000000 }\n"
        );
        assert_eq!(refresh_linear_timestamp(b"{\"x\":1}", 1), None);
    }
}
