//! What the command line says when something is off: each message names
//! the real culprit and what to do, and big things stay readable.

use crate::cli_support;
use crate::store_support;

use cli_support::*;
use hookline::last_listen::LastListen;
use hookline::store::Store;
use store_support::*;

#[tokio::test]
async fn trigger_blames_the_stopped_listener_not_the_app() {
    let dir = tempfile::tempdir().unwrap();
    // A port that was free a moment ago: nothing answers there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    LastListen {
        forward: "http://127.0.0.1:3000/webhooks".into(),
        public_url: format!("http://127.0.0.1:{port}/h/abcdefghijklmnopqrstuvwxyz"),
        scheme: "auto".into(),
        routes: Vec::new(),
    }
    .save(dir.path())
    .unwrap();
    let err = failure(&hookline(dir.path(), &["trigger", "email.opened"]).await);
    assert!(err.contains("no `hookline listen` runs"), "{err}");
    assert!(err.contains("--to URL"), "{err}");
    assert!(!err.contains("is the app running"), "{err}");
}

#[tokio::test]
async fn a_busy_port_is_named_without_guessing_who_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let busy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = hookline(
        dir.path(),
        &[
            "listen",
            "--listen",
            &addr,
            "--forward",
            "http://127.0.0.1:9/",
        ],
    )
    .await;
    let err = failure(&out);
    assert!(err.contains(&format!("{addr} is already in use")), "{err}");
    assert!(err.contains("--listen"), "{err}");
    assert!(
        !err.contains("is another `hookline listen` running"),
        "{err}"
    );
    drop(busy);
}

#[tokio::test]
async fn show_cuts_a_huge_body_and_says_how_to_see_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let body: Vec<u8> = (0..100_000)
        .flat_map(|n| format!("line {n} of a long text body\n").into_bytes())
        .collect();
    let d = delivery(T0, 1, "", "/big", body.clone());
    store.insert(&d, &valid()).unwrap();
    store
        .record_attempt(d.id, &attempt(T0 + 5, Some(200), false))
        .unwrap();
    drop(store);
    let id = d.id.to_string();

    let out = hookline(dir.path(), &["show", &id]).await;
    assert!(out.status.success());
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(shown.len() < 64 * 1024, "{} bytes shown", shown.len());
    assert!(shown.contains("line 0 of a long text body"), "{shown}");
    assert!(
        shown.contains(&format!(
            "the body is {} bytes; `hookline show {id} --body` prints all of it",
            body.len()
        )),
        "{shown}"
    );
    // What comes after the body is still there.
    assert!(shown.contains("attempts (1)"), "{shown}");
    let all = hookline(dir.path(), &["show", &id, "--body"]).await;
    assert_eq!(all.stdout, body);
}

#[tokio::test]
async fn a_mistyped_data_dir_is_refused_not_created() {
    let dir = tempfile::tempdir().unwrap();
    fill(&Store::open(dir.path()).unwrap(), 2);
    let typo = dir.path().join("hookilne");
    for args in [
        &["list"][..],
        &["show", "latest"],
        &["export"],
        &["replay", "latest", "--to", "http://127.0.0.1:9/"],
        &["prune", "--keep", "1"],
    ] {
        let err = failure(&hookline(&typo, args).await);
        assert!(
            err.contains("does not exist") && err.contains("--data-dir"),
            "{args:?}: {err}"
        );
        assert!(!typo.exists(), "{args:?} created {}", typo.display());
    }
    // A directory that exists but holds no store: same refusal, other words.
    let empty = tempfile::tempdir().unwrap();
    let err = failure(&hookline(empty.path(), &["list"]).await);
    assert!(err.contains("holds no hookline store"), "{err}");
    assert!(!hookline::store::db_path(empty.path()).exists());
}

#[tokio::test]
async fn listen_help_names_every_output_format() {
    let dir = tempfile::tempdir().unwrap();
    let out = hookline(dir.path(), &["listen", "-h"]).await;
    let help = String::from_utf8(out.stdout).unwrap();
    let line = help
        .lines()
        .skip_while(|l| !l.contains("--output"))
        .take(3)
        .collect::<String>();
    // Described, not only listed among the possible values.
    for format in ["text (", "json (", "quiet (nothing on stdout"] {
        assert!(line.contains(format), "{format} missing: {line}");
    }
}
