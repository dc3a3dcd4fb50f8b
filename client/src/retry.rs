//! The one retry policy: every loop in the client that tries again (the
//! reconnect to the relay, a forward to the app, a store write, a store
//! flush) waits by the same rule and differs only in its numbers.

use std::time::Duration;

/// Exponential backoff: `first_delay`, doubling, never above `max_delay`,
/// for at most `max_retries` retries after the first try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries after the first one; 0 turns retrying off, `u32::MAX` never gives up.
    pub max_retries: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// Retries forever, from `first_delay` doubling up to `max_delay`.
    pub const fn forever(first_delay: Duration, max_delay: Duration) -> Self {
        Self {
            max_retries: u32::MAX,
            first_delay,
            max_delay,
        }
    }

    /// At most `max_retries` retries.
    pub const fn at_most(self, max_retries: u32) -> Self {
        Self {
            max_retries,
            ..self
        }
    }

    /// The wait before retry number `retry` (1-based), or `None` when the
    /// retries are used up.
    pub fn delay(&self, retry: u32) -> Option<Duration> {
        if retry == 0 || retry > self.max_retries {
            return None;
        }
        let factor = 2u32.saturating_pow(retry - 1);
        Some(self.first_delay.saturating_mul(factor).min(self.max_delay))
    }
}

/// `delay` plus up to a quarter more at random, so many clients retrying
/// after the same event (a relay restart) do not all come back at once.
pub fn jittered(delay: Duration) -> Duration {
    delay + (delay / 4).mul_f64(rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_stops_after_the_last_retry() {
        let policy =
            RetryPolicy::forever(Duration::from_secs(1), Duration::from_secs(5)).at_most(4);
        let delays: Vec<_> = (1..=5).map(|n| policy.delay(n)).collect();
        assert_eq!(
            delays,
            [Some(1), Some(2), Some(4), Some(5), None].map(|s| s.map(Duration::from_secs))
        );
        assert_eq!(policy.delay(0), None, "retries count from 1");
        assert_eq!(policy.at_most(0).delay(1), None, "0 turns retrying off");
    }

    #[test]
    fn forever_never_runs_out_and_never_overflows() {
        let policy = RetryPolicy::forever(Duration::from_millis(100), Duration::from_secs(5));
        assert_eq!(policy.delay(u32::MAX), Some(Duration::from_secs(5)));
    }

    #[test]
    fn jitter_adds_at_most_a_quarter() {
        let base = Duration::from_millis(800);
        for _ in 0..100 {
            let delay = jittered(base);
            assert!(delay >= base && delay <= base + base / 4, "{delay:?}");
        }
    }
}
