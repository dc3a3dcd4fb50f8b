//! A socket wrapper that notes when bytes last moved, for the idle timeout,
//! and when the request being read began, for the whole-request deadline.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// No request is being read: the next byte read starts one.
const BETWEEN_REQUESTS: u64 = u64::MAX;

#[derive(Debug)]
struct Clock {
    /// Milliseconds since `start` at the last read or write.
    last_ms: AtomicU64,
    /// Milliseconds since `start` at the first byte of the request being
    /// read, or `BETWEEN_REQUESTS`.
    request_ms: AtomicU64,
}

#[derive(Debug, Clone)]
pub(crate) struct Activity {
    start: Instant,
    clock: Arc<Clock>,
}

impl Activity {
    pub(crate) fn new() -> Self {
        Self {
            start: Instant::now(),
            clock: Arc::new(Clock {
                last_ms: AtomicU64::new(0),
                request_ms: AtomicU64::new(BETWEEN_REQUESTS),
            }),
        }
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn touch(&self) {
        self.clock.last_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    fn read(&self) {
        let now = self.now_ms();
        self.clock.last_ms.store(now, Ordering::Relaxed);
        let request = &self.clock.request_ms;
        if request.load(Ordering::Relaxed) == BETWEEN_REQUESTS {
            let _ = request.compare_exchange(
                BETWEEN_REQUESTS,
                now,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// When the first byte of the request being read arrived; `None` when its
    /// bytes came with the previous request's (pipelined), so no read marked it.
    pub(crate) fn request_started(&self) -> Option<Instant> {
        match self.clock.request_ms.load(Ordering::Relaxed) {
            BETWEEN_REQUESTS => None,
            ms => Some(self.start + std::time::Duration::from_millis(ms)),
        }
    }

    /// The request is read (or will not be): the next byte starts another.
    pub(crate) fn request_read(&self) {
        self.clock
            .request_ms
            .store(BETWEEN_REQUESTS, Ordering::Relaxed);
    }

    /// Time since bytes last moved.
    pub(crate) fn idle(&self) -> std::time::Duration {
        let last = self.clock.last_ms.load(Ordering::Relaxed);
        std::time::Duration::from_millis(self.now_ms().saturating_sub(last))
    }
}

#[derive(Debug)]
pub(crate) struct TrackedIo<S> {
    inner: S,
    activity: Activity,
}

impl<S> TrackedIo<S> {
    pub(crate) fn new(inner: S, activity: Activity) -> Self {
        Self { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TrackedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read();
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TrackedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
