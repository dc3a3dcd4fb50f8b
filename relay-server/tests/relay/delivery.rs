//! Ingress to client and back: passthrough, queueing, limits and errors.

use std::time::Duration;

use bytes::Bytes;
use hookline_protocol::{Header, body_sha256_hex};
use hookline_relay::{OfflineMode, QueueLimits};

use crate::support::*;

#[tokio::test]
async fn passthrough_carries_request_and_response_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    let path = format!("/h/{}/hooks/stripe?b=2&a=1&a=%20", channel(TOKEN_A));
    let body: Vec<u8> = (0..=255u8).chain(b"{\"x\":1}".iter().copied()).collect();
    let sender = tokio::spawn({
        let (addr, path, body) = (relay.addr, path.clone(), body.clone());
        async move {
            let headers = [("x-sig", "v1=abc"), ("x-dup", "one"), ("x-dup", "two")];
            send(addr, "PUT", &path, &headers, body).await
        }
    });
    let (delivery, respond) = client.delivery().await;
    assert!(respond, "the sender waits, so the client must answer");
    assert_eq!(delivery.method, "PUT");
    assert_eq!(delivery.path, "/hooks/stripe");
    assert_eq!(delivery.query.as_deref(), Some("b=2&a=1&a=%20"));
    assert_eq!(delivery.body, body);
    assert_eq!(delivery.body_sha256, body_sha256_hex(&body));
    assert_eq!(delivery.public_url, relay.url(&path));
    assert!(
        delivery
            .remote_addr
            .as_deref()
            .is_some_and(|a| a.starts_with("127.0.0.1:"))
    );
    let dups: Vec<&[u8]> = delivery.header_values("x-dup").collect();
    assert_eq!(dups, [b"one".as_slice(), b"two"]);
    assert_eq!(delivery.header("x-sig"), Some("v1=abc"));
    let headers = vec![
        Header::new("set-cookie", "a=1"),
        Header::new("connection", "close"),
        Header::new("set-cookie", "b=2"),
        Header::new("x-app", "yes"),
    ];
    client
        .respond(delivery.id, 201, headers, b"challenge-echo")
        .await;
    let reply = sender.await.unwrap();
    assert_eq!(reply.status, 201);
    assert_eq!(&reply.body[..], b"challenge-echo");
    let cookies: Vec<_> = reply.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(reply.headers.get("x-app").unwrap(), "yes");
    assert_ne!(
        reply.headers.get("connection").map(|v| v.as_bytes()),
        Some(b"close".as_slice())
    );
    client.stored(delivery.id).await;
    relay.stop().await;
}

#[tokio::test]
async fn offline_deliveries_get_202_and_arrive_in_order_on_connect() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let reply = post(
            relay.addr,
            &format!("/h/{}", channel(TOKEN_A)),
            format!("{{\"n\":{i}}}"),
        )
        .await;
        assert_eq!(reply.status, 202);
        assert_eq!(reply.json()["queued"], true);
        ids.push(reply.json()["id"].as_str().unwrap().to_owned());
    }
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    for (i, id) in ids.iter().enumerate() {
        let (delivery, respond) = client.delivery().await;
        assert!(!respond, "nobody waits for a queued delivery");
        assert_eq!(&delivery.id.to_string(), id);
        assert_eq!(delivery.body, format!("{{\"n\":{i}}}").into_bytes());
        client.stored(delivery.id).await;
    }
    relay.stop().await;
}

#[tokio::test]
async fn restart_with_queued_deliveries_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    for i in 0..3 {
        let reply = post(
            relay.addr,
            &format!("/h/{}/r", channel(TOKEN_A)),
            format!("restart-{i}"),
        )
        .await;
        assert_eq!(reply.status, 202);
    }
    relay.stop().await;
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    for i in 0..3 {
        let (delivery, _) = client.delivery().await;
        assert_eq!(delivery.body, format!("restart-{i}").into_bytes());
    }
    relay.stop().await;
}

#[tokio::test]
async fn reject_mode_answers_503_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| c.offline = OfflineMode::Reject).await;
    let reply = post(relay.addr, &format!("/h/{}", channel(TOKEN_A)), "x").await;
    assert_eq!(reply.status, 503);
    assert!(reply.headers.get("retry-after").is_some());
    assert_eq!(reply.json()["reason"], "offline");
    assert_eq!(metric(relay.addr, "queued").await, 0);
    relay.stop().await;
}

#[tokio::test]
async fn unknown_channel_is_404_json() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    for path in [
        "/h/aaaaaaaaaaaaaaaaaaaaaaaa",
        "/h/not-a-channel/x",
        "/elsewhere",
    ] {
        let reply = post(relay.addr, path, "x").await;
        assert_eq!(reply.status, 404, "{path}");
        assert!(reply.json()["error"].is_string());
    }
    relay.stop().await;
}

#[tokio::test]
async fn oversize_body_is_413_json_declared_or_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| c.max_body = 1024).await;
    let path = format!("/h/{}", channel(TOKEN_A));
    let reply = post(relay.addr, &path, vec![b'x'; 1025]).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["reason"], "body_too_large");
    // Chunked, so no Content-Length warns the relay in advance.
    let chunked = [("transfer-encoding", "chunked")];
    let reply = send(relay.addr, "POST", &path, &chunked, vec![b'y'; 4096]).await;
    assert_eq!(reply.status, 413);
    assert_eq!(
        post(relay.addr, &path, vec![b'z'; 1024]).await.status,
        202,
        "exactly at the limit is fine"
    );
    relay.stop().await;
}

#[tokio::test]
async fn full_queue_refuses_with_503_never_silently() {
    let dir = tempfile::tempdir().unwrap();
    let limits = QueueLimits {
        max_count: 2,
        ..QueueLimits::default()
    };
    let relay = TestRelay::start(dir.path(), |c| c.queue_limits = limits).await;
    let path = format!("/h/{}", channel(TOKEN_A));
    assert_eq!(post(relay.addr, &path, "1").await.status, 202);
    assert_eq!(post(relay.addr, &path, "2").await.status, 202);
    let reply = post(relay.addr, &path, "3").await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["reason"], "queue_full");
    assert!(reply.headers.get("retry-after").is_some());
    relay.stop().await;
}

#[tokio::test]
async fn response_timeout_is_504_and_the_delivery_stays_queued() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| {
        c.response_timeout = Duration::from_millis(300)
    })
    .await;
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    let sender = tokio::spawn(post(
        relay.addr,
        &format!("/h/{}", channel(TOKEN_A)),
        "slow",
    ));
    let (delivery, respond) = client.delivery().await;
    assert!(respond);
    let reply = sender.await.unwrap();
    assert_eq!(reply.status, 504);
    assert_eq!(reply.json()["id"], delivery.id.to_string());
    // A late answer reaches nobody; the unacknowledged delivery comes again.
    client.respond(delivery.id, 200, vec![], b"late").await;
    drop(client);
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    let (again, respond) = client.delivery().await;
    assert_eq!(again.id, delivery.id);
    assert!(!respond, "the sender stopped waiting");
    relay.stop().await;
}

#[tokio::test]
async fn body_of_25_mib_survives_the_websocket_hop() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| {
        c.max_body = 26 * 1024 * 1024;
        // Unoptimised test builds hash and encode 25 MiB slowly.
        c.response_timeout = Duration::from_secs(50);
        c.idle_timeout = Duration::from_secs(120);
    })
    .await;
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    let body: Bytes = (0..25 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let expected = body_sha256_hex(&body);
    let sender = tokio::spawn(post(relay.addr, &format!("/h/{}", channel(TOKEN_A)), body));
    let (delivery, _) = client.delivery().await;
    assert_eq!(delivery.body.len(), 25 * 1024 * 1024);
    assert_eq!(body_sha256_hex(&delivery.body), expected);
    assert_eq!(delivery.body_sha256, expected);
    client.respond(delivery.id, 200, vec![], b"ok").await;
    assert_eq!(sender.await.unwrap().status, 200);
    relay.stop().await;
}

#[tokio::test]
async fn a_second_relay_on_the_same_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let second = hookline_relay::Relay::open(hookline_relay::RelayConfig::new(
        tokens(),
        dir.path().to_owned(),
    ));
    let err = second
        .expect_err("the queue is locked by the first relay")
        .to_string();
    assert!(err.contains("another hookline-relay"), "{err}");
    relay.stop().await;
}

#[tokio::test]
async fn deliveries_past_their_age_are_dropped_counted_and_not_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let reply = post(relay.addr, &format!("/h/{}", channel(TOKEN_A)), "stale").await;
    assert_eq!(reply.status, 202);
    relay.stop().await;
    // Reopened with a max age every queued delivery is already past.
    let limits = QueueLimits {
        max_age: Duration::from_millis(1),
        ..QueueLimits::default()
    };
    let relay = TestRelay::start(dir.path(), |c| c.queue_limits = limits).await;
    assert_eq!(metric(relay.addr, "queued").await, 0);
    let text = send(relay.addr, "GET", "/metrics", &[], Bytes::new())
        .await
        .body;
    let text = String::from_utf8_lossy(&text);
    assert!(
        text.contains("hookline_relay_dropped_total{reason=\"age\"} 1\n"),
        "{text}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn response_body_at_the_protocol_limit_passes_back() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    let sender = tokio::spawn(post(
        relay.addr,
        &format!("/h/{}", channel(TOKEN_A)),
        "big answer",
    ));
    let (delivery, _) = client.delivery().await;
    let body = vec![b'r'; hookline_protocol::limits::MAX_RESPONSE_BODY_BYTES];
    let headers = vec![Header::new("x-pad", "p".repeat(32 * 1024))];
    client.respond(delivery.id, 200, headers, &body).await;
    let reply = sender.await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.len(), body.len());
    relay.stop().await;
}
