//! The two message enums and their encoding.
//!
//! A session is: client `hello` → relay `welcome` (or `goodbye`), then the
//! relay sends `delivery` frames and the client answers with `response`
//! (when the sender waits) and `stored` (once a flush has put deliveries on
//! disk, every id of that flush in one frame). Either side may end with
//! `goodbye`.
//!
//! Control messages are JSON text frames; `delivery` and `response` carry
//! bodies and are binary frames (see [`crate::frame`]).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::frame::{self, KIND_DELIVERY, KIND_RESPONSE};
use crate::limits::MAX_MESSAGE_BYTES;
use crate::{ChannelId, Delivery, DeliveryId, Header, PROTOCOL_VERSION, Secret};

/// One WebSocket data frame as this protocol writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Text(String),
    Binary(Bytes),
}

/// Who answers a sender while a client is connected (`hello`'s `respond`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionRespond {
    /// The relay passes the client's answer back (the local app's, or one
    /// the client chose).
    #[default]
    App,
    /// The relay answers 202 as soon as the delivery is durably queued, for
    /// senders with short timeouts; the client sends no answer.
    Accept,
}

impl SessionRespond {
    pub fn is_app(&self) -> bool {
        *self == Self::App
    }
}

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
        /// Who answers the channel's senders during this session; absent
        /// (from older clients too) means the client does.
        #[serde(default, skip_serializing_if = "SessionRespond::is_app")]
        respond: SessionRespond,
    },
    /// These deliveries are durably in the client's store (one frame per
    /// flush); the relay may drop its copies.
    Stored { ids: Vec<DeliveryId> },
    /// The local app's answer to a delivery, for the relay to pass back to
    /// the sender. A binary frame.
    #[serde(skip)]
    Response {
        id: DeliveryId,
        status: u16,
        headers: Vec<Header>,
        body: Bytes,
    },
    /// The client is going away on purpose (not an error).
    Goodbye {
        reason: GoodbyeReason,
        message: String,
    },
    /// The gap reported as `first_seq..=last_seq` is durably in the
    /// client's store; the relay may forget it. Both ends of the range are
    /// named so that an ack for a gap the relay has since widened forgets
    /// nothing.
    GapRecorded { first_seq: u64, last_seq: u64 },
}

/// Relay → client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RelayMessage {
    /// Handshake accepted: the channel this session serves, the URL senders
    /// post to, and the relay's heartbeat timing, from which the client
    /// derives when to give up on a silent relay.
    Welcome {
        protocol: u32,
        channel: ChannelId,
        public_url: String,
        /// Free-form relay name and version, for the client's logs.
        relay: String,
        /// The relay pings at least this often.
        ping_interval_ms: u64,
        /// The relay closes a session silent for this long; the client may
        /// do the same.
        dead_peer_after_ms: u64,
    },
    /// A webhook request to store and forward. `respond` is true while the
    /// sender is still waiting for the local app's answer. A binary frame.
    #[serde(skip)]
    Delivery {
        delivery: Box<Delivery>,
        respond: bool,
    },
    /// Requests to this channel that the relay refused (too large, queue
    /// full, too slow…), `count` of them since the last such frame for this
    /// `reason`. Sent at most once a second per reason, so a flood costs one
    /// frame, not one per request; refusals while no client was connected
    /// arrive at the next session.
    Refused {
        status: u16,
        /// A short machine-readable reason, as in the sender's JSON error.
        reason: String,
        count: u64,
        /// What the last refused sender was told.
        message: String,
    },
    /// Deliveries the relay accepted and then dropped without the client
    /// storing them: `count` of them, numbered `first_seq..=last_seq` in the
    /// channel's order (some numbers in between may have been delivered).
    /// Sent at the start of each session until the client answers
    /// `gap_recorded`, and within a second when one happens during a session.
    Gap {
        first_seq: u64,
        last_seq: u64,
        count: u64,
        /// Why they were dropped: `age` (older than the relay's queue age limit).
        reason: String,
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
    #[error("malformed binary frame: {0}")]
    BadFrame(String),
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

fn check_size(len: usize) -> Result<(), ProtocolError> {
    if len > MAX_MESSAGE_BYTES {
        return Err(ProtocolError::TooLarge {
            size: len,
            limit: MAX_MESSAGE_BYTES,
        });
    }
    Ok(())
}

fn text(message: &impl Serialize) -> Frame {
    // Control messages hold strings, numbers and ids: serializing cannot fail.
    Frame::Text(serde_json::to_string(message).expect("control messages always serialize"))
}

/// A text frame's JSON, size-checked first.
fn parse_text<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ProtocolError> {
    check_size(bytes.len())?;
    Ok(serde_json::from_slice(bytes)?)
}

/// A binary frame split into its parts, size and kind checked: `side` (the
/// peer that sends frames of `kind`) names it in the error.
fn binary_parts(bytes: Bytes, kind: u8, side: &str) -> Result<frame::Parts, ProtocolError> {
    check_size(bytes.len())?;
    let parts = frame::split(bytes)?;
    if parts.kind != kind {
        return Err(ProtocolError::BadFrame(format!(
            "binary frame of kind {} is not one a {side} sends",
            parts.kind
        )));
    }
    Ok(parts)
}

impl ClientMessage {
    /// The frame that carries this message.
    pub fn encode(&self) -> Frame {
        match self {
            Self::Response {
                id,
                status,
                headers,
                body,
            } => Frame::Binary(frame::encode_response(*id, *status, headers, body)),
            other => text(other),
        }
    }

    /// Parses a text frame; never panics, whatever the bytes.
    pub fn decode_text(bytes: &[u8]) -> Result<Self, ProtocolError> {
        parse_text(bytes)
    }

    /// Parses a binary frame; the body is a slice of `bytes`, not a copy.
    pub fn decode_binary(bytes: Bytes) -> Result<Self, ProtocolError> {
        let parts = binary_parts(bytes, KIND_RESPONSE, "client")?;
        let (id, status, headers, body) = frame::response_of(parts)?;
        Ok(Self::Response {
            id,
            status,
            headers,
            body,
        })
    }

    /// Parses either kind of frame.
    pub fn decode(frame: Frame) -> Result<Self, ProtocolError> {
        match frame {
            Frame::Text(text) => Self::decode_text(text.as_bytes()),
            Frame::Binary(bytes) => Self::decode_binary(bytes),
        }
    }
}

impl RelayMessage {
    /// The frame that carries this message.
    pub fn encode(&self) -> Frame {
        match self {
            Self::Delivery { delivery, respond } => {
                Frame::Binary(frame::encode_delivery(delivery, *respond))
            }
            other => text(other),
        }
    }

    /// Parses a text frame; never panics, whatever the bytes.
    pub fn decode_text(bytes: &[u8]) -> Result<Self, ProtocolError> {
        parse_text(bytes)
    }

    /// Parses a binary frame; the body is a slice of `bytes`, not a copy.
    pub fn decode_binary(bytes: Bytes) -> Result<Self, ProtocolError> {
        let parts = binary_parts(bytes, KIND_DELIVERY, "relay")?;
        let (delivery, respond) = frame::delivery_of(parts)?;
        Ok(Self::Delivery {
            delivery: Box::new(delivery),
            respond,
        })
    }

    /// Parses either kind of frame.
    pub fn decode(frame: Frame) -> Result<Self, ProtocolError> {
        match frame {
            Frame::Text(text) => Self::decode_text(text.as_bytes()),
            Frame::Binary(bytes) => Self::decode_binary(bytes),
        }
    }
}
