//! The measured scenarios, each returning one report section, and the
//! settings that make `--quick` a few-second smoke run.

pub mod ack;
pub mod bodies;
pub mod cluster;
pub mod idle;
pub mod idle_child;
pub mod pairs;
pub mod store;
pub mod tui;

use std::time::Duration;

use super::loadgen::Load;

/// How long the harness waits for every delivery to be stored or forwarded
/// after a run; a tunnel slower than this is a failure, not a figure.
pub const SETTLE: Duration = Duration::from_secs(120);

/// Sizes of the run: full measurement or the CI smoke test.
#[derive(Debug, Clone)]
pub struct Settings {
    pub quick: bool,
    /// `hookline` and `hookline-relay` for the tunnel runs, once found.
    pub bins: Option<crate::soak::binaries::Binaries>,
    /// Concurrencies for the direct-vs-tunnel pairs, instead of the defaults.
    pub conns: Option<Vec<usize>>,
}

impl Settings {
    /// The binaries the tunnel runs start.
    pub fn binaries(&self) -> anyhow::Result<crate::soak::binaries::Binaries> {
        self.bins
            .clone()
            .ok_or_else(|| anyhow::anyhow!("the tunnel binaries were not built"))
    }

    /// Runs per figure; the figure is their median.
    pub fn runs(&self) -> usize {
        if self.quick { 1 } else { 5 }
    }

    pub fn concurrencies(&self) -> Vec<usize> {
        match (&self.conns, self.quick) {
            (Some(conns), _) => conns.clone(),
            (None, true) => vec![1, 4],
            (None, false) => vec![1, 16, 64],
        }
    }

    /// A timed load of `connections` connections.
    pub fn load(&self, connections: usize) -> Load {
        if self.quick {
            Load {
                connections,
                warmup: Duration::from_millis(50),
                duration: Duration::from_millis(250),
            }
        } else {
            Load {
                connections,
                warmup: Duration::from_millis(500),
                duration: Duration::from_secs(3),
            }
        }
    }
}
