//! Tokens change while the relay runs: added tokens connect, revoked tokens'
//! sessions end with `bad_token`, their URLs answer 404 and their queued
//! deliveries are deleted; sessions of unchanged tokens stay up.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use hookline_protocol::{ChannelId, GoodbyeReason, RelayMessage, Secret};
use hookline_relay::TokenSet;

use crate::binary::relay_bin;
use crate::support::*;

const TOKEN_C: &str = "token-charlie-0003";

async fn expect_revoked(client: &mut Client) {
    match client.recv().await {
        RelayMessage::Goodbye { reason, message } => {
            assert_eq!(reason, GoodbyeReason::BadToken);
            assert!(message.contains("revoked"), "{message}");
        }
        other => panic!("expected a bad_token goodbye, got {other:?}"),
    }
}

#[tokio::test]
async fn reload_revokes_adds_and_keeps_unchanged_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let stripe = ChannelId::derive(&Secret::new(TOKEN_A), "stripe");
    // Two deliveries wait on A's offline channel; they must not outlive A.
    for body in ["one", "two"] {
        let reply = post(relay.addr, &format!("/h/{stripe}"), body).await;
        assert_eq!(reply.status, 202);
    }
    let mut alpha = Client::welcome(relay.addr, TOKEN_A).await;
    let mut bravo = Client::welcome(relay.addr, TOKEN_B).await;

    let mut next = TokenSet::new();
    next.add(Secret::new(TOKEN_B), vec![]);
    next.add(Secret::new(TOKEN_C), vec![]);
    let report = relay.relay.reload_tokens(next).unwrap();
    assert_eq!(report.tokens, 2);
    assert_eq!(report.channels_removed, 2, "A's default and stripe");
    assert_eq!(report.channels_added, 1);
    assert_eq!(report.deliveries_dropped, 2);

    expect_revoked(&mut alpha).await;
    for id in [channel(TOKEN_A), stripe] {
        assert_eq!(post(relay.addr, &format!("/h/{id}"), "x").await.status, 404);
    }
    assert_eq!(
        metric(relay.addr, "dropped_total{reason=\"revoked\"}").await,
        2
    );
    assert_eq!(metric(relay.addr, "queued").await, 0);
    let (_, first) = Client::connect(relay.addr, hello(TOKEN_A, None)).await;
    assert!(matches!(
        first,
        RelayMessage::Goodbye {
            reason: GoodbyeReason::BadToken,
            ..
        }
    ));

    // B's session survived the reload and still receives; C is welcome.
    let sent = tokio::spawn(post(
        relay.addr,
        &format!("/h/{}", channel(TOKEN_B)),
        "still here",
    ));
    let (delivery, _) = bravo.delivery().await;
    assert_eq!(&delivery.body[..], b"still here");
    bravo.respond(delivery.id, 200, vec![], b"ok").await;
    assert_eq!(sent.await.unwrap().status, 200);
    let _charlie = Client::welcome(relay.addr, TOKEN_C).await;
    relay.stop().await;
}

/// The relay binary, stopped on drop, and its log lines.
struct RelayProcess {
    child: Child,
    log: std::sync::mpsc::Receiver<String>,
}

impl RelayProcess {
    /// Waits for a log line containing `needle`, bounded by `WAIT`.
    fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        while let Ok(line) = self
            .log
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if line.contains(needle) {
                return line;
            }
        }
        panic!("the relay never logged {needle:?}");
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn token(tokens: &Path, args: &[&str]) -> String {
    let output = relay_bin()
        .arg("token")
        .args(args)
        .arg("--tokens-file")
        .arg(tokens)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "token {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Starts the binary and returns it with the address it listens on.
fn start(tokens: &Path, data: &Path) -> (RelayProcess, SocketAddr) {
    let mut child = relay_bin()
        .args(["--listen", "127.0.0.1:0", "--tokens-file"])
        .arg(tokens)
        .arg("--data-dir")
        .arg(data)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, log) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let process = RelayProcess { child, log };
    let line = process.wait_for_log("addr=Some(");
    let rest = line.split("addr=Some(").nth(1).unwrap();
    let addr = rest.split(')').next().unwrap().parse().unwrap();
    (process, addr)
}

#[tokio::test]
async fn token_commands_take_effect_on_a_running_relay() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    // No file yet: the relay creates it empty and starts anyway.
    let (relay, addr) = start(&tokens, &dir.path().join("data"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&tokens).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let alice = token(&tokens, &["add", "alice"]);
    let text = std::fs::read_to_string(&tokens).unwrap();
    assert!(!text.contains(&alice), "only a hash is stored");
    relay.wait_for_log("tokens reloaded");
    let mut alice_client = Client::welcome(addr, &alice).await;

    let bob = token(&tokens, &["add", "bob", "--channel", "github"]);
    relay.wait_for_log("tokens reloaded");
    let _bob_client = Client::welcome(addr, &bob).await;
    let github = ChannelId::derive(&Secret::new(bob.as_str()), "github");
    assert_eq!(post(addr, &format!("/h/{github}"), "{}").await.status, 202);

    let listed = token(&tokens, &["list"]);
    assert!(
        listed.contains("alice") && listed.contains("default,github"),
        "{listed}"
    );
    assert!(
        !listed.contains(&alice) && !listed.contains(&bob),
        "{listed}"
    );

    token(&tokens, &["revoke", "alice"]);
    expect_revoked(&mut alice_client).await;
    let alice_url = format!("/h/{}", channel(&alice));
    assert_eq!(post(addr, &alice_url, "{}").await.status, 404);
}

/// SIGHUP alone reloads: the file is rewritten in place with the same size
/// and its old modification time, so the change poll sees nothing.
#[cfg(unix)]
#[tokio::test]
async fn sighup_reloads_a_change_the_poll_cannot_see() {
    use std::io::Write;

    let (old, new) = ("sighup-token-0001", "sighup-token-0002");
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("{old}\n")).unwrap();
    let (relay, addr) = start(&tokens, &dir.path().join("data"));
    let mut old_client = Client::welcome(addr, old).await;

    let modified = std::fs::metadata(&tokens).unwrap().modified().unwrap();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(&tokens)
        .unwrap();
    file.write_all(format!("{new}\n").as_bytes()).unwrap();
    file.set_modified(modified).unwrap();
    drop(file);
    let status = Command::new("kill")
        .arg("-HUP")
        .arg(relay.child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let line = relay.wait_for_log("tokens reloaded");
    assert!(line.contains("SIGHUP"), "{line}");
    expect_revoked(&mut old_client).await;
    let _new_client = Client::welcome(addr, new).await;
}
