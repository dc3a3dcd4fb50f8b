//! [`ChannelQueue`] on a JetStream stream: pushes are published in order by
//! one task and made durable by waiting for JetStream's acknowledgements
//! (`flush`); reads and removes go to the channel's [`follower`](super::follower).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, Context, message::PublishMessage, stream};
use async_nats::{Client, ConnectOptions, ServerAddr, connection::State};
use bytes::Bytes;
use futures_util::stream::FuturesOrdered;
use futures_util::{FutureExt, StreamExt, TryStreamExt, future::BoxFuture};
use hookline_protocol::{ChannelId, DeliveryId};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};

use super::byte_counts::ChannelBytes;
use super::follower::Followers;
use super::{ClusterOptions, PUBLISH_TIMEOUT, STREAM, SUBJECT_PREFIX, subject};
use crate::QueueLimits;
use crate::queue::{ChannelQueue, QueueError, QueueStats, Queued, Waker};

/// How often `maintain` refreshes the per-channel counts from the stream.
const STATS_EVERY: Duration = Duration::from_millis(500);

/// Why the cluster queue could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("invalid NATS server address {0:?}: {1} (expected nats://HOST:PORT)")]
    BadAddress(String, String),
    #[error("cannot connect to NATS at {0}: {1}; is nats-server running with -js?")]
    Connect(String, String),
    #[error(
        "cannot create the JetStream stream {STREAM}: {0}; does the server run with JetStream (-js)?"
    )]
    Stream(String),
}

/// Work for the publisher task, in the order pushes and acks happened.
pub(crate) enum Command {
    Publish {
        ticket: u64,
        channel: ChannelId,
        id: DeliveryId,
        frame: Bytes,
    },
    /// A core message: an ack-protocol one (`+ACK`, `+WPI`, `-NAK`) to a
    /// delivery's reply subject, or a passthrough answer.
    Send { subject: String, body: Bytes },
}

#[derive(Debug, Clone, Default)]
struct Progress {
    /// Every publish up to this ticket has its answer (stored or failed).
    done: u64,
    /// The last ticket whose publish failed, and why.
    failed: u64,
    why: String,
}

/// Ticket numbering and sending happen under one lock, so that tickets
/// reach the publisher in increasing order.
#[derive(Debug)]
struct Outbox {
    next: u64,
    tx: mpsc::UnboundedSender<Command>,
}

/// The channel queue of a relay cluster member.
pub struct JetStreamQueue {
    runtime: Handle,
    client: Client,
    js: Context,
    outbox: Mutex<Outbox>,
    progress: watch::Receiver<Progress>,
    /// The highest ticket an earlier `flush` already reported on.
    checked: AtomicU64,
    counts: Mutex<(HashMap<ChannelId, u64>, Option<Instant>)>,
    pub(crate) followers: Followers,
    bytes: Arc<ChannelBytes>,
    presence: async_nats::jetstream::kv::Store,
    /// This process's name in the presence bucket.
    relay_id: String,
}

impl std::fmt::Debug for JetStreamQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamQueue")
            .field("stream", &STREAM)
            .field("state", &self.client.connection_state())
            .finish_non_exhaustive()
    }
}

impl JetStreamQueue {
    /// Connects to NATS and creates (or updates) the stream with `limits`.
    /// Must run inside a Tokio runtime, which the queue's tasks then use.
    pub async fn connect(
        options: &ClusterOptions,
        limits: &QueueLimits,
    ) -> Result<Arc<JetStreamQueue>, ClusterError> {
        let client = connect_client(options).await?;
        let js = jetstream::ContextBuilder::new()
            .timeout(PUBLISH_TIMEOUT)
            .ack_timeout(PUBLISH_TIMEOUT)
            .build(client.clone());
        js.create_or_update_stream(stream_config(options, limits))
            .await
            .map_err(|e| {
                let why = e.to_string();
                if why.to_ascii_lowercase().contains("retention") {
                    ClusterError::Stream(format!(
                        "{why}: the {STREAM} stream was made by an earlier release, which kept \
                         acknowledged deliveries; once its clients have caught up, remove it \
                         (`nats stream rm {STREAM}`) and start the relays again"
                    ))
                } else {
                    ClusterError::Stream(why)
                }
            })?;
        let presence = super::presence::bucket(&js, options.replicas)
            .await
            .map_err(ClusterError::Stream)?;
        let bytes = Arc::new(
            ChannelBytes::open(&js, options.replicas)
                .await
                .map_err(ClusterError::Stream)?,
        );
        let relay_id = relay_id();
        let (tx, rx) = mpsc::unbounded_channel();
        let (progress_tx, progress) = watch::channel(Progress::default());
        let runtime = Handle::current();
        // Ends when the queue (the only sender) is dropped.
        runtime.spawn(publisher(
            js.clone(),
            client.clone(),
            rx,
            progress_tx,
            bytes.clone(),
        ));
        Ok(Arc::new(JetStreamQueue {
            runtime: runtime.clone(),
            followers: Followers::new(
                runtime,
                js.clone(),
                tx.clone(),
                presence.clone(),
                relay_id.clone(),
            ),
            bytes,
            presence,
            relay_id,
            client,
            js,
            outbox: Mutex::new(Outbox { next: 0, tx }),
            progress,
            checked: AtomicU64::new(0),
            counts: Mutex::new((HashMap::new(), None)),
        }))
    }

    /// The cluster's token bucket, on this relay's NATS connection.
    pub async fn tokens(&self, replicas: usize) -> Result<super::ClusterTokens, ClusterError> {
        super::ClusterTokens::open(&self.js, replicas)
            .await
            .map_err(ClusterError::Stream)
    }

    /// Whether the NATS connection is up: `/readyz` and new webhooks depend on it.
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    /// Whether a session on another relay holds `channel`; errors count as no.
    pub async fn held_elsewhere(&self, channel: &ChannelId) -> bool {
        match super::presence::holder(&self.presence, channel).await {
            Ok(Some(holder)) => holder.as_ref() != self.relay_id.as_bytes(),
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(%channel, "cannot read the channel's presence: {e}");
                false
            }
        }
    }

    /// Starts listening for the answer to `id` from whichever relay holds
    /// the session; subscribed before the delivery is published.
    pub(crate) async fn await_answer(&self, id: DeliveryId) -> Option<async_nats::Subscriber> {
        match self.client.subscribe(super::answer_subject(id)).await {
            Ok(subscriber) => Some(subscriber),
            Err(e) => {
                tracing::warn!("cannot wait for a remote answer: {e}");
                None
            }
        }
    }

    /// Sends a client's answer to the relay whose sender waits for it (as a
    /// protocol response frame); dropped when no relay waits any more.
    pub(crate) fn forward_answer(&self, id: DeliveryId, response: &crate::hub::ClientResponse) {
        let body = hookline_protocol::frame::encode_response(
            id,
            response.status,
            &response.headers,
            &response.body,
        );
        let _ = self.outbox().tx.send(Command::Send {
            subject: super::answer_subject(id),
            body,
        });
    }

    fn outbox(&self) -> std::sync::MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, (HashMap<ChannelId, u64>, Option<Instant>)> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Per-channel message counts, from the stream itself (every relay's pushes).
    async fn fetch_counts(&self) -> Result<HashMap<ChannelId, u64>, String> {
        let stream = self
            .js
            .get_stream(STREAM)
            .await
            .map_err(|e| e.to_string())?;
        let mut subjects = stream
            .info_with_subjects(format!("{SUBJECT_PREFIX}>"))
            .await
            .map_err(|e| e.to_string())?;
        let mut counts = HashMap::new();
        while let Some((subject, count)) = subjects.try_next().await.map_err(|e| e.to_string())? {
            let channel = subject
                .strip_prefix(SUBJECT_PREFIX)
                .and_then(ChannelId::parse);
            if let Some(channel) = channel {
                counts.insert(channel, count as u64);
            }
        }
        Ok(counts)
    }
}

/// A random name for this relay process.
fn relay_id() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}

pub(crate) async fn connect_client(options: &ClusterOptions) -> Result<Client, ClusterError> {
    let mut addrs = Vec::new();
    for server in &options.servers {
        let addr: ServerAddr = server
            .parse()
            .map_err(|e: std::io::Error| ClusterError::BadAddress(server.clone(), e.to_string()))?;
        addrs.push(addr);
    }
    let mut connect = ConnectOptions::new()
        .name("hookline-relay")
        // A dead NATS is noticed within a few seconds, so senders get 503s
        // instead of waiting on publishes that cannot be acknowledged.
        .ping_interval(Duration::from_secs(2))
        .connection_timeout(Duration::from_secs(5));
    if let Some((user, password)) = &options.user_password {
        connect = connect.user_and_password(user.clone(), password.clone());
    }
    if let Some(token) = &options.token {
        connect = connect.token(token.clone());
    }
    if let Some(ca) = &options.ca_file {
        connect = connect.add_root_certificates(ca.clone()).require_tls(true);
    }
    connect
        .connect(addrs)
        .await
        .map_err(|e| ClusterError::Connect(options.servers.join(","), e.to_string()))
}

fn stream_config(options: &ClusterOptions, limits: &QueueLimits) -> stream::Config {
    stream::Config {
        name: STREAM.into(),
        subjects: vec![format!("{SUBJECT_PREFIX}*")],
        // A delivery leaves the stream when its channel's consumer acks it
        // (the client stored it): the per-channel count is what is queued,
        // not what was ever sent.
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        num_replicas: options.replicas,
        max_age: limits.max_age,
        max_messages_per_subject: limits.max_count as i64,
        // A full channel refuses new deliveries; it never drops its oldest.
        discard: stream::DiscardPolicy::New,
        discard_new_per_subject: true,
        duplicate_window: limits.max_age.min(Duration::from_secs(120)),
        ..Default::default()
    }
}

/// Publishes in the order pushed, and records each acknowledgement in order.
async fn publisher(
    js: Context,
    client: Client,
    mut rx: mpsc::UnboundedReceiver<Command>,
    progress: watch::Sender<Progress>,
    bytes: Arc<ChannelBytes>,
) {
    type Answer = BoxFuture<'static, (u64, Result<(), String>)>;
    let mut pending: FuturesOrdered<Answer> = FuturesOrdered::new();
    let mut open = true;
    while open || !pending.is_empty() {
        tokio::select! {
            command = rx.recv(), if open => match command {
                None => open = false,
                Some(Command::Publish { ticket, channel, id, frame }) => {
                    let size = frame.len() as i64;
                    let message = PublishMessage::build().payload(frame).message_id(id.to_string());
                    let published = match js.send_publish(subject(&channel), message).await {
                        Ok(ack) => async move { ack.await.map(drop).map_err(|e| e.to_string()) }.boxed(),
                        Err(e) => futures_util::future::ready(Err(e.to_string())).boxed(),
                    };
                    let bytes = bytes.clone();
                    // What was not stored is not queued: its bytes come off again.
                    let answer: Answer = async move {
                        let result = published.await;
                        if result.is_err() {
                            bytes.add(&channel, -size);
                        }
                        (ticket, result)
                    }
                    .boxed();
                    pending.push_back(answer);
                }
                Some(Command::Send { subject, body }) => {
                    if let Err(e) = client.publish(subject, body).await {
                        tracing::warn!("cannot send to NATS: {e}");
                    }
                }
            },
            Some((ticket, result)) = pending.next(), if !pending.is_empty() => {
                progress.send_modify(|p| {
                    p.done = ticket;
                    if let Err(why) = result {
                        tracing::warn!("JetStream did not store a delivery: {why}");
                        p.failed = ticket;
                        p.why = why;
                    }
                });
            }
        }
    }
    tracing::debug!("JetStream publisher stopped");
}

impl ChannelQueue for JetStreamQueue {
    fn push(
        &self,
        channel: &ChannelId,
        id: DeliveryId,
        frame: Bytes,
        limits: &QueueLimits,
    ) -> Result<u64, QueueError> {
        if !self.is_connected() {
            return Err(QueueError::Unavailable("not connected to NATS".into()));
        }
        // The stream refuses past the count itself; this check answers at
        // once when the last refresh already saw the channel full.
        let incoming = frame.len() as u64;
        limits.admit(self.stats(channel), incoming)?;
        self.bytes.add(channel, incoming as i64);
        let mut outbox = self.outbox();
        outbox.next += 1;
        let ticket = outbox.next;
        let command = Command::Publish {
            ticket,
            channel: channel.clone(),
            id,
            frame,
        };
        outbox.tx.send(command).map_err(|_| QueueError::Closing)?;
        Ok(ticket)
    }

    fn read_after(
        &self,
        channel: &ChannelId,
        _after: Option<u64>,
        max: usize,
    ) -> Result<Vec<Queued>, QueueError> {
        Ok(self.followers.take_unsent(channel, max))
    }

    fn remove(&self, channel: &ChannelId, seq: u64, _id: DeliveryId) -> Result<bool, QueueError> {
        let Some(size) = self.followers.ack(channel, seq) else {
            return Ok(false);
        };
        self.bytes.add(channel, -(size as i64));
        Ok(true)
    }

    /// JetStream drops deliveries past the stream's `max_age` itself.
    fn expire(&self, _cutoff_ms: u64) -> Result<Vec<(ChannelId, DeliveryId)>, QueueError> {
        Ok(Vec::new())
    }

    /// JetStream applies the age limit itself (the stream's `max_age`) and
    /// says nothing of what it removed, so a cluster has no gaps to report:
    /// an age drop there is not yet announced to the client.
    fn gaps(&self, _channel: &ChannelId) -> Result<Vec<crate::queue::Gap>, QueueError> {
        Ok(Vec::new())
    }

    fn forget_gap(
        &self,
        _channel: &ChannelId,
        _first_seq: u64,
        _last_seq: u64,
    ) -> Result<bool, QueueError> {
        Ok(false)
    }

    /// Counts and bytes of every relay's deliveries (refreshed by `maintain`).
    fn stats(&self, channel: &ChannelId) -> QueueStats {
        let count = self.counts().0.get(channel).copied().unwrap_or(0);
        QueueStats {
            count,
            bytes: self.bytes.get(channel),
        }
    }

    fn totals(&self) -> QueueStats {
        let count = self.counts().0.values().sum();
        QueueStats {
            count,
            bytes: self.bytes.total(),
        }
    }

    fn maintain(&self) -> Result<(), QueueError> {
        let due = self.counts().1.is_none_or(|at| at.elapsed() >= STATS_EVERY);
        if !due || !self.is_connected() {
            return Ok(());
        }
        let counts = self
            .runtime
            .block_on(tokio::time::timeout(PUBLISH_TIMEOUT, self.fetch_counts()));
        let counts = match counts {
            Ok(Ok(counts)) => counts,
            Ok(Err(e)) => return Err(QueueError::Unavailable(e)),
            Err(_) => return Err(QueueError::Unavailable("stream info timed out".into())),
        };
        let synced = self.runtime.block_on(tokio::time::timeout(
            PUBLISH_TIMEOUT,
            self.bytes.sync(&counts),
        ));
        *self.counts() = (counts, Some(Instant::now()));
        match synced {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(QueueError::Unavailable(format!("byte counters: {e}"))),
            Err(_) => Err(QueueError::Unavailable("byte counters timed out".into())),
        }
    }

    /// Waits until JetStream has answered every publish pushed before the
    /// call; an error when any of them was not stored.
    fn flush(&self) -> Result<(), QueueError> {
        let target = self.outbox().next;
        let mut progress = self.progress.clone();
        let waited = self.runtime.block_on(tokio::time::timeout(
            PUBLISH_TIMEOUT * 2,
            progress.wait_for(|p| p.done >= target),
        ));
        let state = match waited {
            Ok(Ok(state)) => state.clone(),
            Ok(Err(_)) => return Err(QueueError::Closing),
            Err(_) => {
                return Err(QueueError::Unavailable(
                    "JetStream did not acknowledge in time".into(),
                ));
            }
        };
        let checked = self.checked.fetch_max(target, Ordering::SeqCst);
        if state.failed > checked {
            return Err(QueueError::Unavailable(state.why));
        }
        Ok(())
    }

    fn follow(&self, channel: &ChannelId, session: u64, wake: Waker, taken_over: Waker) {
        self.followers.follow(channel, session, wake, taken_over);
    }

    fn unfollow(&self, channel: &ChannelId, session: u64) {
        self.followers.unfollow(channel, session);
    }
}
