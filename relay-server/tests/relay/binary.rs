//! The `hookline-relay` binary's edges: refusing to start without a token,
//! and making one.

use std::process::Command;

fn relay_bin() -> Command {
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
