//! The webhook sender's side: a plain HTTP POST to the public URL.

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// What the sender got back.
#[derive(Debug, Clone)]
pub struct Sent {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Bytes,
}

impl Sent {
    pub fn header(&self, name: &str) -> Option<String> {
        crate::header_in(&self.headers, name)
    }
}

/// A plain-HTTP client; clones share one connection pool.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A new client with its own connection pool.
pub fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends one request and reads the whole answer; fails the test when the
/// request fails or takes longer than [`crate::WAIT`].
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &[u8])],
    body: impl Into<Bytes>,
) -> Sent {
    crate::within(
        "the relay's answer",
        try_send(&http_client(), method, url, headers, body),
    )
    .await
    .unwrap_or_else(|e| panic!("request to the relay failed: {e:#}"))
}

/// Sends one request with `client` and reads the whole answer. A refused or
/// cut connection is an error, not a panic: senders in a soak expect them.
pub async fn try_send(
    client: &HttpClient,
    method: &str,
    url: &str,
    headers: &[(&str, &[u8])],
    body: impl Into<Bytes>,
) -> anyhow::Result<Sent> {
    let mut request = hyper::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(body.into()))
        .context("invalid request")?;
    let response = client.request(request).await.context("no answer")?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.context("answer cut short")?.to_bytes();
    Ok(Sent {
        status: parts.status.as_u16(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect(),
        body,
    })
}
