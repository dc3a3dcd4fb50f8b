//! Requests the relay refuses for a channel reach the developer: `listen`
//! prints what the sender was told, aggregated rather than one line each, and
//! `--max-body` raises the embedded relay's limit.

use std::process::Stdio;
use std::time::{Duration, Instant};

use hookline_tests::{LocalApp, send, within};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{ChildStdout, Command};

const BIN: &str = env!("CARGO_BIN_EXE_hookline-under-test");

async fn next_json(lines: &mut Lines<BufReader<ChildStdout>>) -> serde_json::Value {
    let line = within("a listen line", lines.next_line())
        .await
        .unwrap()
        .expect("listen is still running");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_max_body_are_refused_and_reported_on_the_listen_output() {
    let dir = tempfile::tempdir().unwrap();
    let app = LocalApp::start().await;
    let mut child = Command::new(BIN)
        .args(["listen", "--output", "json", "--listen", "127.0.0.1:0"])
        .args(["--max-body", "1KiB", "--forward", &app.url("/")])
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("WEBHOOK_SECRET")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = next_json(&mut lines).await;
    let url = started["public_url"].as_str().unwrap().to_owned();

    for _ in 0..3 {
        let sent = send("POST", &url, &[], vec![b'x'; 2048]).await;
        assert_eq!(sent.status, 413, "over --max-body");
    }
    let small = send("POST", &url, &[], &b"{\"type\":\"small\"}"[..]).await;
    assert_eq!(small.status, 200, "under the limit it is forwarded");

    let deadline = Instant::now() + Duration::from_secs(15);
    let mut refused = 0;
    while refused < 3 {
        assert!(
            Instant::now() < deadline,
            "only {refused} refusals reported"
        );
        let line = next_json(&mut lines).await;
        if line["type"] == "refused" {
            assert_eq!(line["status"], 413);
            assert_eq!(line["reason"], "body_too_large");
            assert!(
                line["message"]
                    .as_str()
                    .unwrap()
                    .contains("1024-byte limit")
            );
            refused += line["count"].as_u64().unwrap();
        }
    }
    assert_eq!(refused, 3, "each refused request counted once");
    // `status` counts them by reason while the listener runs.
    let out = hookline_tests::cli::run(BIN, dir.path(), &["status", "--json"], &[]).await;
    let status: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(status["refused"], serde_json::json!({"body_too_large": 3}));
    let text = hookline_tests::cli::run(BIN, dir.path(), &["status"], &[]).await;
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("refused     3 (body_too_large) senders since the listener started"),
        "{text}"
    );
    child.kill().await.unwrap();
}
