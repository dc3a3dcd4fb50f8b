//! Every change to the store, each one sled transaction over the record,
//! its summary, its attempts and the counts, so a crash never leaves them
//! disagreeing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hookline_protocol::{Delivery, DeliveryId};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use super::model::{Attempt, StoredDelivery, Summary};
use super::summary::Counts;
use super::{Store, StoreError, StoreEvent};
use crate::verify::Verdict;

pub(super) const COUNTS_KEY: &[u8] = b"counts";

/// How many deliveries one prune transaction removes; keeps each short.
const PRUNE_BATCH: usize = 256;

/// What the `deliveries` tree holds: the request and its verdict. Attempts
/// live in their own tree so appending one never rewrites the body.
#[derive(Serialize, Deserialize)]
pub(super) struct Record<T> {
    pub delivery: T,
    pub verdict: Verdict,
}

type Tx = ConflictableTransactionError<StoreError>;

fn abort(e: StoreError) -> Tx {
    ConflictableTransactionError::Abort(e)
}

fn to_json<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, Tx> {
    serde_json::to_vec(value).map_err(|e| abort(StoreError::decode(what)(e)))
}

fn from_json<T: for<'de> Deserialize<'de>>(what: &'static str, bytes: &[u8]) -> Result<T, Tx> {
    serde_json::from_slice(bytes).map_err(|e| abort(StoreError::decode(what)(e)))
}

fn unwrap_tx<T>(result: Result<T, TransactionError<StoreError>>) -> Result<T, StoreError> {
    result.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Sled(e),
    })
}

pub(super) fn attempt_key(id: DeliveryId, seq: u32) -> [u8; 20] {
    let mut key = [0u8; 20];
    key[..16].copy_from_slice(&id.to_bytes());
    key[16..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn update_counts(
    meta: &TransactionalTree,
    old: Option<&Summary>,
    new: Option<&Summary>,
) -> Result<(), Tx> {
    let mut counts: Counts = match meta.get(COUNTS_KEY)? {
        Some(bytes) => from_json("count", &bytes)?,
        None => Counts::default(),
    };
    if let Some(old) = old {
        counts.apply(old, false);
    }
    if let Some(new) = new {
        counts.apply(new, true);
    }
    meta.insert(COUNTS_KEY, to_json("count", &counts)?)?;
    Ok(())
}

impl Store {
    /// Stores a new delivery. Returns false, changing nothing, when its id is
    /// already stored: the relay re-sends what was not acknowledged, so
    /// duplicates are normal. Durable only after [`Store::flush`].
    pub fn insert(&self, delivery: &Delivery, verdict: &Verdict) -> Result<bool, StoreError> {
        self.insert_with_attempts(delivery, verdict, &[])
    }

    /// Stores a whole record, attempts included (what `import` needs).
    /// Returns false when the id is already stored.
    pub fn insert_stored(&self, stored: &StoredDelivery) -> Result<bool, StoreError> {
        self.insert_with_attempts(&stored.delivery, &stored.verdict, &stored.attempts)
    }

    fn insert_with_attempts(
        &self,
        delivery: &Delivery,
        verdict: &Verdict,
        attempts: &[Attempt],
    ) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let key = delivery.id.to_bytes();
        let record = serde_json::to_vec(&Record {
            delivery,
            verdict: verdict.clone(),
        })
        .map_err(StoreError::decode("delivery"))?;
        let mut summary = Summary::new(delivery, verdict);
        attempts.iter().for_each(|a| summary.apply_attempt(a));
        let summary_bytes = serde_json::to_vec(&summary).map_err(StoreError::decode("summary"))?;
        let _guard = inner.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let trees = (
            &inner.deliveries,
            &inner.summaries,
            &inner.attempts,
            &inner.meta,
        );
        let inserted = unwrap_tx(trees.transaction(|(d, s, a, m)| {
            if d.get(key)?.is_some() {
                return Ok(false);
            }
            d.insert(&key, record.as_slice())?;
            s.insert(&key, summary_bytes.as_slice())?;
            for (seq, attempt) in attempts.iter().enumerate() {
                a.insert(
                    &attempt_key(delivery.id, seq as u32),
                    to_json("attempt", attempt)?,
                )?;
            }
            update_counts(m, None, Some(&summary))?;
            Ok(true)
        }))?;
        if inserted {
            self.emit(StoreEvent::Inserted(delivery.id));
        }
        Ok(inserted)
    }

    /// Appends an attempt (a forward, a retry or a replay) to a stored
    /// delivery and updates its summary. Durable after the next flush.
    pub fn record_attempt(&self, id: DeliveryId, attempt: &Attempt) -> Result<(), StoreError> {
        let inner = &self.inner;
        let key = id.to_bytes();
        let attempt_bytes = serde_json::to_vec(attempt).map_err(StoreError::decode("attempt"))?;
        let _guard = inner.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let trees = (&inner.summaries, &inner.attempts, &inner.meta);
        unwrap_tx(trees.transaction(|(s, a, m)| {
            let old: Summary = match s.get(key)? {
                Some(bytes) => from_json("summary", &bytes)?,
                None => return Err(abort(StoreError::NotFound(id))),
            };
            let mut new = old.clone();
            new.apply_attempt(attempt);
            a.insert(&attempt_key(id, old.attempts), attempt_bytes.as_slice())?;
            s.insert(&key, to_json("summary", &new)?)?;
            update_counts(m, Some(&old), Some(&new))?;
            Ok(())
        }))?;
        self.emit(StoreEvent::Attempted(id));
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
        let _guard = inner.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let trees = (
            &inner.deliveries,
            &inner.summaries,
            &inner.attempts,
            &inner.meta,
        );
        unwrap_tx(trees.transaction(|(d, s, a, m)| {
            let old: Summary = match s.remove(&key)? {
                Some(bytes) => from_json("summary", &bytes)?,
                None => return Ok(false),
            };
            d.remove(&key)?;
            // Attempts are numbered 0..attempts, so no range scan is needed
            // (sled transactions cannot scan).
            for seq in 0..old.attempts {
                a.remove(&attempt_key(id, seq))?;
            }
            update_counts(m, Some(&old), None)?;
            Ok(true)
        }))
    }

    /// Deletes deliveries received more than `older_than` ago, and the oldest
    /// beyond the newest `keep`. Returns how many were removed.
    pub fn prune(
        &self,
        older_than: Option<Duration>,
        keep: Option<usize>,
    ) -> Result<usize, StoreError> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
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
