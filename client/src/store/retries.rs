//! The forward retry schedule, in its own `retries` tree: (id, target URL)
//! → the next retry to that target and when it is due; each target of a
//! fanned-out delivery has its own. A 16-byte key (id alone) is what a store
//! written before fan-out holds: it stands for the delivery's only target. Kept on disk so a listener that stops during a
//! retry wait (gracefully or killed) carries the schedule on when it starts
//! again. A store written before this tree existed simply has none.
//!
//! An entry lives from the first failed forward until the schedule ends
//! (answered, final answer, retries used up), and stays afterwards only
//! when a manual replay superseded it, so `show --attempts` can say so.

use hookline_protocol::DeliveryId;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, StoreEvent};
use crate::model::Attempt;

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

/// The key of `id`'s schedule to `target` (the attempt's full URL).
fn key(id: DeliveryId, target: &str) -> Vec<u8> {
    let mut key = id.to_bytes().to_vec();
    key.extend_from_slice(target.as_bytes());
    key
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
        let legacy = id.to_bytes();
        let key = key(id, &attempt.target);
        let mut counts = inner.counts.lock().unwrap_or_else(|p| p.into_inner());
        let current = match inner.retries.get(&key)? {
            Some(bytes) => Some(bytes),
            None => inner.retries.get(legacy)?,
        };
        let superseded = match current {
            Some(bytes) => !decode(&bytes)?.is_pending(),
            None => false,
        };
        if let (Some(next), false) = (&next, superseded) {
            inner.retries.insert(key.as_slice(), encode(next)?)?;
        }
        self.append_attempt(&mut counts, id, attempt)?;
        if !superseded {
            // The schedule now lives under its target's key.
            inner.retries.remove(legacy)?;
            if next.is_none() {
                inner.retries.remove(key)?;
            }
        }
        drop(counts);
        self.emit(StoreEvent::Attempted(id));
        Ok(next.is_some() && !superseded)
    }

    /// The schedule of `id`: the soonest pending retry of any target, else a
    /// superseded one, else `None`.
    pub fn retry_schedule(&self, id: DeliveryId) -> Result<Option<RetrySchedule>, StoreError> {
        let schedules = self.schedules_of(id)?;
        let pending = schedules
            .iter()
            .map(|(_, s)| *s)
            .filter(RetrySchedule::is_pending)
            .min_by_key(|s| s.due_at_ms);
        Ok(pending.or_else(|| schedules.first().map(|(_, s)| *s)))
    }

    /// The schedule of `id` to `target` (an attempt's full URL); a store
    /// written before fan-out answers with the delivery's one schedule.
    pub fn retry_schedule_to(
        &self,
        id: DeliveryId,
        target: &str,
    ) -> Result<Option<RetrySchedule>, StoreError> {
        let inner = &self.inner;
        match inner.retries.get(key(id, target))? {
            Some(bytes) => decode(&bytes).map(Some),
            None => inner
                .retries
                .get(id.to_bytes())?
                .map(|bytes| decode(&bytes))
                .transpose(),
        }
    }

    /// Every schedule of `id`, with its target (`None` for a pre-fan-out entry).
    pub fn schedules_of(
        &self,
        id: DeliveryId,
    ) -> Result<Vec<(Option<String>, RetrySchedule)>, StoreError> {
        let mut schedules = Vec::new();
        for entry in self.inner.retries.scan_prefix(id.to_bytes()) {
            let (key, bytes) = entry?;
            let target = (key.len() > 16).then(|| String::from_utf8_lossy(&key[16..]).into_owned());
            schedules.push((target, decode(&bytes)?));
        }
        Ok(schedules)
    }

    /// A manual replay is about to be sent: its pending retries (of every
    /// target), if any, are cancelled (marked superseded at `at_ms`) so the
    /// app does not get the delivery twice. Returns the soonest retry that
    /// was cancelled.
    pub fn supersede_retry(
        &self,
        id: DeliveryId,
        at_ms: u64,
    ) -> Result<Option<RetrySchedule>, StoreError> {
        let inner = &self.inner;
        let _counts = inner.counts.lock().unwrap_or_else(|p| p.into_inner());
        let mut cancelled: Option<RetrySchedule> = None;
        for entry in inner.retries.scan_prefix(id.to_bytes()) {
            let (key, bytes) = entry?;
            let pending = decode(&bytes)?;
            if !pending.is_pending() {
                continue;
            }
            let superseded = RetrySchedule {
                superseded_at_ms: Some(at_ms),
                ..pending
            };
            inner.retries.insert(key, encode(&superseded)?)?;
            if cancelled.is_none_or(|c| pending.due_at_ms < c.due_at_ms) {
                cancelled = Some(pending);
            }
        }
        Ok(cancelled)
    }

    /// Every pending retry, oldest delivery first: what a starting listener
    /// carries on with.
    pub fn pending_retries(&self) -> Result<Vec<(DeliveryId, RetrySchedule)>, StoreError> {
        let pending = self.pending_retries_to()?;
        Ok(pending.into_iter().map(|(id, _, s)| (id, s)).collect())
    }

    /// Every pending retry with its target (the attempt's full URL; `None`
    /// for a store written before fan-out), oldest delivery first.
    pub fn pending_retries_to(
        &self,
    ) -> Result<Vec<(DeliveryId, Option<String>, RetrySchedule)>, StoreError> {
        let mut pending = Vec::new();
        for entry in self.inner.retries.iter() {
            let (key, bytes) = entry?;
            let schedule = decode(&bytes)?;
            let (Some(head), true) = (key.get(..16), schedule.is_pending()) else {
                continue;
            };
            let Ok(head) = <[u8; 16]>::try_from(head) else {
                continue;
            };
            let target = (key.len() > 16).then(|| String::from_utf8_lossy(&key[16..]).into_owned());
            pending.push((DeliveryId::from_bytes(head), target, schedule));
        }
        Ok(pending)
    }

    /// When the next retry of `id` is due, if one is pending.
    pub(super) fn next_retry_at(&self, id: DeliveryId) -> Result<Option<u64>, StoreError> {
        Ok(self
            .schedules_of(id)?
            .into_iter()
            .map(|(_, s)| s)
            .filter(RetrySchedule::is_pending)
            .map(|s| s.due_at_ms)
            .min())
    }
}
