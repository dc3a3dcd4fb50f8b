//! The client's delivery store: every delivery with its verdict and attempts,
//! in sled, plus summaries and counts so lists never decode bodies.
//!
//! Layout (one sled database in `<data-dir>/store`), all keys big-endian ids so
//! byte order is arrival order:
//! - `deliveries`: id → the request and its verdict (binary, raw body; see `record`)
//! - `attempts`: id + u32 sequence → one attempt (JSON)
//! - `summaries`: id → [`Summary`] (JSON), what `page` scans
//! - `meta`: schema version and the running [`Counts`]
//! - `retries`: id → the next forward retry ([`RetrySchedule`], JSON); a
//!   store from before it existed just has the tree created empty
//! - `gaps`: what the relay reported dropping ([`GapRecord`], JSON); the same
//!   holds for old stores
//!
//! sled allows one process per database: the listener owns the store and
//! serves it to other commands over [`crate::control`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

mod error;
mod gaps;
mod health;
mod migrate;
mod open;
mod query;
mod read;
mod record;
pub mod render;
mod resolve;
mod retention;
mod retries;
mod rows;
mod summary;
pub mod time;
mod write;

pub use error::StoreError;
pub use gaps::GapRecord;
pub use health::StoreHealth;
#[doc(hidden)]
pub use open::set_schema_version;
pub use query::{Filter, Glob, ListQuery, MAX_PAGE, Page};
pub use resolve::SHORT_ID_LEN;
pub use retention::{RetentionPolicy, retention_task};
pub use retries::RetrySchedule;
pub use rows::{DeliveryStatus, Summary, TargetSummary};
pub use summary::Counts;

use hookline_protocol::DeliveryId;
use serde::{Deserialize, Serialize};

/// The schema this build writes; a store with a higher one is refused, one
/// with a lower one upgraded on open (see `migrate`).
pub const SCHEMA_VERSION: u32 = 2;

/// Live changes, for the TUI and `watch` clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", content = "id", rename_all = "snake_case")]
pub enum StoreEvent {
    Inserted(DeliveryId),
    Attempted(DeliveryId),
    Deleted(DeliveryId),
    /// The reader fell behind and missed this many events: reload what you show.
    /// Never broadcast by the store itself; readers such as
    /// [`crate::control::EventStream`] report a lag with it.
    Lagged(u64),
}

/// Events buffered per subscriber before a slow one starts lagging.
const EVENT_BUFFER: usize = 1024;

/// A handle to the open store. Cheap to clone; all clones share one database.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: sled::Db,
    deliveries: sled::Tree,
    attempts: sled::Tree,
    summaries: sled::Tree,
    meta: sled::Tree,
    retries: sled::Tree,
    gaps: sled::Tree,
    /// The running counts; holding the lock is what serialises writers, so
    /// each write's check-then-insert and count update happen as one step.
    counts: Mutex<summary::Counts>,
    events: broadcast::Sender<StoreEvent>,
    dir: PathBuf,
    /// Last, so it is given up after sled's handles close.
    _open_here: open::OpenHere,
}

impl Store {
    /// Opens (creating when missing) the store in `dir`. See [`StoreError`]
    /// for the refusals: held by another process, corrupt, newer schema.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        open::open(dir)
    }

    /// The data directory this store lives in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Writes everything buffered to disk. Inserts are only durable after
    /// this; the pipeline acknowledges to the relay after a flush and batches
    /// many inserts per flush.
    ///
    /// On tokio's blocking pool rather than sled's `flush_async`: sled's own
    /// pool wakes every idle thread of it for each task it is given, which
    /// under load was a third of the client's CPU in context switches.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.inner.save_counts()?;
        let db = self.inner.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| StoreError::Io {
                path: db_path(&self.inner.dir),
                source: std::io::Error::other(e),
            })??;
        Ok(())
    }

    /// Live [`StoreEvent`]s from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<StoreEvent> {
        self.inner.events.subscribe()
    }

    fn emit(&self, event: StoreEvent) {
        // No subscribers is the normal case for commands; nothing to do.
        let _ = self.inner.events.send(event);
    }
}

impl Inner {
    fn save_counts(&self) -> Result<(), StoreError> {
        let counts = *self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = serde_json::to_vec(&counts).map_err(StoreError::decode("count"))?;
        self.meta.insert(write::COUNTS_KEY, bytes)?;
        Ok(())
    }
}

impl Drop for Inner {
    /// Commands that open the store directly never call `flush`, so the
    /// counts are saved and flushed here; then the pid file goes.
    fn drop(&mut self) {
        let saved = self
            .save_counts()
            .and_then(|()| Ok(self.db.flush().map(drop)?));
        if let Err(err) = saved {
            tracing::warn!(%err, "could not save the store's counts on close");
        }
        open::release_pid(&self.dir);
    }
}

/// Path of the sled database inside a data directory.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("store")
}

/// Path of the file naming the process that holds the store.
pub fn pid_path(data_dir: &Path) -> PathBuf {
    data_dir.join("store.pid")
}
