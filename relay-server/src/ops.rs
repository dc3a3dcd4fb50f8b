//! Operational routes: `/healthz` (liveness), `/readyz` (readiness), `/metrics`, and the JSON 404 for the rest.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};

use crate::Relay;
use crate::respond::json_error;

pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// 503 while a cluster member cannot reach NATS: a load balancer sends
/// webhooks elsewhere, while `/healthz` stays 200 so that supervisors do not
/// restart a healthy relay (its sessions stay up meanwhile).
pub(crate) async fn readyz(State(relay): State<Relay>) -> Response {
    match &relay.inner.cluster {
        Some(cluster) if !cluster.is_connected() => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "nats_unavailable",
            "the relay cannot reach NATS; webhooks get 503 until it returns".into(),
        ),
        _ => "ready\n".into_response(),
    }
}

pub(crate) async fn metrics(State(relay): State<Relay>) -> Response {
    let queue = &relay.inner.queue;
    let tokens = relay
        .inner
        .tokens
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let channels: Vec<(&str, String, _)> = tokens
        .channels()
        .map(|(name, id)| (name, id.to_string(), queue.stats(id)))
        .collect();
    let text = relay.inner.metrics.render(queue.totals(), &channels);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

pub(crate) async fn not_found() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route; webhooks go to /h/{channel}".into(),
    )
}
