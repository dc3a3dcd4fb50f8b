//! Relay connection cost: N idle clients, each with its own token (one active
//! session per channel), connected to a relay.
//!
//! Each N gets a fresh relay process (this binary re-executed with
//! `--idle-relay N`), so heap freed by earlier scenarios cannot absorb the
//! relay's growth; its clients run in a second child (`--idle-child`), so the
//! relay process's resident memory grows only by what the relay keeps per
//! connection: the accepted socket, the WebSocket session task and its
//! buffers, the channel hub. A tenth of the clients connect first; per client
//! = VmRSS growth while the rest connect / their number, so one-time costs
//! (worker stacks, allocator arenas) are left out.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use hookline_relay::{RelayConfig, TokenSet};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::Settings;
use super::idle_child::{CHILD_FLAG, CONNECT_ALL, check_open_files, first_phase, token};
use crate::bench::report::{Section, fixed, rate};
use crate::bench::tunnel;

/// The flag that turns this binary into the measured relay.
pub const RELAY_FLAG: &str = "--idle-relay";

pub async fn run(settings: Settings) -> anyhow::Result<Section> {
    let counts: &[usize] = if settings.quick {
        &[50]
    } else {
        &[1_000, 10_000]
    };
    let mut section = Section::new(
        "Relay memory per idle client",
        "A fresh relay process per N; N real clients (one token each) in another process. The \
         first tenth connect, the relay's VmRSS is read, the rest connect, VmRSS again: per client \
         = growth between the two readings / clients added (one-time costs excluded). Total: growth \
         from before the first client.",
        &[
            "clients",
            "connects/s",
            "relay RSS growth total (MiB)",
            "per client (KiB)",
        ],
    );
    for &n in counts {
        let cost = in_fresh_process(n).await?;
        let per_client = cost.per_client / 1024.0;
        section.push(
            vec![
                rate(n as f64),
                rate(cost.connects_per_s),
                fixed(cost.total as f64 / 1_048_576.0, 1),
                fixed(per_client, 1),
            ],
            json!({
                "clients": n, "connects_per_s": cost.connects_per_s,
                "rss_growth_bytes": cost.total, "per_client_kib": per_client,
            }),
        );
    }
    Ok(section)
}

/// Runs [`relay`] in a new process and reads its result line.
async fn in_fresh_process(n: usize) -> anyhow::Result<Cost> {
    let output = tokio::process::Command::new(std::env::current_exe().context("own path")?)
        .args([RELAY_FLAG, &n.to_string()])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(CONNECT_ALL * 2, output)
        .await
        .context("the idle-client relay did not finish")??;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        anyhow::bail!(
            "the idle-client relay failed ({}): {}{}",
            output.status,
            text,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut fields = text
        .lines()
        .find_map(|l| l.strip_prefix("result "))
        .context("no result line from the idle-client relay")?
        .split_whitespace();
    let mut next = || {
        fields
            .next()
            .and_then(|f| f.parse::<f64>().ok())
            .context("bad result line")
    };
    Ok(Cost {
        per_client: next()?,
        connects_per_s: next()?,
        total: next()? as u64,
    })
}

/// The relay process: measures `n` idle clients and prints
/// `result <per-client bytes> <connects/s> <total growth bytes>`.
pub async fn relay(n: usize) -> anyhow::Result<()> {
    let cost = measure(n).await?;
    println!(
        "result {} {} {}",
        cost.per_client, cost.connects_per_s, cost.total
    );
    Ok(())
}

/// What one N cost the relay.
#[derive(Debug, Clone, Copy)]
struct Cost {
    /// Marginal: growth between the two phases over the clients added in between.
    per_client: f64,
    /// Second-phase connects per second.
    connects_per_s: f64,
    /// Growth from before the first client to all connected.
    total: u64,
}

/// Connects `n` clients in two phases and measures the relay between them.
async fn measure(n: usize) -> anyhow::Result<Cost> {
    check_open_files(n)?;
    let dir = tempfile::tempdir().context("temp dir")?;
    let mut tokens = TokenSet::new();
    for i in 0..n {
        tokens.add(token(i), Vec::new());
    }
    let mut config = RelayConfig::new(tokens, dir.path().join("relay"));
    config.max_connections = n + 256;
    // Every idle client connects from 127.0.0.1.
    config.max_connections_per_ip = n + 256;
    let (relay, addr, shutdown, serving) = tunnel::serve(config).await?;
    let before = vm_rss()?;
    let mut child = tokio::process::Command::new(std::env::current_exe().context("own path")?)
        .args([CHILD_FLAG, &addr.to_string(), &n.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("start the idle clients")?;
    let mut lines = BufReader::new(child.stdout.take().context("child stdout")?).lines();
    let first = first_phase(n);
    await_ready(&mut lines, addr, first).await?;
    let middle = vm_rss()?;
    let mut stdin = child.stdin.take().context("child stdin")?;
    stdin.write_all(b"more\n").await.context("child stdin")?;
    let started = Instant::now();
    await_ready(&mut lines, addr, n).await?;
    let connect = started.elapsed();
    let after = vm_rss()?;
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .context("child exit")??;
    if !status.success() {
        anyhow::bail!("idle clients exited with {status}");
    }
    shutdown.cancel();
    serving.await.context("relay task")??;
    relay.close().await?;
    let added = (n - first).max(1) as f64;
    Ok(Cost {
        per_client: after.saturating_sub(middle) as f64 / added,
        connects_per_s: added / connect.as_secs_f64(),
        total: after.saturating_sub(before),
    })
}

/// Waits for the child's `ready COUNT` and checks the relay agrees.
async fn await_ready(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    addr: std::net::SocketAddr,
    count: usize,
) -> anyhow::Result<()> {
    let line = tokio::time::timeout(CONNECT_ALL + Duration::from_secs(10), lines.next_line())
        .await
        .context("idle clients did not report")??;
    let expected = format!("ready {count}");
    if line.as_deref() != Some(expected.as_str()) {
        anyhow::bail!("idle clients: expected `{expected}`, got {line:?}");
    }
    let connected = metric(addr, "connected_clients").await?;
    if connected != count as u64 {
        anyhow::bail!("relay reports {connected} connected clients, expected {count}");
    }
    Ok(())
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
