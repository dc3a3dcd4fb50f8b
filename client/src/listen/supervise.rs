//! The listener's lifetime after start: dispatching deliveries, then shutting
//! everything down in an order that loses nothing.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Backlog, DRAIN_TIMEOUT, EmbeddedRelay, Pipeline};
use crate::connection::{self, Incoming};

/// The tasks `run` owns and joins at the end.
pub(super) struct Tasks {
    pub connection: JoinHandle<Result<(), connection::Stopped>>,
    pub flusher: JoinHandle<()>,
    pub control: JoinHandle<Result<(), crate::control::ControlError>>,
    pub retention: JoinHandle<()>,
    pub watcher: JoinHandle<()>,
    pub gaps: JoinHandle<()>,
    pub live: JoinHandle<()>,
    pub alerts: Option<JoinHandle<()>>,
    pub embedded: Option<EmbeddedRelay>,
}

/// Dispatches deliveries until shutdown (or the connection stops for good),
/// then drains in order: pipeline tasks → last flush and acks → goodbye to
/// the relay → the embedded relay.
pub(super) async fn run(
    pipeline: Arc<Pipeline>,
    backlog: Backlog,
    mut incoming: mpsc::UnboundedReceiver<Incoming>,
    mut tasks: Tasks,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let tracker = TaskTracker::new();
    if !backlog.is_empty() {
        let (first, retries) = (backlog.first.len(), backlog.retries.len());
        pipeline.reporter.notice(
            &format!(
                "resuming what the last run left: {first} never forwarded, {retries} waiting for a retry"
            ),
            serde_json::json!({"type": "resumed", "first": first, "retries": retries}),
        );
    }
    for stored in backlog.first {
        tracker.spawn(Arc::clone(&pipeline).resume(stored));
    }
    for (stored, next, target) in backlog.retries {
        tracker.spawn(Arc::clone(&pipeline).resume_retry(stored, next, target));
    }
    let mut fatal = None;
    loop {
        tokio::select! {
            next = incoming.recv() => match next {
                Some(delivery) => {
                    tracker.spawn(Arc::clone(&pipeline).handle(delivery));
                }
                None => break,
            },
            result = &mut tasks.connection => {
                fatal = Some(result);
                break;
            }
            () = shutdown.cancelled() => break,
        }
    }
    shutdown.cancel();
    // Lets go of its `outbound` sender, which the connection drains until the last one is gone.
    let _ = (&mut tasks.gaps).await;
    tracker.close();
    drop(pipeline);
    let drained = async {
        tracker.wait().await;
        let _ = (&mut tasks.flusher).await;
        match fatal.take() {
            Some(result) => result,
            None => (&mut tasks.connection).await,
        }
    };
    let connection = match tokio::time::timeout(DRAIN_TIMEOUT, drained).await {
        Ok(joined) => joined.context("connection task")?,
        Err(_) => {
            // What was not acknowledged comes back from the relay next time.
            tracing::warn!("gave up waiting for forwards in flight after {DRAIN_TIMEOUT:?}");
            tasks.connection.abort();
            tasks.flusher.abort();
            Ok(())
        }
    };
    let _ = tasks.watcher.await;
    let _ = tasks.live.await;
    if let Some(alerts) = tasks.alerts {
        let _ = alerts.await;
    }
    let _ = tasks.retention.await;
    if let Ok(Err(err)) = tasks.control.await {
        tracing::warn!(%err, "control endpoint");
    }
    if let Some(relay) = tasks.embedded {
        relay.stop().await?;
    }
    connection.map_err(|err| anyhow::anyhow!(advice(&err)))
}

/// The error with what to do about it.
pub(super) fn advice(err: &connection::Stopped) -> String {
    use hookline_protocol::GoodbyeReason::*;
    let hint = match err {
        connection::Stopped::Refused(connection::ConnectError::Refused { reason, .. }) => {
            match reason {
                MissingToken | BadToken => "check --token / HOOKLINE_TOKEN",
                ChannelForbidden => "that channel belongs to another token; check --channel",
                VersionMismatch => "install the same hookline release as the relay",
                _ => "",
            }
        }
        connection::Stopped::Ended {
            reason: TakenOver, ..
        } => "another `hookline listen` with this token took the channel over",
        _ => "",
    };
    if hint.is_empty() {
        err.to_string()
    } else {
        format!("{err} ({hint})")
    }
}
