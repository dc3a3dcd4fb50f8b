//! What the relay answers a sender: JSON errors, and the local app's response
//! passed back through.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use hookline_protocol::is_hop_by_hop;
use hookline_protocol::limits::{MAX_HEADERS, MAX_RESPONSE_BODY_BYTES};
use http::{HeaderName, HeaderValue, StatusCode};

use crate::hub::ClientResponse;

/// `{"error": message, "reason": reason}` with `status`.
pub(crate) fn json_error(status: StatusCode, reason: &str, message: String) -> Response {
    let body = serde_json::json!({ "error": message, "reason": reason });
    (status, axum::Json(body)).into_response()
}

/// The local app's status, headers and body, minus what belongs to one hop.
/// Anything the client sent that HTTP cannot carry becomes a 502.
pub(crate) fn passthrough(response: ClientResponse) -> Response {
    let Ok(status) = StatusCode::from_u16(response.status) else {
        return json_error(
            StatusCode::BAD_GATEWAY,
            "bad_response",
            format!("local app status {} is not valid", response.status),
        );
    };
    if response.body.len() > MAX_RESPONSE_BODY_BYTES {
        return json_error(
            StatusCode::BAD_GATEWAY,
            "bad_response",
            format!(
                "local app response body of {} bytes exceeds {MAX_RESPONSE_BODY_BYTES}",
                response.body.len()
            ),
        );
    }
    let mut out = Response::new(Body::from(response.body));
    *out.status_mut() = status;
    let headers = out.headers_mut();
    for h in response.headers.into_iter().take(MAX_HEADERS) {
        if is_hop_by_hop(&h.name) {
            continue;
        }
        match (
            HeaderName::from_bytes(h.name.as_bytes()),
            HeaderValue::from_bytes(&h.value),
        ) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => tracing::debug!(header = %h.name, "dropped a response header HTTP cannot carry"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use hookline_protocol::Header;

    use super::*;

    #[test]
    fn drops_hop_by_hop_and_keeps_duplicates() {
        let response = passthrough(ClientResponse {
            status: 201,
            headers: vec![
                Header::new("Set-Cookie", "a=1"),
                Header::new("Connection", "close"),
                Header::new("Content-Length", "999"),
                Header::new("set-cookie", "b=2"),
                Header::new("bad name", "x"),
            ],
            body: bytes::Bytes::from_static(b"ok"),
        });
        assert_eq!(response.status(), StatusCode::CREATED);
        let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert!(response.headers().get("connection").is_none());
        assert!(response.headers().get("content-length").is_none());
    }

    #[test]
    fn invalid_status_becomes_bad_gateway() {
        let response = passthrough(ClientResponse {
            status: 42,
            headers: vec![],
            body: bytes::Bytes::new(),
        });
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    }
}
