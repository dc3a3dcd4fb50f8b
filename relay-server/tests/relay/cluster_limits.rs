//! A channel's byte limit holds across the relays of a cluster (JetStream
//! 2.9 cannot limit bytes per subject; the relays count them), and the
//! bytes are freed when the client stores the deliveries.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hookline_relay::cluster::{ClusterOptions, JetStreamQueue};
use hookline_relay::{Relay, RelayConfig};

use crate::cluster::nats::NatsServer;
use crate::support::*;

const LIMIT: u64 = 3000;

async fn member(server: &NatsServer) -> (TestRelay, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new(tokens(), dir.path().to_owned());
    config.queue_limits.max_bytes = LIMIT;
    let options = ClusterOptions::new(vec![server.url()]);
    let queue = JetStreamQueue::connect(&options, &config.queue_limits)
        .await
        .expect("join the test cluster");
    let relay = Relay::with_cluster(config, queue).expect("relay opens");
    (TestRelay::serve(relay, None).await, dir)
}

fn bytes_metric() -> String {
    let id: String = channel(TOKEN_A).to_string().chars().take(8).collect();
    format!("channel_queued_bytes{{channel=\"default\",id=\"{id}\"}}")
}

/// Waits until `addr`'s byte gauge for the channel satisfies `done`.
async fn until_bytes(addr: SocketAddr, done: impl Fn(u64) -> bool) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let bytes = metric(addr, &bytes_metric()).await;
        if done(bytes) {
            return bytes;
        }
        assert!(Instant::now() < deadline, "byte gauge stuck at {bytes}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channels_byte_limit_holds_across_relays_and_stored_deliveries_free_it() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let ((a, _da), (b, _db)) = (member(&server).await, member(&server).await);
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(1000));
    let path = format!("/h/{}/bytes", channel(TOKEN_A));
    let mut accepted = Vec::new();
    let mut refused = None;
    for i in 0..8 {
        // Alternate relays, letting each see the other's count first.
        let relay = if i % 2 == 0 { &a } else { &b };
        let reply = post(relay.addr, &path, body.clone()).await;
        match reply.status {
            202 => accepted.push(reply.json()["id"].as_str().unwrap().to_owned()),
            503 => {
                refused = Some(reply);
                break;
            }
            other => panic!("unexpected {other}: {:?}", reply.body),
        }
        let seen = accepted.len() as u64 * 1000;
        let other = if i % 2 == 0 { &b } else { &a };
        until_bytes(other.addr, |bytes| bytes >= seen).await;
    }
    let refused = refused.expect("the byte limit answered 503");
    assert_eq!(refused.json()["reason"], "queue_full", "{:?}", refused.body);
    assert!(
        (1..=3).contains(&accepted.len()),
        "{} accepted under a {LIMIT}-byte limit",
        accepted.len()
    );

    // Everything accepted reaches the client; storing frees the bytes everywhere.
    let mut client = Client::welcome(b.addr, TOKEN_A).await;
    for _ in 0..accepted.len() {
        let (delivery, _) = client.delivery().await;
        assert!(accepted.contains(&delivery.id.to_string()));
        client.stored(delivery.id).await;
    }
    until_bytes(a.addr, |bytes| bytes == 0).await;
    // Room again: a sender waiting on A gets the client's answer.
    let sender = tokio::spawn(post(a.addr, &path, body));
    let (delivery, _) = client.delivery().await;
    client.respond(delivery.id, 200, vec![], b"ok").await;
    client.stored(delivery.id).await;
    assert_eq!(sender.await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_deliveries_leave_the_stream_so_the_count_limit_is_what_is_queued() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new(tokens(), dir.path().to_owned());
    config.queue_limits.max_count = 3;
    let options = ClusterOptions::new(vec![server.url()]);
    let queue = JetStreamQueue::connect(&options, &config.queue_limits)
        .await
        .expect("join the test cluster");
    let relay = TestRelay::serve(Relay::with_cluster(config, queue).unwrap(), None).await;
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    let path = format!("/h/{}/count", channel(TOKEN_A));
    // Four times the limit, each stored by the client: none is refused.
    for n in 0..12 {
        let sender = tokio::spawn(post(relay.addr, &path, format!("{{\"n\":{n}}}")));
        let (delivery, _) = client.delivery().await;
        client.respond(delivery.id, 200, vec![], b"ok").await;
        client.stored(delivery.id).await;
        assert_eq!(sender.await.unwrap().status, 200, "delivery {n}");
    }
    drop(client);
    relay.stop().await;
}
