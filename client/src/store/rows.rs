//! The small summary that lists page through, kept apart from the record.

use hookline_protocol::DeliveryId;
use serde::{Deserialize, Serialize};

use crate::model::VerdictKind;

/// What a list row needs, kept apart from the full record so paging through
/// 100,000 deliveries never decodes a body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub id: DeliveryId,
    pub received_at_ms: u64,
    /// The event type, when the provider's header or the body names one
    /// (see [`crate::model::event_type`]).
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
