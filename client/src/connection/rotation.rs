//! Which relay to dial next when several serve the channel (`--relay A
//! --relay B`): the one that dropped the session is left for the next at
//! once, a failed attempt moves on at once, and only a whole round of
//! failed attempts waits for the backoff.

use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct Rotation {
    len: usize,
    at: usize,
    /// Failed attempts since the last session.
    failures: usize,
}

/// What a failed attempt means for the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failed {
    /// Every relay failed once since the last session (or the last round):
    /// wait out the backoff before the next.
    pub round_over: bool,
}

impl Rotation {
    pub(crate) fn new(len: usize) -> Self {
        Self {
            len: len.max(1),
            at: 0,
            failures: 0,
        }
    }

    /// Index of the relay to dial now.
    pub(crate) fn current(&self) -> usize {
        self.at
    }

    pub(crate) fn connected(&mut self) {
        self.failures = 0;
    }

    /// The session was lost: with other relays, move to the next at once;
    /// alone, wait `backoff`.
    pub(crate) fn lost(&mut self, backoff: Duration) -> Duration {
        if self.len == 1 {
            return backoff;
        }
        self.advance();
        Duration::ZERO
    }

    pub(crate) fn failed(&mut self) -> Failed {
        self.failures += 1;
        self.advance();
        Failed {
            round_over: self.failures % self.len == 0,
        }
    }

    fn advance(&mut self) {
        self.at = (self.at + 1) % self.len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_session_moves_to_the_next_relay_at_once() {
        let mut r = Rotation::new(3);
        assert_eq!(r.current(), 0);
        r.connected();
        assert_eq!(r.lost(Duration::from_secs(1)), Duration::ZERO);
        assert_eq!(r.current(), 1);
    }

    #[test]
    fn only_a_whole_round_of_failures_waits() {
        let mut r = Rotation::new(3);
        let rounds: Vec<bool> = (0..6).map(|_| r.failed().round_over).collect();
        assert_eq!(rounds, [false, false, true, false, false, true]);
        assert_eq!(r.current(), 0, "back at the first after two rounds");
        r.connected();
        assert!(!r.failed().round_over, "a session starts a new round");
    }

    #[test]
    fn a_single_relay_always_backs_off() {
        let mut r = Rotation::new(1);
        assert!(r.failed().round_over);
        assert_eq!(
            r.lost(Duration::from_millis(500)),
            Duration::from_millis(500)
        );
        assert_eq!(r.current(), 0);
    }
}
