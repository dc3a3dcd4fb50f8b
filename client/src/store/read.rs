//! Reading the store: one record, a page of summaries, the counts.

use hookline_protocol::DeliveryId;

use super::query::{ListQuery, MAX_PAGE, Page};
use super::rows::Summary;
use super::summary::Counts;
use super::{Store, StoreError};
use crate::model::{Attempt, StoredDelivery};

impl Store {
    /// The full record: request, verdict and every attempt, oldest first.
    pub fn get(&self, id: DeliveryId) -> Result<Option<StoredDelivery>, StoreError> {
        let key = id.to_bytes();
        let Some(bytes) = self.inner.deliveries.get(key)? else {
            return Ok(None);
        };
        let (delivery, verdict) = super::record::decode(bytes)?;
        let attempts = self
            .inner
            .attempts
            .scan_prefix(key)
            .map(|entry| {
                let (_, value) = entry?;
                serde_json::from_slice::<Attempt>(&value).map_err(StoreError::decode("attempt"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(StoredDelivery {
            delivery,
            verdict,
            attempts,
        }))
    }

    /// Just the summary of one delivery (cheap: no body decoded).
    pub fn summary(&self, id: DeliveryId) -> Result<Option<Summary>, StoreError> {
        let Some(bytes) = self.inner.summaries.get(id.to_bytes())? else {
            return Ok(None);
        };
        self.read_summary(&bytes).map(Some)
    }

    /// A stored summary with its pending retry filled in.
    fn read_summary(&self, bytes: &[u8]) -> Result<Summary, StoreError> {
        let mut summary: Summary =
            serde_json::from_slice(bytes).map_err(StoreError::decode("summary"))?;
        summary.next_retry_at_ms = self.next_retry_at(summary.id)?;
        Ok(summary)
    }

    /// One page of summaries, newest first, filtered while scanning, so
    /// memory stays at one page whatever the store's size.
    pub fn page(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let limit = query.limit.clamp(1, MAX_PAGE);
        let floor = query.filter.scan_floor_ms();
        let range = match query.before {
            Some(before) => self.inner.summaries.range(..before.to_bytes()),
            None => self.inner.summaries.range::<&[u8], _>(..),
        };
        let mut items = Vec::with_capacity(limit.min(64));
        for entry in range.rev() {
            let (key, value) = entry?;
            if floor.is_some_and(|f| key_to_id(&key).is_ok_and(|id| id.unix_ms() < f)) {
                break;
            }
            let mut summary: Summary =
                serde_json::from_slice(&value).map_err(StoreError::decode("summary"))?;
            if !query.filter.matches(&summary) {
                continue;
            }
            if items.len() == limit {
                let next = items.last().map(|s: &Summary| s.id);
                return Ok(Page { items, next });
            }
            summary.next_retry_at_ms = self.next_retry_at(summary.id)?;
            items.push(summary);
        }
        Ok(Page { items, next: None })
    }

    /// Deliveries stored to be forwarded that never got an attempt, oldest
    /// first: the listener stopped between storing and forwarding them.
    pub fn awaiting_forward(&self) -> Result<Vec<DeliveryId>, StoreError> {
        let mut ids = Vec::new();
        for entry in self.inner.summaries.iter() {
            let (_, bytes) = entry?;
            let summary: Summary =
                serde_json::from_slice(&bytes).map_err(StoreError::decode("summary"))?;
            if summary.awaiting_forward {
                ids.push(summary.id);
            }
        }
        Ok(ids)
    }

    /// Totals kept up to date by every write; reading them costs one lookup.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        Ok(*self.inner.counts.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

pub(super) fn key_to_id(key: &[u8]) -> Result<DeliveryId, StoreError> {
    let bytes: [u8; 16] = key.try_into().map_err(|_| StoreError::Corrupt {
        path: std::path::PathBuf::from("summaries"),
        detail: format!("a key of {} bytes where ids have 16", key.len()),
    })?;
    Ok(DeliveryId::from_bytes(bytes))
}
