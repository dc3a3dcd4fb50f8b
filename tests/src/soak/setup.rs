//! The programs of one run and their arguments: the relays on fixed ports
//! (each must come back where the senders and the client expect it), with
//! `--cluster` a nats-server they share, the client forwarding to the app,
//! and the final `hookline export`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use hookline::retry::RetryPolicy;

use super::options::Options;
use super::procs::{self, Proc};

/// How long the relay lets a sender wait for the app's answer: short, so a
/// sender caught by a client kill moves on quickly.
const RESPONSE_TIMEOUT: &str = "3s";

/// A port free right now, for the relay to listen on across restarts.
pub fn free_port() -> anyhow::Result<u16> {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").context("no free loopback port")?;
    Ok(probe.local_addr()?.port())
}

/// Most relays of a `--cluster` run.
pub const MAX_RELAYS: usize = 5;

/// Each relay's name in logs and messages; the first is the lone relay's.
const RELAY_NAMES: [&str; MAX_RELAYS] = ["relay", "relay-2", "relay-3", "relay-4", "relay-5"];

/// Relay number `index` on `port`; with `nats`, a member of that cluster.
pub fn relay_proc(
    bin: &Path,
    root: &Path,
    index: usize,
    port: u16,
    tokens: &Path,
    nats: Option<&str>,
) -> Proc {
    let name = RELAY_NAMES[index];
    let mut args: Vec<std::ffi::OsString> = vec![
        "--listen".into(),
        format!("127.0.0.1:{port}").into(),
        "--tokens-file".into(),
        tokens.into(),
        "--data-dir".into(),
        root.join(format!("{name}-data")).into(),
        "--response-timeout".into(),
        RESPONSE_TIMEOUT.into(),
        // The soak measures what is lost, not how senders are throttled.
        "--channel-rate-limit".into(),
        "0".into(),
    ];
    if let Some(url) = nats {
        args.extend(["--cluster".into(), url.into()]);
    }
    Proc::new(name, bin, args, root.join(format!("{name}.log")), None)
}

/// A nats-server with JetStream on `port`, its store in the run's dir.
pub fn nats_proc(root: &Path, port: u16) -> anyhow::Result<Proc> {
    let bin = std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .chain([
                    Path::new("/usr/sbin").to_owned(),
                    Path::new("/usr/bin").to_owned(),
                ])
                .map(|dir| dir.join("nats-server"))
                .find(|p| p.is_file())
        })
        .context("--cluster needs nats-server (apt-get install nats-server)")?;
    let args = vec![
        "-js".into(),
        "-a".into(),
        "127.0.0.1".into(),
        "-p".into(),
        port.to_string().into(),
        "-sd".into(),
        root.join("nats-data").into(),
    ];
    Ok(Proc::new(
        "nats-server",
        &bin,
        args,
        root.join("nats.log"),
        Some(root.join("nats.out")),
    ))
}

pub fn client_proc(
    bin: &Path,
    root: &Path,
    ports: &[u16],
    token: &str,
    forward: &str,
    policy: RetryPolicy,
    options: &Options,
) -> Proc {
    // Retention must never prune a delivery the soak will look for.
    let keep = (options.deliveries * 20).max(10_000);
    let relays: Vec<String> = ports
        .iter()
        .map(|p| format!("ws://127.0.0.1:{p}"))
        .collect();
    let args = [
        "listen".into(),
        "--relay".into(),
        relays.join(",").into(),
        "--token".into(),
        token.into(),
        "--forward".into(),
        forward.into(),
        "--output".into(),
        "json".into(),
        "--retries".into(),
        policy.max_retries.to_string().into(),
        "--keep".into(),
        keep.to_string().into(),
        "--data-dir".into(),
        root.join("client-data").into(),
    ];
    Proc::new(
        "client",
        bin,
        args.into(),
        root.join("client.log"),
        Some(root.join("client.out")),
    )
}

/// `hookline export --format jsonl` of the stopped client's store.
pub async fn export_store(bin: &Path, data_dir: &Path, to: &Path) -> anyhow::Result<()> {
    let mut command = tokio::process::Command::new(bin);
    command
        .args(["export", "--format", "jsonl", "--output"])
        .arg(to)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(std::process::Stdio::null());
    procs::clean_env(&mut command);
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .context("`hookline export` took over 2 minutes")?
        .context("cannot run `hookline export`")?;
    if !output.status.success() {
        bail!(
            "`hookline export` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
