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

    #[error(
        "no delivery matches id {prefix:?}; `hookline list` shows the stored ones (ID and SHORT columns)"
    )]
    Unknown { prefix: String },

    /// `candidates` holds at most `MAX_CANDIDATES + 1` ids, newest first;
    /// one more than listed means there are more still.
    #[error(
        "{prefix:?} matches {} deliveries: {}; type more of the id's start, or its end as `hookline list` shows it (SHORT column)",
        count(candidates),
        list_ids(candidates)
    )]
    Ambiguous {
        prefix: String,
        candidates: Vec<DeliveryId>,
    },

    #[error(
        "{prefix:?} is not a delivery id: give `latest` (or `latest~N`, N deliveries before it), or the start or the end of an id as `hookline list` shows them (0-9 and A-Z without I, L, O, U)"
    )]
    InvalidPrefix { prefix: String },

    #[error(
        "{given:?} goes back further than the {stored} deliveries stored (`latest~{}` is the oldest)",
        stored.saturating_sub(1)
    )]
    TooFarBack { given: String, stored: u64 },

    #[error("delivery {0} is not in the store")]
    NotFound(DeliveryId),

    /// Reported by a listener's control endpoint, or the endpoint could not be reached.
    #[error("{0}")]
    Remote(String),
}

fn list_ids(ids: &[DeliveryId]) -> String {
    let mut shown: Vec<String> = ids
        .iter()
        .take(super::resolve::MAX_CANDIDATES)
        .map(ToString::to_string)
        .collect();
    if ids.len() > super::resolve::MAX_CANDIDATES {
        shown.push("…".to_owned());
    }
    shown.join(", ")
}

fn count(ids: &[DeliveryId]) -> String {
    if ids.len() > super::resolve::MAX_CANDIDATES {
        format!("more than {}", super::resolve::MAX_CANDIDATES)
    } else {
        ids.len().to_string()
    }
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
