//! hookline: the client half of the webhook tunnel.
//!
//! A delivery's path through this crate follows the file names:
//! `connection` (the WebSocket to the relay) → `verify` (signature) →
//! `store` (sled, flushed before the relay is told) → `forward` (the local app).
//! `replay`, `export` and `tui` read the store and send again. The records
//! they share (a stored delivery, its verdict, its attempts) are in `model`,
//! which depends on none of them; `cli` is the top, and nothing imports it.
//!
//! Public: what the binary, the TUI and the integration tests reach; the
//! rest is the crate's own.

#![forbid(unsafe_code)]

pub mod cli;
pub mod clock;
pub mod connection;
pub mod control;
mod data_dir;
pub mod dev_secret;
pub mod diff;
mod editor;
mod escape;
mod export;
mod fixtures;
pub mod forward;
pub mod last_listen;
pub mod listen;
mod logging;
pub mod model;
mod replay;
pub mod retry;
pub mod samples;
mod signal;
pub mod store;
pub mod tui;
pub mod verify;
