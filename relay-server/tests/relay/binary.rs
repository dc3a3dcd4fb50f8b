//! The `hookline-relay` binary's edges: refusing to start without a token,
//! and making one.

use std::process::Command;

/// The relay binary with no `HOOKLINE_RELAY_*` setting inherited from the
/// environment the tests run in.
pub(crate) fn relay_bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookline-relay"));
    for (name, _) in std::env::vars() {
        if name.starts_with("HOOKLINE_RELAY_") {
            command.env_remove(name);
        }
    }
    command
}

#[test]
fn refuses_to_start_without_a_token_and_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = relay_bin()
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("hookline-relay new-token"), "{stderr}");
    assert!(stderr.contains("--tokens-file"), "{stderr}");
}

#[test]
fn new_token_prints_a_usable_token() {
    let output = relay_bin().arg("new-token").output().unwrap();
    assert!(output.status.success());
    let token = String::from_utf8(output.stdout).unwrap();
    let token = token.trim();
    assert!(token.starts_with("hlr_") && token.len() == 68, "{token}");
    assert!(hookline_relay::TokenSet::parse_file(token).is_ok_and(|t| t.len() == 1));
}

#[test]
fn logs_written_to_a_pipe_or_file_carry_no_colour_codes() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    let token = relay_bin().arg("new-token").output().unwrap().stdout;
    std::fs::write(&tokens, token).unwrap();
    let mut child = relay_bin()
        .args(["--listen", "127.0.0.1:0", "--tokens-file"])
        .arg(&tokens)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take(50)
        {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut log = None;
    while let Ok(line) = seen.recv_timeout(Duration::from_secs(20)) {
        if line.contains("listening") {
            log = Some(line);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = log.expect("the relay logs that it listens");
    assert!(
        !log.contains('\x1b'),
        "colour codes in a piped log: {log:?}"
    );
    assert!(log.contains("INFO"), "{log}");
}
