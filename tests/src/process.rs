//! A relay in the test process and `hookline listen` as a child process
//! that can be stopped gracefully or killed, with its JSON output lines
//! readable as they come.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use hookline_protocol::Secret;
use hookline_relay::{Relay, RelayConfig, TokenSet};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::within;

/// The token the test relay knows its client by.
pub const TOKEN: &str = "test-token-child-listener";

/// A relay serving on a free loopback port until dropped.
#[derive(Debug)]
pub struct TestRelay {
    /// `ws://127.0.0.1:PORT`, for `listen --relay`.
    pub url: String,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl TestRelay {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Like [`start`](Self::start), with `configure` applied to the config.
    pub async fn start_with(configure: impl FnOnce(&mut RelayConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut tokens = TokenSet::new();
        tokens.add(Secret::new(TOKEN), Vec::new());
        let mut config = RelayConfig::new(tokens, dir.path().to_path_buf());
        config.response_timeout = Duration::from_secs(5);
        configure(&mut config);
        let relay = Relay::open(config).expect("relay opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind relay");
        let url = format!("ws://{}", listener.local_addr().expect("relay addr"));
        let stop = CancellationToken::new();
        tokio::spawn({
            let stop = stop.clone();
            async move { relay.serve(listener, None, stop).await }
        });
        Self {
            url,
            stop,
            _dir: dir,
        }
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// `hookline listen --output json` running as a child process.
#[derive(Debug)]
pub struct ListenerProcess {
    child: Child,
    pub public_url: String,
    lines: mpsc::UnboundedReceiver<serde_json::Value>,
}

impl ListenerProcess {
    /// Starts `bin listen` against `relay`, forwarding to `forward`, with
    /// `extra` arguments; returns once its startup line is read.
    pub async fn start(
        bin: &str,
        relay: &TestRelay,
        forward: &str,
        data_dir: &Path,
        extra: &[&str],
    ) -> Self {
        let mut child = Command::new(bin)
            .args(["listen", "--relay", &relay.url, "--token", TOKEN])
            .args(["--forward", forward, "--output", "json"])
            .args(extra)
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("WEBHOOK_SECRET")
            .env_remove("HOOKLINE_DATA_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn hookline");
        let mut out = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = within("the startup line", out.next_line())
            .await
            .expect("stdout readable")
            .expect("a startup line");
        let started: serde_json::Value = serde_json::from_str(&first).expect("JSON startup line");
        let public_url = started["public_url"]
            .as_str()
            .expect("public_url")
            .to_owned();
        let (tx, lines) = mpsc::unbounded_channel();
        // Drained to the end, so the child never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = out.next_line().await {
                if let Ok(value) = serde_json::from_str(&line) {
                    let _ = tx.send(value);
                }
            }
        });
        Self {
            child,
            public_url,
            lines,
        }
    }

    /// The next output line `wanted` accepts (others are skipped).
    pub async fn line_where(
        &mut self,
        what: &str,
        wanted: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        within(what, async {
            loop {
                let line = self
                    .lines
                    .recv()
                    .await
                    .expect("the listener's output ended");
                if wanted(&line) {
                    return line;
                }
            }
        })
        .await
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn terminate(mut self) {
        let pid = self.child.id().expect("still running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let exit = within("a graceful stop", self.child.wait())
            .await
            .expect("wait");
        assert!(exit.success(), "listen exits 0 on SIGTERM: {exit:?}");
    }

    /// SIGKILL: no chance to clean up.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL the listener");
    }
}
