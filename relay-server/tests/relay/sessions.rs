//! Session life: re-sends, isolation between tokens, takeover, heartbeats, shutdown.

use std::time::{Duration, Instant};

use hookline_protocol::{GoodbyeReason, RelayMessage};
use hookline_relay::Heartbeat;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

#[tokio::test]
async fn unacknowledged_delivery_is_resent_after_reconnect_and_acked_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let path = format!("/h/{}", channel(TOKEN_A));
    assert_eq!(post(relay.addr, &path, "first").await.status, 202);
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    let (first, _) = client.delivery().await;
    drop(client);
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    let (again, _) = client.delivery().await;
    assert_eq!(again.id, first.id, "not acknowledged, so sent again");
    client.stored(again.id).await;
    client
        .send(&hookline_protocol::ClientMessage::Goodbye {
            reason: GoodbyeReason::ShuttingDown,
            message: "bye".into(),
        })
        .await;
    assert!(client.try_recv().await.is_none());
    assert_eq!(post(relay.addr, &path, "second").await.status, 202);
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    let (next, _) = client.delivery().await;
    assert_eq!(
        next.body,
        &b"second"[..],
        "the acknowledged delivery is gone"
    );
    relay.stop().await;
}

#[tokio::test]
async fn another_tokens_session_cannot_ack_or_answer() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let mut alice = Client::welcome(relay.addr, TOKEN_A).await;
    let mut mallory = Client::welcome(relay.addr, TOKEN_B).await;
    let sender = tokio::spawn(post(
        relay.addr,
        &format!("/h/{}", channel(TOKEN_A)),
        "private",
    ));
    let (delivery, respond) = alice.delivery().await;
    assert!(respond);
    mallory.stored(delivery.id).await;
    mallory.respond(delivery.id, 200, vec![], b"forged").await;
    // Mallory's frames are handled before her goodbye closes the socket.
    mallory
        .send(&hookline_protocol::ClientMessage::Goodbye {
            reason: GoodbyeReason::ShuttingDown,
            message: String::new(),
        })
        .await;
    assert!(mallory.try_recv().await.is_none());
    alice.respond(delivery.id, 299, vec![], b"genuine").await;
    let reply = sender.await.unwrap();
    assert_eq!(
        (reply.status, &reply.body[..]),
        (299, b"genuine".as_slice())
    );
    drop(alice);
    let mut alice = Client::welcome(relay.addr, TOKEN_A).await;
    let (again, _) = alice.delivery().await;
    assert_eq!(again.id, delivery.id, "the forged ack removed nothing");
    relay.stop().await;
}

#[tokio::test]
async fn new_connection_takes_over_and_gets_unacked_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    assert_eq!(
        post(relay.addr, &format!("/h/{}", channel(TOKEN_A)), "held")
            .await
            .status,
        202
    );
    let mut old = Client::welcome(relay.addr, TOKEN_A).await;
    let (held, _) = old.delivery().await;
    let mut new = Client::welcome(relay.addr, TOKEN_A).await;
    match old.recv().await {
        RelayMessage::Goodbye { reason, .. } => assert_eq!(reason, GoodbyeReason::TakenOver),
        other => panic!("expected goodbye, got {other:?}"),
    }
    assert!(old.try_recv().await.is_none(), "the old socket is closed");
    let (resent, _) = new.delivery().await;
    assert_eq!(resent.id, held.id);
    let sender = tokio::spawn(post(
        relay.addr,
        &format!("/h/{}", channel(TOKEN_A)),
        "live",
    ));
    let (live, respond) = new.delivery().await;
    assert!(respond);
    new.respond(live.id, 204, vec![], b"").await;
    assert_eq!(sender.await.unwrap().status, 204);
    relay.stop().await;
}

/// A masked client text frame, as RFC 6455 requires from clients.
fn masked_text(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x81];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    let mask = [0x11, 0x22, 0x33, 0x44];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// A WebSocket client by hand: upgrade and hello written, nothing read, and
/// no pong ever sent, as a peer that vanished or stopped reading would.
async fn raw_session(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let upgrade = "GET /connect HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    tcp.write_all(upgrade.as_bytes()).await.unwrap();
    tcp.write_all(&masked_text(
        text_of(hello(TOKEN_A, None).encode()).as_bytes(),
    ))
    .await
    .unwrap();
    tcp
}

fn short_heartbeat() -> Heartbeat {
    Heartbeat {
        ping_interval: Duration::from_millis(100),
        dead_peer_after: Duration::from_millis(400),
        ..Heartbeat::default()
    }
}

#[tokio::test]
async fn client_that_stops_reading_is_closed_and_its_channel_goes_offline() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| {
        c.heartbeat = short_heartbeat();
        c.response_timeout = Duration::from_secs(8);
        c.idle_timeout = Duration::from_secs(60);
    })
    .await;
    let path = format!("/h/{}", channel(TOKEN_A));
    for _ in 0..6 {
        assert_eq!(
            post(relay.addr, &path, vec![b'q'; 4 << 20]).await.status,
            202
        );
    }
    let mut tcp = raw_session(relay.addr).await;
    // Read up to the welcome (the session is attached by then), then stop reading:
    // ~32 MiB of deliveries cannot fit in the socket buffers.
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("\"type\":\"welcome\"") {
        let n = tokio::time::timeout(WAIT, tcp.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed before the welcome");
        seen.extend_from_slice(&buf[..n]);
    }
    // While the stuck session lives, this sender would wait for an answer
    // until the response timeout (504); once the relay gives up on the
    // session the channel is offline and the sender gets 202 at once.
    let started = Instant::now();
    let reply = post(relay.addr, &path, "after").await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    relay.stop().await;
}

#[tokio::test]
async fn dead_client_is_detected_and_closed() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| c.heartbeat = short_heartbeat()).await;
    let mut tcp = raw_session(relay.addr).await;
    let started = Instant::now();
    // Read everything (101, welcome, pings) and never answer a ping.
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(WAIT, tcp.read(&mut buf))
            .await
            .expect("relay closes a silent client")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    assert!(text.contains("\"type\":\"welcome\""), "{text}");
    assert!(seen.contains(&0x89), "the relay pinged before giving up");
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "closed after {:?}",
        started.elapsed()
    );
    assert_eq!(metric(relay.addr, "connected_clients").await, 0);
    relay.stop().await;
}

#[tokio::test]
async fn shutdown_says_goodbye_and_keeps_the_waiting_senders_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    let sender = tokio::spawn(post(
        relay.addr,
        &format!("/h/{}", channel(TOKEN_A)),
        "in-flight",
    ));
    let (delivery, _) = client.delivery().await;
    let stopping = tokio::spawn(relay.stop());
    match client.recv().await {
        RelayMessage::Goodbye { reason, .. } => assert_eq!(reason, GoodbyeReason::ShuttingDown),
        other => panic!("expected goodbye, got {other:?}"),
    }
    let reply = sender.await.unwrap();
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    assert_eq!(reply.json()["id"], delivery.id.to_string());
    stopping.await.unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    assert_eq!(client.delivery().await.0.id, delivery.id);
    relay.stop().await;
}

#[tokio::test]
async fn metrics_count_the_flow() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let health = send(relay.addr, "GET", "/healthz", &[], bytes::Bytes::new()).await;
    assert_eq!((health.status, &health.body[..]), (200, b"ok\n".as_slice()));
    assert_eq!(
        post(relay.addr, &format!("/h/{}", channel(TOKEN_A)), "12345")
            .await
            .status,
        202
    );
    assert_eq!(metric(relay.addr, "received_total").await, 1);
    assert_eq!(metric(relay.addr, "bytes_in_total").await, 5);
    assert_eq!(metric(relay.addr, "queued").await, 1);
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    assert_eq!(metric(relay.addr, "connected_clients").await, 1);
    let (delivery, _) = client.delivery().await;
    client.stored(delivery.id).await;
    client
        .send(&hookline_protocol::ClientMessage::Goodbye {
            reason: GoodbyeReason::ShuttingDown,
            message: String::new(),
        })
        .await;
    assert!(client.try_recv().await.is_none());
    assert_eq!(metric(relay.addr, "acknowledged_total").await, 1);
    assert_eq!(metric(relay.addr, "delivered_total").await, 1);
    assert_eq!(metric(relay.addr, "queued").await, 0);
    relay.stop().await;
}
