//! Every change to the store. Writes are plain single-key sled inserts (a
//! multi-tree transaction made each write seal its own IO buffer and cost
//! several times more), ordered so a crash between two of them never leaves
//! a record that lists wrongly:
//!
//! - the summary is the commit marker: a delivery exists once its summary
//!   does. Its record is written first; a record without a summary is
//!   invisible and is simply written again when the relay re-sends it.
//! - an attempt is written before the summary that counts it.
//! - a delete removes the summary first.
//!
//! The counts live in memory under the write lock and are saved with each
//! flush and on close; a store that was not closed cleanly has them counted
//! again from the summaries when it opens.

use std::time::Duration;

use hookline_protocol::{Delivery, DeliveryId};
use serde::Serialize;

use super::rows::Summary;
use super::summary::Counts;
use super::{Store, StoreError, StoreEvent};
use crate::model::{Attempt, StoredDelivery, Verdict};

pub(super) const COUNTS_KEY: &[u8] = b"counts";

/// `1` while the store is closed cleanly, `0` while open: a `0` found at
/// open means the last process died and the saved counts may be stale.
pub(super) const CLEAN_KEY: &[u8] = b"clean";

/// How many deliveries one prune pass collects before deleting them.
const PRUNE_BATCH: usize = 256;

pub(super) fn attempt_key(id: DeliveryId, seq: u32) -> [u8; 20] {
    let mut key = [0u8; 20];
    key[..16].copy_from_slice(&id.to_bytes());
    key[16..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn to_json<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(StoreError::decode(what))
}

impl Store {
    /// Stores a new delivery. Returns false, changing nothing, when its id is
    /// already stored: the relay re-sends what was not acknowledged, so
    /// duplicates are normal. Durable only after [`Store::flush`].
    pub fn insert(&self, delivery: &Delivery, verdict: &Verdict) -> Result<bool, StoreError> {
        self.insert_with_attempts(delivery, verdict, &[], false)
    }

    /// Like [`insert`](Self::insert), marking the delivery as one to forward,
    /// so a listener that stops before the first attempt resumes it.
    pub fn insert_to_forward(
        &self,
        delivery: &Delivery,
        verdict: &Verdict,
    ) -> Result<bool, StoreError> {
        self.insert_with_attempts(delivery, verdict, &[], true)
    }

    /// Stores a whole record, attempts included (what `import` needs).
    /// Returns false when the id is already stored.
    pub fn insert_stored(&self, stored: &StoredDelivery) -> Result<bool, StoreError> {
        self.insert_with_attempts(&stored.delivery, &stored.verdict, &stored.attempts, false)
    }

    fn insert_with_attempts(
        &self,
        delivery: &Delivery,
        verdict: &Verdict,
        attempts: &[Attempt],
        awaiting_forward: bool,
    ) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let key = delivery.id.to_bytes();
        // Attempts live in their own tree so appending one never rewrites the body.
        let record = super::record::encode(delivery, verdict)?;
        let mut summary = Summary::new(delivery, verdict);
        summary.awaiting_forward = awaiting_forward;
        attempts.iter().for_each(|a| summary.apply_attempt(a));
        let summary_bytes = serde_json::to_vec(&summary).map_err(StoreError::decode("summary"))?;
        let mut counts = inner.counts.lock().unwrap_or_else(|p| p.into_inner());
        if inner.summaries.contains_key(key)? {
            return Ok(false);
        }
        inner.deliveries.insert(key, record)?;
        for (seq, attempt) in attempts.iter().enumerate() {
            let bytes = to_json("attempt", attempt)?;
            inner
                .attempts
                .insert(attempt_key(delivery.id, seq as u32), bytes)?;
        }
        inner.summaries.insert(key, summary_bytes)?;
        counts.apply(&summary, true);
        drop(counts);
        self.emit(StoreEvent::Inserted(delivery.id));
        Ok(true)
    }

    /// Appends an attempt (a forward, a retry or a replay) to a stored
    /// delivery and updates its summary. Durable after the next flush.
    pub fn record_attempt(&self, id: DeliveryId, attempt: &Attempt) -> Result<(), StoreError> {
        let mut counts = self.inner.counts.lock().unwrap_or_else(|p| p.into_inner());
        self.append_attempt(&mut counts, id, attempt)?;
        drop(counts);
        self.emit(StoreEvent::Attempted(id));
        Ok(())
    }

    /// The attempt, then the summary that counts it; the caller holds the
    /// write lock (`counts`) and emits the event.
    pub(super) fn append_attempt(
        &self,
        counts: &mut Counts,
        id: DeliveryId,
        attempt: &Attempt,
    ) -> Result<(), StoreError> {
        let inner = &self.inner;
        let key = id.to_bytes();
        let attempt_bytes = serde_json::to_vec(attempt).map_err(StoreError::decode("attempt"))?;
        let old: Summary = match inner.summaries.get(key)? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(StoreError::decode("summary"))?,
            None => return Err(StoreError::NotFound(id)),
        };
        let mut new = old.clone();
        new.apply_attempt(attempt);
        inner
            .attempts
            .insert(attempt_key(id, old.attempts), attempt_bytes)?;
        inner.summaries.insert(key, to_json("summary", &new)?)?;
        counts.apply(&old, false);
        counts.apply(&new, true);
        Ok(())
    }

    /// Removes a delivery with its attempts. Returns false when it was not stored.
    pub fn delete(&self, id: DeliveryId) -> Result<bool, StoreError> {
        let deleted = self.delete_quiet(id)?;
        if deleted {
            self.emit(StoreEvent::Deleted(id));
        }
        Ok(deleted)
    }

    fn delete_quiet(&self, id: DeliveryId) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let key = id.to_bytes();
        let mut counts = inner.counts.lock().unwrap_or_else(|p| p.into_inner());
        let old: Summary = match inner.summaries.remove(key)? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(StoreError::decode("summary"))?,
            None => return Ok(false),
        };
        inner.deliveries.remove(key)?;
        for entry in inner.retries.scan_prefix(key).keys() {
            inner.retries.remove(entry?)?;
        }
        for entry in inner.attempts.scan_prefix(key).keys() {
            inner.attempts.remove(entry?)?;
        }
        counts.apply(&old, false);
        Ok(true)
    }

    /// Deletes deliveries received more than `older_than` ago, and the oldest
    /// beyond the newest `keep`. Returns how many were removed.
    pub fn prune(
        &self,
        older_than: Option<Duration>,
        keep: Option<usize>,
    ) -> Result<usize, StoreError> {
        let now_ms = crate::clock::now_ms();
        let cutoff_ms = older_than.map(|age| now_ms.saturating_sub(age.as_millis() as u64));
        let total = self.counts()?.total as usize;
        let mut excess = keep.map_or(0, |k| total.saturating_sub(k));
        let mut removed = 0;
        loop {
            let mut batch = Vec::with_capacity(PRUNE_BATCH);
            // Oldest first: ids sort by arrival, so both rules stop at the first keeper.
            for entry in self.inner.summaries.iter() {
                let (_, bytes) = entry?;
                let summary: Summary =
                    serde_json::from_slice(&bytes).map_err(StoreError::decode("summary"))?;
                let too_old = cutoff_ms.is_some_and(|c| summary.received_at_ms < c);
                if excess == 0 && !too_old || batch.len() == PRUNE_BATCH {
                    break;
                }
                excess = excess.saturating_sub(1);
                batch.push(summary.id);
            }
            if batch.is_empty() {
                return Ok(removed);
            }
            for id in batch {
                removed += usize::from(self.delete(id)?);
            }
        }
    }
}
