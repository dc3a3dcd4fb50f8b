//! The control protocol's messages and its bounded line framing.

use std::io;

use hookline_protocol::{Delivery, DeliveryId};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::model::{Attempt, StoredDelivery, Verdict};
use crate::store::{ListQuery, StoreError};

/// Longest line either side accepts: a whole stored delivery with a body at
/// the protocol's ceiling, base64-encoded, plus its attempts. Only answers
/// and the requests that carry a body may be this long; every other request
/// line is held to [`super::limits::MAX_REQUEST_BYTES`].
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// One request, mirroring the [`crate::store::Store`] method of the same name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Who is serving: answers [`Hello`].
    Hello,
    Get {
        id: DeliveryId,
    },
    Summary {
        id: DeliveryId,
    },
    Resolve {
        prefix: String,
    },
    Page {
        query: ListQuery,
    },
    Counts,
    RecordAttempt {
        id: DeliveryId,
        attempt: Attempt,
    },
    /// A new delivery; `attempts` non-empty when importing a whole record.
    Insert {
        delivery: Delivery,
        verdict: Verdict,
        #[serde(default)]
        attempts: Vec<Attempt>,
    },
    Delete {
        id: DeliveryId,
    },
    Prune {
        older_than_secs: Option<u64>,
        keep: Option<usize>,
    },
    /// The delivery's forward retry schedule, pending or superseded.
    RetrySchedule {
        id: DeliveryId,
    },
    /// Cancels a pending retry because a replay is about to be sent.
    SupersedeRetry {
        id: DeliveryId,
        at_ms: u64,
    },
    /// The pipe's health: answers [`PipeStatus`].
    Status,
    /// Gaps the relay reported that nobody dismissed yet.
    Gaps,
    /// Dismisses every gap shown so far (the TUI's banner); answers how many.
    DismissGaps {
        at_ms: u64,
    },
    /// Answers `"watching"`, then one [`crate::store::StoreEvent`] per line.
    Watch,
}

impl Request {
    pub(crate) fn import(stored: &StoredDelivery) -> Self {
        Self::Insert {
            delivery: stored.delivery.clone(),
            verdict: stored.verdict.clone(),
            attempts: stored.attempts.clone(),
        }
    }
}

/// The answer to [`Request::Status`]: the listener's connection (absent
/// when no listener runs) and what the store says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipeStatus {
    pub link: Option<crate::connection::LinkStatus>,
    #[serde(flatten)]
    pub store: crate::store::StoreHealth,
}

/// The answer to [`Request::Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub server: String,
    pub version: String,
    pub pid: u32,
    pub schema: u32,
}

/// What went wrong, so the client can rebuild the typed error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Unknown,
    Ambiguous,
    InvalidPrefix,
    NotFound,
    BadRequest,
    /// A request line over its limit; the connection closes after it.
    TooLong,
    /// Closed before the request was read: nothing was done, send it again.
    Closed,
    /// Any other store error, and any kind a newer listener may add.
    #[serde(other)]
    Store,
}

/// A failed request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorReply {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<DeliveryId>,
    /// The prefix or id the error is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl ErrorReply {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::BadRequest,
            message: message.into(),
            candidates: Vec::new(),
            subject: None,
        }
    }

    /// A request line over its limit; the connection closes after it.
    pub fn too_long(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::TooLong,
            ..Self::bad_request(message)
        }
    }

    /// The listener closed the connection before reading a request on it
    /// (idle too long, or its place went to a newcomer): nothing was done,
    /// and the client may send its request again on a new connection.
    pub fn closed(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Closed,
            ..Self::bad_request(message)
        }
    }

    pub fn from_store(err: &StoreError) -> Self {
        let (kind, subject, candidates) = match err {
            StoreError::Unknown { prefix } => {
                (ErrorKind::Unknown, Some(prefix.clone()), Vec::new())
            }
            StoreError::Ambiguous { prefix, candidates } => (
                ErrorKind::Ambiguous,
                Some(prefix.clone()),
                candidates.clone(),
            ),
            StoreError::InvalidPrefix { prefix } => {
                (ErrorKind::InvalidPrefix, Some(prefix.clone()), Vec::new())
            }
            StoreError::NotFound(id) => (ErrorKind::NotFound, Some(id.to_string()), Vec::new()),
            _ => (ErrorKind::Store, None, Vec::new()),
        };
        Self {
            kind,
            message: err.to_string(),
            candidates,
            subject,
        }
    }

    /// The typed error again, so remote and local callers match the same cases.
    pub fn into_store(self) -> StoreError {
        let subject = self.subject.unwrap_or_default();
        match self.kind {
            ErrorKind::Unknown => StoreError::Unknown { prefix: subject },
            ErrorKind::Ambiguous => StoreError::Ambiguous {
                prefix: subject,
                candidates: self.candidates,
            },
            ErrorKind::InvalidPrefix => StoreError::InvalidPrefix { prefix: subject },
            ErrorKind::NotFound => match subject.parse() {
                Ok(id) => StoreError::NotFound(id),
                Err(_) => StoreError::Remote(self.message),
            },
            _ => StoreError::Remote(self.message),
        }
    }
}

/// One answer line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Reply<T> {
    Ok(T),
    Error(ErrorReply),
}

/// Reads one line of at most `max` bytes (newline excluded). `None` at a
/// clean end of stream; an error for an over-long or cut-off line.
pub(crate) async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = (&mut *reader)
        .take(max as u64 + 1)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        let what = if line.len() > max {
            "line longer than the control protocol allows"
        } else {
            "connection closed mid-line"
        };
        return Err(io::Error::new(io::ErrorKind::InvalidData, what));
    }
    line.pop();
    Ok(Some(line))
}

/// Writes `value` as one JSON line.
pub(crate) async fn write_line<W: AsyncWrite + Unpin, T: Serialize>(
    writer: &mut W,
    value: &T,
) -> io::Result<()> {
    let mut bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
    bytes.push(b'\n');
    writer.write_all(&bytes).await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_keep_their_wire_names_and_unknown_ones_read_as_store() {
        let line = serde_json::to_string(&ErrorReply::too_long("x")).unwrap();
        assert!(line.contains(r#""kind":"too_long""#), "{line}");
        let newer: ErrorReply =
            serde_json::from_str(r#"{"kind":"from_the_future","message":"m"}"#).unwrap();
        assert_eq!(newer.kind, ErrorKind::Store);
        assert!(matches!(newer.into_store(), StoreError::Remote(m) if m == "m"));
        let not_found = ErrorReply::from_store(&StoreError::NotFound(DeliveryId::generate()));
        let line = serde_json::to_string(&not_found).unwrap();
        assert!(line.contains(r#""kind":"not_found""#), "{line}");
        let back: ErrorReply = serde_json::from_str(&line).unwrap();
        assert!(matches!(back.into_store(), StoreError::NotFound(_)));
    }
}
