//! The relay end of a channel's durable consumer: pulled only while a
//! session on this relay holds the channel, buffered until the client says
//! `stored`, then acknowledged to JetStream.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_nats::jetstream::{self, Context, consumer, kv};
use bytes::Bytes;
use futures_util::StreamExt;
use hookline_protocol::{ChannelId, DeliveryId};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::jetstream_queue::Command;
use super::presence::{Claim, REFRESH_EVERY, Refreshed};
use super::{ACK_WAIT, PROGRESS_EVERY, PULL_EXPIRES, STREAM, consumer_name, subject};
use crate::MAX_IN_FLIGHT;
use crate::queue::{Queued, Waker};

/// Most messages asked for in one pull.
const PULL_BATCH: usize = 128;

/// How long past its expiry a pull may take before it is abandoned.
const PULL_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// How long to wait before retrying a consumer that could not be made.
const RETRY_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

#[derive(Debug)]
struct Entry {
    id: DeliveryId,
    frame: Bytes,
    reply: String,
    /// Handed to the current session already.
    sent: bool,
}

struct Follow {
    session: u64,
    wake: Waker,
    taken_over: Waker,
    /// Delivered by JetStream, not yet stored by the client: stream seq → entry.
    entries: BTreeMap<u64, Entry>,
    stop: CancellationToken,
}

type Shared = Arc<Mutex<Follow>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Follow> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every channel this relay holds a session for.
pub(crate) struct Followers {
    runtime: Handle,
    js: Context,
    commands: mpsc::UnboundedSender<Command>,
    channels: Mutex<HashMap<ChannelId, Shared>>,
    presence: kv::Store,
    relay_id: String,
}

impl Followers {
    pub(crate) fn new(
        runtime: Handle,
        js: Context,
        commands: mpsc::UnboundedSender<Command>,
        presence: kv::Store,
        relay_id: String,
    ) -> Self {
        Self {
            runtime,
            js,
            commands,
            channels: Mutex::new(HashMap::new()),
            presence,
            relay_id,
        }
    }

    fn channels(&self) -> std::sync::MutexGuard<'_, HashMap<ChannelId, Shared>> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, channel: &ChannelId) -> Option<Shared> {
        self.channels().get(channel).cloned()
    }

    /// Starts pulling `channel` for `session`; a newer session on this relay
    /// takes over the buffer and gets every unacknowledged entry again.
    pub(crate) fn follow(&self, channel: &ChannelId, session: u64, wake: Waker, taken_over: Waker) {
        let mut channels = self.channels();
        // A follow whose pull ended (taken over by another relay) is replaced.
        let live = channels
            .get(channel)
            .filter(|s| !lock(s).stop.is_cancelled());
        if let Some(shared) = live {
            let mut follow = lock(shared);
            follow.session = session;
            follow.wake = wake.clone();
            follow.taken_over = taken_over;
            follow.entries.values_mut().for_each(|e| e.sent = false);
            drop(follow);
            wake();
            return;
        }
        let stop = CancellationToken::new();
        let shared = Arc::new(Mutex::new(Follow {
            session,
            wake,
            taken_over,
            entries: BTreeMap::new(),
            stop: stop.clone(),
        }));
        channels.insert(channel.clone(), shared.clone());
        let claim = Claim::new(self.presence.clone(), channel, &self.relay_id);
        let commands = self.commands.clone();
        let task = pull(self.js.clone(), channel.clone(), shared, commands, claim);
        self.runtime.spawn(task);
    }

    /// Stops pulling unless a newer session took over; what was delivered
    /// and not stored is given back (NAK) for whichever relay pulls next.
    pub(crate) fn unfollow(&self, channel: &ChannelId, session: u64) {
        let mut channels = self.channels();
        if channels
            .get(channel)
            .is_none_or(|s| lock(s).session != session)
        {
            return;
        }
        if let Some(shared) = channels.remove(channel) {
            lock(&shared).stop.cancel();
        }
    }

    /// Entries not yet handed to the current session, oldest first.
    pub(crate) fn take_unsent(&self, channel: &ChannelId, max: usize) -> Vec<Queued> {
        let Some(shared) = self.get(channel) else {
            return Vec::new();
        };
        let mut follow = lock(&shared);
        let mut out = Vec::new();
        for (seq, entry) in follow.entries.iter_mut().filter(|(_, e)| !e.sent).take(max) {
            entry.sent = true;
            out.push(Queued {
                seq: *seq,
                id: entry.id,
                frame: entry.frame.clone(),
            });
        }
        out
    }

    /// Acknowledges a stored entry to JetStream: its size, or `None` when
    /// it is not buffered here.
    pub(crate) fn ack(&self, channel: &ChannelId, seq: u64) -> Option<usize> {
        let shared = self.get(channel)?;
        let entry = lock(&shared).entries.remove(&seq)?;
        let size = entry.frame.len();
        let command = Command::Send {
            subject: entry.reply,
            body: Bytes::from_static(b"+ACK"),
        };
        self.commands.send(command).ok().map(|()| size)
    }

    /// Stops every pull (the queue is going away).
    pub(crate) fn stop_all(&self) {
        for (_, shared) in self.channels().drain() {
            lock(&shared).stop.cancel();
        }
    }
}

impl Drop for Followers {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Pulls the channel's durable consumer into the buffer until stopped,
/// marking buffered entries in progress so JetStream keeps them here.
async fn pull(
    js: Context,
    channel: ChannelId,
    shared: Shared,
    commands: mpsc::UnboundedSender<Command>,
    mut claim: Claim,
) {
    let stop = lock(&shared).stop.clone();
    // Claim first: the other relay's session ends at its next refresh.
    if let Err(e) = claim.take().await {
        tracing::warn!(%channel, "cannot claim the channel's presence: {e}");
    }
    let mut taken = false;
    let consumer = tokio::select! {
        consumer = make_consumer(&js, &channel, &stop) => consumer,
        () = stop.cancelled() => None,
    };
    if let Some(consumer) = consumer {
        // A pull runs to its end even when stopped: what the server sends for
        // a pending request lands in the buffer and is given back below,
        // instead of waiting out the ack wait in a dropped inbox.
        let mut marked = tokio::time::Instant::now();
        let mut refreshed = tokio::time::Instant::now();
        while !stop.is_cancelled() {
            if refreshed.elapsed() >= REFRESH_EVERY {
                refreshed = tokio::time::Instant::now();
                if claim.refresh().await == Refreshed::TakenOver {
                    tracing::info!(%channel, "a session on another relay took the channel over");
                    taken = true;
                    stop.cancel();
                    let taken_over = lock(&shared).taken_over.clone();
                    taken_over();
                    break;
                }
            }
            let limit = PULL_EXPIRES + PULL_GRACE;
            if tokio::time::timeout(limit, pull_once(&consumer, &shared))
                .await
                .is_err()
            {
                tracing::warn!(%channel, "a pull got no end from the server within {limit:?}");
            }
            if marked.elapsed() >= PROGRESS_EVERY {
                marked = tokio::time::Instant::now();
                for entry in lock(&shared).entries.values() {
                    let reply = Command::Send {
                        subject: entry.reply.clone(),
                        body: Bytes::from_static(b"+WPI"),
                    };
                    let _ = commands.send(reply);
                }
            }
        }
    }
    // Give back what the client did not store, so the next puller gets it at once.
    for entry in std::mem::take(&mut lock(&shared).entries).into_values() {
        let _ = commands.send(Command::Send {
            subject: entry.reply,
            body: Bytes::from_static(b"-NAK"),
        });
    }
    if !taken {
        claim.release().await;
    }
    tracing::debug!(%channel, "stopped pulling the channel's consumer");
}

async fn make_consumer(
    js: &Context,
    channel: &ChannelId,
    stop: &CancellationToken,
) -> Option<consumer::PullConsumer> {
    let config = consumer::pull::Config {
        durable_name: Some(consumer_name(channel)),
        filter_subject: subject(channel),
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: ACK_WAIT,
        deliver_policy: consumer::DeliverPolicy::All,
        max_ack_pending: MAX_IN_FLIGHT as i64,
        ..Default::default()
    };
    loop {
        let made = async {
            let stream = js.get_stream(STREAM).await.map_err(|e| e.to_string())?;
            stream
                .get_or_create_consumer(&consumer_name(channel), config.clone())
                .await
                .map_err(|e| e.to_string())
        };
        match made.await {
            Ok(consumer) => return Some(consumer),
            Err(e) => tracing::warn!(%channel, "cannot open the channel's consumer: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY_EVERY) => {}
            () = stop.cancelled() => return None,
        }
    }
}

/// One pull request: up to a batch, or until it expires on the server.
async fn pull_once(consumer: &consumer::PullConsumer, shared: &Shared) {
    let batch = consumer
        .batch()
        .max_messages(PULL_BATCH)
        .expires(PULL_EXPIRES)
        .messages()
        .await;
    let mut batch = match batch {
        Ok(batch) => batch,
        Err(e) => {
            tracing::warn!("cannot pull deliveries: {e}");
            tokio::time::sleep(RETRY_EVERY).await;
            return;
        }
    };
    while let Some(message) = batch.next().await {
        match message {
            Ok(message) => buffer(shared, message),
            Err(e) => {
                tracing::debug!("pull ended: {e}");
                return;
            }
        }
    }
}

fn buffer(shared: &Shared, message: jetstream::Message) {
    let Ok(info) = message.info() else { return };
    let seq = info.stream_sequence;
    let id = message
        .headers
        .as_ref()
        .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
        .and_then(|v| v.as_str().parse::<DeliveryId>().ok());
    let (Some(id), Some(reply)) = (id, message.reply.as_ref()) else {
        tracing::warn!(seq, "a stream message without a delivery id: ignored");
        return;
    };
    let mut follow = lock(shared);
    // A redelivery of an entry still buffered keeps its place (and `sent`).
    follow.entries.entry(seq).or_insert_with(|| Entry {
        id,
        frame: message.payload.clone(),
        reply: reply.to_string(),
        sent: false,
    });
    (follow.wake)();
}
