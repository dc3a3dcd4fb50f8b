//! The relay handle: opens the queue, owns the background tasks, builds the
//! router and closes everything in order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::{any, get};
use hookline_protocol::{ChannelId, DeliveryId};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::commit::GroupCommit;
use crate::conn_limits::PerSourceLimit;
use crate::hub::ChannelHub;
use crate::metrics::{DropReason, Metrics};
use crate::queue::{ChannelQueue, SledQueue};
use crate::refusals::Refusals;
use crate::{RelayConfig, RelayError, TokenSet, data_dir, ops};

/// How often the queue's upkeep runs.
const MAINTAIN_EVERY: Duration = Duration::from_millis(25);

/// How long `close` waits for sessions to say goodbye before flushing anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) struct Inner {
    pub config: RelayConfig,
    pub queue: Arc<dyn ChannelQueue>,
    /// Set when this relay is a cluster member: presence and remote answers.
    pub cluster: Option<Arc<crate::cluster::JetStreamQueue>>,
    /// The channels of the current tokens; replaced by `reload_tokens`.
    pub hubs: RwLock<HashMap<ChannelId, Arc<ChannelHub>>>,
    /// The tokens accepted now: `config.tokens` until the first reload.
    pub tokens: RwLock<TokenSet>,
    pub metrics: Metrics,
    pub commit: Arc<GroupCommit>,
    /// Open connections per source address, across every listener.
    pub per_source: Arc<PerSourceLimit>,
    pub refusals: Refusals,
    next_session: AtomicU64,
    /// Cancelled by `close`: ends background tasks and any remaining session.
    pub shutdown: CancellationToken,
    pub tasks: TaskTracker,
}

/// A running relay. Cheap to clone; every listener shares one.
#[derive(Debug, Clone)]
pub struct Relay {
    pub(crate) inner: Arc<Inner>,
}

impl Relay {
    /// Opens the durable queue in `config.data_dir` and starts the flusher and
    /// the age-expiry task. Must run inside a Tokio runtime. The data dir is
    /// created owner-only, and refused if group or others can write it.
    pub fn open(config: RelayConfig) -> Result<Relay, RelayError> {
        config.validate()?;
        data_dir::prepare(&config.data_dir)?;
        let queue = SledQueue::open(&config.data_dir).map_err(|source| RelayError::OpenQueue {
            path: config.data_dir.clone(),
            source,
        })?;
        data_dir::restrict_queue_files(&config.data_dir)?;
        Self::with_queue(config, Arc::new(queue))
    }

    /// Like [`open`](Self::open) with another queue implementation (a shared
    /// one, for several relays behind a load balancer); `data_dir` is unused.
    pub fn with_queue(
        config: RelayConfig,
        queue: Arc<dyn ChannelQueue>,
    ) -> Result<Relay, RelayError> {
        Self::build(config, queue, None)
    }

    /// A member of a relay cluster: queues, presence and passthrough answers
    /// shared through NATS JetStream with every relay on the same NATS.
    pub fn with_cluster(
        config: RelayConfig,
        queue: Arc<crate::cluster::JetStreamQueue>,
    ) -> Result<Relay, RelayError> {
        Self::build(config, queue.clone(), Some(queue))
    }

    fn build(
        config: RelayConfig,
        queue: Arc<dyn ChannelQueue>,
        cluster: Option<Arc<crate::cluster::JetStreamQueue>>,
    ) -> Result<Relay, RelayError> {
        config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| RelayError::NoRuntime)?;
        let hubs = crate::reload::hubs_for(&config.tokens, &HashMap::new(), &config);
        let inner = Arc::new(Inner {
            tokens: RwLock::new(config.tokens.clone()),
            hubs: RwLock::new(hubs),
            per_source: PerSourceLimit::new(config.max_connections_per_ip),
            refusals: Refusals::new(config.max_failed_handshakes),
            config,
            queue,
            cluster,
            metrics: Metrics::default(),
            commit: GroupCommit::new(),
            next_session: AtomicU64::new(1),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        });
        let flusher = inner
            .commit
            .clone()
            .run(inner.queue.clone(), inner.shutdown.clone());
        inner.tasks.spawn_on(flusher, &runtime);
        // One pass before any client connects, so nothing past its age is
        // delivered after a long downtime; then the periodic task.
        let expired = inner.queue.expire(age_cutoff(&inner))?;
        record_expired(&inner, expired);
        inner.tasks.spawn_on(expire_loop(inner.clone()), &runtime);
        inner.tasks.spawn_on(maintain_loop(inner.clone()), &runtime);
        let summaries = crate::refusals::summary_loop(inner.clone());
        inner.tasks.spawn_on(summaries, &runtime);
        Ok(Relay { inner })
    }

    /// Every route, for `serve` and for `oneshot` tests.
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/connect",
                get(crate::session::upgrade).layer(axum::middleware::from_fn_with_state(
                    self.clone(),
                    crate::refusals::gate,
                )),
            )
            .route("/h/{channel}", any(crate::ingress::ingress))
            // A catch-all needs one character, so the bare trailing slash has its own route.
            .route("/h/{channel}/", any(crate::ingress::ingress))
            .route("/h/{channel}/{*rest}", any(crate::ingress::ingress))
            .route(
                "/.well-known/acme-challenge/{token}",
                get(crate::acme::http01_answer),
            )
            .route("/healthz", get(ops::healthz))
            .route("/readyz", get(ops::readyz))
            .route("/metrics", get(ops::metrics))
            .fallback(ops::not_found)
            .with_state(self.clone())
    }

    /// Ends the remaining sessions and background tasks, then makes the queue
    /// durable. Call after every `serve` has returned.
    pub async fn close(&self) -> Result<(), RelayError> {
        let inner = &self.inner;
        inner.shutdown.cancel();
        inner.tasks.close();
        if tokio::time::timeout(CLOSE_GRACE, inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("relay tasks did not stop within {CLOSE_GRACE:?}; flushing anyway");
        }
        let queue = inner.queue.clone();
        tokio::task::spawn_blocking(move || queue.flush()).await??;
        tracing::info!("relay closed; queue flushed");
        Ok(())
    }

    pub(crate) fn next_session(&self) -> u64 {
        self.inner.next_session.fetch_add(1, Ordering::Relaxed)
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Drops deliveries older than the configured age, counting and logging each.
fn age_cutoff(inner: &Inner) -> u64 {
    now_ms().saturating_sub(inner.config.queue_limits.max_age.as_millis() as u64)
}

fn record_expired(inner: &Inner, expired: Vec<(ChannelId, DeliveryId)>) {
    let max_age = inner.config.queue_limits.max_age;
    for (channel, id) in expired {
        inner.metrics.dropped(DropReason::Age);
        tracing::warn!(%channel, delivery = %id, ?max_age, "dropped an unacknowledged delivery by age");
    }
}

/// Queue upkeep: the sled queue moves deliveries unacknowledged after 50 ms
/// from memory to its log here.
async fn maintain_loop(inner: Arc<Inner>) {
    let mut tick = tokio::time::interval(MAINTAIN_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = inner.shutdown.cancelled() => break,
        }
        let queue = inner.queue.clone();
        match tokio::task::spawn_blocking(move || queue.maintain()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("queue upkeep failed: {e}"),
            Err(e) => tracing::error!("queue upkeep task failed: {e}"),
        }
    }
    tracing::debug!("queue upkeep stopped");
}

async fn expire_loop(inner: Arc<Inner>) {
    let max_age = inner.config.queue_limits.max_age;
    let every = (max_age / 10).clamp(Duration::from_millis(100), Duration::from_secs(60));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = inner.shutdown.cancelled() => break,
        }
        let (queue, cutoff) = (inner.queue.clone(), age_cutoff(&inner));
        match tokio::task::spawn_blocking(move || queue.expire(cutoff)).await {
            Ok(Ok(expired)) => record_expired(&inner, expired),
            Ok(Err(e)) => tracing::error!("age expiry failed: {e}"),
            Err(e) => tracing::error!("age expiry task failed: {e}"),
        }
    }
    tracing::debug!("age expiry stopped");
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use hookline_protocol::{DEFAULT_CHANNEL_NAME, Secret};
    use http::Request;
    use tower::ServiceExt;

    use super::*;
    use crate::TokenSet;

    async fn call(relay: &Relay, method: &str, uri: &str) -> http::StatusCode {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from("x"))
            .unwrap();
        relay.router().oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn router_serves_every_ingress_path_shape_without_a_listener() {
        let dir = tempfile::tempdir().unwrap();
        let mut tokens = TokenSet::new();
        tokens.add(Secret::new("router-test-token"), vec![]);
        let relay = Relay::open(RelayConfig::new(tokens, dir.path().to_owned())).unwrap();
        let channel = ChannelId::derive(&Secret::new("router-test-token"), DEFAULT_CHANNEL_NAME);
        assert_eq!(call(&relay, "GET", "/healthz").await, 200);
        for path in ["", "/", "/a/b/c", "/x?y=1"] {
            assert_eq!(
                call(&relay, "POST", &format!("/h/{channel}{path}")).await,
                202,
                "{path:?}"
            );
        }
        assert_eq!(call(&relay, "DELETE", &format!("/h/{channel}")).await, 202);
        assert_eq!(call(&relay, "POST", "/h/").await, 404);
        relay.close().await.unwrap();
    }

    #[tokio::test]
    async fn open_refuses_no_tokens_and_bad_limits() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            Relay::open(RelayConfig::new(TokenSet::new(), dir.path().to_owned())).unwrap_err();
        assert!(err.to_string().contains("new-token"), "{err}");
        let mut tokens = TokenSet::new();
        tokens.add(Secret::new("limits-test-token"), vec![]);
        let mut config = RelayConfig::new(tokens, dir.path().to_owned());
        config.max_body = hookline_protocol::limits::MAX_BODY_BYTES_CEILING + 1;
        assert!(matches!(Relay::open(config), Err(RelayError::Config(_))));
    }
}
