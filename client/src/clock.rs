//! Wall-clock readings, in one place so the units are never mixed up.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix time in milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Unix time in seconds, as signature schemes use it.
pub fn now_unix() -> i64 {
    (now_ms() / 1000) as i64
}

/// `HH:MM:SS` of a Unix-millisecond time, in UTC (the store and the relay
/// speak UTC; mixing in the local zone would make two machines disagree).
pub fn format_hms(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}
