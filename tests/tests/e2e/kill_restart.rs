//! The client is killed (SIGKILL) while deliveries stream in; after a restart
//! every delivery the relay accepted is in the store exactly once.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;

use hookline::store::{ListQuery, Store};
use hookline_protocol::Secret;
use hookline_relay::{Relay, RelayConfig, TokenSet};
use hookline_tests::{LocalApp, send, within};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

const BIN: &str = env!("CARGO_BIN_EXE_hookline-under-test");
const TOKEN: &str = "test-token-kill-restart";
const TOTAL: usize = 1000;

/// Starts `hookline listen` against the relay; returns the child and the public URL it printed.
async fn start_client(relay: &str, forward: &str, data_dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args([
            "listen",
            "--relay",
            relay,
            "--token",
            TOKEN,
            "--forward",
            forward,
            "--output",
            "json",
            "--max-in-flight",
            "16",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn hookline");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = within("the startup line", lines.next_line())
        .await
        .unwrap()
        .expect("a startup line");
    let started: serde_json::Value = serde_json::from_str(&first).expect("JSON startup line");
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (
        child,
        started["public_url"]
            .as_str()
            .expect("public_url")
            .to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_delivery_is_stored_exactly_once_across_a_kill() {
    let relay_dir = tempfile::tempdir().unwrap();
    let client_dir = tempfile::tempdir().unwrap();
    let mut tokens = TokenSet::new();
    tokens.add(Secret::new(TOKEN), Vec::new());
    let mut config = RelayConfig::new(tokens, relay_dir.path().to_path_buf());
    config.response_timeout = Duration::from_secs(2);
    // All TOTAL senders connect at once, from 127.0.0.1.
    config.max_connections_per_ip = TOTAL + 16;
    let relay = Relay::open(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_url = format!("ws://{}", listener.local_addr().unwrap());
    let stop_relay = CancellationToken::new();
    let serving = tokio::spawn({
        let (relay, stop) = (relay.clone(), stop_relay.clone());
        async move { relay.serve(listener, None, stop).await }
    });

    let mut app = LocalApp::start().await;
    let (mut child, public_url) = start_client(&relay_url, &app.url("/"), client_dir.path()).await;
    let senders: Vec<_> = (0..TOTAL)
        .map(|n| {
            let url = public_url.clone();
            tokio::spawn(async move {
                send(
                    "POST",
                    &url,
                    &[],
                    format!("{{\"event\":\"load\",\"n\":{n}}}"),
                )
                .await
                .status
            })
        })
        .collect();
    let mut seen = HashSet::new();
    while seen.len() < 150 {
        seen.insert(app.next().await.body);
    }
    child.kill().await.expect("SIGKILL the client");
    for sender in senders {
        let status = sender.await.unwrap();
        assert!(
            matches!(status, 200 | 202 | 502 | 504),
            "the relay accepted every delivery, got {status}"
        );
    }

    let (mut child, _) = start_client(&relay_url, &app.url("/"), client_dir.path()).await;
    within("every delivery at the app", async {
        while seen.len() < TOTAL {
            seen.insert(app.next().await.body);
        }
    })
    .await;
    let pid = child.id().expect("pid").to_string();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(term.success());
    let exit = within("a graceful stop", child.wait()).await.unwrap();
    assert!(exit.success(), "listen exits 0 on SIGTERM: {exit:?}");

    let store = Store::open(client_dir.path()).unwrap();
    assert_eq!(store.counts().unwrap().total, TOTAL as u64);
    let page = store
        .page(&ListQuery {
            limit: TOTAL,
            ..Default::default()
        })
        .unwrap();
    let mut bodies = HashSet::new();
    for summary in &page.items {
        let stored = store.get(summary.id).unwrap().unwrap();
        assert!(
            bodies.insert(stored.delivery.body),
            "stored twice: {}",
            summary.id
        );
    }
    assert_eq!(bodies.len(), TOTAL);
    stop_relay.cancel();
    serving.await.unwrap().unwrap();
}
