//! Direct vs tunnel: the same load against the sink directly (A) and through
//! relay → WebSocket → client (verify, store, forward) → sink with the relay
//! passing the sink's answer back (B), the relay and the client running as
//! their own processes, whose CPU time per delivery is read from `/proc`.
//! Runs alternate A, B, A, B… so each ratio compares two runs made under
//! the same background load.

use anyhow::Context;
use serde_json::json;

use super::{SETTLE, Settings};
use crate::bench::child_tunnel::ChildTunnel;
use crate::bench::loadgen::{self, Load, Target};
use crate::bench::payload::{self, Payload};
use crate::bench::report::{Section, fixed, rate};
use crate::bench::sink::Sink;
use crate::bench::stats::{Percentiles, median};
use crate::soak::binaries::Binaries;

/// One timed run's figures.
#[derive(Debug, Clone, Copy)]
pub struct RunFigures {
    pub rate: f64,
    pub latency: Percentiles,
    /// Body bytes per second.
    pub throughput: f64,
    /// Through the tunnel: CPU µs per delivery of the relay and of the client.
    pub cpu_us: Option<(f64, f64)>,
}

/// Load → sink. Fails unless every answer was 200 and the sink saw each request.
pub async fn direct(sink: &Sink, payload: &Payload, load: Load) -> anyhow::Result<RunFigures> {
    let before = sink.received();
    let target = Target {
        addrs: vec![sink.addr],
        path: "/webhooks".into(),
        headers: payload.headers.clone(),
        body: payload.body.clone(),
        expect: 200,
        late_ok: false,
    };
    let mut result = loadgen::run_on_own_thread(target, load).await?;
    result.check("direct")?;
    let seen = sink.received() - before;
    if seen != result.total_ok {
        anyhow::bail!(
            "direct: the sink answered {seen} requests, the load generator counted {}",
            result.total_ok
        );
    }
    Ok(figures(&mut result, payload))
}

/// Load → relay → client → sink, passthrough. Fails unless every answer was
/// 200, every delivery is stored with a valid signature and the sink got each once.
pub async fn tunnel(
    sink: &Sink,
    payload: &Payload,
    load: Load,
    bins: &Binaries,
) -> anyhow::Result<RunFigures> {
    let tunnel = ChildTunnel::start(bins, &sink.url("/webhooks")).await?;
    let before = sink.received();
    let target = Target {
        addrs: vec![tunnel.addr],
        path: tunnel.ingress_path(),
        headers: payload.headers.clone(),
        body: payload.body.clone(),
        expect: 200,
        late_ok: false,
    };
    let cpu_before = tunnel.cpu()?;
    let mut result = loadgen::run_on_own_thread(target, load).await?;
    result.check("tunnel")?;
    tunnel
        .await_stored(result.total_ok, SETTLE)
        .await
        .context("tunnel")?;
    let cpu = tunnel.cpu()?.since(cpu_before);
    let seen = sink.received() - before;
    if seen != result.total_ok {
        anyhow::bail!(
            "tunnel: the sink got {seen} forwards for {} answered deliveries",
            result.total_ok
        );
    }
    tunnel.stop().await;
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / result.total_ok.max(1) as f64;
    let cpu_us = Some((per(cpu.relay), per(cpu.client)));
    Ok(RunFigures {
        cpu_us,
        ..figures(&mut result, payload)
    })
}

fn figures(result: &mut loadgen::LoadResult, payload: &Payload) -> RunFigures {
    let rate = result.rate();
    RunFigures {
        rate,
        latency: Percentiles::of(&mut result.latencies),
        throughput: rate * payload.body.len() as f64,
        cpu_us: None,
    }
}

/// Alternating direct and tunnel runs; `(direct, tunnel)` per pair.
pub async fn alternate(
    sink: &Sink,
    payload: &Payload,
    load: Load,
    runs: usize,
    bins: &Binaries,
) -> anyhow::Result<Vec<(RunFigures, RunFigures)>> {
    let mut pairs = Vec::with_capacity(runs);
    for _ in 0..runs {
        let a = direct(sink, payload, load).await?;
        let b = tunnel(sink, payload, load, bins).await?;
        pairs.push((a, b));
    }
    Ok(pairs)
}

pub async fn run(settings: Settings, sink: &Sink) -> anyhow::Result<Section> {
    let payload = payload::signed(payload::STANDARD_SIZE)?;
    let bins = settings.binaries()?;
    let mut section = Section::new(
        "Direct vs tunnel (1.5 KB signed AutoSend POST, passthrough)",
        "A: load → sink. B: load → relay → WebSocket → client (verify, sled store, forward) → sink, \
         the sink's answer passed back; the relay and the client are the release binaries as child \
         processes. Rates are deliveries/s; latencies ms; CPU µs per delivery (user + system, from \
         /proc) for each half; each figure the median of the runs, B/A and added latency computed \
         pair by pair (A then B, alternating).",
        &[
            "conns",
            "A req/s",
            "B req/s",
            "B/A",
            "A p50",
            "A p90",
            "A p99",
            "B p50",
            "B p90",
            "B p99",
            "added p50",
            "added p99",
            "relay µs",
            "client µs",
        ],
    );
    for connections in settings.concurrencies() {
        let pairs = alternate(
            sink,
            &payload,
            settings.load(connections),
            settings.runs(),
            &bins,
        )
        .await?;
        let relay_us = median(pairs.iter().filter_map(|(_, b)| b.cpu_us.map(|c| c.0)));
        let client_us = median(pairs.iter().filter_map(|(_, b)| b.cpu_us.map(|c| c.1)));
        let a_rate = median(pairs.iter().map(|(a, _)| a.rate));
        let b_rate = median(pairs.iter().map(|(_, b)| b.rate));
        let ratio = median(pairs.iter().map(|(a, b)| b.rate / a.rate));
        let a = Percentiles::median_of(&pairs.iter().map(|(a, _)| a.latency).collect::<Vec<_>>());
        let b = Percentiles::median_of(&pairs.iter().map(|(_, b)| b.latency).collect::<Vec<_>>());
        let added_p50 = median(pairs.iter().map(|(a, b)| b.latency.p50 - a.latency.p50));
        let added_p99 = median(pairs.iter().map(|(a, b)| b.latency.p99 - a.latency.p99));
        let ms = |v: f64| fixed(v, 3);
        section.push(
            vec![
                connections.to_string(),
                rate(a_rate),
                rate(b_rate),
                fixed(ratio, 3),
                ms(a.p50),
                ms(a.p90),
                ms(a.p99),
                ms(b.p50),
                ms(b.p90),
                ms(b.p99),
                ms(added_p50),
                ms(added_p99),
                fixed(relay_us, 0),
                fixed(client_us, 0),
            ],
            json!({
                "connections": connections, "runs": pairs.len(),
                "direct": {"rate": a_rate, "p50_ms": a.p50, "p90_ms": a.p90, "p99_ms": a.p99},
                "tunnel": {"rate": b_rate, "p50_ms": b.p50, "p90_ms": b.p90, "p99_ms": b.p99},
                "ratio": ratio, "added_p50_ms": added_p50, "added_p99_ms": added_p99,
                "relay_cpu_us_per_delivery": relay_us, "client_cpu_us_per_delivery": client_us,
            }),
        );
    }
    Ok(section)
}
