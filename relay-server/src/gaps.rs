//! Telling a channel's client what the queue dropped (see [`crate::queue::Gap`]):
//! each gap goes out once per session until the client answers that it
//! recorded it, so a gap reaches the developer even across reconnects and
//! relay restarts.

use std::collections::HashSet;

use hookline_protocol::{ChannelId, RelayMessage};

use crate::Relay;

/// Gaps of `channel` not yet sent on this session, as frames; marks them sent.
pub(crate) fn untold(
    relay: &Relay,
    channel: &ChannelId,
    sent: &mut HashSet<(u64, u64)>,
) -> Vec<RelayMessage> {
    let gaps = match relay.inner.queue.gaps(channel) {
        Ok(gaps) => gaps,
        Err(e) => {
            tracing::error!(%channel, "cannot read the channel's gaps: {e}");
            return Vec::new();
        }
    };
    gaps.into_iter()
        .filter(|gap| sent.insert((gap.first_seq, gap.last_seq)))
        .map(|gap| RelayMessage::Gap {
            first_seq: gap.first_seq,
            last_seq: gap.last_seq,
            count: gap.count,
            reason: gap.reason,
        })
        .collect()
}

/// The client has the gap on disk: forget it.
pub(crate) fn recorded(relay: &Relay, channel: &ChannelId, first_seq: u64, last_seq: u64) {
    match relay.inner.queue.forget_gap(channel, first_seq, last_seq) {
        Ok(true) => tracing::info!(%channel, first_seq, last_seq, "client recorded a gap"),
        Ok(false) => {
            tracing::debug!(%channel, first_seq, last_seq, "gap ack for no such gap: ignored")
        }
        Err(e) => tracing::error!(%channel, "cannot forget a recorded gap: {e}"),
    }
}
