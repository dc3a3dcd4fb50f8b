//! Reconnect delays: exponential with jitter, forgiven after a quiet period.

use std::time::{Duration, Instant};

/// Delays between reconnect attempts. They double up to `max`, each with up to
/// a quarter of random jitter so a relay restart is not met by every client at
/// once; a connection that stayed up for `stable_after` resets the sequence.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    stable_after: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration, stable_after: Duration) -> Self {
        Self {
            first,
            max,
            stable_after,
            failures: 0,
        }
    }

    /// The delay before the next attempt, given when the last session started
    /// (`None` when it never got past the handshake).
    pub fn next_delay(&mut self, connected_since: Option<Instant>) -> Duration {
        if connected_since.is_some_and(|t| t.elapsed() >= self.stable_after) {
            self.failures = 0;
        }
        let base = self
            .first
            .saturating_mul(2u32.saturating_pow(self.failures))
            .min(self.max);
        self.failures = self.failures.saturating_add(1);
        base + jitter(base / 4)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(
            Duration::from_millis(250),
            Duration::from_secs(30),
            Duration::from_secs(60),
        )
    }
}

fn jitter(up_to: Duration) -> Duration {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        return Duration::ZERO;
    }
    up_to.mul_f64(f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_with_bounded_jitter() {
        let mut backoff = Backoff::new(
            Duration::from_secs(1),
            Duration::from_secs(8),
            Duration::from_secs(60),
        );
        let bases = [1, 2, 4, 8, 8].map(Duration::from_secs);
        for base in bases {
            let delay = backoff.next_delay(None);
            assert!(
                delay >= base && delay <= base + base / 4,
                "{delay:?} for {base:?}"
            );
        }
    }

    #[test]
    fn a_stable_connection_resets_the_sequence() {
        let mut backoff = Backoff::new(
            Duration::from_secs(1),
            Duration::from_secs(8),
            Duration::ZERO,
        );
        backoff.next_delay(None);
        backoff.next_delay(None);
        let delay = backoff.next_delay(Some(Instant::now()));
        assert!(delay < Duration::from_millis(1250), "{delay:?}");
    }
}
