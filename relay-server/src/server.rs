//! The accept loop: HTTP/1.1 (plain or TLS) on hyper with a header-read
//! timeout, header limits, an idle timeout and a connection limit, because
//! `axum::serve` has none of these and a trickling client must be cut off.

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
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

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
            let _ = stream.set_nodelay(true);
            let conn = Connection {
                relay: self.clone(),
                router: router.clone(),
                peer,
                shutdown: shutdown.clone(),
                slot: Arc::new(permit),
            };
            connections.spawn(conn.run(stream, acceptor.clone()));
        }
        drop(listener);
        connections.close();
        connections.wait().await;
        tracing::info!("listener stopped");
        Ok(())
    }
}

struct Connection {
    relay: Relay,
    router: Router,
    peer: SocketAddr,
    shutdown: CancellationToken,
    slot: Arc<OwnedSemaphorePermit>,
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
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(info.clone());
            let router = router.clone();
            async move {
                Ok::<_, Infallible>(
                    router
                        .oneshot(request.map(Body::new))
                        .await
                        .unwrap_or_else(|e| match e {}),
                )
            }
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_read_timeout)
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
