//! The session loop over in-memory channels: takeover, the heartbeat, the
//! in-flight cap and a client that stops reading, without a socket.

use std::collections::HashMap;
use std::pin::Pin;
use std::time::{Duration, Instant};

use axum::extract::ws::Message;
use bytes::Bytes;
use hookline_protocol::{
    ChannelId, ClientMessage, DEFAULT_CHANNEL_NAME, Delivery, DeliveryId, GoodbyeReason, Secret,
    frame,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::subscription::{End, MAX_IN_FLIGHT, Subscription};
use crate::{Heartbeat, Relay, RelayConfig, TokenSet};

const TOKEN: &str = "subscription-test-token";

type TestSink = Pin<Box<dyn futures_util::Sink<Message, Error = String> + Send>>;
type TestStream = Pin<Box<dyn futures_util::Stream<Item = Result<Message, String>> + Send>>;

/// The relay's ends of an in-memory socket, and the client's.
struct Socket {
    sink: TestSink,
    stream: TestStream,
    /// What the relay sent.
    sent: mpsc::UnboundedReceiver<Message>,
    /// What the client says.
    say: mpsc::UnboundedSender<Result<Message, String>>,
}

fn socket() -> Socket {
    let (sent_tx, sent) = mpsc::unbounded_channel();
    let sink = futures_util::sink::unfold(sent_tx, |tx, message: Message| async move {
        tx.send(message).map_err(|_| "client gone".to_owned())?;
        Ok::<_, String>(tx)
    });
    let (say, said) = mpsc::unbounded_channel();
    let stream =
        futures_util::stream::unfold(
            said,
            |mut rx| async move { rx.recv().await.map(|m| (m, rx)) },
        );
    Socket {
        sink: Box::pin(sink),
        stream: Box::pin(stream),
        sent,
        say,
    }
}

struct Harness {
    relay: Relay,
    channel: ChannelId,
    _dir: tempfile::TempDir,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mut tokens = TokenSet::new();
    tokens.add(Secret::new(TOKEN), vec![]);
    let mut config = RelayConfig::new(tokens, dir.path().to_owned());
    config.heartbeat = Heartbeat {
        ping_interval: Duration::from_millis(40),
        dead_peer_after: Duration::from_millis(300),
        ..Heartbeat::default()
    };
    let relay = Relay::open(config).unwrap();
    Harness {
        relay,
        channel: ChannelId::derive(&Secret::new(TOKEN), DEFAULT_CHANNEL_NAME),
        _dir: dir,
    }
}

impl Harness {
    fn subscription(&self) -> Subscription {
        Subscription {
            relay: self.relay.clone(),
            hub: self.relay.inner.hub(&self.channel).expect("hub"),
            cursor: None,
            inflight: HashMap::new(),
            more: true,
            activity: None,
            pings: 0,
        }
    }

    /// Queues `n` deliveries for the channel, durably.
    fn queue(&self, n: usize) -> Vec<DeliveryId> {
        let queue = &self.relay.inner.queue;
        let limits = self.relay.inner.config.queue_limits;
        let ids: Vec<DeliveryId> = (0..n).map(|_| DeliveryId::generate()).collect();
        for id in &ids {
            let delivery = Delivery {
                id: *id,
                channel: self.channel.clone(),
                received_at_ms: 0,
                method: "POST".into(),
                path: String::new(),
                query: None,
                headers: Vec::new(),
                body: Bytes::from_static(b"{}"),
                body_sha256: String::new(),
                remote_addr: None,
                public_url: String::new(),
            };
            let frame = frame::encode_delivery(&delivery, false);
            queue.push(&self.channel, *id, frame, &limits).unwrap();
        }
        queue.flush().unwrap();
        ids
    }
}

/// Runs the loop until it ends, with a generous bound.
async fn serve(
    mut subscription: Subscription,
    mut socket: Socket,
    taken_over: CancellationToken,
) -> (End, Socket) {
    let end = tokio::time::timeout(
        Duration::from_secs(20),
        subscription.serve(&mut socket.sink, &mut socket.stream, &taken_over, None),
    )
    .await
    .expect("the session loop ends");
    (end, socket)
}

fn deliveries(sent: &mut mpsc::UnboundedReceiver<Message>) -> Vec<DeliveryId> {
    let mut ids = Vec::new();
    while let Ok(message) = sent.try_recv() {
        if let Message::Binary(bytes) = message {
            let decoded = hookline_protocol::RelayMessage::decode_binary(bytes).unwrap();
            if let hookline_protocol::RelayMessage::Delivery { delivery, .. } = decoded {
                ids.push(delivery.id);
            }
        }
    }
    ids
}

#[tokio::test]
async fn a_takeover_ends_the_session_with_taken_over() {
    let h = harness();
    let taken_over = CancellationToken::new();
    taken_over.cancel();
    let (end, _) = serve(h.subscription(), socket(), taken_over).await;
    assert_eq!(
        end.map(|(reason, _)| reason),
        Some(GoodbyeReason::TakenOver)
    );
}

#[tokio::test]
async fn a_silent_client_is_pinged_then_dropped_after_the_dead_peer_time() {
    let h = harness();
    let started = Instant::now();
    let (end, mut socket) = serve(h.subscription(), socket(), CancellationToken::new()).await;
    assert_eq!(end, None, "a dead peer gets no goodbye");
    assert!(started.elapsed() >= Duration::from_millis(300));
    let mut pings = 0;
    while let Ok(message) = socket.sent.try_recv() {
        pings += usize::from(matches!(message, Message::Ping(_)));
    }
    assert!(pings >= 2, "pinged {pings} times");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_than_max_in_flight_are_sent_until_the_client_stores_some() {
    let h = harness();
    let queued = h.queue(MAX_IN_FLIGHT + 10);
    let mut socket = socket();
    let say = socket.say.clone();
    let mut sent = std::mem::replace(&mut socket.sent, mpsc::unbounded_channel().1);
    let session = tokio::spawn(serve(h.subscription(), socket, CancellationToken::new()));

    // Keeps the client alive while the test looks.
    let pong = |say: &mpsc::UnboundedSender<Result<Message, String>>| {
        let _ = say.send(Ok(Message::Pong(Bytes::new())));
    };
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < MAX_IN_FLIGHT {
        assert!(Instant::now() < deadline, "only {} sent", got.len());
        pong(&say);
        tokio::time::sleep(Duration::from_millis(20)).await;
        got.extend(deliveries(&mut sent));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    got.extend(deliveries(&mut sent));
    assert_eq!(
        got.len(),
        MAX_IN_FLIGHT,
        "the cap holds while nothing is stored"
    );
    assert_eq!(got[..], queued[..MAX_IN_FLIGHT], "in queue order");

    let stored = ClientMessage::Stored {
        ids: got[..10].to_vec(),
    };
    let text = match stored.encode() {
        hookline_protocol::Frame::Text(text) => text,
        hookline_protocol::Frame::Binary(_) => unreachable!("stored is a control frame"),
    };
    say.send(Ok(Message::Text(text.into()))).unwrap();
    let mut rest = Vec::new();
    while rest.len() < 10 {
        assert!(Instant::now() < deadline, "the last 10 were not sent");
        pong(&say);
        tokio::time::sleep(Duration::from_millis(20)).await;
        rest.extend(deliveries(&mut sent));
    }
    assert_eq!(rest[..], queued[MAX_IN_FLIGHT..]);
    drop(say);
    let (end, _) = session.await.unwrap();
    assert_eq!(end, None, "the client hung up");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_within_the_write_budget() {
    let h = harness();
    h.queue(3);
    let mut socket = socket();
    // A sink that never accepts a byte: the peer stopped reading.
    socket.sink = Box::pin(futures_util::sink::unfold(
        (),
        |(), _m: Message| async move {
            std::future::pending::<()>().await;
            Ok::<_, String>(())
        },
    ));
    let started = Instant::now();
    let (end, _) = serve(h.subscription(), socket, CancellationToken::new()).await;
    assert_eq!(end, None);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "dropped after {:?}",
        started.elapsed()
    );
}
