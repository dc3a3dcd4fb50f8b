//! `hookline status --json` says whether the pipe is up: exit 0 and
//! `connected: true` through the running listener's control socket, exit 3
//! once the relay is gone (the listener reconnecting), and exit 3 from the
//! store when no listener runs.

use std::time::{Duration, Instant};

use hookline_tests::LocalApp;
use hookline_tests::cli::{run, stdout};
use hookline_tests::process::{ListenerProcess, TestRelay};

const BIN: &str = env!("CARGO_BIN_EXE_hookline-under-test");

async fn status(dir: &std::path::Path) -> (i32, serde_json::Value) {
    let out = run(BIN, dir, &["status", "--json"], &[]).await;
    let json = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| {
        panic!(
            "status --json printed no JSON ({e}): {} / {}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("an exit code"), json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_json_follows_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (code, json) = status(dir.path()).await;
    assert_eq!(code, 3, "no listener: not connected");
    assert_eq!(json["connected"], false);
    assert_eq!(json["gaps"], serde_json::json!([]));

    let relay = TestRelay::start().await;
    let app = LocalApp::start().await;
    let listener = ListenerProcess::start(BIN, &relay, &app.url("/"), dir.path(), &[]).await;
    let (code, json) = status(dir.path()).await;
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["connected"], true);
    assert_eq!(json["state"], "connected");
    assert_eq!(json["relay_url"], relay.url.as_str());
    assert_eq!(json["public_url"], listener.public_url.as_str());
    assert!(json["store_bytes"].as_u64().unwrap() > 0);
    assert_eq!(json["waiting_to_forward"], 0);

    drop(relay);
    let deadline = Instant::now() + Duration::from_secs(20);
    let json = loop {
        let (code, json) = status(dir.path()).await;
        if code == 3 {
            break json;
        }
        assert!(Instant::now() < deadline, "still connected: {json}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(json["connected"], false);
    assert!(
        ["reconnecting", "connecting"].contains(&json["state"].as_str().unwrap()),
        "{json}"
    );
    assert!(
        json["error"].is_string() || json["state"] == "connecting",
        "{json}"
    );
    listener.terminate().await;
}
