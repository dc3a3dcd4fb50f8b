//! The idle clients of the relay-memory scenario, run in their own process
//! (this binary with `--idle-child ADDR N`) so their memory is not the relay's.

use std::time::{Duration, Instant};

use anyhow::Context;
use hookline::connection::{ConnectionState, Incoming, RelayEndpoint};
use hookline_protocol::{ClientMessage, Secret};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// The flag that turns this binary into the idle clients.
pub const CHILD_FLAG: &str = "--idle-child";

/// Longest the child may take to connect every client.
pub const CONNECT_ALL: Duration = Duration::from_secs(180);

/// Clients connecting at once, under the relay's accept backlog.
const CONNECT_WAVE: usize = 200;

/// Client `i`'s token: one per client, since a channel has one active session.
pub fn token(i: usize) -> Secret {
    Secret::new(format!("bench-idle-token-{i:06}"))
}

/// Each process holds one socket per client plus its own files; the limit is
/// checked, not raised: raising it needs `setrlimit`, which this
/// unsafe-free workspace has no safe binding for, and the default hard limit
/// here (20,000) suffices once clients and relay are separate processes.
pub fn check_open_files(n: usize) -> anyhow::Result<()> {
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
pub fn first_phase(n: usize) -> usize {
    (n / 10).max(1)
}

type Held = Vec<(
    mpsc::UnboundedReceiver<Incoming>,
    mpsc::UnboundedReceiver<hookline::connection::Refusal>,
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
        let (refusals_tx, refusals_rx) = mpsc::unbounded_channel();
        let (outbound_tx, outbound_rx) = mpsc::unbounded_channel();
        let (state_tx, state_rx) = watch::channel(ConnectionState::Connecting);
        let endpoint = RelayEndpoint {
            urls: vec![format!("ws://{addr}")],
            token: token(i),
            channel: None,
            tls: None,
            respond: Default::default(),
        };
        let from_relay = hookline::connection::FromRelay {
            deliveries: incoming_tx,
            refusals: refusals_tx,
            gaps: mpsc::unbounded_channel().0,
        };
        let run = hookline::connection::run(
            endpoint,
            from_relay,
            outbound_rx,
            state_tx,
            shutdown.clone(),
        );
        tasks.spawn(run);
        held.push((incoming_rx, refusals_rx, outbound_tx));
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
