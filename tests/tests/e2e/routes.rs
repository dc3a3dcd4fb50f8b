//! Routes through the whole chain: first match by event glob and path
//! prefix, fan-out to two local apps with one failing (its retries recorded,
//! the other unaffected), no match answered 202 and stored, and a status
//! chosen with `--respond` while the app still gets the delivery.

use std::time::Duration;

use hookline::listen::{RespondMode, Route};
use hookline::retry::RetryPolicy;
use hookline::store::{DeliveryStatus, Glob};
use hookline_tests::{LocalApp, attempts_until, cli, listen, newest, send};

fn route(name: &str, events: &str, path: Option<&str>, targets: &[String]) -> Route {
    Route {
        name: name.into(),
        events: Some(Glob::new(events)),
        path: path.map(str::to_owned),
        targets: targets.iter().map(|t| t.parse().unwrap()).collect(),
        respond: None,
    }
}

fn event(kind: &str) -> Vec<u8> {
    format!(r#"{{"type":"{kind}","data":{{"n":1}}}}"#).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_retries_the_failing_target_only() {
    let mut good = LocalApp::start().await;
    let bad = LocalApp::with(|_| (503, vec![], b"busy".to_vec())).await;
    let targets = [good.url("/email"), bad.url("/audit")];
    let (listening, dir) = listen(&good.url("/default"), |o| {
        o.routes
            .insert(0, route("email", "email.*", Some("/billing"), &targets));
        o.retry = RetryPolicy {
            max_retries: 2,
            first_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
        };
    })
    .await;
    let url = format!("{}/billing/x?y=1", listening.public_url);
    let sent = send("POST", &url, &[], event("email.sent")).await;
    assert_eq!(
        sent.status, 200,
        "the first target's answer reaches the sender"
    );
    let got = good.next().await;
    assert_eq!(
        got.uri, "/email/x?y=1",
        "the route's path prefix is stripped"
    );

    let id = newest(&listening.store).delivery.id;
    let attempts = attempts_until(&listening.store, id, |a| a.len() >= 4).await;
    let to_bad: Vec<_> = attempts
        .iter()
        .filter(|a| a.target.contains("/audit"))
        .collect();
    let to_good: Vec<_> = attempts
        .iter()
        .filter(|a| a.target.contains("/email"))
        .collect();
    assert_eq!(
        to_bad.len(),
        3,
        "first forward and two retries: {attempts:#?}"
    );
    assert!(to_bad.iter().all(|a| a.outcome.status() == Some(503)));
    assert_eq!(to_good.len(), 1, "the answered target is not retried");
    assert_eq!(to_good[0].target, good.url("/email/x?y=1"));
    assert_eq!(bad.count(), 3);

    let summary = listening.store.summary(id).unwrap().unwrap();
    assert_eq!(
        summary.status(),
        DeliveryStatus::Failed,
        "one target failed"
    );
    let failed: Vec<_> = summary.failed_targets().map(|t| t.target.clone()).collect();
    assert_eq!(failed, [bad.url("/audit/x?y=1")]);
    assert_eq!(good.count(), 1);

    // Through the command line, while the listener runs.
    let bin = env!("CARGO_BIN_EXE_hookline-under-test");
    let list = cli::run(bin, dir.path(), &["list"], &[]).await;
    cli::assert_success(&list);
    assert!(
        cli::stdout(&list).contains("2 targets, 1 failed"),
        "{}",
        cli::stdout(&list)
    );
    let show = cli::run(bin, dir.path(), &["show", "latest"], &[]).await;
    assert!(
        cli::stdout(&show).contains("targets: 2 targets, 1 failed"),
        "{}",
        cli::stdout(&show)
    );
    let json = cli::run(bin, dir.path(), &["show", "latest", "--json"], &[]).await;
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["targets"].as_array().map(Vec::len), Some(2), "{json}");

    // --failed resends only to the target that failed.
    let replay = cli::run(bin, dir.path(), &["replay", "--failed"], &[]).await;
    assert!(!replay.status.success(), "the target still answers 503");
    assert_eq!(bad.count(), 4);
    assert_eq!(good.count(), 1, "the answered target is left alone");

    // --route sends to each of the route's targets, prefix stripped.
    let id_text = id.to_string();
    let replay = cli::run(
        bin,
        dir.path(),
        &["replay", &id_text, "--route", "email"],
        &[],
    )
    .await;
    assert_eq!(good.next().await.uri, "/email/x?y=1", "{replay:?}");
    assert_eq!(bad.count(), 5);
    let unknown = cli::run(
        bin,
        dir.path(),
        &["replay", &id_text, "--route", "nope"],
        &[],
    )
    .await;
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(err.contains("the routes are: email, default"), "{err}");
    listening.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_matched_is_stored_and_answered_202() {
    let app = LocalApp::start().await;
    let (listening, _dir) = listen(&app.url("/x"), |o| {
        o.routes = vec![route(
            "contacts",
            "contact.*",
            None,
            &[app.url("/contacts")],
        )];
    })
    .await;
    let sent = send("POST", &listening.public_url, &[], event("email.sent")).await;
    assert_eq!(sent.status, 202);
    let body = String::from_utf8_lossy(&sent.body);
    assert!(body.contains("no route matched"), "{body}");
    let stored = newest(&listening.store);
    assert!(stored.attempts.is_empty());
    assert_eq!(app.count(), 0);

    let sent = send("POST", &listening.public_url, &[], event("contact.new")).await;
    assert_eq!(sent.status, 200);
    assert_eq!(app.count(), 1);
    listening.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chosen_status_reaches_the_sender_and_the_app_still_gets_it() {
    let mut app = LocalApp::start().await;
    let (listening, _dir) = listen(&app.url("/hooks"), |o| {
        o.respond = RespondMode::Status(500);
    })
    .await;
    let body = event("email.sent");
    let sent = send("POST", &listening.public_url, &[], body.clone()).await;
    assert_eq!(sent.status, 500);
    let answer = String::from_utf8_lossy(&sent.body);
    assert!(answer.contains("\"chosen_status\":500"), "{answer}");
    assert_eq!(&app.next().await.body[..], &body[..]);
    let id = newest(&listening.store).delivery.id;
    let attempts = attempts_until(&listening.store, id, |a| !a.is_empty()).await;
    assert_eq!(attempts[0].outcome.status(), Some(200));
    listening.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respond_accept_answers_202_before_the_app_does() {
    use tokio::io::AsyncReadExt;
    // An app that takes the request and never answers.
    let app = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = app.local_addr().unwrap();
    let (listening, _dir) = listen(&format!("http://{addr}/hooks"), |o| {
        o.respond = RespondMode::Accept;
    })
    .await;
    let body = event("email.sent");
    let sent = send("POST", &listening.public_url, &[], body.clone()).await;
    assert_eq!(
        sent.status, 202,
        "the relay answered while the client is connected"
    );
    assert!(String::from_utf8_lossy(&sent.body).contains("\"queued\":true"));

    let (mut socket, _) = hookline_tests::within("the forward", app.accept())
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    for _ in 0..64 {
        if seen.windows(body.len()).any(|w| w == &body[..]) {
            break;
        }
        let n = hookline_tests::within("request bytes", socket.read(&mut chunk))
            .await
            .unwrap();
        assert!(n > 0, "the forward ended before its body");
        seen.extend_from_slice(&chunk[..n]);
    }
    assert!(
        seen.windows(body.len()).any(|w| w == &body[..]),
        "the app got the delivery"
    );
    drop(socket);
    listening.stop().await.unwrap();
}

#[tokio::test]
async fn config_mistakes_stop_listen_at_their_line() {
    let bin = env!("CARGO_BIN_EXE_hookline-under-test");
    let dir = tempfile::tempdir().unwrap();
    let run = |args: Vec<String>| {
        let mut command = tokio::process::Command::new(bin);
        command
            .args(args)
            .current_dir(dir.path())
            .env_remove("HOOKLINE_CONFIG")
            .env_remove("HOOKLINE_FORWARD")
            .env_remove("HOOKLINE_RELAY")
            .env_remove("HOOKLINE_TOKEN");
        async move {
            hookline_tests::within("hookline", command.output())
                .await
                .unwrap()
        }
    };
    let data = dir.path().join("data").to_string_lossy().into_owned();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[route]]\nname = \"email\"\nevents = [\"email.*\"]\nforward = [\"http://127.0.0.1:3000/email\", \"not a url\"]\n",
    )
    .unwrap();
    let out = run(vec![
        "listen".into(),
        "--config".into(),
        bad.to_string_lossy().into(),
        "--data-dir".into(),
        data.clone(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:4:"), "{err}");

    // Found by itself in the directory: may not say where deliveries come from.
    std::fs::write(
        dir.path().join("hookline.toml"),
        "forward = \"http://127.0.0.1:3000\"\n\nrelay = \"wss://relay.example.com\"\ntoken = \"${HOME}\"\n",
    )
    .unwrap();
    let out = run(vec![
        "listen".into(),
        "--check".into(),
        "--data-dir".into(),
        data.clone(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hookline.toml:3:") && err.contains("--config hookline.toml"),
        "{err}"
    );

    std::fs::write(
        dir.path().join("hookline.toml"),
        "forward = \"http://127.0.0.1:3000\"\nrespond = \"accept\"\n[[route]]\nname = \"email\"\nevents = [\"email.*\"]\nforward = \"http://127.0.0.1:3000/email\"\n",
    )
    .unwrap();
    let out = run(vec![
        "listen".into(),
        "--check".into(),
        "--respond".into(),
        "503".into(),
        "--data-dir".into(),
        data,
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("respond      503"), "the flag wins: {text}");
    assert!(text.contains("route        email events=email.*"), "{text}");
    assert!(text.contains("route        default"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("found in the current directory"));
}
