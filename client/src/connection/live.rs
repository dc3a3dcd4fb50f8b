//! The connection's state with the time it began, kept by the listener so
//! `hookline status` and the TUI can say "connected since 10:02" or
//! "reconnecting in 3s" rather than just a word.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::ConnectionState;

/// What `status` shows of the relay connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStatus {
    pub connected: bool,
    /// `connected`, `connecting`, `reconnecting` or `stopped`.
    pub state: String,
    /// When the connection entered this state (Unix ms).
    pub since_ms: u64,
    /// While reconnecting: how long until the next attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnect_in_ms: Option<u64>,
    /// Why the last session or attempt failed, while not connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub relay_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Senders the relay refused for this channel since the listener
    /// started (rate limit, full queue…), by reason.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub refused: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug)]
struct Seen {
    state: ConnectionState,
    since_ms: u64,
    since: Instant,
    public_url: Option<String>,
    /// The relay of the last session (one of several with failover).
    relay: Option<String>,
    refused: std::collections::BTreeMap<String, u64>,
}

/// The listener's live view of its connection. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LiveLink {
    seen: Arc<Mutex<Seen>>,
    relay_url: String,
}

impl LiveLink {
    pub fn new(relay_url: String, state: ConnectionState) -> Self {
        let (public_url, relay) = match &state {
            ConnectionState::Connected { public_url, relay } => {
                (Some(public_url.clone()), Some(relay.clone()))
            }
            _ => (None, None),
        };
        let seen = Seen {
            state,
            since_ms: crate::clock::now_ms(),
            since: Instant::now(),
            public_url,
            relay,
            refused: Default::default(),
        };
        Self {
            seen: Arc::new(Mutex::new(seen)),
            relay_url,
        }
    }

    /// Follows `state` until it ends or `shutdown`.
    pub async fn follow(
        self,
        mut state: watch::Receiver<ConnectionState>,
        shutdown: CancellationToken,
    ) {
        loop {
            tokio::select! {
                changed = state.changed() => if changed.is_err() { break },
                () = shutdown.cancelled() => break,
            }
            let current = state.borrow_and_update().clone();
            self.observe(current);
        }
        tracing::debug!("connection state follower stopped");
    }

    fn observe(&self, state: ConnectionState) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // Connecting and reconnecting alternate while the relay is away: one
        // episode, so "since" is when the connection was lost.
        let phase = |s: &ConnectionState| match s {
            ConnectionState::Connected { .. } => 0,
            ConnectionState::Connecting | ConnectionState::Reconnecting { .. } => 1,
            ConnectionState::Stopped | ConnectionState::Refused { .. } => 2,
        };
        if let ConnectionState::Connected { public_url, relay } = &state {
            seen.public_url = Some(public_url.clone());
            seen.relay = Some(relay.clone());
        }
        if phase(&seen.state) == phase(&state) {
            seen.state = state;
            return;
        }
        seen.state = state;
        seen.since_ms = crate::clock::now_ms();
        seen.since = Instant::now();
    }

    /// Counts senders the relay refused (a `refused` notice).
    pub fn note_refused(&self, reason: &str, count: u64) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        *seen.refused.entry(reason.to_owned()).or_default() += count;
    }

    /// The state as `status` shows it.
    pub fn snapshot(&self) -> LinkStatus {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let (name, reconnect_in, error) = match &seen.state {
            ConnectionState::Connected { .. } => ("connected", None, None),
            ConnectionState::Connecting => ("connecting", None, None),
            ConnectionState::Reconnecting { after, error } => (
                "reconnecting",
                Some(after.saturating_sub(seen.since.elapsed())),
                Some(error.clone()),
            ),
            ConnectionState::Refused { reason } => ("refused", None, Some(reason.clone())),
            ConnectionState::Stopped => ("stopped", None, None),
        };
        LinkStatus {
            connected: name == "connected",
            state: name.to_owned(),
            since_ms: seen.since_ms,
            reconnect_in_ms: reconnect_in.map(|d: Duration| d.as_millis() as u64),
            error,
            // The relay connected to, else every relay configured.
            relay_url: match (&seen.state, &seen.relay) {
                (ConnectionState::Connected { .. }, Some(relay)) => relay.clone(),
                _ => self.relay_url.clone(),
            },
            public_url: seen.public_url.clone(),
            refused: seen.refused.clone(),
        }
    }
}
