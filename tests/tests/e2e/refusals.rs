//! `hookline listen` stops at once, non-zero, with what to do, when the relay
//! refuses it for a reason retrying cannot fix.

use std::time::Duration;

use hookline_protocol::Secret;
use hookline_relay::{Relay, RelayConfig, TokenSet};
use hookline_tests::within;
use tokio_util::sync::CancellationToken;

const BIN: &str = env!("CARGO_BIN_EXE_hookline-under-test");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_ends_listen_with_advice() {
    let relay_dir = tempfile::tempdir().unwrap();
    let client_dir = tempfile::tempdir().unwrap();
    let mut tokens = TokenSet::new();
    tokens.add(Secret::new("the-right-token"), Vec::new());
    let relay = Relay::open(RelayConfig::new(tokens, relay_dir.path().to_path_buf())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let serving = tokio::spawn({
        let (relay, stop) = (relay.clone(), stop.clone());
        async move { relay.serve(listener, None, stop).await }
    });

    let output = tokio::process::Command::new(BIN)
        .args(["listen", "--relay", &url, "--token", "a-wrong-token"])
        .args(["--forward", "http://127.0.0.1:9/"])
        .arg("--data-dir")
        .arg(client_dir.path())
        .env_remove("WEBHOOK_SECRET")
        .output();
    // Well inside the first reconnect delays: a refusal must not be retried.
    let output = tokio::time::timeout(Duration::from_secs(10), output)
        .await
        .expect("listen gave up at once instead of retrying")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(
        stderr.contains("HOOKLINE_TOKEN"),
        "says what to do: {stderr}"
    );
    assert!(
        !stderr.contains("a-wrong-token"),
        "the token never prints: {stderr}"
    );

    stop.cancel();
    within("the relay to stop", serving).await.unwrap().unwrap();
}
