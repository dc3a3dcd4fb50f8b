//! The sled store through its public API, on real databases in temp dirs.

use crate::store_support;

use std::time::Duration;

use hookline::model::{StoredDelivery, VerdictKind};
use hookline::store::{
    DeliveryStatus, Filter, Glob, ListQuery, RetentionPolicy, Store, StoreError, StoreEvent,
    retention_task,
};
use store_support::*;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn insert_dedupes_flushes_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let d = delivery(T0, 7, "email.opened", "/x", Vec::new());
    {
        let store = Store::open(dir.path()).unwrap();
        assert!(store.insert(&d, &valid()).unwrap());
        assert!(
            !store.insert(&d, &invalid()).unwrap(),
            "a re-sent delivery must not be stored twice"
        );
        store.flush().await.unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let got = store.get(d.id).unwrap().unwrap();
    assert_eq!(
        got,
        StoredDelivery {
            delivery: d.clone(),
            verdict: valid(),
            attempts: vec![]
        }
    );
    assert_eq!(store.counts().unwrap().total, 1);
}

#[test]
fn attempts_append_in_order_and_update_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let d = delivery(T0, 1, "email.opened", "/x", Vec::new());
    store.insert(&d, &valid()).unwrap();
    let tries = [
        attempt(T0 + 1, None, false),
        attempt(T0 + 2, Some(503), false),
        attempt(T0 + 3, Some(200), true),
    ];
    for a in &tries {
        store.record_attempt(d.id, a).unwrap();
    }
    assert_eq!(store.get(d.id).unwrap().unwrap().attempts, tries.to_vec());
    let s = store.summary(d.id).unwrap().unwrap();
    assert_eq!(
        (s.attempts, s.replays, s.last_status, s.last_error),
        (3, 1, Some(200), false)
    );
    assert_eq!(s.status(), DeliveryStatus::Ok);
    assert_eq!(s.event.as_deref(), Some("email.opened"));
    let missing = hookline_protocol::DeliveryId::from_parts(T0, 99);
    assert!(
        matches!(store.record_attempt(missing, &tries[0]), Err(StoreError::NotFound(id)) if id == missing)
    );
}

#[test]
fn counts_follow_inserts_attempts_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ids = fill(&store, 12);
    let c = store.counts().unwrap();
    assert_eq!((c.total, c.failed, c.invalid), (12, 6, 4));
    store
        .record_attempt(ids[1], &attempt(T0 + 99_000, Some(204), true))
        .unwrap();
    assert_eq!(store.counts().unwrap().failed, 5);
    assert!(store.delete(ids[0]).unwrap());
    assert!(!store.delete(ids[0]).unwrap());
    assert!(store.get(ids[0]).unwrap().is_none());
    let c = store.counts().unwrap();
    assert_eq!((c.total, c.failed, c.invalid), (11, 5, 3));
}

#[test]
fn pages_newest_first_with_cursors() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ids = fill(&store, 25);
    let mut query = ListQuery {
        limit: 10,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.page(&query).unwrap();
        pages += 1;
        seen.extend(page.items.iter().map(|s| s.id));
        match page.next {
            Some(next) => query.before = Some(next),
            None => break,
        }
    }
    let newest_first: Vec<_> = ids.iter().rev().copied().collect();
    assert_eq!(seen, newest_first);
    assert_eq!(pages, 3);
    // An exactly full last page says there is no next one.
    let all = store
        .page(&ListQuery {
            limit: 25,
            ..Default::default()
        })
        .unwrap();
    assert_eq!((all.items.len(), all.next), (25, None));
}

fn ids_for(store: &Store, filter: Filter) -> Vec<u64> {
    let page = store
        .page(&ListQuery {
            filter,
            before: None,
            limit: 100,
        })
        .unwrap();
    assert!(page.next.is_none());
    page.items
        .iter()
        .map(|s| (s.received_at_ms - T0) / 1000)
        .collect()
}

#[test]
fn each_filter_selects_what_it_says() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    fill(&store, 10);
    let f = Filter::default;
    assert_eq!(
        ids_for(
            &store,
            Filter {
                event: Some(Glob::new("email.*")),
                ..f()
            }
        ),
        [8, 6, 4, 2, 0]
    );
    assert_eq!(
        ids_for(
            &store,
            Filter {
                event: Some(Glob::new("nope.*,contact.c?eated")),
                ..f()
            }
        ),
        [9, 7, 5, 3, 1]
    );
    assert_eq!(
        ids_for(
            &store,
            Filter {
                status: Some(DeliveryStatus::Failed),
                ..f()
            }
        ),
        [9, 7, 5, 3, 1]
    );
    assert_eq!(
        ids_for(
            &store,
            Filter {
                status: Some(DeliveryStatus::Invalid),
                ..f()
            }
        ),
        [9, 6, 3, 0]
    );
    assert_eq!(
        ids_for(
            &store,
            Filter {
                status: Some(DeliveryStatus::Pending),
                ..f()
            }
        ),
        Vec::<u64>::new()
    );
    assert_eq!(
        ids_for(
            &store,
            Filter {
                since_ms: Some(T0 + 7000),
                ..f()
            }
        ),
        [9, 8, 7]
    );
    assert_eq!(
        ids_for(
            &store,
            Filter {
                text: Some("/P4".into()),
                ..f()
            }
        ),
        [4]
    );
    assert_eq!(
        ids_for(
            &store,
            Filter {
                verdict: Some(VerdictKind::Invalid),
                ..f()
            }
        ),
        [9, 6, 3, 0]
    );
    assert_eq!(
        ids_for(
            &store,
            Filter {
                status_class: Some(2),
                ..f()
            }
        ),
        [8, 6, 4, 2, 0]
    );
    let both = Filter {
        status_class: Some(5),
        verdict: Some(VerdictKind::Invalid),
        ..f()
    };
    assert_eq!(ids_for(&store, both), [9, 3]);
}

#[test]
fn prefixes_resolve_like_git() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = delivery(T0, 0x1111 << 60, "e", "", Vec::new());
    let b = delivery(T0, 0x2222 << 60, "e", "", Vec::new());
    store.insert(&a, &valid()).unwrap();
    store.insert(&b, &valid()).unwrap();
    let (ta, tb) = (a.id.to_string(), b.id.to_string());
    let common = ta
        .chars()
        .zip(tb.chars())
        .take_while(|(x, y)| x == y)
        .count();
    assert!(common >= 10, "same millisecond: the time part is shared");
    assert_eq!(
        store.resolve(&ta[..common + 1].to_lowercase()).unwrap(),
        a.id
    );
    assert_eq!(store.resolve(&tb).unwrap(), b.id);
    match store.resolve(&ta[..common]) {
        // Newest first, as `list` shows them.
        Err(StoreError::Ambiguous { candidates, .. }) => assert_eq!(candidates, vec![b.id, a.id]),
        other => panic!("expected ambiguous, got {other:?}"),
    }
    assert!(matches!(
        store.resolve("7ZZZZZ"),
        Err(StoreError::Unknown { .. })
    ));
    for bad in ["", "U", "8", "!!", "0123456789012345678901234567"] {
        assert!(
            matches!(store.resolve(bad), Err(StoreError::InvalidPrefix { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn prune_by_age_and_by_count() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = hookline::store::time::now_ms();
    let old: Vec<_> = (0..5u64)
        .map(|i| {
            delivery(
                now - 3_600_000 * (10 - i),
                u128::from(i) + 1,
                "e",
                "",
                Vec::new(),
            )
        })
        .collect();
    let new: Vec<_> = (0..5u64)
        .map(|i| {
            delivery(
                now - 60_000 * (5 - i),
                u128::from(i) + 100,
                "e",
                "",
                Vec::new(),
            )
        })
        .collect();
    for d in old.iter().chain(&new) {
        store.insert(d, &valid()).unwrap();
        store
            .record_attempt(d.id, &attempt(d.received_at_ms, Some(500), false))
            .unwrap();
    }
    assert_eq!(
        store.prune(Some(Duration::from_secs(3600)), None).unwrap(),
        5
    );
    assert!(old.iter().all(|d| store.get(d.id).unwrap().is_none()));
    assert_eq!(store.prune(None, Some(2)).unwrap(), 3);
    let left: Vec<_> = store
        .page(&ListQuery {
            limit: 10,
            ..Default::default()
        })
        .unwrap()
        .items
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, vec![new[4].id, new[3].id]);
    let c = store.counts().unwrap();
    assert_eq!((c.total, c.failed), (2, 2));
    assert_eq!(store.prune(None, Some(2)).unwrap(), 0);
}

#[tokio::test]
async fn retention_task_prunes_then_stops_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    fill(&store, 6);
    let mut events = store.subscribe();
    let shutdown = CancellationToken::new();
    let policy = RetentionPolicy {
        keep: Some(2),
        max_age: None,
        interval: Duration::from_secs(3600),
    };
    let task = tokio::spawn(retention_task(store.clone(), policy, shutdown.clone()));
    for _ in 0..4 {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(event, StoreEvent::Deleted(_)));
    }
    assert_eq!(store.counts().unwrap().total, 2);
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn subscribers_see_inserts_attempts_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut events = store.subscribe();
    let d = delivery(T0, 1, "e", "", Vec::new());
    store.insert(&d, &valid()).unwrap();
    store.insert(&d, &valid()).unwrap();
    store
        .record_attempt(d.id, &attempt(T0, Some(200), false))
        .unwrap();
    store.delete(d.id).unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(
            tokio::time::timeout(Duration::from_secs(5), events.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert_eq!(
        got,
        [
            StoreEvent::Inserted(d.id),
            StoreEvent::Attempted(d.id),
            StoreEvent::Deleted(d.id)
        ]
    );
    assert!(
        events.try_recv().is_err(),
        "the duplicate insert must not be announced"
    );
}

#[test]
fn a_held_store_is_refused_with_the_holders_pid() {
    let dir = tempfile::tempdir().unwrap();
    let _held = Store::open(dir.path()).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    let pid = std::process::id();
    assert!(
        matches!(err, StoreError::Locked { pid: Some(p), .. } if p == pid),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("pid {pid}")) && text.contains("control socket"),
        "{text}"
    );
}

#[test]
fn a_corrupt_store_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        fill(&store, 3);
    }
    let db = hookline::store::db_path(dir.path());
    for entry in std::fs::read_dir(&db).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::write(&path, vec![0xA5; 4096]).unwrap();
        }
    }
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("corrupt"), "{err}");
}

#[test]
fn a_store_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        hookline::store::set_schema_version(&store, hookline::store::SCHEMA_VERSION + 1).unwrap();
    }
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NewerSchema {
                found,
                supported: hookline::store::SCHEMA_VERSION,
                ..
            } if found == hookline::store::SCHEMA_VERSION + 1
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("upgrade hookline"));
}

/// A store as the first release wrote it (schema 1: records as JSON with a
/// base64 body), written with sled directly, opens in this build: its
/// records are upgraded in place and read back unchanged.
#[tokio::test]
async fn a_store_of_the_first_schema_is_upgraded_on_open() {
    use hookline::store::Summary;
    let dir = tempfile::tempdir().unwrap();
    let d = delivery(
        T0,
        7,
        "email.opened",
        "/x",
        b"{\"type\":\"email.opened\"}\xff".to_vec(),
    );
    {
        let db = sled::open(hookline::store::db_path(dir.path())).unwrap();
        let record = serde_json::json!({ "delivery": d, "verdict": valid() });
        let key = d.id.to_bytes();
        db.open_tree("deliveries")
            .unwrap()
            .insert(key, serde_json::to_vec(&record).unwrap())
            .unwrap();
        let summary = Summary::new(&d, &valid());
        db.open_tree("summaries")
            .unwrap()
            .insert(key, serde_json::to_vec(&summary).unwrap())
            .unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &1u32.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    {
        let store = Store::open(dir.path()).unwrap();
        let got = store.get(d.id).unwrap().unwrap();
        assert_eq!((got.delivery, got.verdict), (d.clone(), valid()));
        assert_eq!(store.counts().unwrap().total, 1);
        store.flush().await.unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.get(d.id).unwrap().unwrap().delivery,
        d,
        "read again after the upgrade"
    );
}
