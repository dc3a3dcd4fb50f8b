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
use super::protocol::{ErrorReply, Hello, MAX_LINE_BYTES, Reply, Request, read_line, write_line};
use crate::store::{SCHEMA_VERSION, Store, StoreError, StoreEvent};

/// Connections served at once; the TUI and a few commands need a handful.
const MAX_CONNECTIONS: usize = 64;

/// How long a stale-socket probe waits for an answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves `store` on the Unix socket `path` (owner-only) until `shutdown`,
/// then removes the socket. A socket file nobody answers on is left over
/// from a crash and is replaced; one that answers means another listener.
///
/// Takes a `&Path` or a `PathBuf`; the future owns a copy of the path, so it
/// can be handed to `tokio::spawn`.
pub fn serve_control(
    store: Store,
    path: impl AsRef<Path>,
    shutdown: CancellationToken,
) -> impl Future<Output = Result<(), ControlError>> + Send + 'static {
    let path = path.as_ref().to_path_buf();
    async move {
        ControlSocket::bind(&path)
            .await?
            .serve(store, shutdown)
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
        })
    }

    /// Answers requests until `shutdown`, then removes the socket.
    pub async fn serve(
        self,
        store: Store,
        shutdown: CancellationToken,
    ) -> Result<(), ControlError> {
        serve(self.listener, store, &self.path, shutdown).await;
        Ok(())
    }
}

async fn serve(listener: UnixListener, store: Store, path: &Path, shutdown: CancellationToken) {
    tracing::debug!(path = %path.display(), "control endpoint listening");
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!("control endpoint: too many connections, refusing one");
            continue;
        };
        let (store, shutdown) = (store.clone(), shutdown.clone());
        tasks.spawn(async move {
            if let Err(err) = serve_connection(store, stream, shutdown).await {
                tracing::debug!(%err, "control connection ended");
            }
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    tasks.shutdown().await;
    let _ = std::fs::remove_file(path);
    tracing::debug!("control endpoint stopped");
}

async fn serve_connection(
    store: Store,
    stream: UnixStream,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let line = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            line = read_line(&mut reader, MAX_LINE_BYTES) => line,
        };
        let Some(line) = line? else { return Ok(()) };
        let request = match serde_json::from_slice::<Request>(&line) {
            Ok(request) => request,
            Err(err) => {
                let reply = Reply::<Value>::Error(ErrorReply::bad_request(format!(
                    "unreadable request: {err}"
                )));
                write_line(&mut write, &reply).await?;
                continue;
            }
        };
        if matches!(request, Request::Watch) {
            write_line(&mut write, &Reply::Ok("watching")).await?;
            return watch(store.subscribe(), &mut write, shutdown).await;
        }
        let reply = match answer(&store, request).await {
            Ok(value) => Reply::Ok(value),
            Err(err) => Reply::Error(ErrorReply::from_store(&err)),
        };
        write_line(&mut write, &reply).await?;
    }
}

async fn watch<W>(
    mut events: broadcast::Receiver<StoreEvent>,
    write: &mut W,
    shutdown: CancellationToken,
) -> std::io::Result<()>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            event = events.recv() => event,
        };
        let event = match event {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(n)) => StoreEvent::Lagged(n),
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
        };
        write_line(write, &event).await?;
    }
}

/// Runs one request on a blocking thread (sled calls block) and flushes
/// after changes, so a command's write is durable when it gets its answer.
async fn answer(store: &Store, request: Request) -> Result<Value, StoreError> {
    let mutates = matches!(
        request,
        Request::RecordAttempt { .. }
            | Request::Insert { .. }
            | Request::Delete { .. }
            | Request::Prune { .. }
    );
    let worker = store.clone();
    let value = tokio::task::spawn_blocking(move || run(&worker, request))
        .await
        .map_err(|e| StoreError::Remote(format!("control request failed: {e}")))??;
    if mutates {
        store.flush().await?;
    }
    Ok(value)
}

fn run(store: &Store, request: Request) -> Result<Value, StoreError> {
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
            let stored = crate::store::StoredDelivery {
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
        Request::Watch => Err(StoreError::Remote(
            "watch is answered by the connection loop".into(),
        )),
    }
}
