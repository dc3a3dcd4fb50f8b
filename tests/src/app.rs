//! A real local HTTP app on loopback that records every request byte for byte.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One request as the app saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Bytes,
}

impl Received {
    /// The first value of `name`, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        crate::header_in(&self.headers, name)
    }
}

/// What the app answers: status, headers, body.
pub type Reply = (u16, Vec<(String, String)>, Vec<u8>);

type Responder = Arc<dyn Fn(&Received) -> Reply + Send + Sync>;

/// The app. Requests arrive on [`next`](Self::next); dropping it stops the server.
#[derive(Debug)]
pub struct LocalApp {
    pub addr: SocketAddr,
    received: mpsc::UnboundedReceiver<Received>,
    stop: CancellationToken,
    count: Arc<Mutex<u64>>,
}

impl LocalApp {
    /// An app answering 200 `ok` to everything.
    pub async fn start() -> Self {
        Self::with(|_| (200, vec![], b"ok".to_vec())).await
    }

    /// An app answering with `respond`, on a free port.
    pub async fn with(respond: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind local app");
        Self::on(listener, respond)
    }

    /// An app on an already bound listener (to bring an app "back up" on its old port).
    pub fn on(
        listener: TcpListener,
        respond: impl Fn(&Received) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let addr = listener.local_addr().expect("local addr");
        let (tx, received) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let count = Arc::new(Mutex::new(0));
        let responder: Responder = Arc::new(respond);
        let app = Router::new().fallback({
            let count = Arc::clone(&count);
            move |request: Request| {
                record(
                    request,
                    tx.clone(),
                    Arc::clone(&responder),
                    Arc::clone(&count),
                )
            }
        });
        let shutdown = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await;
        });
        Self {
            addr,
            received,
            stop,
            count,
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next request the app received (fails the test after [`crate::WAIT`]).
    pub async fn next(&mut self) -> Received {
        crate::within("a request at the local app", self.received.recv())
            .await
            .expect("local app stopped")
    }

    /// Drops the requests queued for [`next`](Self::next) without waiting:
    /// a long run that keeps its own log (in the responder) calls this so
    /// copies of every request do not pile up. Returns how many were dropped.
    pub fn discard_received(&mut self) -> usize {
        let mut dropped = 0;
        while self.received.try_recv().is_ok() {
            dropped += 1;
        }
        dropped
    }

    /// Requests received so far.
    pub fn count(&self) -> u64 {
        *self.count.lock().expect("count lock")
    }

    /// Stops the server (the port is freed).
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for LocalApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn record(
    request: Request,
    tx: mpsc::UnboundedSender<Received>,
    respond: Responder,
    count: Arc<Mutex<u64>>,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return (axum::http::StatusCode::BAD_REQUEST, "unreadable body").into_response(),
    };
    let received = Received {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect(),
        body,
    };
    let (status, headers, body) = respond(&received);
    *count.lock().expect("count lock") += 1;
    let _ = tx.send(received);
    let mut response = Response::new(axum::body::Body::from(Bytes::from(body)));
    *response.status_mut() = axum::http::StatusCode::from_u16(status).expect("valid status");
    for (name, value) in headers {
        response.headers_mut().append(
            axum::http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            axum::http::HeaderValue::from_str(&value).expect("header value"),
        );
    }
    response
}
