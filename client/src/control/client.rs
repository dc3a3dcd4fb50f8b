//! The commands' side of the control socket: a connection to the listener
//! that sends one request at a time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::io::BufReader;
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Mutex;

use super::ControlError;
use super::protocol::{ErrorKind, Hello, MAX_LINE_BYTES, Reply, Request, read_line, write_line};
use crate::store::{StoreError, StoreEvent};

/// How long to wait for the listener to accept and greet.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one request may take; generous because a prune of a large
/// store or a filtered page over it runs for a while.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A connection to a running listener. Clones share the connection; requests
/// from clones take turns.
#[derive(Clone, Debug)]
pub struct ControlClient {
    conn: Arc<Mutex<Conn>>,
    path: PathBuf,
    hello: Hello,
}

#[derive(Debug)]
struct Conn {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl ControlClient {
    /// Connects and checks that a hookline listener answers.
    pub async fn connect(path: &Path) -> Result<ControlClient, ControlError> {
        let conn = open_conn(path).await?;
        let mut client = ControlClient {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
            hello: Hello {
                server: String::new(),
                version: String::new(),
                pid: 0,
                schema: 0,
            },
        };
        let hello = tokio::time::timeout(CONNECT_TIMEOUT, client.call::<Hello>(&Request::Hello))
            .await
            .map_err(|_| client.protocol("no greeting from the listener"))?
            .map_err(|e| client.protocol(&e.to_string()))?;
        client.hello = hello;
        Ok(client)
    }

    /// The listener's greeting: its pid and version.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    fn protocol(&self, detail: &str) -> ControlError {
        ControlError::Protocol {
            path: self.path.clone(),
            detail: detail.to_owned(),
        }
    }

    /// Sends `request` and decodes the answer; a remote failure comes back
    /// as the same [`StoreError`] the store would have returned locally. A
    /// connection the listener closed unused (idle too long, or its place
    /// taken) is opened again and the request sent once more: the listener
    /// says so only when it has read nothing of it.
    pub async fn call<T: DeserializeOwned>(&self, request: &Request) -> Result<T, StoreError> {
        let mut conn = self.conn.lock().await;
        let mut reopened = false;
        loop {
            let exchange = async {
                let written = write_line(&mut conn.writer, request).await;
                // Read even when the write failed: the listener may have
                // left a `closed` line before hanging up.
                match read_line(&mut conn.reader, MAX_LINE_BYTES).await {
                    Ok(None) => written.map(|()| None),
                    read => read,
                }
            };
            let line = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
                .await
                .map_err(|_| self.remote("the listener did not answer in time"))?
                .map_err(|e| self.remote(&e.to_string()))?
                .ok_or_else(|| self.remote("the listener closed the connection"))?;
            match serde_json::from_slice::<Reply<T>>(&line) {
                Ok(Reply::Ok(value)) => return Ok(value),
                Ok(Reply::Error(reply)) if reply.kind == ErrorKind::Closed && !reopened => {
                    *conn = open_conn(&self.path)
                        .await
                        .map_err(|e| StoreError::Remote(e.to_string()))?;
                    reopened = true;
                }
                Ok(Reply::Error(reply)) => return Err(reply.into_store()),
                Err(err) => return Err(self.remote(&format!("unreadable answer: {err}"))),
            }
        }
    }

    fn remote(&self, detail: &str) -> StoreError {
        StoreError::Remote(format!("control socket {}: {detail}", self.path.display()))
    }

    /// A new connection that receives [`StoreEvent`]s as they happen.
    pub async fn watch(&self) -> Result<RemoteEvents, StoreError> {
        let mut conn = open_conn(&self.path)
            .await
            .map_err(|e| StoreError::Remote(e.to_string()))?;
        write_line(&mut conn.writer, &Request::Watch)
            .await
            .map_err(|e| self.remote(&e.to_string()))?;
        let ack = read_line(&mut conn.reader, MAX_LINE_BYTES)
            .await
            .map_err(|e| self.remote(&e.to_string()))?;
        match ack.map(|line| serde_json::from_slice::<Reply<String>>(&line)) {
            Some(Ok(Reply::Ok(_))) => Ok(RemoteEvents { conn }),
            Some(Ok(Reply::Error(reply))) => Err(reply.into_store()),
            _ => Err(self.remote("the listener refused to stream events")),
        }
    }
}

/// Events streamed from a listener.
#[derive(Debug)]
pub struct RemoteEvents {
    conn: Conn,
}

impl RemoteEvents {
    /// The next event; `None` once the listener has gone.
    pub async fn next(&mut self) -> Option<StoreEvent> {
        let line = read_line(&mut self.conn.reader, MAX_LINE_BYTES)
            .await
            .ok()??;
        serde_json::from_slice(&line).ok()
    }
}

async fn open_conn(path: &Path) -> Result<Conn, ControlError> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, UnixStream::connect(path))
        .await
        .map_err(|_| ControlError::Protocol {
            path: path.to_path_buf(),
            detail: "connect timed out".into(),
        })?
        .map_err(|source| ControlError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let (read, writer) = stream.into_split();
    Ok(Conn {
        reader: BufReader::new(read),
        writer,
    })
}
