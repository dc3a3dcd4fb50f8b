//! Gaps the relay reports: recorded in the store, made durable, one warning
//! line each, then acknowledged so the relay forgets them. A gap whose ack
//! is lost comes again next session and is recognised, not warned twice.

use hookline_protocol::ClientMessage;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::report::Reporter;
use crate::connection::{ConnectionState, GapNotice};
use crate::store::{GapRecord, Store};

/// Runs until shutdown; holds a sender of `outbound` until then.
pub(super) async fn run(
    store: Store,
    mut gaps: mpsc::UnboundedReceiver<GapNotice>,
    outbound: mpsc::UnboundedSender<ClientMessage>,
    state: watch::Receiver<ConnectionState>,
    reporter: Reporter,
    shutdown: CancellationToken,
) {
    loop {
        let notice = tokio::select! {
            Some(notice) = gaps.recv() => notice,
            () = shutdown.cancelled() => break,
            else => break,
        };
        let public_url = match &*state.borrow() {
            ConnectionState::Connected { public_url, .. } => public_url.clone(),
            _ => String::new(),
        };
        let record = GapRecord {
            public_url,
            first_seq: notice.first_seq,
            last_seq: notice.last_seq,
            count: notice.count,
            reason: notice.reason,
            noticed_at_ms: crate::clock::now_ms(),
            dismissed_at_ms: None,
        };
        let recorded = match store.record_gap(&record) {
            Ok(new) => new,
            Err(err) => {
                // Not acknowledged: the relay keeps it and tells us next session.
                reporter.error(format!("cannot record a gap the relay reported: {err}"));
                continue;
            }
        };
        if let Err(err) = store.flush().await {
            reporter.error(format!("cannot flush a gap the relay reported: {err}"));
            continue;
        }
        if recorded {
            let json = serde_json::json!({
                "type": "gap",
                "first": record.first_seq,
                "last": record.last_seq,
                "count": record.count,
                "reason": record.reason,
            });
            reporter.warn_with(record.describe(), json);
        }
        let _ = outbound.send(ClientMessage::GapRecorded {
            first_seq: record.first_seq,
            last_seq: record.last_seq,
        });
    }
    tracing::debug!("gap recorder stopped");
}
