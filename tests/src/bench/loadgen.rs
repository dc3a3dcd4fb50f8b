//! The load generator: N keep-alive HTTP/1.1 connections on one thread of
//! its own, each sending the same request back to back for a fixed time and
//! timing every answer. Direct and tunnel runs use it identically.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::stats::Latencies;

/// Longest one request may take before the run fails: well above the relay's
/// 9 s response timeout, so a stuck tunnel shows as a failure, not a hang.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every connection sends.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where to connect: connection `i` goes to `addrs[i % len]` (several
    /// relays of a cluster share the load as behind a load balancer).
    pub addrs: Vec<SocketAddr>,
    /// Path and query, e.g. `/h/{channel}/webhooks`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// The status every answer must have.
    pub expect: u16,
    /// Count 504 (the relay waited its response timeout; the delivery stays
    /// queued and is delivered later) apart instead of failing the run.
    pub late_ok: bool,
}

/// How hard and how long.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub connections: usize,
    /// Requests started before this much time has passed are checked but not timed.
    pub warmup: Duration,
    pub duration: Duration,
}

/// The outcome of one run.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// Answers with the expected status, warmup included (what the sink and store must hold).
    pub total_ok: u64,
    /// Timed answers (started after the warmup).
    pub latencies: Latencies,
    /// From the end of the warmup to the last timed answer.
    pub measured: Duration,
    /// Answers 504 when the target allows them (`late_ok`).
    pub late: u64,
    /// Wrong statuses and transport errors, first few kept for the message.
    pub failures: u64,
    pub first_failure: Option<String>,
}

impl LoadResult {
    /// Timed answers per second.
    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.measured.as_secs_f64().max(1e-9)
    }

    /// Fails loudly unless every request got its expected status.
    pub fn check(&self, what: &str) -> anyhow::Result<()> {
        if self.failures > 0 {
            anyhow::bail!(
                "{what}: {} request(s) failed; first: {}",
                self.failures,
                self.first_failure.as_deref().unwrap_or("?")
            );
        }
        if self.latencies.is_empty() {
            anyhow::bail!(
                "{what}: no request answered as expected in the measured window ({} answered 504)",
                self.late
            );
        }
        Ok(())
    }

    fn merge(&mut self, other: LoadResult) {
        self.total_ok += other.total_ok;
        self.late += other.late;
        self.latencies.extend(other.latencies);
        self.measured = self.measured.max(other.measured);
        self.failures += other.failures;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }
}

/// Runs the load on a new OS thread with a single-threaded runtime, so the
/// load generator costs the same one thread in every scenario.
pub async fn run_on_own_thread(target: Target, load: Load) -> anyhow::Result<LoadResult> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bench-load".into())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("load generator runtime")
                .and_then(|rt| rt.block_on(run(target, load)));
            let _ = tx.send(result);
        })
        .context("load generator thread")?;
    rx.await.context("load generator thread died")?
}

/// Runs `load.connections` connections against `target` until the time is up.
pub async fn run(target: Target, load: Load) -> anyhow::Result<LoadResult> {
    let start = Instant::now();
    let timed_from = start + load.warmup;
    let end = timed_from + load.duration;
    let target = std::sync::Arc::new(target);
    let mut tasks = tokio::task::JoinSet::new();
    anyhow::ensure!(!target.addrs.is_empty(), "no address to load");
    for i in 0..load.connections {
        let addr = target.addrs[i % target.addrs.len()];
        tasks.spawn(connection(target.clone(), addr, timed_from, end));
    }
    let mut total = LoadResult::default();
    while let Some(joined) = tasks.join_next().await {
        total.merge(joined.context("load connection task")?);
    }
    Ok(total)
}

/// One keep-alive connection sending requests back to back until `end`.
async fn connection(
    target: std::sync::Arc<Target>,
    addr: SocketAddr,
    timed_from: Instant,
    end: Instant,
) -> LoadResult {
    let mut result = LoadResult::default();
    let fail = |result: &mut LoadResult, message: String| {
        result.failures += 1;
        result.first_failure.get_or_insert(message);
    };
    let mut sender = match open(addr).await {
        Ok(sender) => sender,
        Err(err) => {
            fail(&mut result, format!("{err:#}"));
            return result;
        }
    };
    // Until the time is up, and past it (for at most one request timeout)
    // until one answer was timed: a request slower than the whole window (a
    // loaded machine, a quick run, a 504) still leaves the run a figure.
    let overtime = end + REQUEST_TIMEOUT;
    while Instant::now() < end || (result.latencies.is_empty() && Instant::now() < overtime) {
        let started = Instant::now();
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange(&mut sender, &target, addr)).await {
            Ok(Ok(status)) if status == target.expect => {
                result.total_ok += 1;
                if started >= timed_from {
                    result.latencies.record(started.elapsed());
                    result.measured = timed_from.elapsed();
                }
            }
            Ok(Ok(504)) if target.late_ok => result.late += 1,
            Ok(Ok(status)) => fail(
                &mut result,
                format!("status {status}, expected {}", target.expect),
            ),
            Ok(Err(err)) => {
                fail(&mut result, format!("{err:#}"));
                return result;
            }
            Err(_) => {
                fail(&mut result, format!("no answer within {REQUEST_TIMEOUT:?}"));
                return result;
            }
        }
    }
    result
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn open(addr: SocketAddr) -> anyhow::Result<Sender> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connect {addr}"))?;
    stream.set_nodelay(true).context("TCP_NODELAY")?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake")?;
    tokio::spawn(conn);
    Ok(sender)
}

/// One request and its whole answer; the status.
async fn exchange(sender: &mut Sender, target: &Target, addr: SocketAddr) -> anyhow::Result<u16> {
    sender.ready().await.context("connection closed")?;
    let mut request = hyper::Request::builder()
        .method("POST")
        .uri(&target.path)
        .header("host", addr.to_string());
    for (name, value) in &target.headers {
        request = request.header(name, value);
    }
    let request = request
        .body(Full::new(target.body.clone()))
        .context("request")?;
    let response = sender.send_request(request).await.context("send")?;
    let status = response.status().as_u16();
    response
        .into_body()
        .collect()
        .await
        .context("answer body")?;
    Ok(status)
}
