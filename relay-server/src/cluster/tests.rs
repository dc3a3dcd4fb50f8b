//! The JetStream queue against a real nats-server: order, acks, handover
//! between relays, redelivery from a crashed one, limits and NATS outages.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use bytes::Bytes;
use futures_util::StreamExt;
use hookline_protocol::{ChannelId, DeliveryId};
use tokio::sync::Notify;

use super::test_server::NatsServer;
use super::*;
use crate::QueueLimits;
use crate::queue::{ChannelQueue, QueueError, Queued};

fn channel(name: &str) -> ChannelId {
    ChannelId::derive(&"cluster-test-token".into(), name)
}

async fn queue(server: &NatsServer, limits: &QueueLimits) -> Arc<JetStreamQueue> {
    JetStreamQueue::connect(&ClusterOptions::new(vec![server.url()]), limits)
        .await
        .expect("connect to the test nats-server")
}

async fn flush(queue: &Arc<JetStreamQueue>) -> Result<(), QueueError> {
    let queue = queue.clone();
    tokio::task::spawn_blocking(move || queue.flush())
        .await
        .unwrap()
}

fn push(queue: &JetStreamQueue, channel: &ChannelId, frame: &'static str) -> DeliveryId {
    let id = DeliveryId::generate();
    queue
        .push(
            channel,
            id,
            Bytes::from_static(frame.as_bytes()),
            &QueueLimits::default(),
        )
        .expect("push");
    id
}

/// Follows `channel` as `session` and collects entries until `want` arrived.
async fn follow_until(
    queue: &JetStreamQueue,
    channel: &ChannelId,
    session: u64,
    want: usize,
) -> Vec<Queued> {
    follow_until_all(queue, channel, session, |got| got.len() >= want).await
}

/// Follows `channel` once and reads what it hands out until `done` holds.
async fn follow_until_all(
    queue: &JetStreamQueue,
    channel: &ChannelId,
    session: u64,
    done: impl Fn(&[Queued]) -> bool,
) -> Vec<Queued> {
    let notify = Arc::new(Notify::new());
    let wake = notify.clone();
    queue.follow(
        channel,
        session,
        Arc::new(move || wake.notify_one()),
        Arc::new(|| {}),
    );
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        got.extend(queue.read_after(channel, None, 64).unwrap());
        if done(&got) {
            return got;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            tokio::time::timeout(left, notify.notified()).await.is_ok(),
            "what was wanted had not arrived within 15 s: {} entries",
            got.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_arrive_in_order_unchanged_and_acked_ones_are_gone_for_the_next_relay() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let (a, b) = (
        queue(&server, &QueueLimits::default()).await,
        queue(&server, &QueueLimits::default()).await,
    );
    let ch = channel("order");
    // Relays are ordered by what JetStream confirmed: each push is
    // confirmed before the next relay's.
    let mut ids = Vec::new();
    for (relay, frame) in [(&a, "first"), (&b, "second"), (&a, "third")] {
        ids.push(push(relay, &ch, frame));
        flush(relay).await.unwrap();
    }
    let got = follow_until(&a, &ch, 1, 3).await;
    let frames: Vec<&[u8]> = got.iter().map(|e| e.frame.as_ref()).collect();
    assert_eq!(frames, [b"first".as_ref(), b"second", b"third"]);
    assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    assert!(a.remove(&ch, got[0].seq, got[0].id).unwrap());
    assert!(
        !a.remove(&ch, got[0].seq, got[0].id).unwrap(),
        "acked twice"
    );
    // The session leaves relay A: what the client did not store goes back
    // to the stream, and relay B gets exactly that.
    a.unfollow(&ch, 1);
    let rest = follow_until(&b, &ch, 7, 2).await;
    // Redelivered entries arrive in stream order unless one's ack deadline
    // ran out before relay A gave it back (a loaded machine): then JetStream
    // hands that one out first. Which entries come is what must hold.
    let mut redelivered: Vec<_> = rest.iter().map(|e| e.id).collect();
    redelivered.sort();
    let mut expected = ids[1..].to_vec();
    expected.sort();
    assert_eq!(redelivered, expected);
    assert!(
        b.read_after(&ch, None, 64).unwrap().is_empty(),
        "nothing sent twice to one session"
    );
    // A new session on the same relay is sent every unacknowledged entry again.
    let again = follow_until(&b, &ch, 8, 2).await;
    assert_eq!(again.iter().map(|e| e.id).collect::<Vec<_>>(), ids[1..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_taken_by_a_crashed_relay_come_back_after_the_ack_wait() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let relay = queue(&server, &QueueLimits::default()).await;
    let ch = channel("crash");
    let id = push(&relay, &ch, "in flight");
    flush(&relay).await.unwrap();
    // A relay that pulled the delivery and died before the client stored it:
    // a raw pull of the channel's consumer, never acknowledged.
    let nats = async_nats::connect(server.url()).await.unwrap();
    let js = jetstream::new(nats);
    assert_eq!(follow_until(&relay, &ch, 1, 1).await[0].id, id);
    let crashed = js.get_stream(STREAM).await.unwrap();
    let consumer: jetstream::consumer::PullConsumer =
        crashed.get_consumer(&consumer_name(&ch)).await.unwrap();
    relay.followers.stop_all();
    drop(relay);
    let mut batch = consumer
        .batch()
        .max_messages(1)
        .expires(Duration::from_secs(10))
        .messages()
        .await
        .unwrap();
    // The stopped follower gave it back (NAK), so a raw pull can take it now.
    let taken = batch.next().await.expect("one message").unwrap();
    assert_eq!(taken.payload.as_ref(), b"in flight");
    drop(js);
    let other = queue(&server, &QueueLimits::default()).await;
    let started = Instant::now();
    let got = follow_until(&other, &ch, 2, 1).await;
    assert_eq!(got[0].id, id);
    eprintln!("redelivered {:?} after the crash", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_channel_refuses_instead_of_dropping_its_oldest() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let limits = QueueLimits {
        max_count: 2,
        ..QueueLimits::default()
    };
    let relay = queue(&server, &limits).await;
    let ch = channel("full");
    for frame in ["one", "two"] {
        relay
            .push(
                &ch,
                DeliveryId::generate(),
                Bytes::from_static(frame.as_bytes()),
                &limits,
            )
            .unwrap();
    }
    flush(&relay).await.unwrap();
    relay
        .push(
            &ch,
            DeliveryId::generate(),
            Bytes::from_static(b"three"),
            &limits,
        )
        .unwrap();
    let refused = flush(&relay).await.unwrap_err();
    assert!(matches!(refused, QueueError::Unavailable(_)), "{refused}");
    let r = relay.clone();
    tokio::task::spawn_blocking(move || r.maintain())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(relay.stats(&ch).count, 2);
    let full = relay.push(
        &ch,
        DeliveryId::generate(),
        Bytes::from_static(b"four"),
        &limits,
    );
    assert!(
        matches!(full, Err(QueueError::FullCount { count: 2, limit: 2 })),
        "{full:?}"
    );
    let kept = follow_until(&relay, &ch, 1, 2).await;
    assert_eq!(kept[0].frame.as_ref(), b"one", "the oldest is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_down_refuses_pushes_and_everything_resumes_when_it_returns() {
    let Some(mut server) = NatsServer::start() else {
        return;
    };
    let relay = queue(&server, &QueueLimits::default()).await;
    let ch = channel("outage");
    let before = push(&relay, &ch, "before");
    flush(&relay).await.unwrap();
    server.stop();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pushed = relay.push(
            &ch,
            DeliveryId::generate(),
            Bytes::from_static(b"x"),
            &QueueLimits::default(),
        );
        if let Err(QueueError::Unavailable(_)) = pushed {
            break;
        }
        // A push that got in before the disconnect was noticed is never confirmed.
        if pushed.is_ok() {
            assert!(
                flush(&relay).await.is_err(),
                "a push while NATS is down was confirmed"
            );
        }
        assert!(
            Instant::now() < deadline,
            "pushes still accepted 20 s after NATS stopped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !relay.is_connected() {
        assert!(
            Instant::now() < deadline,
            "no reconnect within 20 s of NATS returning"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = push(&relay, &ch, "after");
    flush(&relay).await.unwrap();
    // Pushes JetStream stored while their answers were lost in the outage
    // may come between them: never confirmed, but not wrong either.
    let got = follow_until_all(&relay, &ch, 1, |got| {
        got.iter().any(|e| e.id == before) && got.iter().any(|e| e.id == after)
    })
    .await;
    let ids: Vec<_> = got.iter().map(|e| e.id).collect();
    let (at_before, at_after) = (
        ids.iter().position(|id| *id == before),
        ids.iter().position(|id| *id == after),
    );
    assert!(at_before < at_after, "{ids:?}");
}
