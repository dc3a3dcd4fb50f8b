//! Relay cluster on NATS JetStream: several relay processes share channel
//! queues through one stream, so any relay may accept any channel's webhooks.
//!
//! # Mapping onto JetStream (why this shape)
//!
//! - One stream, `HOOKLINE`, over subjects `hookline.ch.<channel>`, file
//!   storage, work-queue retention (a delivery is removed once acked): an accepted delivery is the delivery frame's bytes as the
//!   message payload, untouched, so the session sends what ingress encoded.
//! - Queued bytes per channel are counted by the relays in a key-value
//!   bucket (see `byte_counts`): JetStream 2.9 has no per-subject byte limit.
//! - The engine enforces the per-channel count (`max_messages_per_subject`
//!   with `discard_new_per_subject`: a full channel refuses, never drops the
//!   oldest) and the age (`max_age`). The delivery id is the message id, so a
//!   publish retried inside the duplicate window is stored once.
//! - A durable pull consumer per channel, pulled only by the relay whose
//!   session holds the channel, acknowledged only after the client's
//!   `stored`; redelivery after a relay dies is JetStream's job (see
//!   [`ACK_WAIT`]).
//! - Presence in a key-value bucket (see `presence`): which relay holds a
//!   channel's session; takeover across relays; online or not for ingress.
//! - Tokens in a key-value bucket (see `tokens`), edited by
//!   `hookline-relay token … --cluster` and watched by every relay.
//! - Passthrough across relays: the relay holding the sender subscribes to
//!   `hookline.answer.<delivery id>` before publishing; the relay holding
//!   the session sends the client's response there.

mod buckets;
mod byte_counts;
mod follower;
mod jetstream_queue;
mod presence;
pub(crate) mod remote;
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;
mod tokens;

use std::time::Duration;

pub use jetstream_queue::{ClusterError, JetStreamQueue};
pub use tokens::{ClusterTokens, TOKENS_BUCKET};

/// The stream every relay of a cluster writes to.
pub const STREAM: &str = "HOOKLINE";

/// Subject prefix; a channel's deliveries go to `hookline.ch.<channel>`.
pub const SUBJECT_PREFIX: &str = "hookline.ch.";

/// How long JetStream waits for the ack of a delivered message before giving
/// it to whoever pulls next. A relay holding a session marks its unacked
/// deliveries in progress every [`PROGRESS_EVERY`], so a slow but alive
/// client never sees a redelivery; when the relay dies, the client notices
/// at once (its TCP connection is reset) and reconnects to another relay
/// within about a second, whose pull receives the dead relay's in-flight
/// deliveries at most `ACK_WAIT` after they were last marked: 3 s after the
/// last progress mark, under the 5 s target with room for the reconnect.
pub const ACK_WAIT: Duration = Duration::from_secs(3);

/// How often a relay extends the ack deadline of its in-flight deliveries.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// How long one pull request waits on the server before it is renewed.
/// Short, so that a stopped follower lets go of the consumer quickly.
pub const PULL_EXPIRES: Duration = Duration::from_millis(900);

/// How long a publish may wait for JetStream's acknowledgement before the
/// sender is told to retry (503). Also bounds the JetStream API calls.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a cluster relay finds NATS and how its stream is made.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// `nats://HOST:PORT` URLs; the client tries them in turn and reconnects.
    pub servers: Vec<String>,
    /// Stream replicas: 1 for one NATS server, 3 for a 3-node NATS cluster.
    pub replicas: usize,
    /// User and password, when NATS requires them.
    pub user_password: Option<(String, String)>,
    /// A token, when NATS requires one.
    pub token: Option<String>,
    /// PEM file of the CA that signed the NATS servers' certificates (TLS).
    pub ca_file: Option<std::path::PathBuf>,
}

impl ClusterOptions {
    pub fn new(servers: Vec<String>) -> Self {
        Self {
            servers,
            replicas: 1,
            user_password: None,
            token: None,
            ca_file: None,
        }
    }
}

/// The subject of `channel`'s deliveries.
pub(crate) fn subject(channel: &hookline_protocol::ChannelId) -> String {
    format!("{SUBJECT_PREFIX}{channel}")
}

/// Where the answer to delivery `id` goes, for a sender waiting on another relay.
pub(crate) fn answer_subject(id: hookline_protocol::DeliveryId) -> String {
    format!("hookline.answer.{id}")
}

/// The durable consumer of `channel`.
pub(crate) fn consumer_name(channel: &hookline_protocol::ChannelId) -> String {
    format!("ch-{channel}")
}
