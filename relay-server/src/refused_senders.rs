//! Requests a channel's senders were refused, counted per reason until the
//! channel's client is told, so the developer sees what senders saw (a 413
//! for a body over the limit, a 503 for a full queue) instead of silence.

use std::collections::BTreeMap;
use std::sync::Mutex;

use hookline_protocol::RelayMessage;

/// Distinct (status, reason) pairs kept; reasons come from a fixed set in the
/// relay, so this is a bound that is never reached in practice.
const MAX_REASONS: usize = 16;

#[derive(Debug, Default)]
struct Tally {
    count: u64,
    message: String,
}

/// Refusals not yet reported to the channel's client.
#[derive(Debug, Default)]
pub(crate) struct Refused {
    pending: Mutex<BTreeMap<(u16, &'static str), Tally>>,
}

impl Refused {
    /// Counts one refused request.
    pub(crate) fn note(&self, status: u16, reason: &'static str, message: &str) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.len() >= MAX_REASONS && !pending.contains_key(&(status, reason)) {
            return;
        }
        let tally = pending.entry((status, reason)).or_default();
        tally.count += 1;
        if tally.message != message {
            message.clone_into(&mut tally.message);
        }
    }

    /// Everything counted since the last call, one frame per reason.
    pub(crate) fn take(&self) -> Vec<RelayMessage> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        pending
            .into_iter()
            .map(|((status, reason), tally)| RelayMessage::Refused {
                status,
                reason: reason.to_owned(),
                count: tally.count,
                message: tally.message,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_becomes_one_frame_per_reason() {
        let refused = Refused::default();
        for _ in 0..1000 {
            refused.note(413, "body_too_large", "too big");
        }
        refused.note(503, "queue_full", "full");
        let frames = refused.take();
        assert_eq!(frames.len(), 2);
        assert!(matches!(
            &frames[0],
            RelayMessage::Refused {
                status: 413,
                count: 1000,
                ..
            }
        ));
        assert!(refused.take().is_empty(), "taken means reported");
    }
}
