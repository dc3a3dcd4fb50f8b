//! A delivery accepted while the client was offline, whose forwards fail
//! because the app is down, is still forwarded after the listener is
//! stopped (SIGTERM) or killed (SIGKILL) during its retry wait and started
//! again: exactly once at the app, its attempts numbered on.

use std::time::Duration;

use hookline::model::AttemptKind;
use hookline::store::{ListQuery, RetrySchedule, Store};
use hookline_protocol::{ChannelId, Delivery, DeliveryId, Secret, body_sha256_hex};
use hookline_tests::process::{ListenerProcess, TestRelay};
use hookline_tests::{LocalApp, send, within};
use tokio::net::TcpListener;

const BIN: &str = env!("CARGO_BIN_EXE_hookline-under-test");

/// Retries far enough apart that the stop lands in the wait.
const RETRY_ARGS: [&str; 4] = ["--retry-delay", "1s", "--retries", "20"];

#[derive(Clone, Copy, Debug)]
enum Stop {
    Graceful,
    Kill,
}

/// A loopback port nobody listens on: the app is down.
async fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
    probe.local_addr().unwrap().port()
}

fn is_forward_of(line: &serde_json::Value, id: &str) -> bool {
    line["type"] == "delivery" && line["action"] == "forwarded" && line["id"] == id
}

async fn resumes_after(stop: Stop) {
    let relay = TestRelay::start().await;
    let port = free_port().await;
    let forward = format!("http://127.0.0.1:{port}/hooks");
    let dir = tempfile::tempdir().unwrap();

    // Learn the public URL, then go offline: the relay accepts for us.
    let first = ListenerProcess::start(BIN, &relay, &forward, dir.path(), &RETRY_ARGS).await;
    let public_url = first.public_url.clone();
    first.terminate().await;
    let body = format!(r#"{{"event":"restart.{stop:?}","n":1}}"#);
    let sent = send("POST", &public_url, &[], body.clone()).await;
    assert_eq!(sent.status, 202, "queued while the client is offline");

    // Back online with the app still down: the first forward fails.
    let mut second = ListenerProcess::start(BIN, &relay, &forward, dir.path(), &RETRY_ARGS).await;
    let failed = second
        .line_where("the failed first forward", |l| {
            l["type"] == "delivery" && l["action"] == "forwarded"
        })
        .await;
    assert!(failed["error"].is_string(), "{failed}");
    assert_eq!(failed["retry"], 0);
    let id_text = failed["id"].as_str().unwrap().to_owned();
    match stop {
        Stop::Graceful => second.terminate().await,
        Stop::Kill => second.kill().await,
    }

    // On disk: every attempt a failure, and the retry that comes next.
    let id: DeliveryId = id_text.parse().unwrap();
    let failures = {
        let store = Store::open(dir.path()).unwrap();
        let stored = store.get(id).unwrap().expect("stored");
        assert!(stored.attempts.iter().all(|a| !a.outcome.is_success()));
        let failures = stored.attempts.len() as u32;
        let next = store.retry_schedule(id).unwrap().expect("a retry pending");
        assert!(next.is_pending());
        assert_eq!(next.retry, failures, "retry n follows n failed attempts");
        failures
    };

    // The app comes up; the restarted listener carries the schedule on.
    let mut app = LocalApp::on(
        TcpListener::bind(("127.0.0.1", port)).await.unwrap(),
        |_| (200, vec![], b"ok".to_vec()),
    );
    let mut third = ListenerProcess::start(BIN, &relay, &forward, dir.path(), &RETRY_ARGS).await;
    let resumed = third
        .line_where("the resumed notice", |l| l["type"] == "resumed")
        .await;
    assert_eq!(
        (&resumed["first"], &resumed["retries"]),
        (&0.into(), &1.into()),
        "{resumed}"
    );
    assert_eq!(app.next().await.body, body.as_bytes());
    let done = third
        .line_where("the successful retry", |l| is_forward_of(l, &id_text))
        .await;
    assert_eq!(done["status"], 200, "{done}");
    assert_eq!(done["retry"], failures, "retries are numbered on: {done}");
    third.terminate().await;
    assert_eq!(app.count(), 1, "forwarded exactly once");

    let store = Store::open(dir.path()).unwrap();
    let stored = store.get(id).unwrap().unwrap();
    assert_eq!(stored.attempts.len() as u32, failures + 1);
    assert!(
        stored
            .attempts
            .iter()
            .all(|a| a.kind == AttemptKind::Forward)
    );
    assert!(stored.attempts.last().unwrap().outcome.is_success());
    assert_eq!(
        store.retry_schedule(id).unwrap(),
        None,
        "the schedule ended"
    );
    let page = store
        .page(&ListQuery {
            limit: 10,
            ..ListQuery::default()
        })
        .unwrap();
    assert_eq!(page.items.len(), 1, "stored once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_survives_a_graceful_stop() {
    resumes_after(Stop::Graceful).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_survives_a_kill() {
    resumes_after(Stop::Kill).await;
}

/// An overdue retry goes at once: the schedule on disk says so, even under
/// a policy that would wait an hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overdue_retry_goes_at_once_and_ends_the_schedule() {
    let mut app = LocalApp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let now = hookline::clock::now_ms();
    let body = br#"{"event":"overdue"}"#.to_vec();
    let delivery = Delivery {
        id: DeliveryId::from_parts(now - 120_000, 42),
        channel: ChannelId::derive(&Secret::new("tok"), "default"),
        received_at_ms: now - 120_000,
        method: "POST".into(),
        path: "/x".into(),
        query: None,
        headers: vec![],
        body_sha256: body_sha256_hex(&body),
        body: body.clone().into(),
        remote_addr: None,
        public_url: "http://127.0.0.1:9/h/c/x".into(),
    };
    {
        let store = Store::open(dir.path()).unwrap();
        store
            .insert_to_forward(&delivery, &hookline::model::Verdict::NoSecret)
            .unwrap();
        let failed = hookline::model::Attempt {
            at_ms: now - 100_000,
            kind: AttemptKind::Forward,
            target: app.url("/x"),
            sent_body_sha256: delivery.body_sha256.clone(),
            duration_us: 10,
            outcome: hookline::model::Outcome::Error {
                message: "connection refused".into(),
            },
        };
        let overdue = RetrySchedule::new(1, now - 60_000);
        store
            .record_forward(delivery.id, &failed, Some(overdue))
            .unwrap();
        store.flush().await.unwrap();
    }
    let mut options =
        hookline::listen::ListenOptions::new(app.url("").parse().unwrap(), dir.path().into());
    options.retry.first_delay = Duration::from_secs(3600);
    options.retry.max_delay = Duration::from_secs(3600);
    let listening = within(
        "the listener to start",
        hookline::listen::Listening::start(options),
    )
    .await
    .unwrap();
    let got = app.next().await;
    assert_eq!((got.uri.as_str(), &got.body[..]), ("/x", &body[..]));
    let attempts =
        hookline_tests::attempts_until(&listening.store, delivery.id, |a| a.len() == 2).await;
    assert!(attempts[1].outcome.is_success());
    assert_eq!(listening.store.retry_schedule(delivery.id).unwrap(), None);
    within("stop", listening.stop()).await.unwrap();
    assert_eq!(app.count(), 1);
}
