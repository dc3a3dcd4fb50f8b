//! Ack mode: the relay answers 202 once the delivery is durably queued,
//! without waiting for the local app.
//!
//! The relay has no setting that answers 202 while a client is connected: a
//! connected client always gets the passthrough. Its 202 path is the one for
//! a channel with no client (`OfflineMode::Queue`): write to the sled queue,
//! group-commit fsync, 202. So ack mode is measured in two honest halves:
//! ingest (load → relay → queue + fsync → 202, no client connected), then the
//! drain (the client connects and verifies, stores and forwards the whole
//! backlog), timed until every delivery is stored and forwarded.

use std::time::Instant;

use anyhow::Context;
use hookline_relay::{OfflineMode, QueueLimits};
use serde_json::json;

use super::{SETTLE, Settings};
use crate::bench::loadgen::{self, Target};
use crate::bench::payload::{self, Payload};
use crate::bench::report::{Section, fixed, rate};
use crate::bench::sink::Sink;
use crate::bench::stats::{Percentiles, median};
use crate::bench::tunnel::Tunnel;

#[derive(Debug, Clone, Copy)]
struct AckRun {
    ingest: f64,
    latency: Percentiles,
    drain: f64,
}

async fn once(sink: &Sink, payload: &Payload, load: loadgen::Load) -> anyhow::Result<AckRun> {
    let mut tunnel = Tunnel::relay(|config| {
        config.offline = OfflineMode::Queue;
        // The whole run's backlog must fit: the default 10,000 would turn
        // the tail of a run into 503s.
        config.queue_limits = QueueLimits {
            max_count: 100_000_000,
            max_bytes: 1 << 40,
            ..QueueLimits::default()
        };
    })
    .await?;
    let target = Target {
        addrs: vec![tunnel.addr],
        path: tunnel.ingress_path(),
        headers: payload.headers.clone(),
        body: payload.body.clone(),
        expect: 202,
        late_ok: false,
    };
    let mut result = loadgen::run_on_own_thread(target, load).await?;
    result.check("ack-mode ingest")?;
    let accepted = result.total_ok;
    let before = sink.received();
    let started = Instant::now();
    tunnel.connect(&sink.url("/webhooks")).await?;
    tunnel
        .await_stored(accepted, SETTLE)
        .await
        .context("ack-mode drain")?;
    if !sink.await_received(before + accepted, SETTLE).await {
        anyhow::bail!(
            "ack-mode drain: the sink got {} of {accepted} forwards",
            sink.received() - before
        );
    }
    let drain = accepted as f64 / started.elapsed().as_secs_f64();
    tunnel.stop().await?;
    Ok(AckRun {
        ingest: result.rate(),
        latency: Percentiles::of(&mut result.latencies),
        drain,
    })
}

pub async fn run(settings: Settings, sink: &Sink) -> anyhow::Result<Section> {
    let payload = payload::signed(payload::STANDARD_SIZE)?;
    let mut section = Section::new(
        "Ack mode (202 after the relay queued durably)",
        "Ingest: no client connected, the relay writes the sled queue and group-commits an fsync \
         before each 202 (the relay has no 202 mode while a client is connected). Drain: then the \
         client connects and verifies + stores (flush-before-ack) + forwards the backlog; deliveries/s \
         until every one is stored and forwarded. Medians of the runs.",
        &[
            "conns",
            "ingest req/s",
            "p50",
            "p90",
            "p99",
            "drain deliveries/s",
        ],
    );
    let runs = settings.runs().min(3);
    for connections in settings.concurrencies() {
        let mut all = Vec::with_capacity(runs);
        for _ in 0..runs {
            all.push(once(sink, &payload, settings.load(connections)).await?);
        }
        let ingest = median(all.iter().map(|r| r.ingest));
        let drain = median(all.iter().map(|r| r.drain));
        let p = Percentiles::median_of(&all.iter().map(|r| r.latency).collect::<Vec<_>>());
        section.push(
            vec![
                connections.to_string(),
                rate(ingest),
                fixed(p.p50, 3),
                fixed(p.p90, 3),
                fixed(p.p99, 3),
                rate(drain),
            ],
            json!({
                "connections": connections, "runs": runs, "ingest_rate": ingest,
                "p50_ms": p.p50, "p90_ms": p.p90, "p99_ms": p.p99, "drain_rate": drain,
            }),
        );
    }
    Ok(section)
}
