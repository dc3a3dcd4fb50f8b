//! A delivery as kept: the request, its verdict and every attempt to deliver it.

use hookline_protocol::encoding::base64_bytes;
use hookline_protocol::{Delivery, Header};
use serde::{Deserialize, Serialize};

use super::Verdict;

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
