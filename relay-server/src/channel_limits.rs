//! Per-channel limits for a shared relay: requests per second (429 past it)
//! and queued bytes (503 past it), with relay-wide defaults that a token's
//! line in the tokens file may override for every channel it owns.
//!
//! The rate is counted per relay process: in a cluster each relay allows the
//! rate on its own, which bounds what one noisy channel can take from the
//! others on that relay (the point of the limit) without a shared counter
//! on every request's path.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token's own limits, written beside it in the tokens file as
/// `rate=N` and `queue_bytes=N`; `None` takes the relay's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelLimits {
    /// Requests per second per channel; `Some(0)` means no limit.
    pub rate: Option<u32>,
    /// Bytes queued per channel.
    pub queue_bytes: Option<u64>,
}

impl ChannelLimits {
    pub(crate) const RATE_KEY: &'static str = "rate";
    pub(crate) const QUEUE_BYTES_KEY: &'static str = "queue_bytes";

    /// Takes one `KEY=VALUE` word of a tokens-file line; `Ok(false)` when the
    /// key is not a limit.
    pub(crate) fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        match key {
            Self::RATE_KEY => {
                let rate = value.parse().map_err(|_| {
                    format!("rate={value:?} is not a whole number of requests per second")
                })?;
                self.rate = Some(rate);
            }
            Self::QUEUE_BYTES_KEY => {
                let bytes =
                    value.parse().ok().filter(|b| *b > 0).ok_or_else(|| {
                        format!("queue_bytes={value:?} is not a byte count above 0")
                    })?;
                self.queue_bytes = Some(bytes);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The ` rate=N queue_bytes=N` words of a tokens-file line (empty when unset).
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        if let Some(rate) = self.rate {
            out.push_str(&format!(" {}={rate}", Self::RATE_KEY));
        }
        if let Some(bytes) = self.queue_bytes {
            out.push_str(&format!(" {}={bytes}", Self::QUEUE_BYTES_KEY));
        }
        out
    }

    /// `self` where set, `other` elsewhere.
    pub(crate) fn or(self, other: ChannelLimits) -> ChannelLimits {
        ChannelLimits {
            rate: self.rate.or(other.rate),
            queue_bytes: self.queue_bytes.or(other.queue_bytes),
        }
    }
}

/// As in the tokens file, `rate=N queue_bytes=N`, or `defaults` when unset.
impl std::fmt::Display for ChannelLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.render().trim_start() {
            "" => f.write_str("defaults"),
            words => f.write_str(words),
        }
    }
}

/// A token bucket per channel: `rate` requests a second on average, bursts
/// of up to one second's worth. Reconfigured in place on a tokens reload,
/// so a channel's session and its bucket survive a limit change.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    state: Mutex<Bucket>,
}

#[derive(Debug, Default)]
struct Bucket {
    /// Requests per second; 0: unlimited.
    rate: u32,
    tokens: f64,
    last: Option<Instant>,
}

impl RateLimiter {
    #[cfg(test)]
    fn new(rate: u32) -> Self {
        let limiter = Self::default();
        limiter.set_rate(rate);
        limiter
    }

    pub(crate) fn set_rate(&self, rate: u32) {
        let mut bucket = self.lock();
        if bucket.rate != rate {
            bucket.rate = rate;
            bucket.tokens = f64::from(rate);
        }
    }

    /// Requests per second in force; 0: unlimited.
    pub(crate) fn rate(&self) -> u32 {
        self.lock().rate
    }

    /// Takes one request's token at `now`, or says how long until one is there.
    pub(crate) fn try_acquire(&self, now: Instant) -> Result<(), Duration> {
        let mut bucket = self.lock();
        if bucket.rate == 0 {
            return Ok(());
        }
        let rate = f64::from(bucket.rate);
        if let Some(last) = bucket.last {
            let refill = now.saturating_duration_since(last).as_secs_f64() * rate;
            bucket.tokens = (bucket.tokens + refill).min(rate);
        }
        bucket.last = Some(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Bucket> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_seconds_burst_then_the_rate() {
        let limiter = RateLimiter::new(10);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(limiter.try_acquire(t0), Ok(()));
        }
        let wait = limiter.try_acquire(t0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(100));
        // 100 ms later one more token has dripped in, and only one.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(limiter.try_acquire(t1), Ok(()));
        assert!(limiter.try_acquire(t1).is_err());
        // A long pause refills to the burst, not beyond.
        let t2 = t1 + Duration::from_secs(60);
        let granted = (0..50).filter(|_| limiter.try_acquire(t2).is_ok()).count();
        assert_eq!(granted, 10);
    }

    #[test]
    fn zero_is_unlimited_and_rates_change_in_place() {
        let limiter = RateLimiter::new(0);
        let now = Instant::now();
        assert!((0..10_000).all(|_| limiter.try_acquire(now).is_ok()));
        limiter.set_rate(2);
        assert!(limiter.try_acquire(now).is_ok());
        assert!(limiter.try_acquire(now).is_ok());
        assert!(limiter.try_acquire(now).is_err());
        limiter.set_rate(0);
        assert!(limiter.try_acquire(now).is_ok());
    }

    #[test]
    fn tokens_file_words_parse_render_and_fall_back() {
        let mut limits = ChannelLimits::default();
        assert_eq!(limits.set("rate", "5"), Ok(true));
        assert_eq!(limits.set("queue_bytes", "1048576"), Ok(true));
        assert_eq!(limits.set("name", "alice"), Ok(false));
        assert!(limits.set("rate", "fast").unwrap_err().contains("fast"));
        assert!(limits.set("queue_bytes", "0").is_err());
        assert_eq!(limits.render(), " rate=5 queue_bytes=1048576");
        assert_eq!(limits.to_string(), "rate=5 queue_bytes=1048576");
        assert_eq!(ChannelLimits::default().to_string(), "defaults");
        let defaults = ChannelLimits {
            rate: Some(100),
            queue_bytes: Some(9),
        };
        let partial = ChannelLimits {
            rate: Some(0),
            queue_bytes: None,
        };
        assert_eq!(
            partial.or(defaults),
            ChannelLimits {
                rate: Some(0),
                queue_bytes: Some(9)
            }
        );
    }
}
