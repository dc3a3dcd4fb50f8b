//! Group commit: one store flush covers every delivery that arrived while the
//! previous flush ran, then all of them are acknowledged to the relay as
//! stored in one frame.

use std::time::Duration;

use hookline_protocol::{ClientMessage, DeliveryId};
use tokio::sync::{mpsc, oneshot};

use super::report::Reporter;
use crate::retry::RetryPolicy;
use crate::store::Store;

/// Most requests served per flush; bounds one batch's latency.
const MAX_BATCH: usize = 4096;

/// The shortest time between the starts of two flushes; what arrives
/// meanwhile waits for the next one. Only the `stored` acknowledgement
/// waits: forwarding and the sender's answer do not.
const MIN_FLUSH_GAP: Duration = Duration::from_millis(1);

/// A failed flush is tried again until it works: nothing is acknowledged
/// before it does, and the relay keeps everything meanwhile.
const FLUSH_RETRY: RetryPolicy =
    RetryPolicy::forever(Duration::from_millis(100), Duration::from_secs(5));

/// What waits for the next flush.
#[derive(Debug)]
pub enum Durable {
    /// A stored delivery, acknowledged to the relay once on disk.
    Stored(DeliveryId),
    /// Someone (a retry schedule) waiting to be on disk; told when it is.
    Synced(oneshot::Sender<()>),
}

/// Runs until every sender of `durable` is gone, then flushes a last time.
/// The relay holds each delivery until its `stored` arrives, so a flush that
/// fails is retried and nothing is acknowledged early.
pub async fn run(
    store: Store,
    mut durable: mpsc::UnboundedReceiver<Durable>,
    outbound: mpsc::UnboundedSender<ClientMessage>,
    reporter: Reporter,
) {
    let mut batch = Vec::with_capacity(64);
    let mut last_flush = tokio::time::Instant::now() - MIN_FLUSH_GAP;
    while durable.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Under load, flushes start at most every MIN_FLUSH_GAP: each costs
        // the same hand-offs to the blocking pool and sled's I/O threads
        // whether it covers one delivery or fifty. A lone arrival after a
        // quiet spell is flushed at once.
        let since = last_flush.elapsed();
        if since < MIN_FLUSH_GAP {
            tokio::time::sleep(MIN_FLUSH_GAP - since).await;
            while batch.len() < MAX_BATCH {
                match durable.try_recv() {
                    Ok(done) => batch.push(done),
                    Err(_) => break,
                }
            }
        }
        last_flush = tokio::time::Instant::now();
        let mut failures = 0u32;
        while let Err(err) = store.flush().await {
            if failures == 0 {
                reporter.error(format!("cannot flush the store (will retry): {err}"));
            }
            failures = failures.saturating_add(1);
            tokio::time::sleep(FLUSH_RETRY.delay(failures).unwrap_or(FLUSH_RETRY.max_delay)).await;
        }
        // One frame acknowledges every delivery of the flush.
        let mut ids = Vec::with_capacity(batch.len());
        for done in batch.drain(..) {
            match done {
                Durable::Stored(id) => ids.push(id),
                Durable::Synced(tell) => {
                    let _ = tell.send(());
                }
            }
        }
        if !ids.is_empty() {
            let _ = outbound.send(ClientMessage::Stored { ids });
        }
    }
    tracing::debug!("flusher stopped");
}
