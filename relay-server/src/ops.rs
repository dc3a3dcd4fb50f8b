//! Operational routes: `/healthz`, `/metrics`, and the JSON 404 for the rest.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};

use crate::Relay;
use crate::respond::json_error;

pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

pub(crate) async fn metrics(State(relay): State<Relay>) -> Response {
    let text = relay.inner.metrics.render(relay.inner.queue.totals());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

pub(crate) async fn not_found() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route; webhooks go to /h/{channel}".into(),
    )
}
