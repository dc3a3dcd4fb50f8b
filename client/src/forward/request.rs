//! The request sent to an app: a delivery as received, or as edited for a replay.

use std::net::SocketAddr;

use bytes::Bytes;
use hookline_protocol::{Delivery, Header};
use http::header::{HOST, HeaderValue};
use http::{Method, Request, Uri};
use http_body_util::Full;

use super::headers::{Origin, outgoing};
use super::target::ForwardTarget;

/// Everything needed to send a delivery (or a changed copy of it) again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<Header>,
    pub body: Bytes,
    /// The sender's address as the relay saw it (`ip:port`).
    pub remote_addr: Option<String>,
    /// The URL the sender called, for `X-Forwarded-Proto/Host`.
    pub public_url: String,
}

impl OutgoingRequest {
    pub fn from_delivery(delivery: &Delivery) -> Self {
        Self {
            method: delivery.method.clone(),
            path: delivery.path.clone(),
            query: delivery.query.clone(),
            headers: delivery.headers.clone(),
            body: Bytes::copy_from_slice(&delivery.body),
            remote_addr: delivery.remote_addr.clone(),
            public_url: delivery.public_url.clone(),
        }
    }

    /// The full URL this request goes to on `target`, as attempts record it.
    pub fn url_on(&self, target: &ForwardTarget) -> String {
        target
            .join(&self.path, self.query.as_deref())
            .map_or_else(|_| format!("{target}{}", self.path), |uri| uri.to_string())
    }

    /// The HTTP request for `uri` on `target`; `Err` names what cannot be sent.
    pub(super) fn to_http(
        &self,
        uri: Uri,
        target: &ForwardTarget,
    ) -> Result<Request<Full<Bytes>>, String> {
        let method = Method::from_bytes(self.method.as_bytes())
            .map_err(|_| format!("method {:?} cannot be sent over HTTP", self.method))?;
        let public: Option<Uri> = self.public_url.parse().ok();
        let client_ip = self
            .remote_addr
            .as_deref()
            .and_then(|addr| addr.parse::<SocketAddr>().ok())
            .map(|addr| addr.ip().to_string());
        let origin = Origin {
            client_ip: client_ip.as_deref(),
            proto: public.as_ref().and_then(|u| u.scheme_str()),
            host: public
                .as_ref()
                .and_then(|u| u.authority())
                .map(|a| a.as_str()),
        };
        let (mut headers, skipped) = outgoing(&self.headers, &origin);
        if !skipped.is_empty() {
            tracing::warn!(?skipped, "headers HTTP cannot carry were left out");
        }
        let host = HeaderValue::from_str(target.authority()).map_err(|e| e.to_string())?;
        headers.insert(HOST, host);
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        Ok(request)
    }
}
