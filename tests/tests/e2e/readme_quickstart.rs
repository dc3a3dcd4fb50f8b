//! The README's quick start, run as written: its lines are read from
//! README.md (so the two cannot drift apart) and pasted one by one into
//! `bash`, with `hookline` on PATH being the binary under test. Only the
//! environment differs from a developer's fresh shell: a temp data dir
//! (`HOOKLINE_DATA_DIR`), port 0 for the embedded relay (`HOOKLINE_LISTEN`:
//! the system picks a free one, and `status --url` reports it), and the app's address, which the README gives as
//! `http://127.0.0.1:3000`, replaced by this test's local app. `listen` runs
//! in the background; the interactive `tui` line is skipped.

use std::path::Path;
use std::process::{Output, Stdio};

use hookline_tests::{LocalApp, autosend_signature, within};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_hookline-under-test");
const README: &str = include_str!("../../../README.md");
/// Where the README says the developer's app listens.
const README_APP: &str = "http://127.0.0.1:3000";

/// The code lines of the README's "Quick start" section, in order.
fn quick_start_lines() -> Vec<String> {
    let section = README
        .split("\n## ")
        .find(|s| s.starts_with("Quick start"))
        .expect("README has a Quick start section");
    section
        .lines()
        .filter_map(|line| line.strip_prefix("    "))
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect()
}

/// A shell as a developer has it after installing: `hookline` on PATH.
struct Shell {
    home: tempfile::TempDir,
}

impl Shell {
    fn new() -> Self {
        let home = tempfile::tempdir().unwrap();
        let bin = home.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(BIN, bin.join("hookline")).unwrap();
        Self { home }
    }

    fn data_dir(&self) -> std::path::PathBuf {
        self.home.path().join("data")
    }

    fn command(&self, line: &str) -> Command {
        let path = format!(
            "{}:{}",
            self.home.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(line)
            .env("PATH", path)
            .env("HOME", self.home.path())
            .env("HOOKLINE_DATA_DIR", self.data_dir())
            .env("HOOKLINE_LISTEN", "127.0.0.1:0")
            .kill_on_drop(true);
        for name in [
            "WEBHOOK_SECRET",
            "HOOKLINE_FORWARD",
            "HOOKLINE_RELAY",
            "HOOKLINE_TOKEN",
            "HOOKLINE_FORWARD_CA",
            "http_proxy",
            "HTTP_PROXY",
            "all_proxy",
            "ALL_PROXY",
        ] {
            command.env_remove(name);
        }
        command
    }

    /// Runs one pasted line to its end.
    async fn run(&self, line: &str) -> Output {
        let output = within(line, self.command(line).output()).await.unwrap();
        assert!(
            output.status.success(),
            "`{line}` failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Starts the `listen` line and returns once it has printed its public URL.
    async fn start_listen(&self, line: &str) -> (Child, String) {
        let mut child = self
            .command(&format!("exec {line}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = within("the listener's public URL", async {
            while let Some(text) = lines.next_line().await.unwrap() {
                if let Some(url) = text.trim().strip_prefix("public URL") {
                    return url.trim().to_owned();
                }
            }
            panic!("`{line}` ended without printing its public URL");
        })
        .await;
        // Keep reading so the listener never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        (child, url)
    }
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The stored summaries, newest first, as `hookline list --json` prints them.
async fn stored(shell: &Shell) -> Vec<serde_json::Value> {
    text(&shell.run("hookline list --json").await)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn header(received: &hookline_tests::Received, name: &str) -> String {
    received
        .header(name)
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[tokio::test]
async fn the_readme_quick_start_works_line_by_line() {
    let lines = quick_start_lines();
    let mut app = LocalApp::start().await;
    let shell = Shell::new();
    let app_url = app.url("");
    let commands: Vec<&str> = lines
        .iter()
        .map(|l| l.split_whitespace().take(2).last().unwrap_or_default())
        .collect();
    assert_eq!(
        commands,
        ["listen", "-X", "trigger", "list", "replay", "tui"],
        "the quick start changed; teach this test its new lines: {lines:#?}"
    );
    let mut listener = None;
    for line in &lines {
        assert!(
            !line.contains('<') && !line.contains('…'),
            "placeholder in `{line}`"
        );
        let line = line.replace(README_APP, &app_url);
        match line.split_whitespace().nth(1).unwrap_or_default() {
            "listen" => {
                let (child, url) = shell.start_listen(&line).await;
                assert!(
                    url.starts_with("http://127.0.0.1:") && url.contains("/h/"),
                    "{url}"
                );
                assert!(!url.starts_with("http://127.0.0.1:0/"), "{url}");
                listener = Some(child);
            }
            "-X" => {
                let out = shell.run(&line).await;
                assert_eq!(text(&out), "ok", "curl gets the app's answer");
                let received = app.next().await;
                assert_eq!(&received.body[..], br#"{"event":"ping"}"#);
                assert_eq!(received.uri, "/webhooks");
            }
            "trigger" => {
                let out = shell.run(&line).await;
                assert!(text(&out).contains("→ 200"), "{}", text(&out));
                let received = app.next().await;
                assert_eq!(header(&received, "x-webhook-event"), "email.opened");
                let secret = text(&shell.run("hookline secret").await).trim().to_owned();
                assert_eq!(
                    header(&received, "x-webhook-signature"),
                    autosend_signature(&secret, &received.body),
                    "signed with the development secret"
                );
                let newest = &stored(&shell).await[0];
                assert_eq!(newest["event"], "email.opened");
                assert_eq!(newest["verdict"], "valid", "listen checks the same secret");
                assert_eq!(newest["last_status"], 200);
            }
            "list" => {
                let out = text(&shell.run(&line).await);
                assert!(
                    out.contains("email.opened") && out.contains("ping"),
                    "{out}"
                );
            }
            "replay" => {
                let out = text(&shell.run(&line).await);
                assert!(out.contains("→ 200"), "{out}");
                let received = app.next().await;
                assert_eq!(header(&received, "x-webhook-event"), "email.opened");
                let secret = std::fs::read_to_string(shell.data_dir().join("dev-secret")).unwrap();
                assert_eq!(
                    header(&received, "x-webhook-signature"),
                    autosend_signature(secret.trim(), &received.body)
                );
                let replayed = stored(&shell).await;
                assert_eq!(replayed[0]["replays"], 1, "{replayed:?}");
            }
            "tui" => assert_eq!(line, "hookline tui", "only the bare tui line is skipped"),
            other => panic!("unknown quick start command {other:?} in `{line}`"),
        }
    }
    assert_eq!(app.count(), 3, "ping, the trigger and its replay");
    assert_owner_only(&shell.data_dir().join("dev-secret"));
    let mut listener = listener.expect("the quick start starts a listener");
    listener.start_kill().unwrap();
    within("the listener to stop", listener.wait())
        .await
        .unwrap();
}

fn assert_owner_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}", path.display());
}
