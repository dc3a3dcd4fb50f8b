//! The queue's on-disk format, and the upgrade of queues written by earlier
//! releases, run once when a queue opens.
//!
//! Formats, in order (the number lives under `format` in the `meta` tree):
//! - 1 (no number): each value is the delivery as JSON, its body in base64.
//! - 2: each value is the protocol's delivery frame, the raw body inside.

use hookline_protocol::{Delivery, frame};

use super::QueueError;

/// The format this build writes.
pub(super) const FORMAT: u8 = 2;

const FORMAT_KEY: &[u8] = b"format";

/// Brings the queue (sled's default tree of `db`) to [`FORMAT`], rewriting
/// every entry of an older format. A queue from a newer release is refused
/// rather than misread.
pub(super) fn migrate(db: &sled::Db) -> Result<(), QueueError> {
    let meta = db.open_tree("meta")?;
    let found = match meta.get(FORMAT_KEY)? {
        Some(v) => v.first().copied().unwrap_or(1),
        None => 1,
    };
    if found > FORMAT {
        return Err(QueueError::NewerFormat {
            found,
            supported: FORMAT,
        });
    }
    if found < 2 {
        let mut upgraded = 0usize;
        for item in db.iter() {
            let (key, value) = item?;
            db.insert(key, frame_of_v1(&value)?.as_ref())?;
            upgraded += 1;
        }
        if upgraded > 0 {
            tracing::info!(
                deliveries = upgraded,
                "upgraded the queue to format {FORMAT}"
            );
        }
    }
    if found != FORMAT {
        meta.insert(FORMAT_KEY, &[FORMAT])?;
        db.flush()?;
    }
    Ok(())
}

/// A format-1 value (delivery JSON) as a format-2 frame.
fn frame_of_v1(value: &[u8]) -> Result<bytes::Bytes, QueueError> {
    let delivery: Delivery = serde_json::from_slice(value)
        .map_err(|e| QueueError::Corrupt(format!("a queued delivery of format 1: {e}")))?;
    Ok(frame::encode_delivery(&delivery, false))
}
