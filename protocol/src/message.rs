//! The two message enums and their encoding.
//!
//! A session is: client `hello` → relay `welcome` (or `goodbye`), then the
//! relay sends `delivery` frames and the client answers each with `response`
//! (when the sender waits) and `stored` (once it is on disk). Either side may
//! end with `goodbye`.

use serde::{Deserialize, Serialize};

use crate::encoding::base64_bytes;
use crate::limits::MAX_MESSAGE_BYTES;
use crate::{ChannelId, Delivery, DeliveryId, Header, PROTOCOL_VERSION, Secret};

/// Client → relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// First frame of a session: protocol version, credentials and the channel wanted
    /// (`None`: the token's default channel).
    Hello {
        protocol: u32,
        token: Secret,
        channel: Option<ChannelId>,
        /// Free-form client name and version, for the relay's logs.
        client: String,
    },
    /// The delivery is durably in the client's store; the relay may drop its copy.
    Stored { id: DeliveryId },
    /// The local app's answer to a delivery, for the relay to pass back to the sender.
    Response {
        id: DeliveryId,
        status: u16,
        headers: Vec<Header>,
        #[serde(rename = "body_b64", with = "base64_bytes")]
        body: Vec<u8>,
    },
    /// The client is going away on purpose (not an error).
    Goodbye {
        reason: GoodbyeReason,
        message: String,
    },
}

/// Relay → client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RelayMessage {
    /// Handshake accepted: the channel this session serves and the URL senders post to.
    Welcome {
        protocol: u32,
        channel: ChannelId,
        public_url: String,
        /// Free-form relay name and version, for the client's logs.
        relay: String,
    },
    /// A webhook request to store and forward. `respond` is true while the
    /// sender is still waiting for the local app's answer.
    Delivery {
        delivery: Box<Delivery>,
        respond: bool,
    },
    /// The session is refused or ended; `reason` tells whether reconnecting can help.
    Goodbye {
        reason: GoodbyeReason,
        message: String,
    },
}

/// Why a session was refused or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoodbyeReason {
    /// No token was presented.
    MissingToken,
    /// The token is not one the relay knows.
    BadToken,
    /// The two ends speak different protocol versions.
    VersionMismatch,
    /// The channel asked for belongs to another token.
    ChannelForbidden,
    /// Another connection with the same token took this channel over.
    TakenOver,
    /// The peer sent something that is not valid protocol.
    ProtocolError,
    /// The peer is shutting down; reconnecting later will work.
    ShuttingDown,
}

impl GoodbyeReason {
    /// True when reconnecting with the same settings cannot succeed, so the
    /// client should stop and tell the user what to change.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            Self::MissingToken | Self::BadToken | Self::VersionMismatch | Self::ChannelForbidden
        )
    }
}

/// What can be wrong with a frame.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("message of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("malformed message: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error(
        "protocol version mismatch: the {this} speaks {ours}, the {peer} speaks {theirs}; \
         please update the {older} so both run the same hookline release"
    )]
    VersionMismatch {
        this: &'static str,
        ours: u32,
        peer: &'static str,
        theirs: u32,
        older: &'static str,
    },
}

/// Checks the peer's version once, in the handshake. `this` and `peer` name the
/// two sides ("relay", "client") so the error says which one to update.
pub fn check_version(
    theirs: u32,
    this: &'static str,
    peer: &'static str,
) -> Result<(), ProtocolError> {
    if theirs == PROTOCOL_VERSION {
        return Ok(());
    }
    Err(ProtocolError::VersionMismatch {
        this,
        ours: PROTOCOL_VERSION,
        peer,
        theirs,
        older: if theirs < PROTOCOL_VERSION {
            peer
        } else {
            this
        },
    })
}

macro_rules! codec {
    ($ty:ty) => {
        impl $ty {
            /// The JSON text of this message.
            pub fn encode(&self) -> String {
                // Every field serializes infallibly (strings, numbers, bytes as base64).
                serde_json::to_string(self).expect("protocol messages always serialize")
            }

            /// Parses one frame; never panics, whatever the bytes.
            pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
                if bytes.len() > MAX_MESSAGE_BYTES {
                    return Err(ProtocolError::TooLarge {
                        size: bytes.len(),
                        limit: MAX_MESSAGE_BYTES,
                    });
                }
                Ok(serde_json::from_slice(bytes)?)
            }
        }
    };
}

codec!(ClientMessage);
codec!(RelayMessage);
