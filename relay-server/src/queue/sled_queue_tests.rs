//! Tests of the sled queue: order, reopen, bounds, isolation, age, write-behind.

use std::time::Duration;

use hookline_protocol::Secret;

use bytes::Bytes;

use super::*;

fn limits(count: u64, bytes: u64) -> QueueLimits {
    QueueLimits {
        max_count: count,
        max_bytes: bytes,
        max_age: Duration::from_secs(60),
    }
}

fn chan(name: &str) -> ChannelId {
    ChannelId::derive(&Secret::new("unit-test-token"), name)
}

/// Pushes a fresh delivery with body `body`.
fn push(
    q: &SledQueue,
    channel: &ChannelId,
    body: &'static [u8],
    limits: &QueueLimits,
) -> Result<u64, QueueError> {
    q.push(
        channel,
        DeliveryId::generate(),
        Bytes::from_static(body),
        limits,
    )
}

#[test]
fn reads_in_order_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (chan("a"), chan("b"));
    {
        let q = SledQueue::open(dir.path()).unwrap();
        for i in 0..5u8 {
            q.push(
                &a,
                DeliveryId::generate(),
                Bytes::copy_from_slice(&[i]),
                &limits(100, 1000),
            )
            .unwrap();
        }
        push(&q, &b, b"other", &limits(100, 1000)).unwrap();
        q.flush().unwrap();
    }
    let q = SledQueue::open(dir.path()).unwrap();
    assert_eq!(q.stats(&a), QueueStats { count: 5, bytes: 5 });
    let all = q.read_after(&a, None, 100).unwrap();
    assert_eq!(
        all.iter().map(|e| e.frame[0]).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    let rest = q.read_after(&a, Some(all[2].seq), 100).unwrap();
    assert_eq!(rest.len(), 2);
    let seq = q
        .push(
            &a,
            DeliveryId::generate(),
            Bytes::from_static(b"x"),
            &limits(100, 1000),
        )
        .unwrap();
    assert!(seq > all[4].seq, "seq continues after a reopen");
}

#[test]
fn bounds_by_count_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let q = SledQueue::open(dir.path()).unwrap();
    let a = chan("a");
    push(&q, &a, b"12345", &limits(2, 8)).unwrap();
    let full = push(&q, &a, b"6789", &limits(2, 8));
    assert!(
        matches!(full, Err(QueueError::FullBytes { .. })),
        "{full:?}"
    );
    push(&q, &a, b"6", &limits(2, 8)).unwrap();
    let full = push(&q, &a, b"7", &limits(2, 8));
    assert!(
        matches!(full, Err(QueueError::FullCount { .. })),
        "{full:?}"
    );
}

#[test]
fn remove_only_hits_its_own_channel() {
    let dir = tempfile::tempdir().unwrap();
    let q = SledQueue::open(dir.path()).unwrap();
    let (a, b) = (chan("a"), chan("b"));
    let id = DeliveryId::generate();
    let seq = q
        .push(&a, id, Bytes::from_static(b"x"), &limits(10, 100))
        .unwrap();
    assert!(!q.remove(&b, seq, id).unwrap());
    assert!(q.remove(&a, seq, id).unwrap());
    assert!(!q.remove(&a, seq, id).unwrap());
    assert_eq!(q.totals(), QueueStats::default());
}

#[test]
fn expires_old_entries_only() {
    let dir = tempfile::tempdir().unwrap();
    let q = SledQueue::open(dir.path()).unwrap();
    let a = chan("a");
    let old = DeliveryId::from_parts(1_000, 1);
    q.push(&a, old, Bytes::from_static(b"old"), &limits(10, 100))
        .unwrap();
    q.push(
        &a,
        DeliveryId::from_parts(5_000, 1),
        Bytes::from_static(b"new"),
        &limits(10, 100),
    )
    .unwrap();
    assert_eq!(q.expire(2_000).unwrap(), vec![(a.clone(), old)]);
    assert_eq!(q.stats(&a).count, 1);
}

#[test]
fn staged_and_spilled_entries_read_as_one_ordered_queue() {
    let dir = tempfile::tempdir().unwrap();
    let q = SledQueue::open(dir.path()).unwrap();
    let a = chan("a");
    let mut ids = Vec::new();
    for i in 0..3u8 {
        let id = DeliveryId::generate();
        ids.push((
            q.push(&a, id, Bytes::copy_from_slice(&[i]), &limits(100, 1000))
                .unwrap(),
            id,
        ));
    }
    q.spill(Duration::ZERO).unwrap();
    for i in 3..6u8 {
        let id = DeliveryId::generate();
        ids.push((
            q.push(&a, id, Bytes::copy_from_slice(&[i]), &limits(100, 1000))
                .unwrap(),
            id,
        ));
    }
    let all = q.read_after(&a, None, 100).unwrap();
    assert_eq!(
        all.iter().map(|e| e.frame[0]).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5]
    );
    let some = q.read_after(&a, Some(all[1].seq), 3).unwrap();
    assert_eq!(
        some.iter().map(|e| e.frame[0]).collect::<Vec<_>>(),
        [2, 3, 4]
    );
    // One removed from sled, one from staging; neither comes back.
    assert!(q.remove(&a, ids[0].0, ids[0].1).unwrap());
    assert!(q.remove(&a, ids[4].0, ids[4].1).unwrap());
    assert!(
        !q.remove(&a, ids[4].0, DeliveryId::generate()).unwrap(),
        "wrong id, no removal"
    );
    assert_eq!(q.stats(&a).count, 4);
    q.flush().unwrap();
    drop(q);
    let q = SledQueue::open(dir.path()).unwrap();
    let all = q.read_after(&a, None, 100).unwrap();
    assert_eq!(
        all.iter().map(|e| e.frame[0]).collect::<Vec<_>>(),
        [1, 2, 3, 5],
        "flush wrote the staged ones"
    );
}

#[test]
fn maintain_spills_only_entries_past_their_staging_time() {
    let dir = tempfile::tempdir().unwrap();
    let q = SledQueue::open(dir.path()).unwrap();
    let a = chan("a");
    push(&q, &a, b"fresh", &limits(10, 100)).unwrap();
    q.maintain().unwrap();
    assert_eq!(q.db.len(), 0, "a fresh delivery stays in memory");
    q.spill(Duration::ZERO).unwrap();
    assert_eq!(q.db.len(), 1);
}

#[test]
fn a_queue_of_the_first_format_is_upgraded_on_open() {
    use hookline_protocol::{Delivery, Header, frame};
    let dir = tempfile::tempdir().unwrap();
    let a = chan("a");
    let delivery = Delivery {
        id: DeliveryId::generate(),
        channel: a.clone(),
        received_at_ms: 1_780_000_000_000,
        method: "POST".into(),
        path: "/x".into(),
        query: None,
        headers: vec![Header::new("x-sig", vec![0xff])],
        body: Bytes::from_static(b"{\"type\":\"a\"}\xff"),
        body_sha256: "00".into(),
        remote_addr: None,
        public_url: "http://h/h/a/x".into(),
    };
    {
        // What the first release wrote: the delivery as JSON, no format mark.
        let db = sled::open(dir.path().join("queue")).unwrap();
        let v1 = serde_json::to_vec(&delivery).unwrap();
        assert_eq!(v1[0], b'{');
        db.insert(key(&a, 7, delivery.id), v1).unwrap();
        db.flush().unwrap();
    }
    let q = SledQueue::open(dir.path()).unwrap();
    let all = q.read_after(&a, None, 10).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].seq, 7);
    let (read, respond) = frame::decode_delivery(all[0].frame.clone()).unwrap();
    assert_eq!((read, respond), (delivery, false));
    assert_eq!(q.stats(&a).bytes, all[0].frame.len() as u64);
    drop(q);
    let q = SledQueue::open(dir.path()).unwrap();
    assert_eq!(q.read_after(&a, None, 10).unwrap()[0].frame, all[0].frame);
}
