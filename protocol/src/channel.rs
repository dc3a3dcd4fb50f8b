//! Channel ids: the stable, unguessable part of a public webhook URL.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Secret;

/// The name of the channel every token has without asking.
pub const DEFAULT_CHANNEL_NAME: &str = "default";

/// Characters of the id: lowercase base32 (no padding), 120 bits of a hash.
const ID_CHARS: usize = 24;

/// A channel id, as it appears in `/h/{channel}`.
///
/// It is derived from the owning token and a channel name, so the public URL
/// survives restarts of both ends without any stored state, and nobody can
/// compute it without the token.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChannelId(String);

impl ChannelId {
    /// The id of channel `name` owned by `token`.
    pub fn derive(token: &Secret, name: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"hookline channel v1\0");
        hasher.update(token.expose().as_bytes());
        hasher.update(b"\0");
        hasher.update(name.as_bytes());
        let digest = hasher.finalize();
        Self(base32_lower(&digest)[..ID_CHARS].to_owned())
    }

    /// Wraps an id taken from a URL or a frame. Only ids that look like ones
    /// [`derive`](Self::derive) makes are accepted.
    pub fn parse(text: &str) -> Option<Self> {
        let ok = text.len() == ID_CHARS
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
        ok.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChannelId({})", self.0)
    }
}

/// RFC 4648 base32, lowercase, unpadded.
fn base32_lower(bytes: &[u8]) -> String {
    data_encoding::BASE32_NOPAD
        .encode(bytes)
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_is_stable_and_pinned() {
        let token = Secret::new("tok_example");
        let id = ChannelId::derive(&token, DEFAULT_CHANNEL_NAME);
        assert_eq!(id, ChannelId::derive(&token, DEFAULT_CHANNEL_NAME));
        assert_eq!(ChannelId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.as_str(), "d4vgdsnsmafue4qzehdslsx4");
    }

    #[test]
    fn different_tokens_and_names_differ() {
        let a = ChannelId::derive(&Secret::new("a"), DEFAULT_CHANNEL_NAME);
        let b = ChannelId::derive(&Secret::new("b"), DEFAULT_CHANNEL_NAME);
        let c = ChannelId::derive(&Secret::new("a"), "stripe");
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn parse_rejects_what_derive_never_makes() {
        for bad in [
            "",
            "../etc",
            "ABCDEFGHIJKLMNOPQRSTUVWX",
            "abcdefghijklmnopqrstuvw",
            "abcdefghijklmnopqrstuvwx1",
        ] {
            assert_eq!(ChannelId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32_lower(b"foobar"), "mzxw6ytboi");
    }
}
