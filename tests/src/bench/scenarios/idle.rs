//! Relay connection cost: N idle clients, each with its own token (one active
//! session per channel), connected to an in-process relay.
//!
//! Each N gets a fresh relay process (this binary re-executed with
//! `--idle-relay N`), so heap freed by earlier scenarios cannot absorb the
//! relay's growth; its clients run in a second child (`--idle-child`), so the
//! relay process's resident memory grows only by what the relay keeps per
//! connection: the accepted socket, the WebSocket session task and its
//! buffers, the channel hub. Per connection = (VmRSS with N connected −
//! VmRSS before) / N. Each client is the real `hookline` connection
//! supervisor, answering the relay's pings.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use hookline::connection::{ConnectionState, Incoming, RelayEndpoint};
use hookline_protocol::{ClientMessage, Secret};
use hookline_relay::{RelayConfig, TokenSet};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::Settings;
use crate::bench::report::{Section, fixed, rate};
use crate::bench::tunnel;

/// The flag that turns this binary into the idle clients.
pub const CHILD_FLAG: &str = "--idle-child";

/// The flag that turns this binary into the measured relay.
pub const RELAY_FLAG: &str = "--idle-relay";

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

/// Clients connected before the first measurement: the relay's one-time
/// costs (worker stacks, allocator arenas) are paid by then.
fn first_phase(n: usize) -> usize {
    (n / 10).max(1)
}

type Held = Vec<(
    mpsc::UnboundedReceiver<Incoming>,
    mpsc::UnboundedSender<ClientMessage>,
)>;

/// Starts one client per index in `wave` and waits until each is welcomed.
async fn connect_wave(
    addr: &str,
    wave: &[usize],
    shutdown: &CancellationToken,
    held: &mut Held,
    tasks: &mut tokio::task::JoinSet<Result<(), hookline::connection::Stopped>>,
    deadline: Instant,
) -> anyhow::Result<()> {
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
        let run = hookline::connection::run(
            endpoint,
            incoming_tx,
            outbound_rx,
            state_tx,
            shutdown.clone(),
        );
        tasks.spawn(run);
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
    Ok(())
}

/// The child: connects the first tenth of `n` clients to the relay at
/// `addr`, prints `ready K`, waits for a line on stdin, connects the rest,
/// prints `ready N`, and holds them all until its stdin closes.
pub async fn child(addr: &str, n: usize) -> anyhow::Result<()> {
    check_open_files(n)?;
    let shutdown = CancellationToken::new();
    let mut held = Vec::with_capacity(n);
    let mut tasks = tokio::task::JoinSet::new();
    let deadline = Instant::now() + CONNECT_ALL;
    let first = first_phase(n);
    for (phase, range) in [(0, 0..first), (1, first..n)] {
        if phase == 1 {
            // The parent measures between the phases, then says go on.
            let mut line = String::new();
            tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line))
                .await
                .context("stdin")??;
        }
        for wave in range.collect::<Vec<_>>().chunks(CONNECT_WAVE) {
            connect_wave(addr, wave, &shutdown, &mut held, &mut tasks, deadline).await?;
        }
        println!("ready {}", held.len());
    }
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
