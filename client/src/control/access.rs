//! [`StoreAccess`]: the store as every command sees it, whether a listener
//! owns it (through the control socket) or not (opened directly).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use hookline_protocol::{Delivery, DeliveryId};
use tokio::sync::broadcast;

use super::client::{ControlClient, RemoteEvents};
use super::protocol::Request;
use super::socket_path;
use crate::model::{Attempt, StoredDelivery, Verdict};
use crate::store::{
    Counts, GapRecord, ListQuery, Page, RetrySchedule, Store, StoreError, StoreEvent, Summary,
};

/// The store, local or through a running listener. Methods mirror
/// [`Store`]'s and give the same answers and errors either way. Writes made
/// locally are durable after [`StoreAccess::flush`]; remote ones are flushed
/// by the listener before it answers.
#[derive(Clone, Debug)]
pub enum StoreAccess {
    Local(Store),
    Remote(ControlClient),
}

impl StoreAccess {
    /// A listener answering on `<data_dir>/control.sock` is used when there
    /// is one; otherwise the store is opened directly. A socket file nobody
    /// answers on (left by a crash) is ignored.
    pub async fn open(data_dir: &Path) -> anyhow::Result<StoreAccess> {
        let socket = socket_path(data_dir);
        if socket.exists() {
            if let Ok(client) = ControlClient::connect(&socket).await {
                return Ok(Self::Remote(client));
            }
        }
        let dir = data_dir.to_path_buf();
        let store = tokio::task::spawn_blocking(move || Store::open(&dir))
            .await
            .context("opening the store")??;
        Ok(Self::Local(store))
    }

    /// Runs blocking store work off the async threads.
    async fn blocking<T: Send + 'static>(
        store: &Store,
        work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = store.clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|e| StoreError::Remote(format!("store task failed: {e}")))?
    }

    pub async fn get(&self, id: DeliveryId) -> Result<Option<StoredDelivery>, StoreError> {
        match self {
            Self::Local(store) => Self::blocking(store, move |s| s.get(id)).await,
            Self::Remote(client) => client.call(&Request::Get { id }).await,
        }
    }

    pub async fn summary(&self, id: DeliveryId) -> Result<Option<Summary>, StoreError> {
        match self {
            Self::Local(store) => store.summary(id),
            Self::Remote(client) => client.call(&Request::Summary { id }).await,
        }
    }

    pub async fn resolve(&self, prefix: &str) -> Result<DeliveryId, StoreError> {
        match self {
            Self::Local(store) => store.resolve(prefix),
            Self::Remote(client) => {
                client
                    .call(&Request::Resolve {
                        prefix: prefix.to_owned(),
                    })
                    .await
            }
        }
    }

    pub async fn page(&self, query: &ListQuery) -> Result<Page, StoreError> {
        match self {
            Self::Local(store) => {
                let query = query.clone();
                Self::blocking(store, move |s| s.page(&query)).await
            }
            Self::Remote(client) => {
                client
                    .call(&Request::Page {
                        query: query.clone(),
                    })
                    .await
            }
        }
    }

    pub async fn counts(&self) -> Result<Counts, StoreError> {
        match self {
            Self::Local(store) => store.counts(),
            Self::Remote(client) => client.call(&Request::Counts).await,
        }
    }

    /// Gaps not yet dismissed.
    pub async fn open_gaps(&self) -> Result<Vec<GapRecord>, StoreError> {
        match self {
            Self::Local(store) => store.open_gaps(),
            Self::Remote(client) => client.call(&Request::Gaps).await,
        }
    }

    /// Dismisses the gaps shown; durable before it returns.
    pub async fn dismiss_gaps(&self, at_ms: u64) -> Result<usize, StoreError> {
        match self {
            Self::Local(store) => {
                let n = store.dismiss_gaps(at_ms)?;
                store.flush().await?;
                Ok(n)
            }
            Self::Remote(client) => client.call(&Request::DismissGaps { at_ms }).await,
        }
    }

    pub async fn record_attempt(
        &self,
        id: DeliveryId,
        attempt: &Attempt,
    ) -> Result<(), StoreError> {
        match self {
            Self::Local(store) => store.record_attempt(id, attempt),
            Self::Remote(client) => {
                client
                    .call(&Request::RecordAttempt {
                        id,
                        attempt: attempt.clone(),
                    })
                    .await
            }
        }
    }

    /// Stores a new delivery; false when its id is already stored.
    pub async fn insert(&self, delivery: &Delivery, verdict: &Verdict) -> Result<bool, StoreError> {
        match self {
            Self::Local(store) => store.insert(delivery, verdict),
            Self::Remote(client) => {
                let request = Request::Insert {
                    delivery: delivery.clone(),
                    verdict: verdict.clone(),
                    attempts: Vec::new(),
                };
                client.call(&request).await
            }
        }
    }

    /// Stores a whole record with its attempts (import); false when the id
    /// is already stored.
    pub async fn import(&self, stored: &StoredDelivery) -> Result<bool, StoreError> {
        match self {
            Self::Local(store) => store.insert_stored(stored),
            Self::Remote(client) => client.call(&Request::import(stored)).await,
        }
    }

    pub async fn delete(&self, id: DeliveryId) -> Result<bool, StoreError> {
        match self {
            Self::Local(store) => store.delete(id),
            Self::Remote(client) => client.call(&Request::Delete { id }).await,
        }
    }

    pub async fn prune(
        &self,
        older_than: Option<Duration>,
        keep: Option<usize>,
    ) -> Result<usize, StoreError> {
        match self {
            Self::Local(store) => Self::blocking(store, move |s| s.prune(older_than, keep)).await,
            Self::Remote(client) => {
                let request = Request::Prune {
                    older_than_secs: older_than.map(|d| d.as_secs()),
                    keep,
                };
                client.call(&request).await
            }
        }
    }

    /// The delivery's forward retry schedule, pending or superseded.
    pub async fn retry_schedule(
        &self,
        id: DeliveryId,
    ) -> Result<Option<RetrySchedule>, StoreError> {
        match self {
            Self::Local(store) => store.retry_schedule(id),
            Self::Remote(client) => client.call(&Request::RetrySchedule { id }).await,
        }
    }

    /// Cancels the pending retry of `id` (a replay is about to go), and
    /// returns it. Through a listener, its scheduler finds the retry
    /// cancelled when it comes due and sends nothing.
    pub async fn supersede_retry(
        &self,
        id: DeliveryId,
    ) -> Result<Option<RetrySchedule>, StoreError> {
        let at_ms = crate::clock::now_ms();
        match self {
            Self::Local(store) => {
                let cancelled = store.supersede_retry(id, at_ms)?;
                if cancelled.is_some() {
                    store.flush().await?;
                }
                Ok(cancelled)
            }
            Self::Remote(client) => client.call(&Request::SupersedeRetry { id, at_ms }).await,
        }
    }

    /// Makes local writes durable; remote writes already are.
    pub async fn flush(&self) -> Result<(), StoreError> {
        match self {
            Self::Local(store) => store.flush().await,
            Self::Remote(_) => Ok(()),
        }
    }

    /// Live changes from now on.
    pub async fn events(&self) -> Result<EventStream, StoreError> {
        match self {
            Self::Local(store) => Ok(EventStream::Local(store.subscribe())),
            Self::Remote(client) => Ok(EventStream::Remote(client.watch().await?)),
        }
    }

    /// Who owns the store: `None` when this process opened it.
    pub fn listener_pid(&self) -> Option<u32> {
        match self {
            Self::Local(_) => None,
            Self::Remote(client) => Some(client.hello().pid),
        }
    }
}

/// Store events from either source.
#[derive(Debug)]
pub enum EventStream {
    Local(broadcast::Receiver<StoreEvent>),
    Remote(RemoteEvents),
}

impl EventStream {
    /// The next event, [`StoreEvent::Lagged`] when some were missed, `None`
    /// once the source has gone (store dropped, listener stopped).
    pub async fn next(&mut self) -> Option<StoreEvent> {
        match self {
            Self::Local(rx) => match rx.recv().await {
                Ok(event) => Some(event),
                Err(broadcast::error::RecvError::Lagged(n)) => Some(StoreEvent::Lagged(n)),
                Err(broadcast::error::RecvError::Closed) => None,
            },
            Self::Remote(events) => events.next().await,
        }
    }
}
