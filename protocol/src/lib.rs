//! The hookline wire protocol: what the relay and the client say to each other
//! over the WebSocket, and the delivery they pass along.
//!
//! Every frame is one JSON object in a text frame. Bodies are bytes, carried as
//! base64, because signatures are computed over the exact bytes the sender sent.
//! The version is checked once, in the handshake ([`ClientMessage::Hello`] /
//! [`RelayMessage::Welcome`]); nothing after that is versioned.

#![forbid(unsafe_code)]

mod channel;
mod delivery;
mod duration;
pub mod encoding;
mod id;
pub mod limits;
mod message;
mod secret;

pub use channel::{ChannelId, DEFAULT_CHANNEL_NAME};
pub use delivery::{Delivery, Header, body_sha256_hex, header_values};
pub use duration::parse_duration;
pub use id::DeliveryId;
pub use message::{ClientMessage, GoodbyeReason, ProtocolError, RelayMessage, check_version};
pub use secret::Secret;

/// The protocol version this build speaks. Bumped on any incompatible change to
/// the messages below; both ends must speak the same one.
pub const PROTOCOL_VERSION: u32 = 1;
