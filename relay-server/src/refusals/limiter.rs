//! The bookkeeping behind refusals, free of sockets and clocks (callers pass
//! `now`): failed handshakes per source in a fixed window, and the tally of
//! refusals one log summary reports.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hookline_protocol::GoodbyeReason;

use crate::conn_limits::SourceKey;

/// How often refusals are summarised in the log.
pub(crate) const SUMMARY_EVERY: Duration = Duration::from_secs(60);

/// Failed handshakes count against a source for this long after its first.
pub(crate) const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Sources whose failures are remembered; beyond this (a flood from very many
/// addresses) new sources go unlimited until old windows expire, but are
/// still counted and summarised.
const MAX_TRACKED_SOURCES: usize = 16_384;

/// Sources named in one summary's tally.
const MAX_TALLIED_SOURCES: usize = 1_024;

/// A full pass over the tracked sources runs at most this often.
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// One refused client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Its hello was refused for this reason.
    Handshake(GoodbyeReason),
    /// Its `/connect` got 429: too many failed handshakes from its address.
    Throttled,
    /// Its connection was closed at once: its address had the most allowed.
    OverSourceCap,
}

/// The label of a handshake refusal in logs and metrics.
pub(crate) fn reason_label(reason: GoodbyeReason) -> &'static str {
    match reason {
        GoodbyeReason::MissingToken => "missing_token",
        GoodbyeReason::BadToken => "bad_token",
        GoodbyeReason::VersionMismatch => "version_mismatch",
        GoodbyeReason::ChannelForbidden => "channel_forbidden",
        GoodbyeReason::TakenOver => "taken_over",
        GoodbyeReason::ProtocolError => "protocol_error",
        GoodbyeReason::ShuttingDown => "shutting_down",
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    failures: u32,
}

#[derive(Debug, Default)]
struct State {
    windows: HashMap<SourceKey, Window>,
    pruned_at: Option<Instant>,
    tally: Tally,
}

/// Per-source handshake limits and the running tally for the log.
#[derive(Debug)]
pub(crate) struct Refusals {
    max_failures: u32,
    state: Mutex<State>,
}

impl Refusals {
    /// `max_failures` failed handshakes per source per [`FAILURE_WINDOW`].
    pub(crate) fn new(max_failures: u32) -> Self {
        Self {
            max_failures,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `Err(wait)` while `source` has used up its failed handshakes: it may
    /// try again after `wait`.
    pub(crate) fn admit(&self, source: SourceKey, now: Instant) -> Result<(), Duration> {
        let state = self.state();
        match state.windows.get(&source) {
            Some(w) if w.failures >= self.max_failures => {
                let ends = w.start + FAILURE_WINDOW;
                if now < ends { Err(ends - now) } else { Ok(()) }
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed handshake against `source`'s limit.
    pub(crate) fn failed(&self, source: SourceKey, now: Instant) {
        let mut state = self.state();
        if !state.windows.contains_key(&source) && state.windows.len() >= MAX_TRACKED_SOURCES {
            if state.pruned_at.is_some_and(|t| now < t + PRUNE_EVERY) {
                return;
            }
            prune(&mut state, now);
            if state.windows.len() >= MAX_TRACKED_SOURCES {
                return;
            }
        }
        let window = state.windows.entry(source).or_insert(Window {
            start: now,
            failures: 0,
        });
        if now >= window.start + FAILURE_WINDOW {
            *window = Window {
                start: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
    }

    /// Counts a refusal for the summary. True when it is the first since the
    /// last summary, to be logged in full.
    pub(crate) fn note(&self, source: Option<SourceKey>, what: Refused) -> bool {
        let mut state = self.state();
        let first = state.tally.total() == 0;
        state.tally.add(source, what);
        first
    }

    /// The refusals since the last call, when there was more than the one
    /// already logged in full; forgets expired windows.
    pub(crate) fn take(&self, now: Instant) -> Option<Tally> {
        let mut state = self.state();
        prune(&mut state, now);
        let tally = std::mem::take(&mut state.tally);
        (tally.total() > 1).then_some(tally)
    }
}

fn prune(state: &mut State, now: Instant) {
    state.windows.retain(|_, w| now < w.start + FAILURE_WINDOW);
    state.pruned_at = Some(now);
}

/// Refusals over one summary interval.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Tally {
    pub handshakes: BTreeMap<&'static str, u64>,
    pub throttled: u64,
    pub over_source_cap: u64,
    sources: HashMap<SourceKey, u64>,
    more_sources: bool,
}

impl Tally {
    pub(crate) fn total(&self) -> u64 {
        self.handshakes.values().sum::<u64>() + self.throttled + self.over_source_cap
    }

    fn add(&mut self, source: Option<SourceKey>, what: Refused) {
        match what {
            Refused::Handshake(reason) => {
                *self.handshakes.entry(reason_label(reason)).or_default() += 1;
            }
            Refused::Throttled => self.throttled += 1,
            Refused::OverSourceCap => self.over_source_cap += 1,
        }
        if let Some(source) = source {
            if let Some(n) = self.sources.get_mut(&source) {
                *n += 1;
            } else if self.sources.len() < MAX_TALLIED_SOURCES {
                self.sources.insert(source, 1);
            } else {
                self.more_sources = true;
            }
        }
    }

    /// The source with the most refusals, and how many.
    pub(crate) fn top_source(&self) -> Option<(SourceKey, u64)> {
        self.sources
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(k, n)| (*k, *n))
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        let mut parts = Vec::new();
        let failed: u64 = self.handshakes.values().sum();
        if failed > 0 {
            let reasons: Vec<String> = self
                .handshakes
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            parts.push(format!(
                "{failed} failed handshake{} ({})",
                plural(failed),
                reasons.join(", ")
            ));
        }
        if self.throttled > 0 {
            let n = self.throttled;
            parts.push(format!("{n} handshake{} throttled with 429", plural(n)));
        }
        if self.over_source_cap > 0 {
            let n = self.over_source_cap;
            parts.push(format!(
                "{n} connection{} over the per-address cap",
                plural(n)
            ));
        }
        write!(f, "{}", parts.join(", "))?;
        let sources = self.sources.len();
        if let Some((top, n)) = self.top_source() {
            let more = if self.more_sources { "more than " } else { "" };
            write!(
                f,
                "; from {more}{sources} address{}, most from {top} ({n})",
                if sources == 1 && !self.more_sources {
                    ""
                } else {
                    "es"
                }
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "limiter_tests.rs"]
mod tests;
