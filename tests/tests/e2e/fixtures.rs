//! Fixtures from history: a real delivery saved under a name, sent again by
//! `trigger NAME` with a fresh id and signature that the listener verifies,
//! refused under a built-in sample's name, and carried by export/import.

use hookline::model::VerdictKind;
use hookline::verify::{SchemeChoice, Verifier};
use hookline_tests::{LocalApp, cli, listen, newest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_fixture_is_triggered_resigned_and_travels_with_exports() {
    let mut app = LocalApp::start().await;
    let (listening, dir) = listen(&app.url("/hooks"), |o| {
        let secret = hookline::dev_secret::load_or_create(&o.data_dir).unwrap();
        o.verifier = Verifier::development(SchemeChoice::Auto, secret);
    })
    .await;
    let bin = env!("CARGO_BIN_EXE_hookline-under-test");
    let data = dir.path();
    cli::assert_success(&cli::run(bin, data, &["trigger", "user.created"], &[]).await);
    let first = app.next().await;
    let original = newest(&listening.store);
    assert_eq!(original.verdict.kind(), VerdictKind::Valid);

    let saved = cli::run(bin, data, &["fixture", "save", "latest", "user-ok"], &[]).await;
    cli::assert_success(&saved);
    let builtin = cli::run(bin, data, &["fixture", "save", "latest", "push"], &[]).await;
    assert!(!builtin.status.success());
    assert!(String::from_utf8_lossy(&builtin.stderr).contains("built-in sample"));
    let list = cli::run(bin, data, &["fixture", "list"], &[]).await;
    assert!(
        cli::stdout(&list).contains("user-ok"),
        "{}",
        cli::stdout(&list)
    );
    let show = cli::run(bin, data, &["fixture", "show", "user-ok"], &[]).await;
    assert!(
        cli::stdout(&show).contains("webhook-id"),
        "{}",
        cli::stdout(&show)
    );

    let sent = cli::run(bin, data, &["trigger", "user-ok"], &[]).await;
    cli::assert_success(&sent);
    let again = app.next().await;
    assert_eq!(again.body, first.body, "the same body");
    assert_ne!(
        again.header("webhook-id"),
        first.header("webhook-id"),
        "a fresh message id"
    );
    let triggered = newest(&listening.store);
    assert_ne!(triggered.delivery.id, original.delivery.id);
    assert_eq!(
        triggered.verdict.kind(),
        VerdictKind::Valid,
        "{:?}",
        triggered.verdict
    );

    let export = cli::run(bin, data, &["export"], &[]).await;
    cli::assert_success(&export);
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("export.jsonl");
    std::fs::write(&file, &export.stdout).unwrap();
    let other = elsewhere.path().join("store");
    let import = cli::run(bin, &other, &["import", file.to_str().unwrap()], &[]).await;
    cli::assert_success(&import);
    assert!(
        cli::stdout(&import).contains("imported 1 fixtures"),
        "{}",
        cli::stdout(&import)
    );
    let list = cli::run(bin, &other, &["fixture", "list"], &[]).await;
    assert!(cli::stdout(&list).contains("user-ok"));

    cli::assert_success(&cli::run(bin, data, &["fixture", "rm", "user-ok"], &[]).await);
    let gone = cli::run(bin, data, &["trigger", "user-ok"], &[]).await;
    assert!(!gone.status.success());
    listening.stop().await.unwrap();
}
