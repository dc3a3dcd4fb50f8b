//! `hookline replay` as a developer runs it, while a listener holds the store:
//! exact replays, re-signed ones, edited ones, bulk ones.

use hookline::model::Verdict;
use hookline::verify::{Scheme, SchemeChoice, Verifier, sign};
use hookline_protocol::{Header, Secret};
use hookline_tests::cli::{assert_success, run, stdout};
use hookline_tests::{LocalApp, Received, Reply, attempts_until, listen, newest, send};

const BIN: &str = env!("CARGO_BIN_EXE_hookline-under-test");
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A receiver that accepts only requests whose signature verifies at the current time.
fn strict_receiver(scheme: Scheme) -> impl Fn(&Received) -> Reply {
    move |request| {
        let headers: Vec<Header> = request
            .headers
            .iter()
            .map(|(n, v)| Header::new(n.as_str(), v.clone()))
            .collect();
        let verifier = Verifier::new(
            SchemeChoice::Fixed(scheme.clone()),
            vec![Secret::new(WHSEC)],
        );
        match verifier.verify(&headers, &request.body, "", hookline::clock::now_unix()) {
            Verdict::Valid { .. } => (200, vec![], b"accepted".to_vec()),
            other => (400, vec![], other.describe().into_bytes()),
        }
    }
}

/// Signs `body` for `scheme` as a sender would have `age_secs` ago.
fn signed_headers(scheme: &Scheme, body: &[u8], age_secs: i64) -> Vec<(String, Vec<u8>)> {
    let mut headers = vec![Header::new("content-type", "application/json")];
    let then = hookline::clock::now_unix() - age_secs;
    sign(scheme, &Secret::new(WHSEC), &mut headers, body, "", then).expect("sign");
    headers.into_iter().map(|h| (h.name, h.value)).collect()
}

async fn post(url: &str, headers: &[(String, Vec<u8>)], body: &[u8]) -> u16 {
    let refs: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    send("POST", url, &refs, body.to_vec()).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_replay_is_byte_identical_and_recorded() {
    let mut app = LocalApp::start().await;
    let (listening, dir) = listen(&app.url("/hooks"), |_| {}).await;
    let body = br#"{"event":"email.clicked","n":1}  "#;
    let headers = vec![
        ("x-custom".to_owned(), b"one".to_vec()),
        ("content-type".to_owned(), b"application/json".to_vec()),
    ];
    post(&format!("{}/p?q=1", listening.public_url), &headers, body).await;
    let first = app.next().await;
    let id = newest(&listening.store).delivery.id.to_string();

    let out = run(
        BIN,
        dir.path(),
        &["replay", &id[..10], "--to", &app.url("/hooks")],
        &[],
    )
    .await;
    assert_success(&out);
    let again = app.next().await;
    assert_eq!(again.body, first.body);
    assert_eq!(again.uri, first.uri);
    assert_eq!(again.headers, first.headers);
    let attempts = attempts_until(&listening.store, id.parse().unwrap(), |a| a.len() == 2).await;
    assert!(matches!(
        attempts[1].kind,
        hookline::model::AttemptKind::Replay {
            resigned: false,
            edited: false
        }
    ));
    listening.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resign_makes_stale_deliveries_acceptable_again() {
    for scheme in [Scheme::StandardWebhooks, Scheme::Stripe] {
        let mut app = LocalApp::with(strict_receiver(scheme.clone())).await;
        let (listening, dir) = listen(&app.url("/"), |_| {}).await;
        let body = br#"{"type":"invoice.paid","id":"evt_1"}"#;
        // Signed an hour ago: the sender's original attempt, long past the 5-minute window.
        let status = post(
            &listening.public_url,
            &signed_headers(&scheme, body, 3600),
            body,
        )
        .await;
        assert_eq!(
            status, 400,
            "{scheme:?}: the strict receiver rejects the stale original"
        );
        app.next().await;
        let id = newest(&listening.store).delivery.id.to_string();

        let plain = run(BIN, dir.path(), &["replay", &id], &[]).await;
        assert!(
            !plain.status.success(),
            "{scheme:?}: exact replay of a stale delivery is rejected"
        );
        assert!(String::from_utf8_lossy(&app.next().await.body).contains("invoice.paid"));

        let resigned = run(
            BIN,
            dir.path(),
            &["replay", &id, "--resign", "--secret", WHSEC],
            &[],
        )
        .await;
        assert!(
            resigned.status.success(),
            "{scheme:?}: {}",
            stdout(&resigned)
        );
        let got = app.next().await;
        assert_eq!(&got.body[..], body, "the body is not touched by re-signing");
        listening.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_sends_what_the_editor_saved() {
    let mut app = LocalApp::start().await;
    let (listening, dir) = listen(&app.url("/"), |_| {}).await;
    post(
        &listening.public_url,
        &[],
        br#"{"event":"contact.updated","plan":"free"}"#,
    )
    .await;
    app.next().await;
    let id = newest(&listening.store).delivery.id.to_string();
    let editor = dir.path().join("editor.sh");
    std::fs::write(&editor, "#!/bin/sh\nsed -i 's/free/pro/' \"$1\"\n").unwrap();
    let out = run(
        BIN,
        dir.path(),
        &["replay", &id, "--edit"],
        &[
            ("EDITOR", &format!("sh {}", editor.display())),
            ("VISUAL", ""),
        ],
    )
    .await;
    assert_success(&out);
    assert_eq!(
        &app.next().await.body[..],
        br#"{"event":"contact.updated","plan":"pro"}"#
    );
    let stored = listening.store.get(id.parse().unwrap()).unwrap().unwrap();
    assert_eq!(
        &stored.delivery.body[..],
        br#"{"event":"contact.updated","plan":"free"}"#,
        "the stored original is kept"
    );
    listening.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_replay_of_1000_records_1000_attempts() {
    let app = LocalApp::start().await;
    let (listening, dir) = listen(&app.url("/"), |_| {}).await;
    let sends = (0..1000).map(|n| {
        let url = listening.public_url.clone();
        tokio::spawn(async move {
            send(
                "POST",
                &url,
                &[],
                format!("{{\"event\":\"bulk\",\"n\":{n}}}"),
            )
            .await
            .status
        })
    });
    for task in sends {
        assert_eq!(task.await.unwrap(), 200);
    }
    let out = run(
        BIN,
        dir.path(),
        &["replay", "--event", "bulk", "--concurrency", "16"],
        &[],
    )
    .await;
    assert_success(&out);
    assert!(
        stdout(&out).contains("sent 1000, 2xx 1000, failed 0"),
        "{}",
        stdout(&out)
    );
    assert_eq!(app.count(), 2000);
    let counts = listening.store.counts().unwrap();
    assert_eq!(counts.total, 1000);
    let query = hookline::store::ListQuery {
        limit: 1000,
        ..Default::default()
    };
    let page = listening.store.page(&query).unwrap();
    assert_eq!(page.items.len(), 1000);
    assert!(page.items.iter().all(|s| s.attempts == 2 && s.replays == 1));
    listening.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ids_and_dead_targets_fail_with_one_line() {
    let app = LocalApp::start().await;
    let (listening, dir) = listen(&app.url("/"), |_| {}).await;
    post(&listening.public_url, &[], b"{}").await;
    let unknown = run(BIN, dir.path(), &["replay", "7ZZZZZZZZZ"], &[]).await;
    assert_eq!(unknown.status.code(), Some(1));
    let refused = run(
        BIN,
        dir.path(),
        &["replay", "--since", "1h", "--to", "http://127.0.0.1:9/"],
        &[],
    )
    .await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stdout(&refused).contains("cannot connect"),
        "{}",
        stdout(&refused)
    );
    listening.stop().await.unwrap();
}
