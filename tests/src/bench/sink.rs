//! The local app at the end of both paths: a minimal hyper server on its own
//! thread that reads each body, counts it and answers 200.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A running sink. [`Sink::stop`] ends its thread.
#[derive(Debug)]
pub struct Sink {
    pub addr: SocketAddr,
    received: Arc<Counter>,
    stop: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sink {
    /// Binds 127.0.0.1:0 and serves on a single-threaded runtime of its own,
    /// the same in the direct and the tunnel runs.
    pub fn start() -> anyhow::Result<Sink> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("bind the sink")?;
        listener.set_nonblocking(true).context("sink socket")?;
        let addr = listener.local_addr().context("sink address")?;
        let received = Arc::new(Counter::default());
        let stop = CancellationToken::new();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("sink runtime")?;
        let thread = std::thread::Builder::new()
            .name("bench-sink".into())
            .spawn({
                let (received, stop) = (received.clone(), stop.clone());
                move || runtime.block_on(serve(listener, received, stop))
            });
        Ok(Sink {
            addr,
            received,
            stop,
            thread: Some(thread.context("sink thread")?),
        })
    }

    /// Requests answered so far.
    pub fn received(&self) -> u64 {
        self.received.count.load(Ordering::Relaxed)
    }

    /// Waits until `count` requests have been answered in total; false on timeout.
    pub async fn await_received(&self, count: u64, within: std::time::Duration) -> bool {
        let wait = async {
            loop {
                let changed = self.received.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if self.received() >= count {
                    return;
                }
                changed.await;
            }
        };
        tokio::time::timeout(within, wait).await.is_ok()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn stop(mut self) {
        self.stop.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Requests answered, and a wake-up for whoever waits for a count.
#[derive(Debug, Default)]
struct Counter {
    count: AtomicU64,
    changed: tokio::sync::Notify,
}

async fn serve(listener: std::net::TcpListener, received: Arc<Counter>, stop: CancellationToken) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let received = received.clone();
        let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let received = received.clone();
            async move {
                request.into_body().collect().await?;
                received.count.fetch_add(1, Ordering::Relaxed);
                received.changed.notify_waiters();
                Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
            }
        });
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service),
        );
    }
}
