//! `--alert-after` / `--on-alert`: a prominent warning, and optionally a
//! command, when the local app has failed every attempt for that long or
//! the relay has been unreachable that long; once when an episode starts and
//! once when it recovers. Each forward target has its own episodes. A newly
//! recorded gap alerts at once (it has no recovery).
//!
//! Watches the store (attempts, gaps) and the connection state rather than
//! hooking into the pipeline, so forwarding code stays unaware of alerts.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::report::Reporter;
use crate::connection::ConnectionState;
use crate::store::{Store, StoreEvent};

/// Longest an `--on-alert` command may run before it is killed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a problem must last, and what to run when it does.
#[derive(Debug, Clone)]
pub struct AlertConfig {
    pub after: Duration,
    /// Run with `sh -c`, `HOOKLINE_ALERT*` in its environment.
    pub command: Option<String>,
}

/// One problem that has not yet recovered.
#[derive(Debug)]
struct Episode {
    started: Instant,
    alerted: bool,
    message: String,
}

/// Key of the relay's episode; targets are URLs, so it cannot collide.
const RELAY: &str = "relay";

struct Alerts {
    config: AlertConfig,
    reporter: Reporter,
    episodes: HashMap<String, Episode>,
    commands: TaskTracker,
}

impl Alerts {
    fn failing(&mut self, target: &str, message: String) {
        let episode = self.episodes.entry(target.to_owned()).or_insert(Episode {
            started: Instant::now(),
            alerted: false,
            message: String::new(),
        });
        episode.message = message;
    }

    fn fine(&mut self, target: &str) {
        if let Some(episode) = self.episodes.remove(target)
            && episode.alerted
        {
            let what = if target == RELAY { "the relay" } else { target };
            self.fire("recovered", target, format!("{what} works again"));
        }
    }

    fn check(&mut self) {
        let due: Vec<(String, String)> = self
            .episodes
            .iter_mut()
            .filter(|(_, e)| !e.alerted && e.started.elapsed() >= self.config.after)
            .map(|(target, e)| {
                e.alerted = true;
                (target.clone(), e.message.clone())
            })
            .collect();
        for (target, message) in due {
            let kind = if target == RELAY {
                "relay_unreachable"
            } else {
                "app_down"
            };
            self.fire(kind, &target, message);
        }
    }

    fn fire(&self, kind: &'static str, target: &str, message: String) {
        self.reporter.warn_with(
            format!("ALERT {kind}: {message}"),
            serde_json::json!({"type": "alert", "alert": kind, "target": target, "message": message}),
        );
        let Some(command) = self.config.command.clone() else {
            return;
        };
        let target = target.to_owned();
        self.commands.spawn(async move {
            let child = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .env("HOOKLINE_ALERT", kind)
                .env("HOOKLINE_ALERT_MESSAGE", &message)
                .env("HOOKLINE_ALERT_TARGET", &target)
                .kill_on_drop(true)
                .status();
            match tokio::time::timeout(COMMAND_TIMEOUT, child).await {
                Ok(Ok(status)) if status.success() => {}
                Ok(Ok(status)) => tracing::warn!(%status, "--on-alert command failed"),
                Ok(Err(err)) => tracing::warn!(%err, "cannot run the --on-alert command"),
                Err(_) => tracing::warn!("--on-alert command killed after {COMMAND_TIMEOUT:?}"),
            }
        });
    }
}

/// Runs until shutdown; waits for alert commands still running, within their timeout.
pub(super) async fn run(
    config: AlertConfig,
    store: Store,
    mut state: watch::Receiver<ConnectionState>,
    reporter: Reporter,
    shutdown: CancellationToken,
) {
    let every = (config.after / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut alerts = Alerts {
        config,
        reporter,
        episodes: HashMap::new(),
        commands: TaskTracker::new(),
    };
    let mut events = store.subscribe();
    let mut gaps_seen = store.open_gaps().map(|g| g.len()).unwrap_or(0);
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            changed = state.changed() => {
                if changed.is_err() { break }
                let current = state.borrow_and_update().clone();
                match current {
                    ConnectionState::Connected { .. } => alerts.fine(RELAY),
                    ConnectionState::Reconnecting { error, .. } => alerts.failing(
                        RELAY,
                        format!("the relay has been unreachable for over {:?}: {error}", alerts.config.after),
                    ),
                    _ => {}
                }
            }
            event = events.recv() => match event {
                Ok(StoreEvent::Attempted(id)) => on_attempt(&mut alerts, &store, id),
                Err(broadcast::error::RecvError::Closed) => break,
                _ => {}
            },
            _ = tick.tick() => {
                let open = store.open_gaps().map(|g| g.len()).unwrap_or(gaps_seen);
                if open > gaps_seen {
                    alerts.fire("gap", RELAY, format!("the relay reported {} new gap(s): see `hookline status`", open - gaps_seen));
                }
                gaps_seen = open;
                alerts.check();
            }
        }
    }
    alerts.commands.close();
    alerts.commands.wait().await;
    tracing::debug!("alerts stopped");
}

fn on_attempt(alerts: &mut Alerts, store: &Store, id: hookline_protocol::DeliveryId) {
    let Ok(Some(stored)) = store.get(id) else {
        return;
    };
    let Some(attempt) = stored.attempts.last() else {
        return;
    };
    if attempt.outcome.is_success() {
        alerts.fine(&attempt.target);
        return;
    }
    let why = match &attempt.outcome {
        crate::model::Outcome::Response { status, .. } => format!("answered {status}"),
        crate::model::Outcome::Error { message } => message.clone(),
    };
    let message = format!(
        "{} has failed every attempt for over {:?} (last: {why})",
        attempt.target, alerts.config.after
    );
    alerts.failing(&attempt.target, message);
}
