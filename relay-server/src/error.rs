//! The relay's library error type.

use std::path::PathBuf;

use crate::queue::QueueError;

/// Everything that can stop the relay from opening, serving or closing.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(
        "no token configured: create one with `hookline-relay new-token` and pass it with --tokens-file or HOOKLINE_RELAY_TOKENS"
    )]
    NoTokens,
    #[error("invalid relay configuration: {0}")]
    Config(String),
    #[error(
        "cannot open the relay queue in {path}: {source} \
         (is another hookline-relay using this --data-dir? a corrupt store can be moved aside)"
    )]
    OpenQueue { path: PathBuf, source: QueueError },
    #[error(
        "the relay data dir {path} is writable by group or others (mode {mode:o}), so another \
         user could replace the queued deliveries: make it owner-only with `chmod 700 '{path}'` \
         or pass a --data-dir of the relay's own"
    )]
    SharedDataDir { path: PathBuf, mode: u32 },
    #[error("cannot prepare the relay data dir {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("relay queue: {0}")]
    Queue(#[from] QueueError),
    #[error("Relay::open must be called inside a Tokio runtime")]
    NoRuntime,
    #[error("cannot read {what} {path}: {source}")]
    ReadFile {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A task of the relay's panicked or was cancelled.
    #[error("a relay task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}
