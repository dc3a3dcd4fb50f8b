//! The forward retry schedule in the store: written with each failed
//! forward, ended by an answer, superseded by a replay, read back by a
//! starting listener, and absent (not an error) in a store that predates it.

use crate::store_support;

use hookline::listen::Backlog;
use hookline::store::{DeliveryStatus, ListQuery, RetrySchedule, Store};
use store_support::*;

#[tokio::test]
async fn a_failed_forward_schedules_the_next_retry_until_one_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let d = delivery(T0, 1, "email.opened", "/x", Vec::new());
    let due = T0 + 60_000;
    {
        let store = Store::open(dir.path()).unwrap();
        store.insert_to_forward(&d, &valid()).unwrap();
        let goes_on = store
            .record_forward(
                d.id,
                &attempt(T0 + 1, None, false),
                Some(RetrySchedule::new(1, due)),
            )
            .unwrap();
        assert!(goes_on);
        store.flush().await.unwrap();
    }
    // Read back after a restart, as a listener starting up does.
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.pending_retries().unwrap(),
        [(d.id, RetrySchedule::new(1, due))]
    );
    let backlog = Backlog::load(&store).unwrap();
    assert!(
        backlog.first.is_empty(),
        "attempted once: not a first forward"
    );
    assert_eq!(backlog.retries.len(), 1);
    assert_eq!(backlog.retries[0].0.attempts.len(), 1);
    let summary = store.summary(d.id).unwrap().unwrap();
    assert_eq!(summary.next_retry_at_ms, Some(due));
    assert_eq!(summary.status(), DeliveryStatus::Failed);
    let page = store
        .page(&ListQuery {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.items[0].next_retry_at_ms, Some(due));

    let next = RetrySchedule::new(2, due + 1000);
    assert!(
        store
            .record_forward(d.id, &attempt(due, Some(503), false), Some(next))
            .unwrap()
    );
    assert_eq!(store.retry_schedule(d.id).unwrap(), Some(next));
    assert!(
        !store
            .record_forward(d.id, &attempt(due + 1000, Some(200), false), None)
            .unwrap()
    );
    assert_eq!(
        store.retry_schedule(d.id).unwrap(),
        None,
        "an answer ends the schedule"
    );
    assert!(store.pending_retries().unwrap().is_empty());
    let summary = store.summary(d.id).unwrap().unwrap();
    assert_eq!((summary.attempts, summary.next_retry_at_ms), (3, None));
    assert_eq!(summary.status(), DeliveryStatus::Ok);
}

#[test]
fn a_replay_supersedes_the_pending_retry_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let d = delivery(T0, 2, "email.opened", "/x", Vec::new());
    store.insert_to_forward(&d, &valid()).unwrap();
    let pending = RetrySchedule::new(1, T0 + 500);
    store
        .record_forward(d.id, &attempt(T0, None, false), Some(pending))
        .unwrap();

    assert_eq!(
        store.supersede_retry(d.id, T0 + 100).unwrap(),
        Some(pending)
    );
    let superseded = store.retry_schedule(d.id).unwrap().unwrap();
    assert_eq!(superseded.superseded_at_ms, Some(T0 + 100));
    assert!(!superseded.is_pending());
    assert!(store.pending_retries().unwrap().is_empty());
    assert_eq!(store.summary(d.id).unwrap().unwrap().next_retry_at_ms, None);
    assert_eq!(
        store.supersede_retry(d.id, T0 + 200).unwrap(),
        None,
        "nothing left to cancel"
    );

    // A retry already in flight when the replay came is recorded, and its
    // schedule does not come back.
    let later = RetrySchedule::new(2, T0 + 2000);
    assert!(
        !store
            .record_forward(d.id, &attempt(T0 + 600, None, false), Some(later))
            .unwrap()
    );
    assert_eq!(store.retry_schedule(d.id).unwrap(), Some(superseded));
    assert_eq!(store.get(d.id).unwrap().unwrap().attempts.len(), 2);

    assert!(store.delete(d.id).unwrap());
    assert_eq!(
        store.retry_schedule(d.id).unwrap(),
        None,
        "deleted with the delivery"
    );
}

#[tokio::test]
async fn a_store_from_before_the_retries_tree_opens_and_gains_it() {
    let dir = tempfile::tempdir().unwrap();
    let waiting = delivery(T0, 3, "email.opened", "/a", Vec::new());
    let failed = delivery(T0 + 1, 4, "email.opened", "/b", Vec::new());
    {
        let store = Store::open(dir.path()).unwrap();
        store.insert_to_forward(&waiting, &valid()).unwrap();
        store.insert(&failed, &valid()).unwrap();
        store
            .record_attempt(failed.id, &attempt(T0 + 2, None, false))
            .unwrap();
        store.flush().await.unwrap();
    }
    // What an older build left: the same trees, no `retries`.
    {
        let db = open_raw(dir.path());
        assert!(db.drop_tree("retries").unwrap());
        let summary = db
            .open_tree("summaries")
            .unwrap()
            .get(failed.id.to_bytes())
            .unwrap()
            .unwrap();
        assert!(
            !String::from_utf8_lossy(&summary).contains("retry"),
            "summaries keep their encoding: {}",
            String::from_utf8_lossy(&summary)
        );
        db.flush().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let page = store
        .page(&ListQuery {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.items.iter().all(|s| s.next_retry_at_ms.is_none()));
    assert!(store.pending_retries().unwrap().is_empty());
    assert_eq!(store.retry_schedule(failed.id).unwrap(), None);
    let backlog = Backlog::load(&store).unwrap();
    assert_eq!(
        backlog.first.len(),
        1,
        "the never-attempted one is still resumed"
    );
    assert_eq!(backlog.first[0].delivery.id, waiting.id);
    assert!(backlog.retries.is_empty());
    assert_eq!(store.counts().unwrap().total, 2);
    let schedule = RetrySchedule::new(1, T0 + 10);
    store
        .record_forward(waiting.id, &attempt(T0 + 5, None, false), Some(schedule))
        .unwrap();
    assert_eq!(store.pending_retries().unwrap(), [(waiting.id, schedule)]);
}

/// The sled database itself. A store this process closed a moment ago stays
/// locked until sled's flusher thread lets go: polled, with a deadline.
fn open_raw(dir: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match sled::open(hookline::store::db_path(dir)) {
            Ok(db) => return db,
            Err(err) if std::time::Instant::now() > deadline => panic!("cannot open: {err}"),
            Err(_) => std::thread::yield_now(),
        }
    }
}
