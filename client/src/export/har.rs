//! HAR 1.2 export: one entry per delivery, the request as the sender made it
//! and the local app's last response, streamed so memory holds one entry.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hookline_protocol::Header;
use serde_json::{Value, json};

use crate::model::{Outcome, StoredDelivery};
use crate::store::time::format_rfc3339;

pub fn begin(out: &mut dyn Write) -> anyhow::Result<()> {
    let creator = json!({ "name": "hookline", "version": env!("CARGO_PKG_VERSION") });
    write!(
        out,
        "{{\"log\":{{\"version\":\"1.2\",\"creator\":{creator},\"pages\":[],\"entries\":["
    )?;
    Ok(())
}

pub fn end(out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "]}}}}")?;
    Ok(())
}

pub fn entry(out: &mut dyn Write, stored: &StoredDelivery, first: bool) -> anyhow::Result<()> {
    if !first {
        out.write_all(b",")?;
    }
    serde_json::to_writer(&mut *out, &build(stored))?;
    Ok(())
}

fn build(stored: &StoredDelivery) -> Value {
    let d = &stored.delivery;
    let last = stored.attempts.last();
    let time_ms = last.map_or(0.0, |a| a.duration_us as f64 / 1000.0);
    json!({
        "startedDateTime": format_rfc3339(d.received_at_ms),
        "time": time_ms,
        "request": {
            "method": d.method,
            "url": request_url(stored),
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": headers(&d.headers),
            "queryString": query_string(d.query.as_deref()),
            "postData": post_data(&d.headers, &d.body),
            "headersSize": -1,
            "bodySize": d.body.len(),
        },
        "response": response(last.map(|a| &a.outcome)),
        "cache": {},
        "timings": { "send": 0, "wait": time_ms, "receive": 0 },
        "comment": format!("hookline delivery {}; signature {}", d.id, stored.verdict.describe()),
        "_hooklineId": d.id,
        "_bodySha256": d.body_sha256,
    })
}

/// The URL the sender called, with the query when the relay kept it apart.
fn request_url(stored: &StoredDelivery) -> String {
    let d = &stored.delivery;
    match &d.query {
        Some(q) if !d.public_url.contains('?') => format!("{}?{q}", d.public_url),
        _ => d.public_url.clone(),
    }
}

fn headers(headers: &[Header]) -> Vec<Value> {
    headers
        .iter()
        .map(|h| json!({ "name": h.name, "value": String::from_utf8_lossy(&h.value) }))
        .collect()
}

/// Pairs as written (HAR readers decode them themselves).
fn query_string(query: Option<&str>) -> Vec<Value> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            json!({ "name": name, "value": value })
        })
        .collect()
}

fn mime(headers: &[Header], default: &str) -> String {
    hookline_protocol::header_values(headers, "content-type")
        .next()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_else(|| default.to_owned())
}

/// HAR 1.2 has no encoding for request bodies; a non-UTF-8 body goes in as
/// base64 with the `encoding` field that response content uses, which
/// devtools and HAR libraries understand.
fn post_data(headers: &[Header], body: &[u8]) -> Value {
    let mut data = json!({ "mimeType": mime(headers, "application/octet-stream"), "params": [] });
    match std::str::from_utf8(body) {
        Ok(text) => data["text"] = json!(text),
        Err(_) => {
            data["text"] = json!(STANDARD.encode(body));
            data["encoding"] = json!("base64");
            data["comment"] = json!("the body is not UTF-8: text holds it in base64");
        }
    }
    data
}

fn response(outcome: Option<&Outcome>) -> Value {
    let (status, headers_in, body, comment) = match outcome {
        Some(Outcome::Response {
            status,
            headers,
            body,
            ..
        }) => (*status, headers.as_slice(), body.as_slice(), String::new()),
        Some(Outcome::Error { message }) => {
            (0, &[][..], &[][..], format!("no response: {message}"))
        }
        None => (0, &[][..], &[][..], "not forwarded yet".to_owned()),
    };
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let redirect = hookline_protocol::header_values(headers_in, "location")
        .next()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let mut content = json!({ "size": body.len(), "mimeType": mime(headers_in, "") });
    match std::str::from_utf8(body) {
        Ok(text) => content["text"] = json!(text),
        Err(_) => {
            content["text"] = json!(STANDARD.encode(body));
            content["encoding"] = json!("base64");
        }
    }
    json!({
        "status": status,
        "statusText": reason,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": headers(headers_in),
        "content": content,
        "redirectURL": redirect,
        "headersSize": -1,
        "bodySize": body.len(),
        "comment": comment,
    })
}
