//! When a forward is tried again: the app was down or answered 5xx.

use std::time::Duration;

use crate::store::Outcome;

/// Bounded exponential backoff for forwards, so a developer restarting their
/// app does not lose the events that arrived meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries after the first one; 0 turns retrying off.
    pub max_retries: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based), or `None` when the
    /// outcome is final or the retries are used up.
    pub fn delay_after(&self, outcome: &Outcome, retry: u32) -> Option<Duration> {
        let worth_retrying = match outcome {
            Outcome::Error { .. } => true,
            Outcome::Response { status, .. } => *status >= 500,
        };
        if !worth_retrying || retry > self.max_retries {
            return None;
        }
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        Some(self.first_delay.saturating_mul(factor).min(self.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16) -> Outcome {
        Outcome::Response {
            status,
            headers: vec![],
            body: vec![],
            body_truncated: false,
        }
    }

    #[test]
    fn retries_errors_and_5xx_with_growing_bounded_delays() {
        let policy = RetryPolicy {
            max_retries: 4,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(5),
        };
        let down = Outcome::Error {
            message: "refused".into(),
        };
        let delays: Vec<_> = (1..=5).map(|n| policy.delay_after(&down, n)).collect();
        assert_eq!(
            delays,
            [Some(1), Some(2), Some(4), Some(5), None].map(|s| s.map(Duration::from_secs))
        );
        assert!(policy.delay_after(&response(503), 1).is_some());
    }

    #[test]
    fn answers_below_500_are_final() {
        let policy = RetryPolicy::default();
        for status in [200, 204, 301, 400, 401, 404, 499] {
            assert_eq!(policy.delay_after(&response(status), 1), None, "{status}");
        }
    }
}
