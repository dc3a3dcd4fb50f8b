//! The WebSocket to the relay: handshake, one session at a time, and
//! reconnection with backoff when it drops.

mod backoff;
mod handshake;
mod session;
mod supervisor;

pub use backoff::Backoff;
pub use handshake::{ConnectError, RelayEndpoint, Welcome, open, socket_config};
pub use session::{Incoming, SessionEnd};
pub use supervisor::{ConnectionState, Stopped, run};
