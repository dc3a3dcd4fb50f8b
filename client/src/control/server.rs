//! The listener's side of the control socket: one task per connection, each
//! request answered from the store the listener owns.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::BufReader;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, broadcast};
use tokio_util::sync::CancellationToken;

use super::ControlError;
use super::limits::{ControlLimits, long_line_permits, read_request};
use super::protocol::{ErrorReply, Hello, PipeStatus, Reply, Request, write_line};
use super::slots::{Slot, Slots};
use crate::connection::LiveLink;
use crate::store::{SCHEMA_VERSION, Store, StoreError, StoreEvent};

/// How long a stale-socket probe waits for an answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves `store` on the Unix socket `path` (owner-only) until `shutdown`,
/// then removes the socket, within the default [`ControlLimits`]. A socket
/// file nobody answers on is left over from a crash and is replaced; one
/// that answers means another listener.
///
/// Takes a `&Path` or a `PathBuf`; the future owns a copy of the path, so it
/// can be handed to `tokio::spawn`.
pub fn serve_control(
    store: Store,
    path: impl AsRef<Path>,
    shutdown: CancellationToken,
) -> impl Future<Output = Result<(), ControlError>> + Send + 'static {
    serve_control_with(store, path, shutdown, ControlLimits::default())
}

/// [`serve_control`] within other limits (tests shorten the timeouts).
pub fn serve_control_with(
    store: Store,
    path: impl AsRef<Path>,
    shutdown: CancellationToken,
    limits: ControlLimits,
) -> impl Future<Output = Result<(), ControlError>> + Send + 'static {
    let path = path.as_ref().to_path_buf();
    async move {
        ControlSocket::bind(&path)
            .await?
            .serve_with(store, shutdown, limits)
            .await
    }
}

/// The control socket, bound but not yet answering. `listen` binds it before
/// it prints its startup block, so a command run as soon as that block
/// appears finds the listener instead of a store it cannot open.
#[derive(Debug)]
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
    link: Option<LiveLink>,
}

impl ControlSocket {
    pub async fn bind(path: &Path) -> Result<Self, ControlError> {
        let io_err = |source| ControlError::Io {
            path: path.to_path_buf(),
            source,
        };
        if path.exists() {
            let probe = tokio::time::timeout(PROBE_TIMEOUT, UnixStream::connect(path)).await;
            if matches!(probe, Ok(Ok(_))) {
                return Err(ControlError::InUse {
                    path: path.to_path_buf(),
                });
            }
            std::fs::remove_file(path).map_err(io_err)?;
        }
        let listener = UnixListener::bind(path).map_err(io_err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(io_err)?;
        }
        Ok(Self {
            listener,
            path: path.to_path_buf(),
            link: None,
        })
    }

    /// Answers `status` with this connection's live state too.
    pub fn with_link(mut self, link: LiveLink) -> Self {
        self.link = Some(link);
        self
    }

    /// Answers requests within the default limits until `shutdown`, then
    /// removes the socket.
    pub async fn serve(
        self,
        store: Store,
        shutdown: CancellationToken,
    ) -> Result<(), ControlError> {
        self.serve_with(store, shutdown, ControlLimits::default())
            .await
    }

    /// [`serve`](Self::serve) within other limits.
    pub async fn serve_with(
        self,
        store: Store,
        shutdown: CancellationToken,
        limits: ControlLimits,
    ) -> Result<(), ControlError> {
        serve(
            self.listener,
            store,
            self.link,
            &self.path,
            shutdown,
            limits,
        )
        .await;
        Ok(())
    }
}

async fn serve(
    listener: UnixListener,
    store: Store,
    link: Option<LiveLink>,
    path: &Path,
    shutdown: CancellationToken,
    limits: ControlLimits,
) {
    tracing::debug!(path = %path.display(), "control endpoint listening");
    let slots = Slots::new(limits.max_connections);
    let long_lines = long_line_permits();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let Some(slot) = slots.admit() else {
            tracing::warn!("control endpoint: every connection is busy, refusing one");
            continue;
        };
        let conn = Connection {
            store: store.clone(),
            link: link.clone(),
            slot,
            limits,
            long_lines: Arc::clone(&long_lines),
            shutdown: shutdown.clone(),
        };
        tasks.spawn(async move {
            if let Err(err) = conn.serve(stream).await {
                tracing::debug!(%err, "control connection ended");
            }
        });
        while tasks.try_join_next().is_some() {}
    }
    tasks.shutdown().await;
    let _ = std::fs::remove_file(path);
    tracing::debug!("control endpoint stopped");
}

/// One client's connection and what bounds it.
struct Connection {
    store: Store,
    link: Option<LiveLink>,
    slot: Slot,
    limits: ControlLimits,
    long_lines: Arc<Semaphore>,
    shutdown: CancellationToken,
}

impl Connection {
    async fn serve(self, stream: UnixStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        loop {
            let next = read_request(&mut reader, &self.long_lines);
            let line = tokio::select! {
                _ = self.shutdown.cancelled() => return Ok(()),
                () = self.slot.evicted() => {
                    return self.goodbye(&mut write, "closed to make room for another connection").await;
                }
                line = tokio::time::timeout(self.limits.idle_timeout, next) => line,
            };
            let line = match line {
                Err(_) => {
                    let why = format!(
                        "closed after {:?} without a complete request",
                        self.limits.idle_timeout
                    );
                    return self.goodbye(&mut write, &why).await;
                }
                Ok(Err(err)) if err.kind() == std::io::ErrorKind::InvalidData => {
                    let reply = Reply::<Value>::Error(ErrorReply::too_long(err.to_string()));
                    let _ = self.send(&mut write, &reply).await;
                    return Err(err);
                }
                Ok(line) => line?,
            };
            let Some(line) = line else { return Ok(()) };
            self.slot.busy();
            let request = match serde_json::from_slice::<Request>(&line) {
                Ok(request) => request,
                Err(err) => {
                    let reply = Reply::<Value>::Error(ErrorReply::bad_request(format!(
                        "unreadable request: {err}"
                    )));
                    self.slot.idle();
                    self.send(&mut write, &reply).await?;
                    continue;
                }
            };
            drop(line);
            if matches!(request, Request::Watch) {
                self.send(&mut write, &Reply::Ok("watching")).await?;
                self.slot.watching();
                return self.watch(&mut write).await;
            }
            let reply = match answer(&self.store, self.link.as_ref(), request).await {
                Ok(value) => Reply::Ok(value),
                Err(err) => Reply::Error(ErrorReply::from_store(&err)),
            };
            // Idle from here: once the client has its answer, a newcomer
            // may take this place.
            self.slot.idle();
            self.send(&mut write, &reply).await?;
        }
    }

    /// Writes one line, giving up on a client that does not take it.
    async fn send<W, T>(&self, write: &mut W, value: &T) -> std::io::Result<()>
    where
        W: tokio::io::AsyncWrite + Unpin,
        T: serde::Serialize,
    {
        tokio::time::timeout(self.limits.write_timeout, write_line(write, value))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client not reading"))?
    }

    /// Tells the client why its connection closes before any request of it
    /// was read, so it can reconnect and send that request again.
    async fn goodbye<W>(&self, write: &mut W, why: &str) -> std::io::Result<()>
    where
        W: tokio::io::AsyncWrite + Unpin,
    {
        let reply = Reply::<Value>::Error(ErrorReply::closed(why));
        self.send(write, &reply).await
    }

    async fn watch<W>(&self, write: &mut W) -> std::io::Result<()>
    where
        W: tokio::io::AsyncWrite + Unpin,
    {
        let mut events = self.store.subscribe();
        loop {
            let event = tokio::select! {
                _ = self.shutdown.cancelled() => return Ok(()),
                () = self.slot.evicted() => return Ok(()),
                event = events.recv() => event,
            };
            let event = match event {
                Ok(event) => event,
                Err(broadcast::error::RecvError::Lagged(n)) => StoreEvent::Lagged(n),
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            };
            self.send(write, &event).await?;
        }
    }
}

/// Runs one request on a blocking thread (sled calls block) and flushes
/// after changes, so a command's write is durable when it gets its answer.
async fn answer(
    store: &Store,
    link: Option<&LiveLink>,
    request: Request,
) -> Result<Value, StoreError> {
    let mutates = matches!(
        request,
        Request::RecordAttempt { .. }
            | Request::Insert { .. }
            | Request::Delete { .. }
            | Request::Prune { .. }
            | Request::SupersedeRetry { .. }
            | Request::DismissGaps { .. }
    );
    let worker = store.clone();
    let link = link.map(LiveLink::snapshot);
    let value = tokio::task::spawn_blocking(move || run(&worker, link, request))
        .await
        .map_err(|e| StoreError::Remote(format!("control request failed: {e}")))??;
    if mutates {
        store.flush().await?;
    }
    Ok(value)
}

fn run(
    store: &Store,
    link: Option<crate::connection::LinkStatus>,
    request: Request,
) -> Result<Value, StoreError> {
    let json = |v: Result<Value, serde_json::Error>| v.map_err(StoreError::decode("answer"));
    match request {
        Request::Hello => json(serde_json::to_value(Hello {
            server: "hookline".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            pid: std::process::id(),
            schema: SCHEMA_VERSION,
        })),
        Request::Get { id } => json(serde_json::to_value(store.get(id)?)),
        Request::Summary { id } => json(serde_json::to_value(store.summary(id)?)),
        Request::Resolve { prefix } => json(serde_json::to_value(store.resolve(&prefix)?)),
        Request::Page { query } => json(serde_json::to_value(store.page(&query)?)),
        Request::Counts => json(serde_json::to_value(store.counts()?)),
        Request::RecordAttempt { id, attempt } => {
            json(serde_json::to_value(store.record_attempt(id, &attempt)?))
        }
        Request::Insert {
            delivery,
            verdict,
            attempts,
        } => {
            let stored = crate::model::StoredDelivery {
                delivery,
                verdict,
                attempts,
            };
            json(serde_json::to_value(store.insert_stored(&stored)?))
        }
        Request::Delete { id } => json(serde_json::to_value(store.delete(id)?)),
        Request::Prune {
            older_than_secs,
            keep,
        } => json(serde_json::to_value(
            store.prune(older_than_secs.map(Duration::from_secs), keep)?,
        )),
        Request::RetrySchedule { id } => json(serde_json::to_value(store.retry_schedule(id)?)),
        Request::SupersedeRetry { id, at_ms } => {
            json(serde_json::to_value(store.supersede_retry(id, at_ms)?))
        }
        Request::Status => json(serde_json::to_value(PipeStatus {
            link,
            store: store.health(crate::clock::now_ms())?,
        })),
        Request::Gaps => json(serde_json::to_value(store.open_gaps()?)),
        Request::DismissGaps { at_ms } => json(serde_json::to_value(store.dismiss_gaps(at_ms)?)),
        Request::Watch => Err(StoreError::Remote(
            "watch is answered by the connection loop".into(),
        )),
    }
}
