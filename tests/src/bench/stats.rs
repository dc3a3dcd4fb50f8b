//! Small statistics for the harness: percentiles of latency samples and the
//! median of repeated runs, so one noisy run on a shared machine does not
//! decide a figure.

use std::time::Duration;

/// Latency samples in microseconds; sorted on demand.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    micros: Vec<u32>,
    sorted: bool,
}

impl Latencies {
    pub fn record(&mut self, elapsed: Duration) {
        let micros = u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX);
        self.micros.push(micros);
        self.sorted = false;
    }

    pub fn extend(&mut self, other: Latencies) {
        self.micros.extend(other.micros);
        self.sorted = false;
    }

    pub fn len(&self) -> usize {
        self.micros.len()
    }

    pub fn is_empty(&self) -> bool {
        self.micros.is_empty()
    }

    /// The `q` quantile (0.0–1.0) in milliseconds; 0 when there are no samples.
    pub fn quantile_ms(&mut self, q: f64) -> f64 {
        if self.micros.is_empty() {
            return 0.0;
        }
        if !self.sorted {
            self.micros.sort_unstable();
            self.sorted = true;
        }
        let index = ((self.micros.len() - 1) as f64 * q).round() as usize;
        f64::from(self.micros[index]) / 1000.0
    }
}

/// p50, p90 and p99 in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

impl Percentiles {
    pub fn of(latencies: &mut Latencies) -> Self {
        Self {
            p50: latencies.quantile_ms(0.50),
            p90: latencies.quantile_ms(0.90),
            p99: latencies.quantile_ms(0.99),
        }
    }

    /// Each percentile the median over runs.
    pub fn median_of(runs: &[Percentiles]) -> Self {
        Self {
            p50: median(runs.iter().map(|p| p.p50)),
            p90: median(runs.iter().map(|p| p.p90)),
            p99: median(runs.iter().map(|p| p.p99)),
        }
    }
}

/// The median of `values` (the mean of the middle two for an even count); 0 when empty.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().collect();
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Times `f` `runs` times; the median and p99 in milliseconds.
pub fn time_many(
    runs: usize,
    mut f: impl FnMut(usize) -> anyhow::Result<()>,
) -> anyhow::Result<(f64, f64)> {
    let mut samples = Latencies::default();
    for i in 0..runs {
        let start = std::time::Instant::now();
        f(i)?;
        samples.record(start.elapsed());
    }
    Ok((samples.quantile_ms(0.5), samples.quantile_ms(0.99)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median([3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median([4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median([]), 0.0);
    }

    #[test]
    fn quantiles_pick_from_sorted_samples() {
        let mut l = Latencies::default();
        for us in (1..=100).rev() {
            l.record(Duration::from_micros(us));
        }
        assert_eq!(l.quantile_ms(0.0), 0.001);
        assert_eq!(l.quantile_ms(1.0), 0.1);
        assert_eq!(l.quantile_ms(0.5), 0.051);
    }
}
