//! The control socket: a listener holding the store answers other commands
//! with the same results the store gives locally.

use crate::store_support;

use std::path::Path;
use std::time::Duration;

use hookline::control::{StoreAccess, serve_control, socket_path};
use hookline::model::StoredDelivery;
use hookline::store::{DeliveryStatus, Filter, Glob, ListQuery, Store, StoreError, StoreEvent};
use store_support::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(10);

/// Starts serving and waits until the socket answers (no sleeping).
async fn serve(store: &Store, dir: &Path) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn({
        let (store, path, shutdown) = (store.clone(), socket_path(dir), shutdown.clone());
        async move { serve_control(store, &path, shutdown).await.unwrap() }
    });
    let access = tokio::time::timeout(WAIT, async {
        loop {
            match StoreAccess::open(dir).await {
                Ok(access @ StoreAccess::Remote(_)) => return access,
                _ => tokio::task::yield_now().await,
            }
        }
    });
    access.await.expect("control socket never answered");
    (shutdown, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_answers_match_local_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ids = fill(&store, 30);
    let (shutdown, task) = serve(&store, dir.path()).await;
    let remote = StoreAccess::open(dir.path()).await.unwrap();
    assert_eq!(remote.listener_pid(), Some(std::process::id()));
    let local = StoreAccess::Local(store.clone());

    let filters = [
        Filter::default(),
        Filter {
            event: Some(Glob::new("email.*")),
            status: Some(DeliveryStatus::Ok),
            ..Filter::default()
        },
        Filter {
            since_ms: Some(T0 + 20_000),
            text: Some("p2".into()),
            ..Filter::default()
        },
    ];
    for filter in filters {
        let query = ListQuery {
            filter,
            before: Some(ids[25]),
            limit: 7,
        };
        assert_eq!(
            remote.page(&query).await.unwrap(),
            local.page(&query).await.unwrap()
        );
    }
    assert_eq!(
        remote.counts().await.unwrap(),
        local.counts().await.unwrap()
    );
    assert_eq!(
        remote.get(ids[3]).await.unwrap(),
        local.get(ids[3]).await.unwrap()
    );
    let prefix = &ids[3].to_string()[..14];
    assert_eq!(remote.resolve(prefix).await.unwrap(), ids[3]);
    assert!(
        matches!(remote.resolve(&ids[3].to_string()[..5]).await, Err(StoreError::Ambiguous { candidates, .. }) if candidates.len() > 1)
    );
    assert!(matches!(
        remote.resolve("7ZZZ").await,
        Err(StoreError::Unknown { .. })
    ));

    // Writes through the socket land in the listener's store.
    remote
        .record_attempt(ids[0], &attempt(T0 + 50_000, Some(202), true))
        .await
        .unwrap();
    let s = store.summary(ids[0]).unwrap().unwrap();
    assert_eq!((s.attempts, s.replays, s.last_status), (2, 1, Some(202)));
    let missing = hookline_protocol::DeliveryId::from_parts(T0, 999_999);
    assert!(
        matches!(remote.record_attempt(missing, &attempt(T0, None, false)).await, Err(StoreError::NotFound(id)) if id == missing)
    );
    let imported = StoredDelivery {
        delivery: delivery(T0 + 99_000, 5, "x.y", "/i", Vec::new()),
        verdict: valid(),
        attempts: vec![attempt(T0, Some(200), false)],
    };
    assert!(remote.import(&imported).await.unwrap());
    assert!(!remote.import(&imported).await.unwrap());
    assert_eq!(
        store.get(imported.delivery.id).unwrap(),
        Some(imported.clone())
    );
    assert!(remote.delete(imported.delivery.id).await.unwrap());
    assert_eq!(remote.prune(None, Some(25)).await.unwrap(), 5);
    assert_eq!(store.counts().unwrap().total, 25);

    shutdown.cancel();
    tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
    assert!(
        !socket_path(dir.path()).exists(),
        "the socket is removed on shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_receive_events_from_the_listener() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (shutdown, _task) = serve(&store, dir.path()).await;
    let remote = StoreAccess::open(dir.path()).await.unwrap();
    let mut events = remote.events().await.unwrap();
    // The watch is registered once the server has answered `watching`, so
    // nothing inserted from here on can be missed.
    let d = delivery(T0, 1, "e", "", Vec::new());
    store.insert(&d, &valid()).unwrap();
    remote
        .record_attempt(d.id, &attempt(T0, Some(200), false))
        .await
        .unwrap();
    let first = tokio::time::timeout(WAIT, events.next()).await.unwrap();
    let second = tokio::time::timeout(WAIT, events.next()).await.unwrap();
    assert_eq!(
        (first, second),
        (
            Some(StoreEvent::Inserted(d.id)),
            Some(StoreEvent::Attempted(d.id))
        )
    );
    shutdown.cancel();
    assert_eq!(
        tokio::time::timeout(WAIT, events.next()).await.unwrap(),
        None,
        "the stream ends with the listener"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_sockets_are_replaced_and_live_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_path(dir.path());
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists(), "a crashed listener leaves its socket file");
    // Nobody answers: commands open the store directly.
    let access = StoreAccess::open(dir.path()).await.unwrap();
    assert!(matches!(access, StoreAccess::Local(_)));
    let StoreAccess::Local(store) = access else {
        unreachable!()
    };
    let (shutdown, _task) = serve(&store, dir.path()).await;
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let second = serve_control(store.clone(), &path, CancellationToken::new()).await;
    assert!(
        matches!(second, Err(hookline::control::ControlError::InUse { .. })),
        "{second:?}"
    );
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_json_errors_and_the_connection_survives() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (shutdown, _task) = serve(&store, dir.path()).await;
    let stream = UnixStream::connect(socket_path(dir.path())).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    for request in [
        "not json",
        r#"{"op":"explode"}"#,
        r#"{"op":"resolve","prefix":"!"}"#,
        r#"{"op":"counts"}"#,
    ] {
        write
            .write_all(format!("{request}\n").as_bytes())
            .await
            .unwrap();
    }
    let mut answers = Vec::new();
    for _ in 0..4 {
        let line = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        answers.push(serde_json::from_str::<serde_json::Value>(&line).unwrap());
    }
    assert_eq!(answers[0]["error"]["kind"], "bad_request");
    assert_eq!(answers[1]["error"]["kind"], "bad_request");
    assert_eq!(answers[2]["error"]["kind"], "invalid_prefix");
    assert_eq!(answers[3]["ok"]["total"], 0);
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_line_closes_only_that_connection() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (shutdown, _task) = serve(&store, dir.path()).await;
    let mut stream = UnixStream::connect(socket_path(dir.path())).await.unwrap();
    let chunk = vec![b'x'; 1024 * 1024];
    let mut sent = 0;
    // The server stops reading after MAX_LINE_BYTES and hangs up.
    while sent <= hookline::control::MAX_LINE_BYTES + chunk.len() {
        if stream.write_all(&chunk).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let remote = StoreAccess::open(dir.path()).await.unwrap();
    assert!(matches!(remote, StoreAccess::Remote(_)));
    assert_eq!(remote.counts().await.unwrap().total, 0);
    shutdown.cancel();
}
