//! Who holds each channel's session, across relays: a key-value bucket
//! (`hookline-presence`, entries expiring after [`PRESENCE_TTL`]) with one
//! key per channel whose value is the holding relay's id. A new session
//! claims the key (the newest session wins, as on one relay); the holder
//! refreshes it by compare-and-set on the revision it last wrote, and a
//! failed set means another relay took the channel over.

use std::time::Duration;

use async_nats::jetstream::{Context, kv, stream};
use bytes::Bytes;
use hookline_protocol::ChannelId;

/// The presence bucket.
pub const BUCKET: &str = "hookline-presence";

/// A relay that dies stops refreshing; its claim is gone this long after.
pub const PRESENCE_TTL: Duration = Duration::from_secs(4);

/// How often the holder refreshes its claim (and notices a takeover).
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// Opens the presence bucket: in memory, each claim gone [`PRESENCE_TTL`]
/// after its last refresh.
pub(crate) async fn bucket(js: &Context, replicas: usize) -> Result<kv::Store, String> {
    super::buckets::Bucket {
        name: BUCKET,
        replicas,
        storage: stream::StorageType::Memory,
        ttl: Some(PRESENCE_TTL),
    }
    .open(js)
    .await
}

/// This relay's claim on one channel.
#[derive(Debug)]
pub(crate) struct Claim {
    store: kv::Store,
    key: String,
    me: Bytes,
    revision: Option<u64>,
}

/// What a refresh found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refreshed {
    Held,
    TakenOver,
    /// NATS could not be asked; the session stays (it is still connected).
    Unknown,
}

impl Claim {
    pub(crate) fn new(store: kv::Store, channel: &ChannelId, relay_id: &str) -> Self {
        Self {
            store,
            key: channel.to_string(),
            me: Bytes::copy_from_slice(relay_id.as_bytes()),
            revision: None,
        }
    }

    /// Takes the channel: any other relay's session ends at its next refresh.
    pub(crate) async fn take(&mut self) -> Result<(), String> {
        let revision = self
            .store
            .put(&self.key, self.me.clone())
            .await
            .map_err(|e| e.to_string())?;
        self.revision = Some(revision);
        Ok(())
    }

    pub(crate) async fn refresh(&mut self) -> Refreshed {
        let Some(revision) = self.revision else {
            return match self.take().await {
                Ok(()) => Refreshed::Held,
                Err(_) => Refreshed::Unknown,
            };
        };
        match self
            .store
            .update(&self.key, self.me.clone(), revision)
            .await
        {
            Ok(revision) => {
                self.revision = Some(revision);
                Refreshed::Held
            }
            Err(_) => match self.store.entry(&self.key).await {
                Ok(Some(entry))
                    if entry.operation == kv::Operation::Put && entry.value != self.me =>
                {
                    Refreshed::TakenOver
                }
                // Expired or deleted (NATS restarted, or a long stall): claim again.
                Ok(_) => match self.take().await {
                    Ok(()) => Refreshed::Held,
                    Err(_) => Refreshed::Unknown,
                },
                Err(_) => Refreshed::Unknown,
            },
        }
    }

    /// Gives the channel up, unless another relay holds it by now.
    pub(crate) async fn release(&self) {
        if let Some(revision) = self.revision {
            let _ = self
                .store
                .delete_expect_revision(&self.key, Some(revision))
                .await;
        }
    }
}

/// The relay holding `channel`'s session, if any relay does.
pub(crate) async fn holder(
    store: &kv::Store,
    channel: &ChannelId,
) -> Result<Option<Bytes>, String> {
    match store.entry(channel.to_string()).await {
        Ok(Some(entry)) if entry.operation == kv::Operation::Put => Ok(Some(entry.value)),
        Ok(_) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}
