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
use hookline_protocol::limits::{MAX_HEADER_BYTES, MAX_RESPONSE_BODY_BYTES};
use hookline_protocol::{GoodbyeReason, PROTOCOL_VERSION, RelayMessage};
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
/// (base64: 4/3) plus headers (escaped, worst case doubled). Bounding this
/// well below `MAX_MESSAGE_BYTES` (which sizes relay→client deliveries)
/// keeps a not-yet-authenticated socket from making the relay buffer 40 MiB.
pub const CLIENT_MESSAGE_LIMIT: usize =
    MAX_RESPONSE_BODY_BYTES.div_ceil(3) * 4 + 2 * MAX_HEADER_BYTES * 2 + 64 * 1024;

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
    // `conn` moves into the session: its connection slot is held until the end.
    ws.max_message_size(CLIENT_MESSAGE_LIMIT)
        .max_frame_size(CLIENT_MESSAGE_LIMIT)
        .read_buffer_size(READ_BUFFER_BYTES)
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
    let hello = match tokio::time::timeout(timeout, next_data(&mut stream)).await {
        Ok(Some(frame)) => check_hello(&relay, &frame),
        Ok(None) => return,
        Err(_) => {
            let message = format!("no hello within {timeout:?}");
            return goodbye(&mut sink, GoodbyeReason::ProtocolError, message).await;
        }
    };
    let (hub, client) = match hello {
        Ok(ok) => ok,
        Err(refusal) => {
            crate::refusals::handshake_refused(&relay, conn.as_ref(), &refusal);
            return goodbye(&mut sink, refusal.reason, refusal.message).await;
        }
    };
    let id = relay.next_session();
    let span = tracing::info_span!("session", session = id, channel = %hub.id);
    async move {
        let welcome = RelayMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            channel: hub.id.clone(),
            public_url: format!("{base}/h/{}", hub.id),
            relay: format!("hookline-relay {}", env!("CARGO_PKG_VERSION")),
        };
        // Attach before the welcome: a client holding its welcome is subscribed.
        let taken_over = hub.attach(id);
        inc(&relay.inner.metrics.connected);
        let end = match sink.send(Message::Text(welcome.encode().into())).await {
            Ok(()) => {
                tracing::info!(%client, "client connected");
                let mut session = Subscription {
                    relay: relay.clone(),
                    hub: hub.clone(),
                    cursor: None,
                    inflight: HashMap::new(),
                    more: true,
                    activity: conn.as_ref().map(|c| c.activity.clone()),
                };
                let listener = serve_shutdown.as_ref();
                session
                    .serve(&mut sink, &mut stream, &taken_over, listener)
                    .await
            }
            Err(_) => None,
        };
        hub.detach(id);
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

/// The next text or binary frame's bytes, skipping control frames; `None` at the end.
async fn next_data(stream: &mut Stream) -> Option<Vec<u8>> {
    while let Some(Ok(message)) = stream.next().await {
        match message {
            Message::Text(text) => return Some(text.as_bytes().to_vec()),
            Message::Binary(bytes) => return Some(bytes.to_vec()),
            Message::Close(_) => return None,
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
    None
}

/// Best effort: a peer that does not read cannot delay the end for long.
async fn goodbye(sink: &mut Sink, reason: GoodbyeReason, message: String) {
    let frame = RelayMessage::Goodbye {
        reason,
        message: message.clone(),
    }
    .encode();
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
        sink.send(Message::Text(frame.into())).await?;
        sink.send(Message::Close(Some(close))).await
    })
    .await;
}
