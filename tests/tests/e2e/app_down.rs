//! The developer's app is down when a webhook arrives, then comes back: the
//! delivery reaches it through retries, and every attempt is recorded.

use std::time::Duration;

use hookline::model::Outcome;
use hookline::retry::RetryPolicy;
use hookline_tests::{LocalApp, attempts_until, fixture, listen, newest, send, within};
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_after_retries_once_the_app_is_back() {
    // Reserve a port, then free it: the app is "down" on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (listening, _dir) = listen(&format!("http://127.0.0.1:{port}/hooks"), |o| {
        o.retry = RetryPolicy {
            max_retries: 50,
            first_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
        };
    })
    .await;
    let body = fixture("email.bounced");
    let sent = send(
        "POST",
        &listening.public_url,
        &[("content-type", b"application/json")],
        body.clone(),
    )
    .await;
    assert_eq!(sent.status, 502, "the sender learns the app is down");
    assert!(
        String::from_utf8_lossy(&sent.body).contains("unreachable"),
        "{:?}",
        sent.body
    );

    let id = newest(&listening.store).delivery.id;
    attempts_until(&listening.store, id, |a| a.len() >= 2).await;
    let mut app = LocalApp::on(
        TcpListener::bind(("127.0.0.1", port)).await.unwrap(),
        |_| (200, vec![], vec![]),
    );
    assert_eq!(&app.next().await.body[..], &body[..]);

    let attempts = attempts_until(&listening.store, id, |a| {
        a.last().is_some_and(|a| a.outcome.is_success())
    })
    .await;
    assert!(attempts.len() >= 3, "{} attempts", attempts.len());
    assert!(matches!(attempts[0].outcome, Outcome::Error { .. }));
    assert!(
        attempts
            .iter()
            .all(|a| a.sent_body_sha256 == attempts[0].sent_body_sha256)
    );
    within("stop", listening.stop()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4xx_answer_is_final() {
    let mut app = LocalApp::with(|_| (422, vec![], b"nope".to_vec())).await;
    let (listening, _dir) = listen(&app.url("/"), |o| {
        o.retry.first_delay = Duration::from_millis(1);
    })
    .await;
    let sent = send("POST", &listening.public_url, &[], "x").await;
    assert_eq!((sent.status, &sent.body[..]), (422, &b"nope"[..]));
    app.next().await;
    let store = listening.store.clone();
    within("stop", listening.stop()).await.unwrap();
    let stored = newest(&store);
    assert_eq!(stored.attempts.len(), 1);
    assert_eq!(app.count(), 1);
}
