//! Everything that can go wrong with the delivery store, each case worded for
//! the developer who has to act on it.

use std::io;
use std::path::PathBuf;

use hookline_protocol::DeliveryId;

/// A store failure. The messages are shown as-is on the command line, so each
/// says what was wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot use the store at {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },

    #[error(
        "the store at {} is in use by another hookline process{}: stop `hookline listen`{} or use the commands while it runs — they go through its control socket",
        path.display(),
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Locked { path: PathBuf, pid: Option<u32> },

    #[error(
        "the store at {} is corrupt ({detail}); move it aside (or delete it) and start again — hookline will create a fresh one",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },

    #[error(
        "the store at {} was written by a newer hookline (schema version {found}, this build reads up to {supported}); upgrade hookline",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    #[error("store error: {0}")]
    Sled(#[from] sled::Error),

    #[error("a stored {what} cannot be read ({source}); the store may be corrupt")]
    Decode {
        what: &'static str,
        source: serde_json::Error,
    },

    #[error("no delivery matches id {prefix:?}; `hookline list` shows the stored ones")]
    Unknown { prefix: String },

    #[error("id prefix {prefix:?} matches {} deliveries ({}); type more characters", candidates.len(), list_ids(candidates))]
    Ambiguous {
        prefix: String,
        candidates: Vec<DeliveryId>,
    },

    #[error(
        "{prefix:?} is not a delivery id or prefix: ids are up to 26 characters of 0-9 and A-Z (no I, L, O, U), starting with 0-7"
    )]
    InvalidPrefix { prefix: String },

    #[error("delivery {0} is not in the store")]
    NotFound(DeliveryId),

    /// Reported by a listener's control endpoint, or the endpoint could not be reached.
    #[error("{0}")]
    Remote(String),
}

fn list_ids(ids: &[DeliveryId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn decode(what: &'static str) -> impl FnOnce(serde_json::Error) -> Self {
        move |source| Self::Decode { what, source }
    }
}
