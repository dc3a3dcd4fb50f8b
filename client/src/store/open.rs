//! Opening the store: sled's lock turned into "held by pid N", corruption
//! turned into an error instead of a panic, the schema version checked.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::rows::Summary;
use super::summary::Counts;
use super::write::{CLEAN_KEY, COUNTS_KEY};
use super::{EVENT_BUFFER, Inner, SCHEMA_VERSION, Store, StoreError, db_path, pid_path};

const SCHEMA_KEY: &[u8] = b"schema_version";

/// Bounds sled's page cache; its 1 GiB default is far more than a
/// developer's delivery history needs.
const CACHE_BYTES: u64 = 128 * 1024 * 1024;

pub(super) fn open(dir: &Path) -> Result<Store, StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    let db = open_db(dir)?;
    let tree = |name: &str| db.open_tree(name).map_err(|e| classify(dir, e));
    let (deliveries, attempts, summaries, meta, retries) = (
        tree("deliveries")?,
        tree("attempts")?,
        tree("summaries")?,
        tree("meta")?,
        tree("retries")?,
    );
    let gaps = tree("gaps")?;
    let found = check_schema(dir, &meta)?;
    let trees = super::migrate::Trees {
        deliveries: &deliveries,
    };
    super::migrate::migrate(dir, found, &trees, |version| {
        meta.insert(SCHEMA_KEY, &version.to_be_bytes())?;
        db.flush()?;
        Ok(())
    })?;
    let counts = load_counts(&meta, &summaries)?;
    write_pid(dir);
    let (events, _) = broadcast::channel(EVENT_BUFFER);
    let inner = Inner {
        db,
        deliveries,
        attempts,
        summaries,
        meta,
        retries,
        gaps,
        counts: Mutex::new(counts),
        events,
        dir: dir.to_path_buf(),
        _open_here: OpenHere::register(dir),
    };
    Ok(Store {
        inner: Arc::new(inner),
    })
}

/// The counts saved at the last clean close; after a crash (or with none
/// saved) they are counted again from the summaries, since writes made
/// durable after the last save would otherwise go uncounted for good.
fn load_counts(meta: &sled::Tree, summaries: &sled::Tree) -> Result<Counts, StoreError> {
    let saved = match meta.get(COUNTS_KEY)? {
        Some(bytes) if meta.get(CLEAN_KEY)?.as_deref() == Some(b"1") => {
            Some(serde_json::from_slice(&bytes).map_err(StoreError::decode("count"))?)
        }
        _ => None,
    };
    let counts = match saved {
        Some(counts) => counts,
        None => recount(summaries)?,
    };
    meta.insert(CLEAN_KEY, b"0")?;
    Ok(counts)
}

fn recount(summaries: &sled::Tree) -> Result<Counts, StoreError> {
    let mut counts = Counts::default();
    for entry in summaries.iter() {
        let (_, bytes) = entry?;
        let summary: Summary =
            serde_json::from_slice(&bytes).map_err(StoreError::decode("summary"))?;
        counts.apply(&summary, true);
    }
    Ok(counts)
}

/// sled may panic on some damaged files instead of returning an error; a
/// damaged store must never take the process down, so the panic is caught.
fn open_db(dir: &Path) -> Result<sled::Db, StoreError> {
    let path = db_path(dir);
    let config = sled::Config::new().path(&path).cache_capacity(CACHE_BYTES);
    // A store this process holds open is refused at once, as is one whose
    // pid file names another process. One this process closed moments ago
    // may stay locked until sled's threads let go of it: wait for that.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    let mut opened = catch_unwind(AssertUnwindSafe(|| config.open()));
    let lingering =
        !OpenHere::is_open(dir) && read_pid(dir).is_none_or(|pid| pid == std::process::id());
    while lingering
        && matches!(&opened, Ok(Err(sled::Error::Io(e))) if e.to_string().contains("could not acquire lock"))
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(25));
        opened = catch_unwind(AssertUnwindSafe(|| config.open()));
    }
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(classify(dir, e)),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "the database engine gave up reading it".to_owned());
            Err(StoreError::Corrupt { path, detail })
        }
    }
}

/// The data dirs whose store this process has open, so an open that finds
/// one locked knows whether to wait (closed moments ago) or refuse (in use).
static OPEN_HERE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// This process's claim on a data dir, held by the open store and given up
/// when it is dropped (after sled's own handles, being declared last).
#[derive(Debug)]
pub(super) struct OpenHere(PathBuf);

impl OpenHere {
    fn key(dir: &Path) -> PathBuf {
        std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
    }

    fn open() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
        OPEN_HERE.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn register(dir: &Path) -> Self {
        let key = Self::key(dir);
        Self::open().push(key.clone());
        Self(key)
    }

    fn is_open(dir: &Path) -> bool {
        Self::open().contains(&Self::key(dir))
    }
}

impl Drop for OpenHere {
    fn drop(&mut self) {
        let mut open = Self::open();
        if let Some(at) = open.iter().position(|dir| *dir == self.0) {
            open.swap_remove(at);
        }
    }
}

/// sled reports a held lock as a plain I/O error with this wording.
fn classify(dir: &Path, err: sled::Error) -> StoreError {
    let path = db_path(dir);
    match err {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            StoreError::Locked {
                path,
                pid: read_pid(dir),
            }
        }
        sled::Error::Io(io) => StoreError::Io { path, source: io },
        sled::Error::Corruption { at, .. } => StoreError::Corrupt {
            path,
            detail: format!("damaged data at {at:?}"),
        },
        sled::Error::ReportableBug(detail) | sled::Error::Unsupported(detail) => {
            StoreError::Corrupt { path, detail }
        }
        other => StoreError::Sled(other),
    }
}

/// The store's schema version; a new store gets this build's.
fn check_schema(dir: &Path, meta: &sled::Tree) -> Result<u32, StoreError> {
    let found = match meta.get(SCHEMA_KEY).map_err(|e| classify(dir, e))? {
        None => {
            meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
            return Ok(SCHEMA_VERSION);
        }
        Some(bytes) => <[u8; 4]>::try_from(bytes.as_ref())
            .map(u32::from_be_bytes)
            .map_err(|_| StoreError::Corrupt {
                path: db_path(dir),
                detail: "unreadable schema version".to_owned(),
            })?,
    };
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: db_path(dir),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

/// Overwrites the schema version; tests use it to stand in for a future build.
#[doc(hidden)]
pub fn set_schema_version(store: &Store, version: u32) -> Result<(), StoreError> {
    store
        .inner
        .meta
        .insert(SCHEMA_KEY, &version.to_be_bytes())?;
    Ok(())
}

/// The pid file only names the holder for the error message; sled's own file
/// lock is what actually excludes other processes. Failing to write it costs
/// nothing but a less helpful message, so errors are ignored.
fn write_pid(dir: &Path) {
    let _ = std::fs::write(pid_path(dir), format!("{}\n", std::process::id()));
}

fn read_pid(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(pid_path(dir))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Removes the pid file if this process wrote it.
pub(super) fn release_pid(dir: &Path) {
    if read_pid(dir) == Some(std::process::id()) {
        let _ = std::fs::remove_file(pid_path(dir));
    }
}
