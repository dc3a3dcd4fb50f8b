//! Running the `hookline` command line as a separate process.

use std::path::Path;
use std::process::Output;

/// Runs `hookline ARGS… --data-dir DIR` with `env`, and returns its output.
/// `bin` is the test's `env!("CARGO_BIN_EXE_hookline-under-test")` (cargo
/// only tells integration tests where binaries are).
pub async fn run(bin: &str, data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(bin);
    command
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .envs(env.iter().copied());
    command
        .env_remove("WEBHOOK_SECRET")
        .env_remove("HOOKLINE_DATA_DIR");
    crate::within("the hookline command", command.output())
        .await
        .expect("hookline runs")
}

/// Stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Fails the test with the command's stderr unless it exited 0.
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "hookline failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
