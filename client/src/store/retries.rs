//! The forward retry schedule, in its own `retries` tree: id → the next
//! retry and when it is due. Kept on disk so a listener that stops during a
//! retry wait (gracefully or killed) carries the schedule on when it starts
//! again. A store written before this tree existed simply has none.
//!
//! An entry lives from the first failed forward until the schedule ends
//! (answered, final answer, retries used up), and stays afterwards only
//! when a manual replay superseded it, so `show --attempts` can say so.

use hookline_protocol::DeliveryId;
use serde::{Deserialize, Serialize};

use super::model::Attempt;
use super::{Store, StoreError, StoreEvent};

/// The next automatic retry of a delivery's forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrySchedule {
    /// Which retry comes next: 1 is the first retry after the first forward.
    pub retry: u32,
    /// Unix milliseconds when it is due; overdue ones go at once.
    pub due_at_ms: u64,
    /// When a manual replay took its place: the retry is never sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_at_ms: Option<u64>,
}

impl RetrySchedule {
    /// Retry `retry`, due at `due_at_ms`.
    pub fn new(retry: u32, due_at_ms: u64) -> Self {
        Self {
            retry,
            due_at_ms,
            superseded_at_ms: None,
        }
    }

    /// Waiting to be sent (not superseded).
    pub fn is_pending(&self) -> bool {
        self.superseded_at_ms.is_none()
    }
}

fn decode(bytes: &[u8]) -> Result<RetrySchedule, StoreError> {
    serde_json::from_slice(bytes).map_err(StoreError::decode("retry schedule"))
}

fn encode(schedule: &RetrySchedule) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(schedule).map_err(StoreError::decode("retry schedule"))
}

impl Store {
    /// Records an automatic forward attempt and what follows it: `next`
    /// schedules the next retry, `None` ends the schedule. Returns false when
    /// the schedule must not go on (a replay superseded it, or the delivery
    /// is gone); the attempt itself is recorded whenever the delivery exists.
    ///
    /// Ordered for crashes: a new schedule is written before the attempt, so
    /// an attempt on disk always has its follow-up; an ended schedule is
    /// removed after it, so a crash in between sends that retry once more
    /// rather than never.
    pub fn record_forward(
        &self,
        id: DeliveryId,
        attempt: &Attempt,
        next: Option<RetrySchedule>,
    ) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let key = id.to_bytes();
        let mut counts = inner.counts.lock().unwrap_or_else(|p| p.into_inner());
        let superseded = match inner.retries.get(key)? {
            Some(bytes) => !decode(&bytes)?.is_pending(),
            None => false,
        };
        if let (Some(next), false) = (&next, superseded) {
            inner.retries.insert(key, encode(next)?)?;
        }
        self.append_attempt(&mut counts, id, attempt)?;
        if next.is_none() && !superseded {
            inner.retries.remove(key)?;
        }
        drop(counts);
        self.emit(StoreEvent::Attempted(id));
        Ok(next.is_some() && !superseded)
    }

    /// The schedule of `id`: pending, superseded, or `None`.
    pub fn retry_schedule(&self, id: DeliveryId) -> Result<Option<RetrySchedule>, StoreError> {
        self.inner
            .retries
            .get(id.to_bytes())?
            .map(|bytes| decode(&bytes))
            .transpose()
    }

    /// A manual replay is about to be sent: its pending retry, if any, is
    /// cancelled (marked superseded at `at_ms`) so the app does not get the
    /// delivery twice. Returns the retry that was cancelled.
    pub fn supersede_retry(
        &self,
        id: DeliveryId,
        at_ms: u64,
    ) -> Result<Option<RetrySchedule>, StoreError> {
        let inner = &self.inner;
        let key = id.to_bytes();
        let _counts = inner.counts.lock().unwrap_or_else(|p| p.into_inner());
        let Some(bytes) = inner.retries.get(key)? else {
            return Ok(None);
        };
        let pending = decode(&bytes)?;
        if !pending.is_pending() {
            return Ok(None);
        }
        let superseded = RetrySchedule {
            superseded_at_ms: Some(at_ms),
            ..pending
        };
        inner.retries.insert(key, encode(&superseded)?)?;
        Ok(Some(pending))
    }

    /// Every pending retry, oldest delivery first: what a starting listener
    /// carries on with.
    pub fn pending_retries(&self) -> Result<Vec<(DeliveryId, RetrySchedule)>, StoreError> {
        let mut pending = Vec::new();
        for entry in self.inner.retries.iter() {
            let (key, bytes) = entry?;
            let schedule = decode(&bytes)?;
            if let (Ok(key), true) = (<[u8; 16]>::try_from(key.as_ref()), schedule.is_pending()) {
                pending.push((DeliveryId::from_bytes(key), schedule));
            }
        }
        Ok(pending)
    }

    /// When the next retry of `id` is due, if one is pending.
    pub(super) fn next_retry_at(&self, id: DeliveryId) -> Result<Option<u64>, StoreError> {
        Ok(self
            .retry_schedule(id)?
            .filter(RetrySchedule::is_pending)
            .map(|s| s.due_at_ms))
    }
}
