//! The soak's seeded random source: the same `--seed` gives the same kill
//! times, outages and down times. Process timing still varies from run to
//! run; the seed fixes the plan, not the race.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng};

#[derive(Debug, Clone)]
pub struct Rng(StdRng);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(StdRng::seed_from_u64(seed))
    }

    /// A seed for runs without `--seed` (printed, so a run can be repeated).
    pub fn fresh_seed() -> u64 {
        rand::random()
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0.random()
    }

    /// Uniform in [lo, hi).
    pub fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        lo + hi.saturating_sub(lo).mul_f64(self.unit())
    }

    pub fn coin(&mut self) -> bool {
        self.0.random_bool(0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_draws_and_bounds_hold() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let lo = Duration::from_millis(100);
        let hi = Duration::from_millis(300);
        for _ in 0..1000 {
            let x = a.between(lo, hi);
            assert_eq!(x, b.between(lo, hi));
            assert!(x >= lo && x < hi, "{x:?}");
        }
        assert_ne!(Rng::new(1).unit(), Rng::new(2).unit());
    }
}
