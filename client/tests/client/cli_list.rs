//! `hookline list`, `show` and `prune` as a user runs them: the real binary
//! against a real store, directly and through a listener's control socket.

use crate::cli_support;
use crate::store_support;

use std::time::Duration;

use cli_support::*;
use hookline::control::{StoreAccess, serve_control, socket_path};
use hookline::store::{Store, Summary};
use store_support::*;
use tokio_util::sync::CancellationToken;

fn json_ids(text: &str) -> Vec<u64> {
    text.lines()
        .map(|l| (serde_json::from_str::<Summary>(l).unwrap().received_at_ms - T0) / 1000)
        .collect()
}

#[tokio::test]
async fn list_prints_newest_first_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let ids = fill(&Store::open(dir.path()).unwrap(), 6);
    assert_eq!(
        json_ids(&stdout(&hookline(dir.path(), &["list", "--json"]).await)),
        [5, 4, 3, 2, 1, 0]
    );
    let failed = hookline(
        dir.path(),
        &[
            "list",
            "--json",
            "--status",
            "failed",
            "--event",
            "contact.*",
            "-n",
            "2",
        ],
    )
    .await;
    assert_eq!(json_ids(&stdout(&failed)), [5, 3]);
    let table = stdout(&hookline(dir.path(), &["list", "--code", "5xx"]).await);
    let rows: Vec<&str> = table.lines().collect();
    assert!(rows[0].starts_with("TIME (UTC)"), "{table}");
    assert_eq!(rows.len(), 1 + 3 + 1, "{table}");
    assert!(
        rows[1].contains(&ids[5].to_string()[..12])
            && rows[1].contains("contact.created")
            && rows[1].contains("POST /p5"),
        "{table}"
    );
    assert!(rows[1].contains("500") && rows[1].contains('✓'), "{table}");
    assert!(
        rows[2].contains("POST /p3") && rows[2].contains('✗'),
        "invalid verdict marked: {table}"
    );
    assert!(
        rows[4].contains("3 shown; 6 stored, 3 failed, 2 invalid"),
        "{table}"
    );
    let bad = hookline(dir.path(), &["list", "--since", "yesterday-ish"]).await;
    assert!(one_line_error(&bad).contains("neither a duration"));
}

#[tokio::test]
async fn show_resolves_prefixes_and_prints_the_whole_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let json = delivery(
        T0,
        0xAAAA << 60,
        "",
        "/hook",
        br#"{"type":"email.bounced","data":{"to":"a@b.c","n":1.50}}"#.to_vec(),
    );
    let binary = delivery(
        T0,
        0xBBBB << 60,
        "",
        "/bin",
        vec![0, 159, 146, 150, 255, b'\n', 1],
    );
    store.insert(&json, &invalid()).unwrap();
    store.insert(&binary, &valid()).unwrap();
    store
        .record_attempt(json.id, &attempt(T0 + 1, None, false))
        .unwrap();
    store
        .record_attempt(json.id, &attempt(T0 + 2, Some(500), false))
        .unwrap();
    drop(store);

    let id = json.id.to_string();
    let out = stdout(&hookline(dir.path(), &["show", &id[..13].to_lowercase()]).await);
    for expected in [
        "POST /hook?a=1&b=two",
        "invalid (autosend): no signature matched any of 1 secrets",
        &json.body_sha256,
        "X-Dup: one",
        "X-Binary: \\xff\\x00A",
        "\"type\": \"email.bounced\"",
        "\"n\": 1.50",
        "attempts (2)",
        "error: connection refused",
        "     HTTP 500 Internal Server Error",
        "status 500",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    // Piped, --body writes the exact bytes, binary or not.
    let raw = hookline(dir.path(), &["show", &binary.id.to_string(), "--body"]).await;
    assert!(raw.status.success());
    assert_eq!(raw.stdout, binary.body);
    let headers = stdout(&hookline(dir.path(), &["show", &id, "--headers"]).await);
    assert_eq!(headers.lines().count(), json.headers.len());

    let ambiguous = one_line_error(&hookline(dir.path(), &["show", &id[..11]]).await);
    assert!(
        ambiguous.contains(&id) && ambiguous.contains(&binary.id.to_string()),
        "{ambiguous}"
    );
    let unknown = one_line_error(&hookline(dir.path(), &["show", "7ZZZZZZZZZZZ"]).await);
    assert!(unknown.contains("no delivery matches"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_work_while_a_listener_holds_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ids = fill(&store, 5);
    // Held, with no control socket: a clear refusal naming this process.
    let locked = one_line_error(&hookline(dir.path(), &["list"]).await);
    assert!(
        locked.contains(&format!("pid {}", std::process::id())),
        "{locked}"
    );

    let shutdown = CancellationToken::new();
    tokio::spawn(serve_control(
        store.clone(),
        socket_path(dir.path()),
        shutdown.clone(),
    ));
    let ready = async {
        while !matches!(
            StoreAccess::open(dir.path()).await,
            Ok(StoreAccess::Remote(_))
        ) {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), ready)
        .await
        .unwrap();

    assert_eq!(
        json_ids(&stdout(&hookline(dir.path(), &["list", "--json"]).await)),
        [4, 3, 2, 1, 0]
    );
    let shown = stdout(&hookline(dir.path(), &["show", &ids[2].to_string(), "--json"]).await);
    let shown: hookline::model::StoredDelivery = serde_json::from_str(&shown).unwrap();
    assert_eq!(Some(shown), store.get(ids[2]).unwrap());
    let pruned = stdout(&hookline(dir.path(), &["prune", "--keep", "2"]).await);
    assert!(pruned.contains("pruned 3 deliveries; 2 left"), "{pruned}");
    assert_eq!(store.counts().unwrap().total, 2);
    shutdown.cancel();
}

#[tokio::test]
async fn prune_needs_a_rule_and_applies_it() {
    let dir = tempfile::tempdir().unwrap();
    fill(&Store::open(dir.path()).unwrap(), 4);
    assert!(!hookline(dir.path(), &["prune"]).await.status.success());
    // Every filled delivery is from 2026-05-01, long before "now" in any test run after it.
    let out = stdout(&hookline(dir.path(), &["prune", "--older-than", "1m"]).await);
    assert!(out.contains("pruned 4 deliveries; 0 left"), "{out}");
}
