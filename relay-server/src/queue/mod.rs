//! The durable per-channel queue, behind a small trait so that the sled store
//! and a shared one (NATS JetStream, for several relays) can be swapped.

mod migrate;
mod sled_gaps;
mod sled_queue;

use bytes::Bytes;
use hookline_protocol::{ChannelId, DeliveryId};

pub use sled_queue::SledQueue;

use crate::QueueLimits;

/// Called by a shared queue when entries for a followed channel arrive.
pub type Waker = std::sync::Arc<dyn Fn() + Send + Sync>;

/// One queued delivery. `seq` orders a channel's queue by arrival; `frame` is
/// the delivery exactly as it goes on the wire.
#[derive(Debug, Clone)]
pub struct Queued {
    pub seq: u64,
    pub id: DeliveryId,
    pub frame: Bytes,
}

/// Size of one channel's queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub count: u64,
    pub bytes: u64,
}

/// Deliveries of one channel the queue accepted and then dropped before its
/// client stored them: `count` of them, numbered `first_seq..=last_seq`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Gap {
    pub first_seq: u64,
    pub last_seq: u64,
    pub count: u64,
    /// `age`: older than the queue's age limit.
    pub reason: String,
}

/// Why a delivery could not be queued or the queue not used.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("channel queue is full: {count} deliveries (limit {limit})")]
    FullCount { count: u64, limit: u64 },
    #[error(
        "channel queue is full: {bytes} bytes queued, {incoming} more would pass the {limit}-byte limit"
    )]
    FullBytes {
        bytes: u64,
        incoming: u64,
        limit: u64,
    },
    /// The disk store failed.
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    /// A stored record cannot be read back.
    #[error("unreadable queue record: {0}")]
    Corrupt(String),
    #[error(
        "the queue was written by a newer hookline-relay (format {found}, this build reads up \
         to {supported}); run that release, or move the data dir aside"
    )]
    NewerFormat { found: u8, supported: u8 },
    /// The relay is shutting down, or the task writing the queue stopped.
    #[error("the relay is closing")]
    Closing,
    /// A flush several writers shared failed: each of them gets its error.
    #[error("{0}")]
    Flush(std::sync::Arc<QueueError>),
    /// The shared store (NATS) cannot be reached now; senders should retry.
    #[error("the shared queue is unavailable: {0}")]
    Unavailable(String),
}

impl QueueError {
    /// True when retrying later can work: the shared store is out of reach,
    /// not the disk failing.
    pub fn is_unavailable(&self) -> bool {
        match self {
            QueueError::Unavailable(_) => true,
            QueueError::Flush(inner) => inner.is_unavailable(),
            _ => false,
        }
    }
}

/// A channel queue. Methods are synchronous and quick (no fsync) except
/// [`flush`](ChannelQueue::flush) and [`maintain`](ChannelQueue::maintain),
/// which callers run off the async threads.
///
/// Pushes to one channel are serialised so that sequence numbers become
/// visible in order: a reader following a channel with `read_after` never
/// skips an entry that lands later with a smaller number.
pub trait ChannelQueue: Send + Sync + std::fmt::Debug + 'static {
    /// Appends a delivery, enforcing the count and byte limits. Returns its seq.
    fn push(
        &self,
        channel: &ChannelId,
        id: DeliveryId,
        frame: Bytes,
        limits: &QueueLimits,
    ) -> Result<u64, QueueError>;

    /// Up to `max` entries of `channel` with a seq above `after` (all, if `None`), in order.
    fn read_after(
        &self,
        channel: &ChannelId,
        after: Option<u64>,
        max: usize,
    ) -> Result<Vec<Queued>, QueueError>;

    /// Removes one entry; false when it was not there (already removed, or not this channel's).
    fn remove(&self, channel: &ChannelId, seq: u64, id: DeliveryId) -> Result<bool, QueueError>;

    /// Removes every entry whose id is older than `cutoff_ms` and returns them.
    /// What it removes is also recorded, durably, as a [`Gap`] of its channel.
    fn expire(&self, cutoff_ms: u64) -> Result<Vec<(ChannelId, DeliveryId)>, QueueError>;

    /// The channel's gaps its client has not yet recorded, oldest first.
    fn gaps(&self, channel: &ChannelId) -> Result<Vec<Gap>, QueueError>;

    /// Forgets the gap `first_seq..=last_seq` once the client recorded it;
    /// false when no gap has exactly that range (already forgotten, or since widened).
    fn forget_gap(
        &self,
        channel: &ChannelId,
        first_seq: u64,
        last_seq: u64,
    ) -> Result<bool, QueueError>;

    fn stats(&self, channel: &ChannelId) -> QueueStats;

    /// All channels together.
    fn totals(&self) -> QueueStats;

    /// Periodic upkeep, called every few tens of milliseconds (the sled queue
    /// writes its staged deliveries here). Blocking.
    fn maintain(&self) -> Result<(), QueueError>;

    /// Makes every earlier push and remove durable. Blocking.
    fn flush(&self) -> Result<(), QueueError>;

    /// A session on this relay starts reading `channel`; a shared queue
    /// starts taking its deliveries and calls `wake` when some arrive, and
    /// `taken_over` when a session on another relay took the channel. The
    /// single-process queue needs neither.
    fn follow(&self, _channel: &ChannelId, _session: u64, _wake: Waker, _taken_over: Waker) {}

    /// `session` stopped reading `channel` (ignored when a newer one follows).
    fn unfollow(&self, _channel: &ChannelId, _session: u64) {}
}
