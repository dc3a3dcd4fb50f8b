//! The webhook sender's side: a plain HTTP POST to the public URL.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
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

/// Sends one request and reads the whole answer.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &[u8])],
    body: impl Into<Bytes>,
) -> Sent {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = hyper::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body.into())).expect("valid request");
    let response = crate::within("the relay's answer", client.request(request))
        .await
        .expect("request to the relay failed");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("answer body").to_bytes();
    Sent {
        status: parts.status.as_u16(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect(),
        body,
    }
}
