//! Running the built `hookline` binary against a data dir, for the command
//! line tests.

#![allow(dead_code)]

use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// Runs `hookline ARGS… --data-dir DIR` with no inherited settings that
/// would change what it does.
pub async fn hookline(dir: &Path, args: &[&str]) -> Output {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookline"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("HOOKLINE_DATA_DIR")
        .env_remove("HOOKLINE_LISTEN")
        .env_remove("WEBHOOK_SECRET")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("hookline hung")
        .expect("hookline runs")
}

/// Like [`hookline`], failing the test unless the command succeeded.
pub async fn hookline_ok(dir: &Path, args: &[&str]) -> Output {
    let out = hookline(dir, args).await;
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Stdout of a command that must have succeeded.
pub fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Stderr of a command that must have failed.
pub fn failure(out: &Output) -> String {
    assert!(!out.status.success(), "should have failed");
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Stderr of a command that must have failed with a one-line error.
pub fn one_line_error(out: &Output) -> String {
    let err = failure(out);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}
