//! The hookline wire protocol: what the relay and the client say to each other
//! over the WebSocket, and the delivery they pass along.
//!
//! Control messages are JSON text frames; deliveries and responses are binary
//! frames, a JSON metadata header then the raw body ([`frame`]), because
//! signatures are computed over the exact bytes the sender sent and bodies
//! reach 32 MiB. The version is checked once, in the handshake
//! ([`ClientMessage::Hello`] / [`RelayMessage::Welcome`]); nothing after that
//! is versioned.

#![forbid(unsafe_code)]

mod channel;
mod delivery;
pub mod encoding;
pub mod frame;
mod id;
pub mod limits;
mod message;
mod secret;

pub use channel::{ChannelId, DEFAULT_CHANNEL_NAME};
pub use delivery::{
    Delivery, HOP_BY_HOP_HEADERS, Header, body_sha256_hex, header_values, is_hop_by_hop,
};
pub use id::{DeliveryId, ID_LEN};
pub use message::{
    ClientMessage, Frame, GoodbyeReason, ProtocolError, RelayMessage, SessionRespond, check_version,
};
pub use secret::Secret;

/// The protocol version this build speaks. Bumped on any incompatible change to
/// the messages below; both ends must speak the same one.
///
/// 2: deliveries and responses in binary frames with raw bodies, `stored`
/// acknowledges a flush's ids in one frame, `welcome` carries the relay's
/// heartbeat timing.
pub const PROTOCOL_VERSION: u32 = 2;
