//! hookline: the client half of the webhook tunnel.
//!
//! A delivery's path through this crate follows the file names:
//! `connection` (the WebSocket to the relay) → `verify` (signature) →
//! `store` (sled, flushed before the relay is told) → `forward` (the local app).
//! `replay`, `export` and `tui` read the store and send again.

#![forbid(unsafe_code)]

pub mod cli;
pub mod clock;
pub mod connection;
pub mod control;
pub mod data_dir;
pub mod dev_secret;
pub mod diff;
pub mod editor;
pub mod escape;
pub mod export;
pub mod fixtures;
pub mod forward;
pub mod last_listen;
pub mod listen;
pub mod logging;
pub mod model;
pub mod replay;
pub mod retry;
pub mod samples;
pub mod signal;
pub mod store;
pub mod tui;
pub mod verify;
