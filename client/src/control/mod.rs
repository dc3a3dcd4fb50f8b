//! The local control endpoint: while `hookline listen` owns the store (sled
//! allows one process), other commands and the TUI reach it through a Unix
//! socket in the data directory.
//!
//! Protocol: newline-delimited JSON over `<data-dir>/control.sock`, one
//! request per line, one answer per line, in order. A request is an object
//! tagged by `op` (see [`Request`]); the answer is `{"ok": value}` or
//! `{"error": {"kind", "message", "candidates"?}}`. `{"op":"watch"}` turns the
//! connection into a stream of [`crate::store::StoreEvent`] lines.
//!
//! Bounds ([`ControlLimits`]): request lines are held to
//! [`MAX_REQUEST_BYTES`] except `insert` and `record_attempt`, which carry a
//! body and may reach [`MAX_LINE_BYTES`] (as may answers); an over-long line
//! is answered `too_long` and the connection closed. A connection with no
//! complete request for `idle_timeout` is answered `closed` and closed (the
//! client reconnects), and when all places are taken a newcomer takes the
//! place of the connection idle the longest.

use std::path::{Path, PathBuf};

mod access;
mod client;
mod limits;
mod protocol;
mod server;
mod slots;

pub use access::{EventStream, StoreAccess};
pub use client::ControlClient;
pub use limits::{ControlLimits, MAX_REQUEST_BYTES};
pub use protocol::{ErrorKind, ErrorReply, Hello, MAX_LINE_BYTES, PipeStatus, Request};
pub use server::{ControlSocket, serve_control, serve_control_with};

/// Where the listener serves the control endpoint.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control.sock")
}

/// The control endpoint could not be served or reached.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control socket {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("another hookline process already answers on {}; stop it first", path.display())]
    InUse { path: PathBuf },
    #[error("control socket {}: {detail}", path.display())]
    Protocol { path: PathBuf, detail: String },
}
