//! Named bounds on everything that crosses the network.
//!
//! The relay and the client both enforce these, so a hostile or broken peer
//! can cost the other side at most this much memory or time.

use std::time::Duration;

/// Default largest webhook body the relay accepts.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The largest body limit a relay may be configured with. GitHub sends up to
/// 25 MiB, so the ceiling sits above that.
pub const MAX_BODY_BYTES_CEILING: usize = 32 * 1024 * 1024;

/// Most headers kept on one request or response.
pub const MAX_HEADERS: usize = 128;

/// Largest total size of one request's header names and values.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Largest local-app response body passed back to the sender.
pub const MAX_RESPONSE_BODY_BYTES: usize = 1024 * 1024;

/// Largest JSON metadata of a binary frame: the headers JSON-escaped (a
/// control byte becomes six characters), the URL, the path and the query.
pub const MAX_META_BYTES: usize = 8 * MAX_HEADER_BYTES + 256 * 1024;

/// Largest WebSocket message either end accepts: a body at the ceiling plus
/// its metadata. This is well above tungstenite's 16 MiB default, on purpose.
pub const MAX_MESSAGE_BYTES: usize =
    MAX_BODY_BYTES_CEILING + MAX_META_BYTES + crate::frame::PREFIX_LEN;

/// How long the relay waits for the client's `hello` after the upgrade.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often each side pings the other.
pub const PING_INTERVAL: Duration = Duration::from_secs(10);

/// Silence after which a peer is considered dead: three missed pings.
pub const DEAD_PEER_AFTER: Duration = Duration::from_secs(30);
