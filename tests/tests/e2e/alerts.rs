//! `listen --alert-after --on-alert`: an app that fails every attempt for
//! longer than the limit raises one `app_down` alert (a warning line and
//! the command, run once with HOOKLINE_ALERT* set, however many attempts
//! fail), and one `recovered` once an attempt succeeds again.

use std::time::{Duration, Instant};

use hookline_tests::cli::run;
use hookline_tests::process::{ListenerProcess, TestRelay};
use hookline_tests::{LocalApp, send};
use tokio::net::TcpListener;

const BIN: &str = env!("CARGO_BIN_EXE_hookline-under-test");

/// Lines the alert command wrote, once there are `n` (fails after a deadline).
async fn until_lines(file: &std::path::Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(Instant::now() < deadline, "only {lines:?} after 20s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_down_alerts_once_per_episode_and_again_on_recovery() {
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let forward = format!("http://127.0.0.1:{port}/hooks");
    let file = dir.path().join("alerts.log");
    let command = format!(
        "echo \"$HOOKLINE_ALERT|$HOOKLINE_ALERT_TARGET\" >> '{}'",
        file.display()
    );
    let args = [
        "--alert-after",
        "300ms",
        "--on-alert",
        &command,
        "--retries",
        "0",
    ];
    let mut listener = ListenerProcess::start(BIN, &relay, &forward, dir.path(), &args).await;
    let sent = send("POST", &listener.public_url, &[], &b"{\"n\":1}"[..]).await;
    assert_eq!(sent.status, 502, "the app is down");
    let alert = listener
        .line_where("an alert line", |line| line["type"] == "alert")
        .await;
    assert_eq!(alert["alert"], "app_down");
    assert_eq!(alert["target"], forward.as_str());
    let lines = until_lines(&file, 1).await;
    assert_eq!(lines, [format!("app_down|{forward}")]);

    // Another failure in the same episode raises nothing new.
    let sent = send("POST", &listener.public_url, &[], &b"{\"n\":2}"[..]).await;
    assert_eq!(sent.status, 502);

    let _app = LocalApp::on(
        TcpListener::bind(("127.0.0.1", port)).await.unwrap(),
        |_| (200, vec![], b"ok".to_vec()),
    );
    let replayed = run(BIN, dir.path(), &["replay", "latest"], &[]).await;
    assert!(replayed.status.success(), "{replayed:?}");
    let recovered = listener
        .line_where("the recovery", |line| line["type"] == "alert")
        .await;
    assert_eq!(recovered["alert"], "recovered");
    let lines = until_lines(&file, 2).await;
    assert_eq!(
        lines,
        [
            format!("app_down|{forward}"),
            format!("recovered|{forward}")
        ],
        "one alert per episode start and one at recovery"
    );
    listener.terminate().await;
}
