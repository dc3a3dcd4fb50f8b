//! What the store says about the pipe's health, for `hookline status` and
//! the TUI header: the last delivery, what waits to be forwarded, retries in
//! progress, recent failures, gaps and the size on disk.

use hookline_protocol::DeliveryId;
use serde::{Deserialize, Serialize};

use super::rows::{DeliveryStatus, Summary};
use super::{GapRecord, RetrySchedule, Store, StoreError};

/// The window of [`StoreHealth::failed_last_hour`].
const HOUR_MS: u64 = 3_600_000;

/// The store's share of `hookline status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreHealth {
    /// When the newest delivery arrived (Unix ms).
    pub last_delivery_ms: Option<u64>,
    /// Stored to be forwarded and not attempted yet.
    pub waiting_to_forward: u64,
    /// Deliveries with an automatic retry scheduled.
    pub retries_pending: u64,
    /// Deliveries received in the last hour whose last attempt failed.
    pub failed_last_hour: u64,
    /// Gaps the relay reported and the user has not dismissed.
    pub gaps: Vec<GapRecord>,
    /// The store's size on disk, in bytes.
    pub store_bytes: u64,
}

impl Store {
    /// Reads the health figures. Scans the summaries once for what waits to
    /// be forwarded, so it costs about what `list --all` does.
    pub fn health(&self, now_ms: u64) -> Result<StoreHealth, StoreError> {
        let decode = |bytes: &[u8]| -> Result<Summary, StoreError> {
            serde_json::from_slice(bytes).map_err(StoreError::decode("summary"))
        };
        let mut health = StoreHealth::default();
        if let Some((_, newest)) = self.inner.summaries.last()? {
            health.last_delivery_ms = Some(decode(&newest)?.received_at_ms);
        }
        let hour_ago = DeliveryId::from_parts(now_ms.saturating_sub(HOUR_MS), 0).to_bytes();
        for item in self.inner.summaries.iter() {
            let (key, value) = item?;
            let summary = decode(&value)?;
            if summary.awaiting_forward {
                health.waiting_to_forward += 1;
            }
            if key.as_ref() >= &hour_ago[..] && summary.has_status(DeliveryStatus::Failed) {
                health.failed_last_hour += 1;
            }
        }
        for item in self.inner.retries.iter() {
            let (_, value) = item?;
            let schedule: RetrySchedule =
                serde_json::from_slice(&value).map_err(StoreError::decode("retry schedule"))?;
            if schedule.is_pending() {
                health.retries_pending += 1;
            }
        }
        health.gaps = self.open_gaps()?;
        health.store_bytes = self.inner.db.size_on_disk()?;
        Ok(health)
    }
}
