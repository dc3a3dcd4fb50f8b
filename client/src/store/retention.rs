//! Retention: the listener prunes old deliveries in the background so the
//! store does not grow without bound.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Store;

/// How much history to keep. Either bound may be off (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Keep at most this many deliveries (the newest).
    pub keep: Option<usize>,
    /// Drop deliveries received longer ago than this.
    pub max_age: Option<Duration>,
    /// How often to apply the policy.
    pub interval: Duration,
}

impl Default for RetentionPolicy {
    /// 10,000 deliveries or 30 days, whichever is less, checked every 10
    /// minutes: enough history to debug last month's integration, bounded
    /// enough that a busy sender cannot fill the disk.
    fn default() -> Self {
        Self {
            keep: Some(10_000),
            max_age: Some(Duration::from_secs(30 * 24 * 60 * 60)),
            interval: Duration::from_secs(10 * 60),
        }
    }
}

/// Applies `policy` at start and then every `policy.interval` until
/// `shutdown` is cancelled. The listener owns this task.
pub async fn retention_task(store: Store, policy: RetentionPolicy, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(policy.interval.max(Duration::from_secs(1)));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let (store, age, keep) = (store.clone(), policy.max_age, policy.keep);
        // Pruning walks the oldest summaries and deletes in transactions:
        // blocking work that must not stall the runtime's other tasks.
        match tokio::task::spawn_blocking(move || store.prune(age, keep)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(removed = n, "retention pruned old deliveries"),
            Ok(Err(err)) => tracing::warn!(%err, "retention could not prune the store"),
            Err(err) => tracing::warn!(%err, "retention task failed"),
        }
    }
    tracing::debug!("retention task stopped");
}
