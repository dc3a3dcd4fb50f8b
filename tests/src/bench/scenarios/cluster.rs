//! One relay against a relay cluster: the same passthrough load through the
//! single relay (its own disk queue), through one relay on NATS JetStream,
//! and spread over three relays on one NATS with the client on the first
//! (two thirds of the deliveries cross relays to reach it, and the app's
//! answer crosses back). All on loopback and on the same two cores as NATS:
//! the figures show what the shared queue costs, not what more machines
//! would gain.

#[path = "../../../../relay-server/src/cluster/test_server.rs"]
#[allow(dead_code)]
mod nats;

use anyhow::Context;
use serde_json::json;

use super::{SETTLE, Settings};
use crate::bench::loadgen::{self, Load, Target};
use crate::bench::payload::{self, Payload};
use crate::bench::report::{Section, fixed, rate};
use crate::bench::sink::Sink;
use crate::bench::stats::{Percentiles, median};
use crate::bench::tunnel::Tunnel;

/// The setups compared, in the order they run within each round.
const SETUPS: [(&str, usize); 3] = [
    ("single relay", 0),
    ("1 relay on NATS", 1),
    ("3 relays on NATS", 3),
];

struct Figures {
    rate: f64,
    latency: Percentiles,
    /// Senders answered 504 (delivered later).
    late: u64,
}

async fn once(
    sink: &Sink,
    payload: &Payload,
    load: Load,
    nats: &str,
    relays: usize,
) -> anyhow::Result<Figures> {
    let mut tunnel = match relays {
        0 => Tunnel::relay(|_| {}).await?,
        n => Tunnel::cluster(nats, n).await?,
    };
    tunnel.connect(&sink.url("/webhooks")).await?;
    let before = sink.received();
    let mut addrs = tunnel.addrs();
    // The first connection goes to a relay the client is not on.
    let first_elsewhere = 1.min(addrs.len() - 1);
    addrs.rotate_left(first_elsewhere);
    let target = Target {
        addrs,
        path: tunnel.ingress_path(),
        headers: payload.headers.clone(),
        body: payload.body.clone(),
        expect: 200,
        late_ok: true,
    };
    // One untimed delivery through each relay first: a relay's first
    // passthrough sets up its answer subscription and the channel's consumer.
    let primed = prime(&target).await?;
    let mut result = loadgen::run_on_own_thread(target, load).await?;
    result.check("cluster")?;
    // A 504 is a delivery still queued: it is stored and forwarded later.
    let accepted = result.total_ok + result.late;
    tunnel
        .await_stored(accepted + primed, SETTLE)
        .await
        .context("cluster")?;
    let settle = std::time::Instant::now() + SETTLE;
    while sink.received() - before - primed < accepted && std::time::Instant::now() < settle {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let seen = sink.received() - before - primed;
    if seen != accepted {
        anyhow::bail!("cluster: the sink got {seen} forwards for {accepted} accepted deliveries");
    }
    tunnel.stop().await?;
    Ok(Figures {
        rate: result.rate(),
        late: result.late,
        latency: Percentiles::of(&mut result.latencies),
    })
}

/// Sends one request through each address of `target`; how many.
async fn prime(target: &Target) -> anyhow::Result<u64> {
    let client = crate::sender::http_client();
    let headers: Vec<(&str, &[u8])> = target
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    for addr in &target.addrs {
        let url = format!("http://{addr}{}", target.path);
        let sent =
            crate::sender::try_send(&client, "POST", &url, &headers, target.body.clone()).await?;
        anyhow::ensure!(
            sent.status == target.expect,
            "priming {addr}: status {}",
            sent.status
        );
    }
    Ok(target.addrs.len() as u64)
}

pub async fn run(settings: Settings, sink: &Sink) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "One relay vs a relay cluster (1.5 KB signed AutoSend POST, passthrough)",
        "The same load through a single relay (own disk queue), one relay on NATS JetStream, and \
         three relays on one NATS with the client on the first and the load's connections spread \
         over all three (the first on a relay without the client). One nats-server, the relays, \
         the client, the sink and the load generator share the machine's two cores. Rates are \
         deliveries/s; latencies ms; medians of the runs, each round running the setups in turn; \
         504s: senders whose answer took longer than the relay's response timeout (the delivery \
         stayed queued and was stored and forwarded later), summed over the runs.",
        &["conns", "setup", "req/s", "× single", "p50", "p99", "504s"],
    );
    let Some(server) = nats::NatsServer::start() else {
        anyhow::bail!(
            "nats-server is missing: install it (apt-get install nats-server) or leave out --only cluster"
        );
    };
    let payload = payload::signed(payload::STANDARD_SIZE)?;
    for connections in settings.concurrencies() {
        // A cluster's first deliveries wait for consumers and presence: the
        // smoke run's quarter second can pass before one completes.
        let load = settings.load(connections);
        let load = Load {
            duration: load.duration.max(std::time::Duration::from_secs(1)),
            ..load
        };
        let mut runs: Vec<Vec<Figures>> = SETUPS.iter().map(|_| Vec::new()).collect();
        for _ in 0..settings.runs() {
            for (i, (_, relays)) in SETUPS.iter().enumerate() {
                runs[i].push(once(sink, &payload, load, &server.url(), *relays).await?);
            }
        }
        let single = median(runs[0].iter().map(|f| f.rate));
        for ((name, relays), figures) in SETUPS.iter().zip(&runs) {
            let req = median(figures.iter().map(|f| f.rate));
            let latency =
                Percentiles::median_of(&figures.iter().map(|f| f.latency).collect::<Vec<_>>());
            let late: u64 = figures.iter().map(|f| f.late).sum();
            section.push(
                vec![
                    connections.to_string(),
                    (*name).to_owned(),
                    rate(req),
                    fixed(req / single, 3),
                    fixed(latency.p50, 3),
                    fixed(latency.p99, 3),
                    late.to_string(),
                ],
                json!({
                    "connections": connections, "relays": relays, "setup": name,
                    "runs": figures.len(), "rate": req, "vs_single": req / single,
                    "p50_ms": latency.p50, "p99_ms": latency.p99, "late_504": late,
                }),
            );
        }
    }
    Ok(section)
}
