//! What the store keeps: each delivery with its verdict and every attempt to
//! deliver it, plus the small summary that lists page through.

use hookline_protocol::encoding::base64_bytes;
use hookline_protocol::{Delivery, DeliveryId, Header};
use serde::{Deserialize, Serialize};

use crate::verify::{Verdict, VerdictKind};

/// A delivery as stored: the request exactly as the relay received it, the
/// signature verdict, and every forward and replay, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDelivery {
    pub delivery: Delivery,
    pub verdict: Verdict,
    pub attempts: Vec<Attempt>,
}

/// One try at handing the delivery to an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// Unix milliseconds when the request was sent.
    pub at_ms: u64,
    pub kind: AttemptKind,
    /// The full URL the request went to.
    pub target: String,
    /// Lowercase hex SHA-256 of the body that was sent, to compare with the
    /// delivery's `body_sha256` at a glance.
    pub sent_body_sha256: String,
    pub duration_us: u64,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptKind {
    /// The automatic forward when the delivery arrived (including its retries).
    Forward,
    /// A replay asked for by the developer.
    Replay { resigned: bool, edited: bool },
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// The app answered. The body is kept up to a limit; `body_truncated` says when cut.
    Response {
        status: u16,
        headers: Vec<Header>,
        #[serde(with = "base64_bytes")]
        body: Vec<u8>,
        body_truncated: bool,
    },
    /// No answer: connection refused, timeout, reset… in plain words.
    Error { message: String },
}

impl Outcome {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Response { status, .. } => Some(*status),
            Self::Error { .. } => None,
        }
    }

    /// A 2xx answer.
    pub fn is_success(&self) -> bool {
        matches!(self.status(), Some(200..=299))
    }
}

/// What a list row needs, kept apart from the full record so paging through
/// 100,000 deliveries never decodes a body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub id: DeliveryId,
    pub received_at_ms: u64,
    /// The event type, when the provider's header or the body names one
    /// (see [`crate::verify::event_type`]).
    pub event: Option<String>,
    pub method: String,
    pub path: String,
    pub body_len: u64,
    pub verdict: VerdictKind,
    pub last_status: Option<u16>,
    /// The last attempt failed without an answer (connection error, timeout).
    pub last_error: bool,
    pub last_duration_us: Option<u64>,
    pub attempts: u32,
    pub replays: u32,
    /// Stored to be forwarded and not attempted yet: what a restarted
    /// listener picks up. Deliveries kept back on purpose (rejected
    /// signature, filtered event) are never marked.
    #[serde(default)]
    pub awaiting_forward: bool,
    /// When the next automatic retry is due (Unix ms), if one is pending.
    /// Filled in when read, never written into the summary: the schedule
    /// lives in the `retries` tree, so summaries keep their encoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_retry_at_ms: Option<u64>,
    /// Each target's last result (routes fan out), in the order first tried;
    /// the delivery failed when any target's last attempt failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetSummary>,
}

/// One target's share of a delivery's attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSummary {
    /// The full URL, as attempts record it.
    pub target: String,
    pub attempts: u32,
    pub last_status: Option<u16>,
}

impl TargetSummary {
    /// The last attempt to this target answered 2xx.
    pub fn ok(&self) -> bool {
        matches!(self.last_status, Some(200..=299))
    }
}

/// The delivery's state for `--status` filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Last attempt answered 2xx.
    Ok,
    /// Last attempt errored or answered non-2xx.
    Failed,
    /// Signature invalid or stale.
    Invalid,
    /// No attempt finished yet.
    Pending,
}
