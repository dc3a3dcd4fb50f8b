//! Two relays on one real nats-server (JetStream): a webhook to relay A
//! reaches the client on relay B, the local app's answer included; offline
//! queueing across relays; takeover across relays; NATS down → 503.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hookline_protocol::{GoodbyeReason, Header, RelayMessage};
use hookline_relay::cluster::{ClusterOptions, JetStreamQueue};
use hookline_relay::{Relay, RelayConfig};

use crate::support::*;

#[path = "../../src/cluster/test_server.rs"]
#[allow(dead_code)]
pub mod nats;

use nats::NatsServer;

struct Member {
    relay: TestRelay,
    queue: Arc<JetStreamQueue>,
    _dir: tempfile::TempDir,
}

async fn member(server: &NatsServer) -> Member {
    let dir = tempfile::tempdir().unwrap();
    let config = RelayConfig::new(tokens(), dir.path().to_owned());
    let options = ClusterOptions::new(vec![server.url()]);
    let queue = JetStreamQueue::connect(&options, &config.queue_limits)
        .await
        .expect("join the test cluster");
    let relay = Relay::with_cluster(config, queue.clone()).expect("relay opens");
    Member {
        relay: TestRelay::serve(relay, None).await,
        queue,
        _dir: dir,
    }
}

/// Waits until `observer` sees the channel held by another relay's session.
async fn until_held_elsewhere(observer: &Member) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !observer.queue.held_elsewhere(&channel(TOKEN_A)).await {
        assert!(
            Instant::now() < deadline,
            "presence not visible within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn hook(addr: SocketAddr) -> Reply {
    let path = format!("/h/{}/hook", channel(TOKEN_A));
    post(addr, &path, "{\"n\":1}").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_to_relay_a_is_answered_by_the_client_on_relay_b() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let (a, b) = (member(&server).await, member(&server).await);
    let mut client = Client::welcome(b.relay.addr, TOKEN_A).await;
    until_held_elsewhere(&a).await;
    let sender = tokio::spawn(hook(a.relay.addr));
    let (delivery, respond) = client.delivery().await;
    assert!(
        respond,
        "a sender waits on relay A, so the client must answer"
    );
    assert_eq!(delivery.path, "/hook");
    assert_eq!(delivery.body.as_ref(), b"{\"n\":1}");
    let headers = vec![Header::new("x-app", b"yes".as_slice())];
    client
        .respond(delivery.id, 201, headers, b"from the app")
        .await;
    client.stored(delivery.id).await;
    let reply = sender.await.unwrap();
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body.as_ref(), b"from the app");
    assert_eq!(reply.headers["x-app"], "yes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_queued_on_one_relay_reaches_a_client_connecting_to_another() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let (a, b) = (member(&server).await, member(&server).await);
    let reply = hook(a.relay.addr).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let mut client = Client::welcome(b.relay.addr, TOKEN_A).await;
    let (delivery, _) = client.delivery().await;
    assert_eq!(delivery.id.to_string(), reply.json()["id"]);
    client.stored(delivery.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_on_another_relay_takes_the_channel_over() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let (a, b) = (member(&server).await, member(&server).await);
    let mut old = Client::welcome(a.relay.addr, TOKEN_A).await;
    until_held_elsewhere(&b).await;
    let mut new = Client::welcome(b.relay.addr, TOKEN_A).await;
    match old.recv().await {
        RelayMessage::Goodbye { reason, .. } => assert_eq!(reason, GoodbyeReason::TakenOver),
        other => panic!("expected a goodbye, got {other:?}"),
    }
    // The new session gets what arrives next, wherever it is sent.
    let reply = tokio::spawn(hook(a.relay.addr));
    let (delivery, _) = new.delivery().await;
    new.respond(delivery.id, 200, vec![], b"ok").await;
    new.stored(delivery.id).await;
    assert_eq!(reply.await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_down_answers_503_with_retry_after_and_nothing_accepted_is_lost() {
    let Some(mut server) = NatsServer::start() else {
        return;
    };
    let a = member(&server).await;
    let before = hook(a.relay.addr).await;
    assert_eq!(before.status, 202);
    server.stop();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut accepted = vec![before.json()["id"].as_str().unwrap().to_owned()];
    loop {
        let reply = hook(a.relay.addr).await;
        if reply.status == 503 {
            assert!(reply.headers.contains_key("retry-after"), "{reply:?}");
            let health = send(a.relay.addr, "GET", "/healthz", &[], "").await;
            assert_eq!(health.status, 200, "alive while NATS is down");
            let ready = send(a.relay.addr, "GET", "/readyz", &[], "").await;
            assert_eq!(ready.status, 503, "not ready while NATS is down");
            break;
        }
        // Only a delivery JetStream confirmed may get a 2xx.
        assert_ne!(reply.status / 100, 2, "a 2xx while NATS is down: {reply:?}");
        assert!(
            Instant::now() < deadline,
            "no 503 within 30 s of NATS stopping"
        );
    }
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = hook(a.relay.addr).await;
        if reply.status == 202 {
            accepted.push(reply.json()["id"].as_str().unwrap().to_owned());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not accepting 30 s after NATS returned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = send(a.relay.addr, "GET", "/readyz", &[], "").await;
    assert_eq!(ready.status, 200, "ready again once NATS is back");
    let mut client = Client::welcome(a.relay.addr, TOKEN_A).await;
    let mut got = Vec::new();
    // The client also hears of the 503s (refusal notices); at most one per second.
    for _ in 0..accepted.len() + 40 {
        match client.recv().await {
            RelayMessage::Delivery { delivery, .. } => got.push(delivery.id.to_string()),
            RelayMessage::Refused { .. } => continue,
            other => panic!("expected a delivery, got {other:?}"),
        }
        if got.len() == accepted.len() {
            break;
        }
    }
    assert_eq!(got, accepted);
}
