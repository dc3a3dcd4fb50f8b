//! Binary frames: how a delivery and a response travel without base64.
//!
//! ```text
//! byte 0     kind: 1 = delivery (relay → client), 2 = response (client → relay)
//! byte 1     flags: delivery bit 0 = the sender waits for the app's answer
//! bytes 2-5  length of the metadata, u32 big-endian
//! metadata   a JSON object: every field but the body
//! body       the raw bytes, to the end of the frame
//! ```
//!
//! The metadata is JSON because it is small and gains fields within a
//! version; the body is raw because signatures cover its exact bytes and it
//! can be 32 MiB. A decoded body is a slice of the frame (`Bytes`), so the
//! bytes read off the socket are the bytes stored, never copied.

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use crate::limits::MAX_META_BYTES;
use crate::message::ProtocolError;
use crate::{ChannelId, Delivery, DeliveryId, Header};

/// First byte of a delivery frame.
pub const KIND_DELIVERY: u8 = 1;
/// First byte of a response frame.
pub const KIND_RESPONSE: u8 = 2;
/// Delivery flag: the sender is still waiting for the local app's answer.
const FLAG_RESPOND: u8 = 1;
/// Kind, flags and the metadata length.
pub const PREFIX_LEN: usize = 6;

/// The metadata of a delivery frame, borrowed for encoding.
#[derive(Serialize)]
struct DeliveryMetaRef<'a> {
    id: DeliveryId,
    channel: &'a ChannelId,
    received_at_ms: u64,
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    headers: &'a [Header],
    body_sha256: &'a str,
    remote_addr: Option<&'a str>,
    public_url: &'a str,
}

/// The metadata of a delivery frame, owned after decoding.
#[derive(Deserialize)]
struct DeliveryMeta {
    id: DeliveryId,
    channel: ChannelId,
    received_at_ms: u64,
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<Header>,
    body_sha256: String,
    remote_addr: Option<String>,
    public_url: String,
}

/// The metadata of a response frame, borrowed for encoding.
#[derive(Serialize)]
struct ResponseMetaRef<'a> {
    id: DeliveryId,
    status: u16,
    headers: &'a [Header],
}

/// The metadata of a response frame, owned after decoding.
#[derive(Deserialize)]
struct ResponseMeta {
    id: DeliveryId,
    status: u16,
    headers: Vec<Header>,
}

/// A delivery frame. `respond` is a flag byte outside the metadata, so a
/// queued frame can be re-sent with another value by changing one byte.
pub fn encode_delivery(delivery: &Delivery, respond: bool) -> Bytes {
    let meta = DeliveryMetaRef {
        id: delivery.id,
        channel: &delivery.channel,
        received_at_ms: delivery.received_at_ms,
        method: &delivery.method,
        path: &delivery.path,
        query: delivery.query.as_deref(),
        headers: &delivery.headers,
        body_sha256: &delivery.body_sha256,
        remote_addr: delivery.remote_addr.as_deref(),
        public_url: &delivery.public_url,
    };
    let flags = if respond { FLAG_RESPOND } else { 0 };
    assemble(KIND_DELIVERY, flags, &meta, &delivery.body)
}

/// `frame` with its respond flag set to `respond`: the same bytes when the flag
/// already says so, else one copy.
pub fn with_respond(frame: Bytes, respond: bool) -> Bytes {
    let want = if respond { FLAG_RESPOND } else { 0 };
    match frame.get(1) {
        Some(&flags) if flags & FLAG_RESPOND != want => {
            let mut copy = BytesMut::from(&frame[..]);
            copy[1] = (flags & !FLAG_RESPOND) | want;
            copy.freeze()
        }
        _ => frame,
    }
}

/// A response frame.
pub fn encode_response(id: DeliveryId, status: u16, headers: &[Header], body: &[u8]) -> Bytes {
    let meta = ResponseMetaRef {
        id,
        status,
        headers,
    };
    assemble(KIND_RESPONSE, 0, &meta, body)
}

fn assemble(kind: u8, flags: u8, meta: &impl Serialize, body: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(PREFIX_LEN + 512 + body.len());
    out.put_u8(kind);
    out.put_u8(flags);
    out.put_u32(0);
    let mut writer = out.writer();
    // Strings, numbers and byte lists: serializing cannot fail.
    serde_json::to_writer(&mut writer, meta).expect("frame metadata always serializes");
    let mut out = writer.into_inner();
    let meta_len = (out.len() - PREFIX_LEN) as u32;
    out[2..PREFIX_LEN].copy_from_slice(&meta_len.to_be_bytes());
    out.extend_from_slice(body);
    out.freeze()
}

/// The parts of a binary frame, checked for shape but not yet for content.
pub(crate) struct Parts {
    pub kind: u8,
    pub flags: u8,
    pub meta: Bytes,
    pub body: Bytes,
}

pub(crate) fn split(frame: Bytes) -> Result<Parts, ProtocolError> {
    if frame.len() < PREFIX_LEN {
        return Err(ProtocolError::BadFrame(format!(
            "binary frame of {} bytes is shorter than its {PREFIX_LEN}-byte prefix",
            frame.len()
        )));
    }
    let meta_len = u32::from_be_bytes([frame[2], frame[3], frame[4], frame[5]]) as usize;
    if meta_len > MAX_META_BYTES || PREFIX_LEN + meta_len > frame.len() {
        return Err(ProtocolError::BadFrame(format!(
            "metadata length {meta_len} does not fit a {}-byte frame (limit {MAX_META_BYTES})",
            frame.len()
        )));
    }
    Ok(Parts {
        kind: frame[0],
        flags: frame[1],
        meta: frame.slice(PREFIX_LEN..PREFIX_LEN + meta_len),
        body: frame.slice(PREFIX_LEN + meta_len..),
    })
}

/// A delivery and its respond flag from a delivery frame's parts.
pub(crate) fn delivery_of(parts: Parts) -> Result<(Delivery, bool), ProtocolError> {
    let meta: DeliveryMeta = serde_json::from_slice(&parts.meta)?;
    let delivery = Delivery {
        id: meta.id,
        channel: meta.channel,
        received_at_ms: meta.received_at_ms,
        method: meta.method,
        path: meta.path,
        query: meta.query,
        headers: meta.headers,
        body: parts.body,
        body_sha256: meta.body_sha256,
        remote_addr: meta.remote_addr,
        public_url: meta.public_url,
    };
    Ok((delivery, parts.flags & FLAG_RESPOND != 0))
}

/// The id, status, headers and body of a response frame's parts.
pub(crate) fn response_of(
    parts: Parts,
) -> Result<(DeliveryId, u16, Vec<Header>, Bytes), ProtocolError> {
    let meta: ResponseMeta = serde_json::from_slice(&parts.meta)?;
    Ok((meta.id, meta.status, meta.headers, parts.body))
}

/// Decodes a stored or queued delivery frame (the form at rest is the frame).
pub fn decode_delivery(frame: Bytes) -> Result<(Delivery, bool), ProtocolError> {
    let parts = split(frame)?;
    if parts.kind != KIND_DELIVERY {
        return Err(ProtocolError::BadFrame(format!(
            "expected a delivery frame (kind {KIND_DELIVERY}), got kind {}",
            parts.kind
        )));
    }
    delivery_of(parts)
}
