//! `replay --failed` on a delivery whose automatic retry is still pending:
//! the replay takes the retry's place, so the app gets it once more, not
//! twice; `list` shows the pending retry and `show --attempts` the cancelled one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hookline_tests::cli::{assert_success, run, stdout};
use hookline_tests::process::{ListenerProcess, TestRelay};
use hookline_tests::{LocalApp, send};

const BIN: &str = env!("CARGO_BIN_EXE_hookline-under-test");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_cancels_the_pending_retry() {
    // 500 to the first request, 200 to every later one.
    let seen = Arc::new(AtomicUsize::new(0));
    let mut app = LocalApp::with({
        let seen = Arc::clone(&seen);
        move |_| match seen.fetch_add(1, Ordering::SeqCst) {
            0 => (500, vec![], b"not yet".to_vec()),
            _ => (200, vec![], b"ok".to_vec()),
        }
    })
    .await;
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    // The retry waits 3 s: time for the replay to come first.
    let mut listener = ListenerProcess::start(
        BIN,
        &relay,
        &app.url("/hooks"),
        dir.path(),
        &["--retry-delay", "3s"],
    )
    .await;
    let body = r#"{"event":"invoice.paid","n":7}"#;
    let sent = send("POST", &listener.public_url, &[], body).await;
    assert_eq!(sent.status, 500, "the app's answer passes through");
    app.next().await;
    let failed = listener
        .line_where("the failed forward", |l| l["action"] == "forwarded")
        .await;
    assert_eq!(failed["status"], 500);
    let id = failed["id"].as_str().unwrap().to_owned();

    let listed = run(BIN, dir.path(), &["list"], &[]).await;
    assert_success(&listed);
    let listed = stdout(&listed);
    assert!(listed.contains("retry in"), "{listed}");

    let replayed = run(BIN, dir.path(), &["replay", "--failed"], &[]).await;
    assert_success(&replayed);
    let replayed = stdout(&replayed);
    assert!(
        replayed.contains("→ 200") && replayed.contains("instead of automatic retry #1"),
        "{replayed}"
    );
    assert_eq!(&app.next().await.body[..], body.as_bytes());

    // When the retry comes due, the listener says it was superseded.
    let superseded = listener
        .line_where("the retry to come due", |l| l["id"] == id.as_str())
        .await;
    assert_eq!(superseded["action"], "superseded", "{superseded}");
    assert_eq!(superseded["retry"], 1);

    let shown = run(BIN, dir.path(), &["show", &id, "--attempts"], &[]).await;
    assert_success(&shown);
    let shown = stdout(&shown);
    assert!(shown.contains("attempts (2)"), "{shown}");
    let note = shown
        .find("automatic retry #1")
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(shown[note..].contains("superseded by a replay"), "{shown}");
    assert!(
        note < shown.find("#2 replay").unwrap(),
        "noted before the replay: {shown}"
    );
    let listed = stdout(&run(BIN, dir.path(), &["list"], &[]).await);
    assert!(!listed.contains("retry in"), "{listed}");

    listener.terminate().await;
    assert_eq!(app.count(), 2, "the first forward and the replay, no retry");
}
