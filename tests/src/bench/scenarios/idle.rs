//! Relay connection cost: N idle clients, each with its own token (one active
//! session per channel), connected to an in-process relay.
//!
//! The clients run in a child process (this binary re-executed with
//! `--idle-child`), so the relay process's resident memory grows only by what
//! the relay keeps per connection: the accepted socket, the WebSocket
//! session task and its buffers, the channel hub. Per connection =
//! (VmRSS with N connected − VmRSS before) / N. Each client is the real
//! `hookline` connection supervisor, answering the relay's pings.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use hookline::connection::{ConnectionState, RelayEndpoint};
use hookline_protocol::Secret;
use hookline_relay::{RelayConfig, TokenSet};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::Settings;
use crate::bench::report::{Section, fixed, rate};
use crate::bench::tunnel;

/// The flag that turns this binary into the idle clients.
pub const CHILD_FLAG: &str = "--idle-child";

/// Longest the child may take to connect every client.
const CONNECT_ALL: Duration = Duration::from_secs(180);

/// Clients connecting at once, under the relay's accept backlog.
const CONNECT_WAVE: usize = 200;

fn token(i: usize) -> Secret {
    Secret::new(format!("bench-idle-token-{i:06}"))
}

pub async fn run(settings: Settings) -> anyhow::Result<Section> {
    let counts: &[usize] = if settings.quick {
        &[50]
    } else {
        &[1_000, 10_000]
    };
    let mut section = Section::new(
        "Relay memory per idle client",
        "The relay runs in this process, N real clients (one token each) in a child process; \
         per client = (relay process VmRSS with N connected − VmRSS before) / N.",
        &[
            "clients",
            "connect all (s)",
            "connects/s",
            "relay RSS growth (MiB)",
            "per client (KiB)",
        ],
    );
    for &n in counts {
        let (connect, growth) = measure(n).await?;
        let per_client = growth as f64 / n as f64 / 1024.0;
        section.push(
            vec![
                rate(n as f64),
                fixed(connect.as_secs_f64(), 2),
                rate(n as f64 / connect.as_secs_f64()),
                fixed(growth as f64 / 1_048_576.0, 1),
                fixed(per_client, 1),
            ],
            json!({
                "clients": n, "connect_s": connect.as_secs_f64(),
                "rss_growth_bytes": growth, "per_client_kib": per_client,
            }),
        );
    }
    Ok(section)
}

/// Connects `n` clients; (time to connect them all, relay RSS growth in bytes).
async fn measure(n: usize) -> anyhow::Result<(Duration, u64)> {
    check_open_files(n)?;
    let dir = tempfile::tempdir().context("temp dir")?;
    let mut tokens = TokenSet::new();
    for i in 0..n {
        tokens.add(token(i), Vec::new());
    }
    let mut config = RelayConfig::new(tokens, dir.path().join("relay"));
    config.max_connections = n + 256;
    let (relay, addr, shutdown, serving) = tunnel::serve(config).await?;
    let before = vm_rss()?;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(std::env::current_exe().context("own path")?)
        .args([CHILD_FLAG, &addr.to_string(), &n.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("start the idle clients")?;
    let stdout = child.stdout.take().context("child stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(CONNECT_ALL + Duration::from_secs(10), lines.next_line())
        .await
        .context("idle clients did not report")??;
    let connect = started.elapsed();
    if line.as_deref() != Some("ready") {
        anyhow::bail!("idle clients: expected `ready`, got {line:?}");
    }
    let connected = metric(addr, "connected_clients").await?;
    if connected != n as u64 {
        anyhow::bail!("relay reports {connected} connected clients, expected {n}");
    }
    let after = vm_rss()?;
    drop(child.stdin.take());
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .context("child exit")??;
    if !status.success() {
        anyhow::bail!("idle clients exited with {status}");
    }
    shutdown.cancel();
    serving.await.context("relay task")??;
    relay.close().await?;
    Ok((connect, after.saturating_sub(before)))
}

/// One gauge from the relay's `/metrics`.
async fn metric(addr: std::net::SocketAddr, name: &str) -> anyhow::Result<u64> {
    let sent = crate::send("GET", &format!("http://{addr}/metrics"), &[], Vec::new()).await;
    let text = String::from_utf8_lossy(&sent.body);
    let prefix = format!("hookline_relay_{name} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("metric {name} missing"))
}

/// This process's resident set in bytes.
pub fn vm_rss() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status").context("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .context("no VmRSS in /proc/self/status")
}

/// Each process holds one socket per client plus its own files; the limit is
/// checked, not raised: raising it needs `setrlimit`, which this
/// unsafe-free workspace has no safe binding for, and the default hard limit
/// here (20,000) suffices once clients and relay are separate processes.
fn check_open_files(n: usize) -> anyhow::Result<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<usize>().ok());
    match soft {
        Some(soft) if soft < n + 512 => anyhow::bail!(
            "{n} idle clients need about {} open files per process, the limit is {soft}: \
             run `ulimit -n {}` first",
            n + 512,
            n + 512
        ),
        _ => Ok(()),
    }
}

/// The child: connects `n` clients to the relay at `addr`, prints `ready`
/// once all are welcomed, and holds them until its stdin closes.
pub async fn child(addr: &str, n: usize) -> anyhow::Result<()> {
    check_open_files(n)?;
    let shutdown = CancellationToken::new();
    let mut held = Vec::with_capacity(n);
    let mut tasks = tokio::task::JoinSet::new();
    let deadline = Instant::now() + CONNECT_ALL;
    for wave in (0..n).collect::<Vec<_>>().chunks(CONNECT_WAVE) {
        let mut states = Vec::with_capacity(wave.len());
        for &i in wave {
            let (incoming_tx, incoming_rx) = mpsc::unbounded_channel();
            let (outbound_tx, outbound_rx) = mpsc::unbounded_channel();
            let (state_tx, state_rx) = watch::channel(ConnectionState::Connecting);
            let endpoint = RelayEndpoint {
                url: format!("ws://{addr}"),
                token: token(i),
                channel: None,
            };
            tasks.spawn(hookline::connection::run(
                endpoint,
                incoming_tx,
                outbound_rx,
                state_tx,
                shutdown.clone(),
            ));
            held.push((incoming_rx, outbound_tx));
            states.push(state_rx);
        }
        for mut state in states {
            let left = deadline.saturating_duration_since(Instant::now());
            let connected = state.wait_for(|s| matches!(s, ConnectionState::Connected { .. }));
            tokio::time::timeout(left, connected)
                .await
                .context("clients did not all connect in time")?
                .context("a client stopped")?;
        }
    }
    println!("ready");
    // The parent closes stdin when it has measured.
    let _ = tokio::task::spawn_blocking(|| {
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new())
    })
    .await;
    // A client drains until its outbound channel closes, so that goes first.
    drop(held);
    shutdown.cancel();
    let drained = async { while tasks.join_next().await.is_some() {} };
    tokio::time::timeout(Duration::from_secs(30), drained)
        .await
        .context("idle clients did not stop")
}
