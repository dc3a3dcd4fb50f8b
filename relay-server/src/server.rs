//! The accept loop: HTTP/1.1 (plain or TLS) on hyper with a header-read
//! timeout, a whole-request deadline, header limits, an idle timeout, and
//! connection limits in all and per source address, because `axum::serve`
//! has none of these and a trickling or flooding client must be cut off.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hookline_protocol::limits::{MAX_HEADER_BYTES, MAX_HEADERS};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::conn_limits::{Slot, SourceKey};
use crate::deadline::DeadlineBody;
use crate::io::{Activity, TrackedIo};
use crate::public_url::ConnInfo;
use crate::{Relay, RelayError};

/// Pause after a failed accept (out of file descriptors, usually) so the loop
/// does not spin while the condition lasts.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

impl Relay {
    /// Serves `listener` until `shutdown`: then stops accepting, lets in-flight
    /// requests finish, says goodbye to the sessions it accepted, and returns.
    /// Call [`Relay::close`] after every `serve` has returned.
    pub async fn serve(
        &self,
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        shutdown: CancellationToken,
    ) -> Result<(), RelayError> {
        let limit = Arc::new(Semaphore::new(self.inner.config.max_connections));
        let acceptor = tls.map(TlsAcceptor::from);
        let router = self.router();
        let connections = TaskTracker::new();
        tracing::info!(addr = ?listener.local_addr().ok(), tls = acceptor.is_some(), "listening");
        loop {
            let permit = tokio::select! {
                permit = limit.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => break },
                () = shutdown.cancelled() => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                        continue;
                    }
                },
                () = shutdown.cancelled() => break,
            };
            let Some(slot) = self.slot(permit, &stream, peer, acceptor.is_some()) else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let conn = Connection {
                relay: self.clone(),
                router: router.clone(),
                peer,
                shutdown: shutdown.clone(),
                slot: Arc::new(slot),
            };
            connections.spawn(conn.run(stream, acceptor.clone()));
        }
        drop(listener);
        connections.close();
        connections.wait().await;
        tracing::info!("listener stopped");
        Ok(())
    }

    /// The slots a new connection holds, or `None` when its source address
    /// is at its cap: then a plain connection is told so with 429 (best
    /// effort, never waiting on the peer) and closed; a TLS one is closed.
    fn slot(
        &self,
        permit: tokio::sync::OwnedSemaphorePermit,
        stream: &TcpStream,
        peer: SocketAddr,
        tls: bool,
    ) -> Option<Slot> {
        let inner = &self.inner;
        if inner.config.is_proxy(Some(peer.ip())) {
            return Some(Slot {
                _listener: permit,
                _source: None,
            });
        }
        let source = SourceKey::from(peer.ip());
        if let Some(slot) = inner.per_source.try_acquire(source) {
            return Some(Slot {
                _listener: permit,
                _source: Some(slot),
            });
        }
        let cap = inner.config.max_connections_per_ip;
        crate::refusals::over_source_cap(self, source, cap);
        if !tls {
            let _ = stream.try_write(&too_many_connections(cap));
        }
        None
    }
}

/// A complete 429 response, written raw: the connection never reaches hyper.
fn too_many_connections(cap: usize) -> Vec<u8> {
    let body = serde_json::json!({
        "error": format!("{cap} connections are already open from your address; close some or retry later"),
        "reason": "too_many_connections",
    })
    .to_string();
    format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

struct Connection {
    relay: Relay,
    router: Router,
    peer: SocketAddr,
    shutdown: CancellationToken,
    slot: Arc<Slot>,
}

impl Connection {
    async fn run(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        let activity = Activity::new();
        let Some(acceptor) = tls else {
            return self
                .http(TrackedIo::new(stream, activity.clone()), false, activity)
                .await;
        };
        let limit = self.relay.inner.config.header_read_timeout;
        match tokio::time::timeout(limit, acceptor.accept(stream)).await {
            // A CA validating TLS-ALPN-01 only looks at the certificate.
            Ok(Ok(stream))
                if stream.get_ref().1.alpn_protocol() == Some(crate::acme::ACME_TLS_ALPN) => {}
            Ok(Ok(stream)) => {
                self.http(TrackedIo::new(stream, activity.clone()), true, activity)
                    .await
            }
            Ok(Err(e)) => tracing::debug!(peer = %self.peer, "TLS handshake failed: {e}"),
            Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
        }
    }

    async fn http<S>(self, io: S, tls: bool, activity: Activity)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let config = &self.relay.inner.config;
        let info = ConnInfo {
            peer: self.peer,
            tls,
            shutdown: self.shutdown.clone(),
            _slot: self.slot.clone(),
            activity: activity.clone(),
        };
        let router = self.router.clone();
        let read_limit = config.request_read_timeout;
        let clock = activity.clone();
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(info.clone());
            let request =
                request.map(|body| Body::new(DeadlineBody::new(body, clock.clone(), read_limit)));
            let router = router.clone();
            async move {
                Ok::<_, Infallible>(router.oneshot(request).await.unwrap_or_else(|e| match e {}))
            }
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            // The head is part of the whole request, so its own limit is the smaller.
            .header_read_timeout(config.header_read_timeout.min(read_limit))
            .max_headers(MAX_HEADERS)
            .max_buf_size(MAX_HEADER_BYTES + 16 * 1024);
        let conn = builder
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        tokio::pin!(conn);
        let idle = config.idle_timeout;
        let mut check = tokio::time::interval((idle / 4).max(Duration::from_millis(10)));
        let mut closing = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(peer = %self.peer, "connection ended: {e}");
                    }
                    return;
                }
                () = self.shutdown.cancelled(), if !closing => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
                _ = check.tick() => if activity.idle() > idle {
                    tracing::debug!(peer = %self.peer, "connection idle for {idle:?}; closing");
                    return;
                },
            }
        }
    }
}
