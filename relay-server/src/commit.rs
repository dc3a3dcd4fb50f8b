//! Group commit: many requests that each need "my write is on disk" share one
//! flush, so an offline burst costs one fsync per batch, not per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::queue::{ChannelQueue, QueueError};

#[derive(Debug, Clone, Default)]
struct Flushed {
    /// Every ticket up to this one is durable.
    done: u64,
    /// The highest ticket whose flush failed, and why.
    failed: Option<(u64, Arc<QueueError>)>,
}

/// Shared between the waiters and the one flusher task.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    requested: AtomicU64,
    wake: Notify,
    state: watch::Sender<Flushed>,
}

impl GroupCommit {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            requested: AtomicU64::new(0),
            wake: Notify::new(),
            state: watch::Sender::new(Flushed::default()),
        })
    }

    /// Returns once everything written before this call is durable.
    pub(crate) async fn flush(&self) -> Result<(), QueueError> {
        let ticket = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut rx = self.state.subscribe();
        self.wake.notify_one();
        let state = rx
            .wait_for(|s| s.done >= ticket || s.failed.as_ref().is_some_and(|(t, _)| *t >= ticket))
            .await
            .map_err(|_| QueueError::Closing)?;
        match &state.failed {
            Some((t, why)) if *t >= ticket && state.done < ticket => {
                Err(QueueError::Flush(why.clone()))
            }
            _ => Ok(()),
        }
    }

    /// The flusher: one flush covers every ticket taken before it started.
    pub(crate) async fn run(
        self: Arc<Self>,
        queue: Arc<dyn ChannelQueue>,
        shutdown: CancellationToken,
    ) {
        loop {
            tokio::select! {
                () = self.wake.notified() => {}
                () = shutdown.cancelled() => break,
            }
            let target = self.requested.load(Ordering::SeqCst);
            let q = queue.clone();
            let result = tokio::task::spawn_blocking(move || q.flush()).await;
            self.state.send_modify(|s| match result {
                Ok(Ok(())) => s.done = s.done.max(target),
                Ok(Err(e)) => s.failed = Some((target, Arc::new(e))),
                Err(e) => {
                    tracing::error!("the queue flush task failed: {e}");
                    s.failed = Some((target, Arc::new(QueueError::Closing)));
                }
            });
        }
        tracing::debug!("group commit flusher stopped");
    }
}
