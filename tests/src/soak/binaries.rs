//! Finding the `hookline` and `hookline-relay` executables the soak runs.
//!
//! Integration tests get their binaries from cargo (`CARGO_BIN_EXE_…`), but
//! cargo tells a binary nothing of the sort, and `cargo run --bin soak`
//! builds only the soak. So the soak asks cargo to build both, for its own
//! profile and into its own target dir, and takes their paths from cargo's
//! JSON messages: up to date binaries from the same sources, in debug (CI)
//! and `--release` alike. `--bin-dir` skips the build.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// The two executables under test.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub hookline: PathBuf,
    pub relay: PathBuf,
}

const CLIENT: &str = "hookline";
const RELAY: &str = "hookline-relay";

/// The binaries in `dir`, or freshly built by cargo when `dir` is `None`.
pub fn locate(dir: Option<&Path>) -> anyhow::Result<Binaries> {
    match dir {
        Some(dir) => {
            let found = Binaries {
                hookline: dir.join(CLIENT),
                relay: dir.join(RELAY),
            };
            for path in [&found.hookline, &found.relay] {
                if !path.is_file() {
                    bail!(
                        "--bin-dir: {} does not exist; build it with `cargo build -p hookline -p hookline-relay`",
                        path.display()
                    );
                }
            }
            Ok(found)
        }
        None => build(),
    }
}

/// `cargo build` of both binaries for this executable's profile.
fn build() -> anyhow::Result<Binaries> {
    let exe = std::env::current_exe().context("cannot find the soak's own path")?;
    let profile_dir = exe.parent().context("the soak's path has no directory")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut command = Command::new(&cargo);
    command
        .args([
            "build",
            "--locked",
            "--message-format=json-render-diagnostics",
        ])
        // With this crate selected too, features resolve as for the soak's
        // own build, so cargo reuses its libraries and links two binaries.
        .args(["-p", env!("CARGO_PKG_NAME"), "-p", CLIENT, "-p", RELAY])
        .args(["--bin", CLIENT, "--bin", RELAY])
        .arg("--manifest-path")
        .arg(&manifest)
        .args(profile_args(profile_dir))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // `cargo run` gives the soak its crate's variables (CARGO_PKG_NAME…);
    // build scripts watch some of them, so passed on they would make cargo
    // rebuild dependencies on every run.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || matches!(
                &*name,
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE" | "OUT_DIR"
            )
        {
            command.env_remove(&*name);
        }
    }
    // Built next to the soak (`--target-dir` may have been a flag, not the
    // environment): cargo marks a target dir's root with CACHEDIR.TAG.
    if std::env::var_os("CARGO_TARGET_DIR").is_none()
        && let Some(target) = profile_dir.parent()
        && target.join("CACHEDIR.TAG").is_file()
    {
        command.env("CARGO_TARGET_DIR", target);
    }
    eprintln!("soak: building {CLIENT} and {RELAY} for this profile…");
    let output = command
        .output()
        .with_context(|| format!("cannot run {}", Path::new(&cargo).display()))?;
    if !output.status.success() {
        bail!("building {CLIENT} and {RELAY} failed (cargo's messages are above)");
    }
    let mut client = None;
    let mut relay = None;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(name), Some(path)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) else {
            continue;
        };
        match name {
            CLIENT => client = Some(PathBuf::from(path)),
            RELAY => relay = Some(PathBuf::from(path)),
            _ => {}
        }
    }
    match (client, relay) {
        (Some(hookline), Some(relay)) => Ok(Binaries { hookline, relay }),
        _ => bail!("cargo built but did not name the {CLIENT} and {RELAY} executables"),
    }
}

/// Inside a target dir the soak's directory is named after its profile
/// (`debug` for dev); elsewhere, whether debug assertions are on decides.
fn profile_args(profile_dir: &Path) -> Vec<String> {
    let in_target_dir = profile_dir
        .parent()
        .is_some_and(|target| target.join("CACHEDIR.TAG").is_file());
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") if in_target_dir => vec![],
        Some("release") if in_target_dir => vec!["--release".into()],
        Some(other) if in_target_dir => vec!["--profile".into(), other.into()],
        _ if cfg!(debug_assertions) => vec![],
        _ => vec!["--release".into()],
    }
}
