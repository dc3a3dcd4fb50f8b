//! Webhook ingress: `/h/{channel}[/{rest}]`, any method.
//!
//! # Durability
//!
//! Every accepted delivery is written to the channel's sled queue before the
//! sender hears anything, and stays there until the client says `stored`.
//! - **Client offline:** the write is flushed to disk (group commit: one fsync
//!   shared by every request waiting at that moment) before the 202, so a 202
//!   is never a lie.
//! - **Client online (passthrough):** no fsync on the request path. The
//!   delivery goes to the client at once; the client acknowledges `stored`
//!   only after its own flush. The queue keeps a delivery in memory for its
//!   first 50 ms (most are acknowledged by then and never touch the disk),
//!   then writes it to sled, whose log reaches the disk every 200 ms. A relay
//!   crash therefore loses at most the last ~250 ms of passthrough deliveries
//!   that the client had not yet stored; a sender still waiting sees its
//!   connection fail and retries, one that got the local app's answer was
//!   served by a client that had the delivery.
//! - **Client online, `respond: accept`:** the session asked the relay to
//!   answer (for senders with short timeouts): the delivery is flushed as for
//!   an offline client and the sender gets 202, while it still streams to the
//!   client at once.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hookline_protocol::{ChannelId, Delivery, DeliveryId, Header, body_sha256_hex, frame};
use http::{StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tracing::Instrument;

use crate::deadline::timed_out;
use crate::hub::ChannelHub;
use crate::metrics::{DropReason, inc};
use crate::public_url::{ConnInfo, base_url, remote_addr};
use crate::queue::QueueError;
use crate::relay::now_ms;
use crate::respond::{json_error, passthrough};
use crate::{OfflineMode, QueueLimits, Relay};

/// What senders are told to wait before retrying when the relay cannot take a delivery.
const RETRY_AFTER_SECS: &str = "30";

/// Bodies larger than this are hashed and serialised off the async threads.
const LARGE_BODY_BYTES: usize = 128 * 1024;

pub(crate) async fn ingress(State(relay): State<Relay>, request: Request) -> Response {
    let path = request.uri().path();
    let rest = path.strip_prefix("/h/").unwrap_or_default();
    let (channel, suffix) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let hub = ChannelId::parse(channel).and_then(|c| relay.inner.hub(&c));
    let Some(hub) = hub else {
        return json_error(
            StatusCode::NOT_FOUND,
            "unknown_channel",
            "no such channel".into(),
        );
    };
    let suffix = suffix.to_owned();
    // Before the body is read: a channel past its rate costs the relay nothing more.
    if let Err(wait) = hub.rate.try_acquire(std::time::Instant::now()) {
        return rate_limited(&relay, &hub, wait);
    }
    if relay.inner.config.offline == OfflineMode::Reject
        && !crate::cluster::remote::online(&relay, &hub).await
    {
        relay.inner.metrics.dropped(DropReason::OfflineReject);
        let message = "no client is connected to this channel; retry later";
        hub.refused.note(503, "offline", message);
        return retry_later(StatusCode::SERVICE_UNAVAILABLE, "offline", message.into());
    }
    let delivery = match read_delivery(&relay, &hub, suffix, request).await {
        Ok(d) => d,
        Err(response) => return response,
    };
    let span = tracing::info_span!("delivery", id = %delivery.id, channel = %hub.id);
    accept(relay, hub, delivery).instrument(span).await
}

/// Reads the whole request, body bounded by `max_body`, into a delivery.
async fn read_delivery(
    relay: &Relay,
    hub: &ChannelHub,
    suffix: String,
    request: Request,
) -> Result<Delivery, Response> {
    let config = &relay.inner.config;
    let max = config.max_body;
    let too_large = || {
        let message = format!("request body exceeds the relay's {max}-byte limit");
        hub.refused.note(413, "body_too_large", &message);
        json_error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", message)
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let (parts, body) = request.into_parts();
    let conn = parts.extensions.get::<ConnInfo>();
    let body = match Limited::new(body, max).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large()),
        Err(e) => {
            if let Some(limit) = timed_out(&*e) {
                inc(&relay.inner.metrics.request_timeouts);
                tracing::debug!("request body not received within {limit:?}");
                let (response, message) = request_timeout(limit);
                hub.refused.note(408, "request_timeout", &message);
                return Err(response);
            }
            tracing::debug!("request body read failed: {e}");
            return Err(json_error(
                StatusCode::BAD_REQUEST,
                "body_read_failed",
                "could not read the request body".into(),
            ));
        }
    };
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let public_url = format!("{}{path_and_query}", base_url(config, &parts.headers, conn));
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| Header::new(name.as_str(), value.as_bytes()))
        .collect();
    let received_at_ms = now_ms();
    Ok(Delivery {
        id: crate::ids::delivery_id(received_at_ms),
        channel: hub.id.clone(),
        received_at_ms,
        method: parts.method.as_str().to_owned(),
        path: suffix,
        query: parts.uri.query().map(str::to_owned),
        headers,
        // Filled in by `encode`, off the async threads for large bodies.
        body_sha256: String::new(),
        body,
        remote_addr: remote_addr(config, &parts.headers, conn),
        public_url,
    })
}

/// Queues the delivery, then waits for the client's answer or confirms the queue.
async fn accept(relay: Relay, hub: std::sync::Arc<ChannelHub>, delivery: Delivery) -> Response {
    let inner = &relay.inner;
    let id = delivery.id;
    let body_len = delivery.body.len() as u64;
    let waiter = hub.wait_for(id);
    let remote = match waiter {
        Some(_) => None,
        None => crate::cluster::remote::remote_waiter(&relay, &hub, id).await,
    };
    let frame = match encode(delivery, waiter.is_some() || remote.is_some()).await {
        Ok(frame) => frame,
        Err(e) => {
            hub.forget(id);
            let message = format!("cannot encode delivery: {e}");
            return json_error(StatusCode::INTERNAL_SERVER_ERROR, "encode_failed", message);
        }
    };
    let seq = match push(&relay, &hub, id, frame) {
        Ok(seq) => seq,
        Err(e) => {
            hub.forget(id);
            return queue_refused(&relay, &hub, e);
        }
    };
    // The token was revoked while this request was read: its queue was
    // already purged, so this entry would be orphaned; the channel is gone.
    if hub.revoked.is_cancelled() {
        hub.forget(id);
        let _ = inner.queue.remove(&hub.id, seq, id);
        return json_error(
            StatusCode::NOT_FOUND,
            "unknown_channel",
            "no such channel".into(),
        );
    }
    inc(&inner.metrics.received);
    inner
        .metrics
        .bytes_in
        .fetch_add(body_len, std::sync::atomic::Ordering::Relaxed);
    hub.wake.notify_one();
    if let Some(answers) = remote {
        return answered_elsewhere(&relay, id, answers).await;
    }
    match waiter {
        Some(rx) => match tokio::time::timeout(inner.config.response_timeout, rx).await {
            Ok(Ok(response)) => {
                inc(&inner.metrics.responses);
                passthrough(response)
            }
            // The session ended before answering: the delivery waits in the queue.
            Ok(Err(_)) => queued(&relay, id).await,
            Err(_) => {
                hub.forget(id);
                inc(&inner.metrics.response_timeouts);
                tracing::info!("client did not respond in time; delivery stays queued");
                response_timed_out(inner.config.response_timeout, id)
            }
        },
        None => queued(&relay, id).await,
    }
}

/// The session is on another relay: the delivery reaches it only through
/// JetStream, so it is confirmed first (no 2xx for anything not stored),
/// then the answer is awaited as for a local session.
async fn answered_elsewhere(
    relay: &Relay,
    id: DeliveryId,
    answers: async_nats::Subscriber,
) -> Response {
    let inner = &relay.inner;
    if let Err(e) = inner.commit.flush().await {
        tracing::warn!("delivery not confirmed by the shared queue: {e}");
        let message = "the relay cannot reach its shared queue; retry later".into();
        return retry_later(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message);
    }
    let answer = crate::cluster::remote::remote_answer(answers);
    match tokio::time::timeout(inner.config.response_timeout, answer).await {
        Ok(Some(response)) => {
            inc(&inner.metrics.responses);
            passthrough(response)
        }
        Ok(None) => queued(relay, id).await,
        Err(_) => {
            inc(&inner.metrics.response_timeouts);
            tracing::info!(
                "client on another relay did not respond in time; delivery stays queued"
            );
            response_timed_out(inner.config.response_timeout, id)
        }
    }
}

/// Hashes the body and builds the delivery frame, which is what the queue
/// keeps and the session sends: microseconds for a typical webhook, tens of
/// milliseconds for a 25 MiB one, which then runs on the blocking pool
/// instead of holding up one of the async threads. `respond` is the flag the
/// frame is built with: whether a sender waits now, as it usually still does
/// when the session sends it.
async fn encode(delivery: Delivery, respond: bool) -> Result<Bytes, tokio::task::JoinError> {
    if delivery.body.len() <= LARGE_BODY_BYTES {
        return Ok(hash_and_frame(delivery, respond));
    }
    tokio::task::spawn_blocking(move || hash_and_frame(delivery, respond)).await
}

fn hash_and_frame(mut delivery: Delivery, respond: bool) -> Bytes {
    delivery.body_sha256 = body_sha256_hex(&delivery.body);
    frame::encode_delivery(&delivery, respond)
}

/// A push is a memory write (the queue stages it; see `queue::sled_queue`).
fn push(relay: &Relay, hub: &ChannelHub, id: DeliveryId, frame: Bytes) -> Result<u64, QueueError> {
    let inner = &relay.inner;
    let limits = QueueLimits {
        max_bytes: hub.queue_max_bytes(),
        ..inner.config.queue_limits
    };
    inner.queue.push(&hub.id, id, frame, &limits)
}

/// 429 with the seconds until the channel's bucket has a request's room
/// (at least 1: `Retry-After` counts whole seconds).
fn rate_limited(relay: &Relay, hub: &ChannelHub, wait: Duration) -> Response {
    relay.inner.metrics.dropped(DropReason::RateLimited);
    let message = format!(
        "this channel takes at most {} requests per second; retry later",
        hub.rate.rate()
    );
    hub.refused.note(429, "rate_limited", &message);
    let mut response = json_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message);
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, http::HeaderValue::from(secs));
    response
}

/// Flushes (shared with concurrent requests), then answers 202.
async fn queued(relay: &Relay, id: DeliveryId) -> Response {
    if let Err(e) = relay.inner.commit.flush().await {
        if e.is_unavailable() {
            tracing::warn!("delivery not confirmed by the shared queue: {e}");
            let message = "the relay cannot reach its shared queue; retry later".into();
            return retry_later(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message);
        }
        tracing::error!("queue flush failed: {e}");
        return json_error(
            StatusCode::INSUFFICIENT_STORAGE,
            "storage_error",
            "the relay could not store the delivery durably".into(),
        );
    }
    tracing::debug!("queued for an offline client");
    let body = serde_json::json!({ "id": id.to_string(), "queued": true });
    (StatusCode::ACCEPTED, axum::Json(body)).into_response()
}

/// 408, closing the connection: the rest of a trickled body is not worth
/// reading. Also returns what the sender is told.
fn request_timeout(limit: Duration) -> (Response, String) {
    let message = format!("the request was not received within {limit:?}; send it whole, faster");
    let mut response = json_error(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        message.clone(),
    );
    response
        .headers_mut()
        .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
    (response, message)
}

fn response_timed_out(after: Duration, id: DeliveryId) -> Response {
    let body = serde_json::json!({
        "error": format!("the client did not answer within {after:?}; the delivery stays queued for it"),
        "reason": "response_timeout",
        "id": id.to_string(),
    });
    (StatusCode::GATEWAY_TIMEOUT, axum::Json(body)).into_response()
}

fn queue_refused(relay: &Relay, hub: &ChannelHub, error: QueueError) -> Response {
    match error {
        QueueError::FullCount { .. } | QueueError::FullBytes { .. } => {
            relay.inner.metrics.dropped(DropReason::QueueFull);
            tracing::warn!("refused a delivery: {error}");
            hub.refused.note(503, "queue_full", &error.to_string());
            retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                "queue_full",
                error.to_string(),
            )
        }
        _ if error.is_unavailable() => {
            tracing::warn!("cannot queue a delivery: {error}");
            let message = "the relay cannot reach its shared queue; retry later";
            hub.refused.note(503, "unavailable", message);
            retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                message.into(),
            )
        }
        _ => {
            tracing::error!("cannot queue a delivery: {error}");
            let message = "the relay could not store the delivery";
            hub.refused.note(507, "storage_error", message);
            json_error(
                StatusCode::INSUFFICIENT_STORAGE,
                "storage_error",
                message.into(),
            )
        }
    }
}

fn retry_later(status: StatusCode, reason: &str, message: String) -> Response {
    let mut response = json_error(status, reason, message);
    response.headers_mut().insert(
        header::RETRY_AFTER,
        http::HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    response
}
