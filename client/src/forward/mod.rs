//! Forwarding to the local app: one pooled HTTP client, a cap on requests in
//! flight, and every exchange recorded as an [`Attempt`].

mod headers;
mod request;
mod retry;
mod target;
mod tls;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::model::{Attempt, AttemptKind, Outcome};

pub use headers::{Origin, outgoing, to_list};
pub use request::OutgoingRequest;
pub use retry::{DEFAULT_RETRY, delay_after};
pub use target::{ForwardTarget, TargetError};
pub use tls::{HandshakeError, TlsOptions, client_config, read_pem_certificates};

/// How forwarding behaves.
#[derive(Debug, Clone)]
pub struct ForwardConfig {
    /// Longest wait for the local app's complete answer.
    pub timeout: Duration,
    /// Most requests in flight to local apps at once. Beyond it deliveries wait
    /// (they are stored already); none is dropped.
    pub max_in_flight: usize,
    /// Most bytes of a response body kept; the rest is not read.
    pub response_body_limit: usize,
    /// How `https://` targets are trusted.
    pub tls: TlsOptions,
}

impl Default for ForwardConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_in_flight: 64,
            response_body_limit: hookline_protocol::limits::MAX_RESPONSE_BODY_BYTES,
            tls: TlsOptions::default(),
        }
    }
}

/// A cheap-to-clone handle on the shared connection pool.
#[derive(Clone, Debug)]
pub struct Forwarder {
    client: Client<tls::Connector, Full<Bytes>>,
    permits: Arc<Semaphore>,
    config: Arc<ForwardConfig>,
}

/// A reserved place among the requests in flight.
#[derive(Debug)]
pub struct Slot<'a> {
    forwarder: &'a Forwarder,
    _permit: OwnedSemaphorePermit,
}

impl Forwarder {
    pub fn new(config: ForwardConfig) -> Self {
        let mut connector = HttpConnector::new();
        // Webhook requests are small; Nagle's delay would dominate their latency.
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(config.timeout));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(config.max_in_flight)
            .build(tls::Connector::new(connector, config.tls.clone()));
        Self {
            client,
            permits: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            config: Arc::new(config),
        }
    }

    /// Waits for a free place among the requests in flight.
    pub async fn reserve(&self) -> Slot<'_> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("the forwarder never closes its semaphore");
        Slot {
            forwarder: self,
            _permit: permit,
        }
    }
}

impl Slot<'_> {
    /// Sends `request` to `target` and records what happened.
    pub async fn send(
        self,
        target: &ForwardTarget,
        request: &OutgoingRequest,
        kind: AttemptKind,
    ) -> Attempt {
        let at_ms = crate::clock::now_ms();
        let started = Instant::now();
        let uri = target.join(&request.path, request.query.as_deref());
        let outcome = match uri {
            Ok(uri) => {
                let exchange = self.forwarder.exchange(request.to_http(uri, target));
                match tokio::time::timeout(self.forwarder.config.timeout, exchange).await {
                    Ok(outcome) => outcome,
                    Err(_) => Outcome::Error {
                        message: format!(
                            "no complete answer from {target} within {:?}",
                            self.forwarder.config.timeout
                        ),
                    },
                }
            }
            Err(err) => Outcome::Error {
                message: err.to_string(),
            },
        };
        Attempt {
            at_ms,
            kind,
            target: request.url_on(target),
            sent_body_sha256: hookline_protocol::body_sha256_hex(&request.body),
            duration_us: started.elapsed().as_micros() as u64,
            outcome,
        }
    }
}

impl Forwarder {
    async fn exchange(&self, request: Result<http::Request<Full<Bytes>>, String>) -> Outcome {
        let request = match request {
            Ok(request) => request,
            Err(message) => return Outcome::Error { message },
        };
        let authority = request
            .uri()
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let response = match self.client.request(request).await {
            Ok(response) => response,
            Err(err) => {
                return Outcome::Error {
                    message: describe(&err, &authority),
                };
            }
        };
        let (parts, mut body) = response.into_parts();
        let limit = self.config.response_body_limit;
        let mut kept = Vec::new();
        let mut body_truncated = false;
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map(|f| f.into_data()) else {
                return Outcome::Error {
                    message: format!(
                        "{authority} closed the connection in the middle of its answer"
                    ),
                };
            };
            let Ok(data) = data else { continue };
            let room = limit - kept.len();
            kept.extend_from_slice(&data[..data.len().min(room)]);
            if data.len() > room {
                body_truncated = true;
                break;
            }
        }
        Outcome::Response {
            status: parts.status.as_u16(),
            headers: to_list(&parts.headers),
            body: kept,
            body_truncated,
        }
    }
}

/// Plain words for a failed exchange.
fn describe(err: &hyper_util::client::legacy::Error, authority: &str) -> String {
    if let Some(handshake) = find::<HandshakeError>(err) {
        return handshake.to_string();
    }
    if err.is_connect() {
        return format!(
            "cannot connect to {authority}: is the app running? ({})",
            root_cause(err)
        );
    }
    format!("request to {authority} failed: {}", root_cause(err))
}

/// The first error of type `E` in `err`'s chain of causes.
fn find<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut cause = Some(err);
    while let Some(current) = cause {
        if let Some(found) = current.downcast_ref::<E>() {
            return Some(found);
        }
        cause = current.source();
    }
    None
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
