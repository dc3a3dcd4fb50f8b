//! Noticing that the machine slept: the boot-time clock (which counts
//! suspended time) runs ahead of the monotonic clock (which does not).
//! Neither is stepped by NTP or a wall-clock change, so only a real
//! suspend counts. On resume the session is dropped and reopened at once,
//! instead of waiting out a dead-peer timeout on a socket the relay has
//! long closed.

use std::time::{Duration, Instant};

/// Suspensions shorter than this are scheduling noise, not sleep.
pub const SLEPT_AT_LEAST: Duration = Duration::from_secs(5);

/// The two clocks, injectable so tests can jump one.
pub trait BootClock: Send {
    /// Time since boot including suspend; `None` when unreadable.
    fn boot_time(&self) -> Option<Duration>;
    /// Monotonic time that stops while suspended.
    fn monotonic(&self) -> Duration;
}

/// Linux: `/proc/uptime` (CLOCK_BOOTTIME) against [`Instant`] (CLOCK_MONOTONIC).
#[derive(Debug)]
pub struct SystemClocks {
    origin: Instant,
}

impl Default for SystemClocks {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl BootClock for SystemClocks {
    fn boot_time(&self) -> Option<Duration> {
        let text = std::fs::read_to_string("/proc/uptime").ok()?;
        let secs: f64 = text.split_whitespace().next()?.parse().ok()?;
        Some(Duration::from_secs_f64(secs))
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// Compares the two clocks between calls to [`check`](Self::check).
#[derive(Debug)]
pub struct SleepDetector<C> {
    clocks: C,
    last: Option<(Duration, Duration)>,
}

impl<C: BootClock> SleepDetector<C> {
    pub fn new(clocks: C) -> Self {
        let mut detector = Self { clocks, last: None };
        detector.check();
        detector
    }

    /// How long the machine slept since the last call, when it did.
    pub fn check(&mut self) -> Option<Duration> {
        let now = (self.clocks.boot_time()?, self.clocks.monotonic());
        let (boot, mono) = self.last.replace(now)?;
        let slept = now
            .0
            .saturating_sub(boot)
            .saturating_sub(now.1.saturating_sub(mono));
        (slept >= SLEPT_AT_LEAST).then_some(slept)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// (boot, monotonic), moved by the test.
    #[derive(Clone, Default)]
    struct Fake(Arc<Mutex<(Duration, Duration)>>);

    impl Fake {
        fn advance(&self, boot: u64, mono: u64) {
            let mut t = self.0.lock().unwrap();
            t.0 += Duration::from_secs(boot);
            t.1 += Duration::from_secs(mono);
        }
    }

    impl BootClock for Fake {
        fn boot_time(&self) -> Option<Duration> {
            Some(self.0.lock().unwrap().0)
        }
        fn monotonic(&self) -> Duration {
            self.0.lock().unwrap().1
        }
    }

    #[test]
    fn a_suspend_is_seen_once_and_running_time_is_not() {
        let clock = Fake::default();
        let mut detector = SleepDetector::new(clock.clone());
        clock.advance(60, 60);
        assert_eq!(detector.check(), None, "awake: both clocks ran");
        clock.advance(3_600 + 1, 1);
        assert_eq!(detector.check(), Some(Duration::from_secs(3_600)));
        assert_eq!(detector.check(), None, "reported once");
        clock.advance(2, 0);
        assert_eq!(detector.check(), None, "a short stall is not sleep");
    }

    #[test]
    fn the_real_clocks_do_not_report_sleep_right_away() {
        let mut detector = SleepDetector::new(SystemClocks::default());
        assert_eq!(detector.check(), None);
    }
}
