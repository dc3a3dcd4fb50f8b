//! Reconnect delays: the client's retry policy with jitter, and short again
//! after a session that got through its handshake.

use std::time::{Duration, Instant};

use crate::retry::{RetryPolicy, jittered};

/// Delays between reconnect attempts: `policy`'s, never giving up, each with
/// up to a quarter of random jitter so a relay restart is not met by every
/// client at once.
///
/// A session that completed its handshake starts the sequence over, and for
/// `recovery_window` after it the delays stay under `recovery_cap`: a relay
/// restarting for an upgrade is found again within about a second of
/// accepting connections, however long it was down. The first delay stays a
/// floor, so a relay that welcomes and then closes is not hammered.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    recovery_cap: Duration,
    recovery_window: Duration,
    failures: u32,
    recovering_since: Option<Instant>,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            policy: RetryPolicy::forever(first, max),
            recovery_cap: Duration::from_millis(750),
            recovery_window: Duration::from_secs(120),
            failures: 0,
            recovering_since: None,
        }
    }

    /// The delay before the next attempt. `after_session` is true when the
    /// attempt that just ended had completed its handshake.
    pub fn next_delay(&mut self, after_session: bool) -> Duration {
        if after_session {
            self.failures = 0;
            self.recovering_since = Some(Instant::now());
        }
        self.failures = self.failures.saturating_add(1);
        let mut base = self
            .policy
            .delay(self.failures)
            .unwrap_or(self.policy.max_delay);
        if self
            .recovering_since
            .is_some_and(|t| t.elapsed() < self.recovery_window)
        {
            base = base.min(self.recovery_cap.max(self.policy.first_delay));
        }
        jittered(base)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_millis(250), Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(delay: Duration, base: Duration) -> bool {
        delay >= base && delay <= base + base / 4
    }

    #[test]
    fn doubles_up_to_the_cap_with_bounded_jitter() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
        let bases = [1, 2, 4, 8, 8].map(Duration::from_secs);
        for base in bases {
            let delay = backoff.next_delay(false);
            assert!(within(delay, base), "{delay:?} for {base:?}");
        }
    }

    #[test]
    fn after_a_session_retries_stay_short_for_the_recovery_window() {
        let mut backoff = Backoff::default();
        for _ in 0..6 {
            backoff.next_delay(false);
        }
        let first = backoff.next_delay(true);
        assert!(
            within(first, Duration::from_millis(250)),
            "starts over: {first:?}"
        );
        for _ in 0..20 {
            let delay = backoff.next_delay(false);
            assert!(
                delay < Duration::from_secs(1),
                "a restarting relay is retried within a second: {delay:?}"
            );
            assert!(delay >= Duration::from_millis(250), "floor kept: {delay:?}");
        }
    }

    #[test]
    fn without_a_session_the_sequence_grows_past_the_recovery_cap() {
        let mut backoff = Backoff::default();
        let delays: Vec<_> = (0..6).map(|_| backoff.next_delay(false)).collect();
        assert!(delays[5] >= Duration::from_secs(8), "{delays:?}");
    }
}
