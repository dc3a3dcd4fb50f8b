//! The whole-request deadline. The head is bounded by hyper's header timer;
//! the body by this wrapper, which fails the body once the request has taken
//! longer than the deadline since its first byte, however steadily the
//! sender trickles. The wait for the local app's answer comes after the body
//! and is bounded separately (`response_timeout`).

use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

use crate::io::Activity;

type BoxError = Box<dyn Error + Send + Sync>;

/// What a body yields once its deadline passed; ingress answers it with 408.
#[derive(Debug, thiserror::Error)]
#[error("the request was not received within {0:?}")]
pub(crate) struct RequestTimedOut(pub Duration);

/// Whether `error`, or anything it wraps, is a [`RequestTimedOut`].
pub(crate) fn timed_out(error: &(dyn Error + 'static)) -> Option<Duration> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(RequestTimedOut(limit)) = e.downcast_ref::<RequestTimedOut>() {
            return Some(*limit);
        }
        next = e.source();
    }
    None
}

/// A request body that fails with [`RequestTimedOut`] at `deadline`, and
/// tells the connection's [`Activity`] when the request is fully read (or
/// dropped unread), so the next byte starts the next request's clock.
#[derive(Debug)]
pub(crate) struct DeadlineBody<B> {
    inner: B,
    deadline: tokio::time::Instant,
    /// Armed at the first wait: most bodies arrive with their head and never need a timer.
    sleep: Option<Pin<Box<Sleep>>>,
    limit: Duration,
    activity: Activity,
    /// The clock was told this request is read (or abandoned).
    finished: bool,
    /// The deadline passed: every later poll fails too, never a clean end.
    expired: bool,
}

impl<B> DeadlineBody<B> {
    /// The deadline runs from the request's first byte, or from now when
    /// that byte arrived with the previous request's (pipelining).
    pub(crate) fn new(inner: B, activity: Activity, limit: Duration) -> Self {
        let started = activity.request_started().unwrap_or_else(Instant::now);
        Self {
            inner,
            deadline: tokio::time::Instant::from_std(started + limit),
            sleep: None,
            limit,
            activity,
            finished: false,
            expired: false,
        }
    }

    fn finish(&mut self) {
        if !self.finished {
            self.finished = true;
            self.activity.request_read();
        }
    }
}

impl<B> Drop for DeadlineBody<B> {
    fn drop(&mut self) {
        self.finish();
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.expired {
            return Poll::Ready(Some(Err(Box::new(RequestTimedOut(this.limit)))));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => {
                if this.inner.is_end_stream() {
                    this.finish();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.finish();
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Pending => {
                let deadline = this.deadline;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.expired = true;
                        this.finish();
                        Poll::Ready(Some(Err(Box::new(RequestTimedOut(this.limit)))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        !self.expired && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    #[tokio::test]
    async fn a_body_that_never_ends_fails_at_the_deadline() {
        let pending = futures_util::stream::pending::<Result<Frame<Bytes>, std::io::Error>>();
        let body = DeadlineBody::new(
            StreamBody::new(pending),
            Activity::new(),
            Duration::from_millis(20),
        );
        let err = body.collect().await.unwrap_err();
        assert_eq!(timed_out(&*err), Some(Duration::from_millis(20)));
    }

    #[tokio::test]
    async fn a_complete_body_passes_and_ends_the_request() {
        let activity = Activity::new();
        let body = DeadlineBody::new(
            http_body_util::Full::new(Bytes::from_static(b"hello")),
            activity.clone(),
            Duration::from_secs(5),
        );
        assert_eq!(body.collect().await.unwrap().to_bytes(), "hello");
        assert!(activity.request_started().is_none());
        let other = std::io::Error::other("reset");
        assert_eq!(timed_out(&other), None);
    }
}
