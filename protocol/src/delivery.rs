//! The delivery: one webhook request exactly as the relay received it.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::encoding::{base64_bytes, header_value};
use crate::{ChannelId, DeliveryId};

/// One header. Requests keep an ordered `Vec<Header>`, never a map: order and
/// duplicates matter to signatures and to the local app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    #[serde(with = "header_value")]
    pub value: Vec<u8>,
}

impl Header {
    pub fn new(name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }

    /// The value as text, if it is UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.value).ok()
    }
}

/// A webhook request as received at the relay's public URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: DeliveryId,
    pub channel: ChannelId,
    /// Unix milliseconds when the relay finished reading the request.
    pub received_at_ms: u64,
    pub method: String,
    /// What followed `/h/{channel}` in the path: empty, or starting with `/`.
    pub path: String,
    /// The raw query string without `?`, exactly as sent.
    pub query: Option<String>,
    pub headers: Vec<Header>,
    /// The exact bytes received. Shared, not copied, from the frame it was
    /// read from to the store and the forward. (In JSON forms, such as
    /// exports, it is `body_b64`.)
    #[serde(rename = "body_b64", with = "base64_bytes")]
    pub body: Bytes,
    /// Lowercase hex SHA-256 of `body` as received, so a later changed body shows.
    pub body_sha256: String,
    /// The sender's address as the relay saw it (or as a trusted proxy said).
    pub remote_addr: Option<String>,
    /// The full URL the sender called. Twilio and Square sign this URL, so it
    /// is kept exactly, scheme and host included.
    pub public_url: String,
}

impl Delivery {
    /// All values of header `name`, compared case-insensitively, in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        header_values(&self.headers, name)
    }

    /// The path suffix and query as the sender wrote them, `/` when empty:
    /// what a request line shows.
    pub fn path_and_query(&self) -> String {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        match &self.query {
            Some(query) => format!("{path}?{query}"),
            None => path.to_owned(),
        }
    }

    /// The first value of header `name` as text.
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        header_values(&self.headers, name)
            .next()
            .and_then(|v| std::str::from_utf8(v).ok())
    }
}

/// All values of header `name` in `headers`, compared case-insensitively, in order.
pub fn header_values<'a>(
    headers: &'a [Header],
    name: &'a str,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    headers
        .iter()
        .filter(move |h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_slice())
}

/// Hop-by-hop headers (RFC 9110 §7.6.1, and the old `proxy-connection`)
/// describe one connection, not the message: neither the client forwarding a
/// delivery nor the relay passing an answer back sends them on.
/// `content-length` is here because each side recomputes it from the body it
/// actually sends.
pub const HOP_BY_HOP_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// Whether header `name` is hop-by-hop (any case).
pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP_HEADERS
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn body_sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
