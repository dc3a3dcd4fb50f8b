//! Refused clients. Failed WebSocket handshakes are limited per source
//! address (past the limit `/connect` answers 429 before any WebSocket is
//! set up or token checked), and refusals of every kind are summarised in
//! the log once per interval, the first of each interval in full for the
//! developer with a typo in their token, so a flood fills neither the disk
//! nor the log. Trusted proxies are exempt from the limit, as they are from
//! the per-address connection cap: their address stands for many senders.

mod limiter;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};

pub(crate) use limiter::{Refusals, Refused, reason_label};

use crate::Relay;
use crate::conn_limits::SourceKey;
use crate::handshake::Refusal;
use crate::metrics::inc;
use crate::public_url::ConnInfo;
use crate::relay::Inner;
use crate::respond::json_error;

/// Layer on `/connect`: a source that used up its failed handshakes gets 429.
pub(crate) async fn gate(State(relay): State<Relay>, request: Request, next: Next) -> Response {
    let inner = &relay.inner;
    let peer = request.extensions().get::<ConnInfo>().map(|c| c.peer.ip());
    let Some(ip) = peer.filter(|ip| !inner.config.is_proxy(Some(*ip))) else {
        return next.run(request).await;
    };
    let source = SourceKey::from(ip);
    let Err(wait) = inner.refusals.admit(source, Instant::now()) else {
        return next.run(request).await;
    };
    inc(&inner.metrics.handshakes_throttled);
    if inner.refusals.note(Some(source), Refused::Throttled) {
        tracing::warn!(%source, "refused a client: too many failed handshakes; it may retry in {wait:?}");
    }
    let secs = wait.as_secs().max(1);
    let mut response = json_error(
        StatusCode::TOO_MANY_REQUESTS,
        "handshake_throttled",
        format!(
            "too many failed handshakes from your address: check the token, then retry in {secs} s"
        ),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// Counts a refused hello against its source and logs or tallies it.
pub(crate) fn handshake_refused(relay: &Relay, conn: Option<&ConnInfo>, refusal: &Refusal) {
    let inner = &relay.inner;
    inner.metrics.handshake_refused(refusal.reason);
    let peer = conn.map(|c| c.peer.ip());
    let source = peer.map(SourceKey::from);
    if let Some(ip) = peer
        && !inner.config.is_proxy(Some(ip))
    {
        inner.refusals.failed(SourceKey::from(ip), Instant::now());
    }
    if inner
        .refusals
        .note(source, Refused::Handshake(refusal.reason))
    {
        let reason = reason_label(refusal.reason);
        let source = source.map(|s| s.to_string()).unwrap_or_default();
        tracing::info!(source, reason, "refused a client: {}", refusal.message);
    }
}

/// Counts a connection closed because its source is at its cap.
pub(crate) fn over_source_cap(relay: &Relay, source: SourceKey, cap: usize) {
    let inner = &relay.inner;
    inc(&inner.metrics.connections_refused_per_source);
    if inner.refusals.note(Some(source), Refused::OverSourceCap) {
        tracing::warn!(%source, "refused a connection: {cap} already open from this address");
    }
}

/// Writes one summary line per interval with refusals, and a last one at shutdown.
pub(crate) async fn summary_loop(inner: Arc<Inner>) {
    let every = limiter::SUMMARY_EVERY;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = inner.shutdown.cancelled() => break,
        }
        log_summary(&inner);
    }
    log_summary(&inner);
    tracing::debug!("refusal summaries stopped");
}

fn log_summary(inner: &Inner) {
    let every = limiter::SUMMARY_EVERY;
    let Some(tally) = inner.refusals.take(Instant::now()) else {
        return;
    };
    let total = tally.total();
    if tally.throttled + tally.over_source_cap > 0 {
        tracing::warn!(
            refused = total,
            "refused clients since the last summary (every {every:?}): {tally}"
        );
    } else {
        tracing::info!(
            refused = total,
            "refused clients since the last summary (every {every:?}): {tally}"
        );
    }
}
