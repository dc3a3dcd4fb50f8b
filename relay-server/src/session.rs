//! One client's WebSocket session: upgrade, handshake, welcome or refusal,
//! and the goodbye at the end. The running part is in `subscription`.

use std::collections::HashMap;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hookline_protocol::frame::PREFIX_LEN;
use hookline_protocol::limits::{MAX_META_BYTES, MAX_RESPONSE_BODY_BYTES};
use hookline_protocol::{Frame, GoodbyeReason, PROTOCOL_VERSION, RelayMessage};
use http::HeaderMap;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::Relay;
use crate::handshake::check_hello;
use crate::metrics::inc;
use crate::public_url::{ConnInfo, base_url};
use crate::subscription::Subscription;

/// Largest frame a client may send. Clients send small frames except
/// `response`, whose body the protocol caps at `MAX_RESPONSE_BODY_BYTES`
/// plus its metadata. Bounding this well below `MAX_MESSAGE_BYTES` (which
/// sizes relay→client deliveries) keeps a not-yet-authenticated socket from
/// making the relay buffer 33 MiB.
pub const CLIENT_MESSAGE_LIMIT: usize = MAX_RESPONSE_BODY_BYTES + MAX_META_BYTES + PREFIX_LEN;

/// tungstenite's write buffer: written out once it holds this much.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// Control frames (pings) a client may send before its hello. tungstenite
/// queues a pong for every ping it reads, in a buffer that grows while the
/// peer does not read; a client has no reason to ping before its welcome.
const MAX_CONTROL_BEFORE_HELLO: usize = 4;

/// tungstenite's read buffer per socket. Its 128 KiB default is zero-filled
/// on reads and kept per idle client; what clients send is mostly
/// 60-byte acks, and larger frames still grow the buffer as they arrive.
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// How long a goodbye may take to write before the socket is dropped anyway.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) type Sink = SplitSink<WebSocket, Message>;
pub(crate) type Stream = SplitStream<WebSocket>;

pub(crate) async fn upgrade(
    State(relay): State<Relay>,
    conn: Option<Extension<ConnInfo>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let conn = conn.map(|Extension(c)| c);
    let base = base_url(&relay.inner.config, &headers, conn.as_ref());
    let tasks = relay.inner.tasks.clone();
    // A peer that does not read makes writes (and tungstenite's automatic
    // pongs) pile up in the write buffer: bounded to one largest delivery
    // frame, past which a write fails and the session ends.
    let largest_frame = relay.inner.config.max_body + MAX_META_BYTES + PREFIX_LEN;
    // `conn` moves into the session: its connection slot is held until the end.
    ws.max_message_size(CLIENT_MESSAGE_LIMIT)
        .max_frame_size(CLIENT_MESSAGE_LIMIT)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(WRITE_BUFFER_BYTES + largest_frame)
        .on_upgrade(move |socket| tasks.track_future(run(relay, socket, base, conn)))
}

/// Ends when either the relay or the listener that accepted the socket stops.
pub(crate) async fn stopped(relay: &CancellationToken, listener: Option<&CancellationToken>) {
    match listener {
        Some(l) => tokio::select! { () = relay.cancelled() => {}, () = l.cancelled() => {} },
        None => relay.cancelled().await,
    }
}

async fn run(relay: Relay, socket: WebSocket, base: String, conn: Option<ConnInfo>) {
    let serve_shutdown = conn.as_ref().map(|c| c.shutdown.clone());
    let (mut sink, mut stream) = socket.split();
    let timeout = relay.inner.config.heartbeat.handshake_timeout;
    let hello = match tokio::time::timeout(timeout, first_data(&mut stream)).await {
        Ok(Ok(Some(frame))) => check_hello(&relay, &frame),
        Ok(Ok(None)) => return,
        Ok(Err(message)) => {
            return goodbye(&mut sink, GoodbyeReason::ProtocolError, message).await;
        }
        Err(_) => {
            let message = format!("no hello within {timeout:?}");
            return goodbye(&mut sink, GoodbyeReason::ProtocolError, message).await;
        }
    };
    let (hub, client, respond) = match hello {
        Ok(ok) => ok,
        Err(refusal) => {
            crate::refusals::handshake_refused(&relay, conn.as_ref(), &refusal);
            return goodbye(&mut sink, refusal.reason, refusal.message).await;
        }
    };
    let id = relay.next_session();
    let span = tracing::info_span!("session", session = id, channel = %hub.id);
    async move {
        let beat = relay.inner.config.heartbeat;
        let welcome = RelayMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            channel: hub.id.clone(),
            public_url: format!("{base}/h/{}", hub.id),
            relay: format!("hookline-relay {}", env!("CARGO_PKG_VERSION")),
            ping_interval_ms: beat.ping_interval.as_millis() as u64,
            dead_peer_after_ms: beat.dead_peer_after.as_millis() as u64,
        };
        // Attach before the welcome: a client holding its welcome is subscribed.
        let taken_over = hub.attach_with(id, respond);
        let wake_hub = hub.clone();
        let wake: crate::queue::Waker = std::sync::Arc::new(move || wake_hub.wake.notify_one());
        let taken_hub = hub.clone();
        let taken: crate::queue::Waker = std::sync::Arc::new(move || taken_hub.take_over(id));
        relay.inner.queue.follow(&hub.id, id, wake, taken);
        inc(&relay.inner.metrics.connected);
        let end = match sink.send(message(welcome.encode())).await {
            Ok(()) => {
                tracing::info!(%client, "client connected");
                let mut session = Subscription {
                    relay: relay.clone(),
                    hub: hub.clone(),
                    cursor: None,
                    inflight: HashMap::new(),
                    more: true,
                    activity: conn.as_ref().map(|c| c.activity.clone()),
                    pings: 0,
                };
                let listener = serve_shutdown.as_ref();
                session
                    .serve(&mut sink, &mut stream, &taken_over, listener)
                    .await
            }
            Err(_) => None,
        };
        hub.detach(id);
        relay.inner.queue.unfollow(&hub.id, id);
        relay
            .inner
            .metrics
            .connected
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        if let Some((reason, message)) = end {
            goodbye(&mut sink, reason, message).await;
        }
        tracing::info!("session ended");
    }
    .instrument(span)
    .await;
}

/// The first text or binary frame's bytes, skipping a few control frames;
/// `None` at the end, an error for a peer that floods control frames first.
async fn first_data(stream: &mut Stream) -> Result<Option<Vec<u8>>, String> {
    let mut control = 0;
    while let Some(Ok(message)) = stream.next().await {
        match message {
            Message::Text(text) => return Ok(Some(text.as_bytes().to_vec())),
            Message::Binary(bytes) => return Ok(Some(bytes.to_vec())),
            Message::Close(_) => return Ok(None),
            Message::Ping(_) | Message::Pong(_) => {
                control += 1;
                if control > MAX_CONTROL_BEFORE_HELLO {
                    return Err(format!(
                        "more than {MAX_CONTROL_BEFORE_HELLO} control frames before hello"
                    ));
                }
            }
        }
    }
    Ok(None)
}

/// The WebSocket message that carries a protocol frame.
pub(crate) fn message(frame: Frame) -> Message {
    match frame {
        Frame::Text(text) => Message::Text(text.into()),
        Frame::Binary(bytes) => Message::Binary(bytes),
    }
}

/// Best effort: a peer that does not read cannot delay the end for long.
async fn goodbye(sink: &mut Sink, reason: GoodbyeReason, message: String) {
    let frame = RelayMessage::Goodbye { reason, message }.encode();
    let code = if reason == GoodbyeReason::ShuttingDown {
        1001
    } else {
        1008
    };
    let close = CloseFrame {
        code,
        reason: format!("{reason:?}").into(),
    };
    let _ = tokio::time::timeout(GOODBYE_TIMEOUT, async {
        sink.send(self::message(frame)).await?;
        sink.send(Message::Close(Some(close))).await
    })
    .await;
}
