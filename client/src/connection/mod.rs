//! The WebSocket to the relay: handshake, one session at a time, and
//! reconnection with backoff when it drops.

mod backoff;
mod handshake;
mod live;
mod relay_url;
mod resume;
mod rotation;
mod session;
mod supervisor;

pub use backoff::Backoff;
pub use handshake::{ConnectError, RelayEndpoint, Welcome, dead_peer_after, open, socket_config};
pub use live::{LinkStatus, LiveLink};
pub use relay_url::{RelayUrlError, relay_ws_url};
pub use resume::{BootClock, SleepDetector, SystemClocks};
pub use session::{FromRelay, GapNotice, Incoming, Refusal, SessionEnd};
pub use supervisor::{ConnectionState, Stopped, run};

use hookline_protocol::Frame;
use tokio_tungstenite::tungstenite::Message;

/// The WebSocket message that carries a protocol frame.
pub(crate) fn message(frame: Frame) -> Message {
    match frame {
        Frame::Text(text) => Message::text(text),
        Frame::Binary(bytes) => Message::binary(bytes),
    }
}
