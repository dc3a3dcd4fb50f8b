//! What the relay drops by age reaches the developer: a short queue age
//! limit drops deliveries sent while no client listens, and the next
//! `listen` prints one warning per gap, records it in the store and
//! acknowledges it, so the following session does not report it again.

use std::time::{Duration, Instant};

use hookline::store::Store;
use hookline_tests::cli::{run, stdout};
use hookline_tests::process::{ListenerProcess, TestRelay};
use hookline_tests::{LocalApp, send};

const BIN: &str = env!("CARGO_BIN_EXE_hookline-under-test");

/// Waits until the relay's metrics count `n` deliveries dropped by age.
async fn until_dropped_by_age(relay: &TestRelay, n: u64) {
    let metrics = format!("{}/metrics", relay.url.replacen("ws://", "http://", 1));
    let wanted = format!("hookline_relay_dropped_total{{reason=\"age\"}} {n}\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = send("GET", &metrics, &[], Vec::new()).await.body;
        if String::from_utf8_lossy(&text).contains(&wanted) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the relay never dropped {n} by age"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_age_drop_is_reported_once_as_a_gap_and_recorded() {
    let relay = TestRelay::start_with(|config| {
        config.queue_limits.max_age = Duration::from_millis(300);
    })
    .await;
    let app = LocalApp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let forward = app.url("/hooks");

    let first = ListenerProcess::start(BIN, &relay, &forward, dir.path(), &[]).await;
    let public_url = first.public_url.clone();
    first.terminate().await;
    for _ in 0..2 {
        let sent = send("POST", &public_url, &[], &b"{\"lost\":true}"[..]).await;
        assert_eq!(sent.status, 202, "queued while nobody listens");
    }
    until_dropped_by_age(&relay, 2).await;

    let mut second = ListenerProcess::start(BIN, &relay, &forward, dir.path(), &[]).await;
    let gap = second
        .line_where("a gap line", |line| line["type"] == "gap")
        .await;
    assert_eq!(gap["count"], 2);
    assert_eq!(gap["first"], 0);
    assert_eq!(gap["last"], 1);
    assert_eq!(gap["reason"], "age");
    let sent = send("POST", &public_url, &[], &b"{\"after\":1}"[..]).await;
    assert_eq!(sent.status, 200, "the pipe works after a gap");
    second.terminate().await;

    let mut third = ListenerProcess::start(BIN, &relay, &forward, dir.path(), &[]).await;
    let sent = send("POST", &public_url, &[], &b"{\"after\":2}"[..]).await;
    assert_eq!(sent.status, 200);
    // The relay sends gaps as a session starts, before any delivery: a gap
    // line before this forward means the acknowledged gap came back.
    let line = third
        .line_where("the next forward or a gap", |line| {
            line["type"] == "gap" || line["action"] == "forwarded"
        })
        .await;
    assert_eq!(line["action"], "forwarded", "gap reported twice: {line}");
    let out = run(BIN, dir.path(), &["status", "--json"], &[]).await;
    assert!(out.status.success(), "connected: exit 0");
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        status["gaps"],
        serde_json::json!([{"count": 2, "first": 0, "last": 1, "reason": "age",
                            "noticed_at_ms": status["gaps"][0]["noticed_at_ms"]}])
    );
    assert_eq!(
        status["dropped"],
        serde_json::json!({"age": 2}),
        "drops by reason"
    );
    let text = stdout(&run(BIN, dir.path(), &["status"], &[]).await);
    assert!(
        text.contains("dropped     2 (age) by the relay after accepting"),
        "{text}"
    );
    third.terminate().await;

    let store = Store::open(dir.path()).unwrap();
    let gaps = store.gaps().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(
        (gaps[0].first_seq, gaps[0].last_seq, gaps[0].count),
        (0, 1, 2)
    );
    assert_eq!(gaps[0].public_url, public_url);
    assert!(gaps[0].dismissed_at_ms.is_none());
}
