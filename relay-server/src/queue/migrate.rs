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
    let meta = db.open_tree("meta").map_err(storage)?;
    let found = match meta.get(FORMAT_KEY).map_err(storage)? {
        Some(v) => v.first().copied().unwrap_or(1),
        None => 1,
    };
    if found > FORMAT {
        return Err(QueueError::Storage(format!(
            "the queue was written by a newer hookline-relay (format {found}, this build reads up to {FORMAT}); \
             run that release, or move the data dir aside"
        )));
    }
    if found < 2 {
        let mut upgraded = 0usize;
        for item in db.iter() {
            let (key, value) = item.map_err(storage)?;
            db.insert(key, frame_of_v1(&value)?.as_ref())
                .map_err(storage)?;
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
        meta.insert(FORMAT_KEY, &[FORMAT]).map_err(storage)?;
        db.flush().map_err(storage)?;
    }
    Ok(())
}

/// A format-1 value (delivery JSON) as a format-2 frame.
fn frame_of_v1(value: &[u8]) -> Result<bytes::Bytes, QueueError> {
    let delivery: Delivery = serde_json::from_slice(value).map_err(|e| {
        QueueError::Storage(format!("a queued delivery of format 1 cannot be read: {e}"))
    })?;
    Ok(frame::encode_delivery(&delivery, false))
}

fn storage(e: sled::Error) -> QueueError {
    QueueError::Storage(e.to_string())
}
