//! A subscribed session's loop: queued and new deliveries out, `stored` and
//! `response` in, heartbeats, takeover and shutdown. Generic over the
//! socket's halves (any `Sink` and `Stream` of WebSocket messages), so the
//! loop is tested over in-memory channels as well as real sockets.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::Message;
use futures_util::{SinkExt, StreamExt};
use hookline_protocol::{ClientMessage, DeliveryId, GoodbyeReason, frame};
use tokio_util::sync::CancellationToken;

use crate::Relay;
use crate::hub::{ChannelHub, ClientResponse};
use crate::io::Activity;
use crate::metrics::inc;
use crate::queue::{QueueError, Queued};
use crate::session::{message, stopped};

/// Most deliveries sent to one session and not yet acknowledged; the rest
/// wait in the queue, so a slow client costs bounded memory.
pub const MAX_IN_FLIGHT: usize = 1024;

/// Most queue entries read and written per wake-up, one socket flush each.
const READ_BATCH: usize = 128;

/// Pings a client may send per ping interval of the relay's. An honest one
/// sends about one; each costs a queued pong, so a flood is a protocol error.
const MAX_PINGS_PER_INTERVAL: u32 = 16;

/// How often refused senders are reported to the client.
const REFUSALS_EVERY: Duration = Duration::from_secs(1);

/// The slowest client link the write timeout allows for (64 KiB/s).
const SLOW_LINK_BYTES_PER_SEC: usize = 64 * 1024;

pub(crate) struct Subscription {
    pub(crate) relay: Relay,
    pub(crate) hub: Arc<ChannelHub>,
    /// Seq of the last delivery sent; the next read starts after it.
    pub(crate) cursor: Option<u64>,
    /// Sent, not yet stored by the client: id → seq.
    pub(crate) inflight: HashMap<DeliveryId, u64>,
    /// The queue may hold entries past the cursor.
    pub(crate) more: bool,
    /// The socket's last-bytes-moved clock, when served by `Relay::serve`.
    pub(crate) activity: Option<Activity>,
    /// Pings received since the relay's last own ping.
    pub(crate) pings: u32,
}

/// What ended a session: a goodbye to send, or `None` when the peer is gone.
pub(crate) type End = Option<(GoodbyeReason, String)>;

impl Subscription {
    pub(crate) async fn serve<Si, St, E>(
        &mut self,
        sink: &mut Si,
        stream: &mut St,
        taken_over: &CancellationToken,
        listener: Option<&CancellationToken>,
    ) -> End
    where
        Si: futures_util::Sink<Message, Error = E> + Unpin,
        St: futures_util::Stream<Item = Result<Message, E>> + Unpin,
        E: std::fmt::Display,
    {
        let beat = self.relay.inner.config.heartbeat;
        let mut ping = tokio::time::interval(beat.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_seen = Instant::now();
        let mut report = tokio::time::interval(REFUSALS_EVERY);
        report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shutdown = self.relay.inner.shutdown.clone();
        let hub = self.hub.clone();
        // Gaps told to this client; told again only on a later session.
        let mut gaps_sent = std::collections::HashSet::new();
        loop {
            let room = self.inflight.len() < MAX_IN_FLIGHT;
            tokio::select! {
                biased;
                () = stopped(&shutdown, listener) => return Some((GoodbyeReason::ShuttingDown, "the relay is shutting down; reconnect later".into())),
                () = hub.revoked.cancelled() => return Some((GoodbyeReason::BadToken, "this token was revoked by the relay's operator".into())),
                () = taken_over.cancelled() => return Some((GoodbyeReason::TakenOver, "another connection with this token took the channel over".into())),
                message = stream.next() => {
                    let Some(Ok(message)) = message else { return None };
                    last_seen = Instant::now();
                    if let Some(end) = self.on_message(message) {
                        return end;
                    }
                }
                // A peer that stops reading blocks writes, not reads: bound
                // them too, or the heartbeat check below would never run.
                () = std::future::ready(()), if self.more && room => {
                    // Let requests running right now reach the queue first: under
                    // load this makes one socket write per batch, not per delivery.
                    tokio::task::yield_now().await;
                    let batch = match self.read_batch() {
                        Ok(batch) => batch,
                        Err(e) => {
                            tracing::error!("cannot read the channel queue: {e}");
                            return None;
                        }
                    };
                    let budget = write_budget(beat.dead_peer_after, &batch);
                    let activity = self.activity.clone();
                    let send = self.send_batch(sink, batch);
                    match until_stalled(send, activity.as_ref(), beat.dead_peer_after, budget).await {
                        // Written means read: the peer is alive even if it had nothing to say.
                        Some(Ok(())) => last_seen = Instant::now(),
                        Some(Err(e)) => {
                            tracing::info!("cannot send to client: {e}");
                            return None;
                        }
                        None => {
                            tracing::warn!("client stopped reading; closing its session");
                            return None;
                        }
                    }
                }
                () = hub.wake.notified(), if room => self.more = true,
                _ = report.tick() => {
                    let gaps = crate::gaps::untold(&self.relay, &hub.id, &mut gaps_sent);
                    for notice in gaps.into_iter().chain(hub.refused.take()) {
                        let sent = tokio::time::timeout(beat.dead_peer_after, sink.send(message(notice.encode()))).await;
                        if !matches!(sent, Ok(Ok(()))) {
                            return None;
                        }
                    }
                }
                _ = ping.tick() => {
                    self.pings = 0;
                    if last_seen.elapsed() > beat.dead_peer_after {
                        tracing::warn!(silent = ?last_seen.elapsed(), "client stopped answering; closing its session");
                        return None;
                    }
                    let sent = tokio::time::timeout(beat.dead_peer_after, sink.send(Message::Ping(Default::default()))).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        return None;
                    }
                }
            }
        }
    }

    /// The next entries after the cursor, as many as the in-flight cap allows.
    fn read_batch(&mut self) -> Result<Vec<Queued>, QueueError> {
        let want = READ_BATCH.min(MAX_IN_FLIGHT.saturating_sub(self.inflight.len()));
        let entries = self
            .relay
            .inner
            .queue
            .read_after(&self.hub.id, self.cursor, want)?;
        self.more = entries.len() == want;
        Ok(entries)
    }

    /// Writes a batch with one socket flush. Entries count as in flight (and
    /// the cursor moves) before the write, so a failed write re-sends them
    /// only on the next session, never twice on this one.
    async fn send_batch<Si>(&mut self, sink: &mut Si, entries: Vec<Queued>) -> Result<(), Si::Error>
    where
        Si: futures_util::Sink<Message> + Unpin,
    {
        let inner = &self.relay.inner;
        for entry in &entries {
            self.cursor = Some(entry.seq);
            self.inflight.insert(entry.id, entry.seq);
            let respond = self.hub.is_waiting(entry.id)
                || crate::cluster::remote::may_wait_elsewhere(&self.relay, entry.id);
            let frame = frame::with_respond(entry.frame.clone(), respond);
            sink.feed(Message::Binary(frame)).await?;
            inc(&inner.metrics.delivered);
        }
        if !entries.is_empty() {
            sink.flush().await?;
        }
        Ok(())
    }

    /// Handles one frame from the client; `Some` ends the session.
    fn on_message(&mut self, message: Message) -> Option<End> {
        let decoded = match message {
            Message::Text(text) => ClientMessage::decode_text(text.as_bytes()),
            Message::Binary(bytes) => ClientMessage::decode_binary(bytes),
            Message::Close(_) => return Some(None),
            Message::Ping(_) => {
                self.pings += 1;
                if self.pings > MAX_PINGS_PER_INTERVAL {
                    let message =
                        format!("more than {MAX_PINGS_PER_INTERVAL} pings in one ping interval");
                    return Some(Some((GoodbyeReason::ProtocolError, message)));
                }
                return None;
            }
            Message::Pong(_) => return None,
        };
        match decoded {
            Ok(ClientMessage::Stored { ids }) => {
                for id in ids {
                    self.on_stored(id);
                }
            }
            Ok(ClientMessage::Response {
                id,
                status,
                headers,
                body,
            }) => {
                if !crate::cluster::remote::answer(
                    &self.relay,
                    &self.hub,
                    id,
                    ClientResponse {
                        status,
                        headers,
                        body,
                    },
                ) {
                    tracing::debug!(delivery = %id, "response nobody on this channel waits for: ignored");
                }
            }
            Ok(ClientMessage::GapRecorded {
                first_seq,
                last_seq,
            }) => crate::gaps::recorded(&self.relay, &self.hub.id, first_seq, last_seq),
            Ok(ClientMessage::Goodbye { reason, message }) => {
                tracing::info!(?reason, "client said goodbye: {message}");
                return Some(None);
            }
            Ok(ClientMessage::Hello { .. }) => {
                return Some(Some((
                    GoodbyeReason::ProtocolError,
                    "hello sent twice".into(),
                )));
            }
            Err(e) => {
                return Some(Some((
                    GoodbyeReason::ProtocolError,
                    format!("unreadable frame: {e}"),
                )));
            }
        }
        None
    }

    fn on_stored(&mut self, id: DeliveryId) {
        let Some(seq) = self.inflight.remove(&id) else {
            tracing::warn!(delivery = %id, "stored ack for a delivery this session was not sent: ignored");
            return;
        };
        let inner = &self.relay.inner;
        match inner.queue.remove(&self.hub.id, seq, id) {
            Ok(true) => inc(&inner.metrics.acknowledged),
            Ok(false) => tracing::debug!(delivery = %id, "acknowledged twice"),
            Err(e) => {
                tracing::error!(delivery = %id, "cannot remove an acknowledged delivery: {e}")
            }
        }
        tracing::debug!(delivery = %id, "stored by client");
    }
}

/// Runs `send` until it finishes, or until no byte has moved on the socket
/// for `stall` (a peer that stopped reading). Without a socket clock (a
/// router driven directly) the whole write gets `budget`.
async fn until_stalled<F: Future>(
    send: F,
    activity: Option<&Activity>,
    stall: Duration,
    budget: Duration,
) -> Option<F::Output> {
    let Some(activity) = activity else {
        return tokio::time::timeout(budget, send).await.ok();
    };
    tokio::pin!(send);
    let mut check = tokio::time::interval((stall / 4).max(Duration::from_millis(10)));
    loop {
        tokio::select! {
            out = &mut send => return Some(out),
            _ = check.tick() => if activity.idle() > stall {
                return None;
            },
        }
    }
}

/// How long a batch may take to write: the dead-peer time plus the batch at
/// a slow link's pace, so a 25 MiB delivery to a client on a poor uplink is
/// not mistaken for a dead peer.
fn write_budget(dead_peer_after: Duration, batch: &[Queued]) -> Duration {
    let bytes: usize = batch.iter().map(|e| e.frame.len()).sum();
    dead_peer_after + Duration::from_secs((bytes / SLOW_LINK_BYTES_PER_SEC) as u64)
}
