//! Body size: 1 KB, 100 KB and 10 MB signed payloads through the tunnel on
//! one connection, in MB/s of body, next to the same load sent directly.

use std::time::Duration;

use serde_json::json;

use super::Settings;
use super::pairs::alternate;
use crate::bench::loadgen::Load;
use crate::bench::payload;
use crate::bench::report::{Section, fixed, rate};
use crate::bench::sink::Sink;
use crate::bench::stats::median;

const SIZES: [(&str, usize); 3] = [("1 KB", 1_000), ("100 KB", 100_000), ("10 MB", 10_000_000)];

pub async fn run(settings: Settings, sink: &Sink) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "Body size (one connection, passthrough)",
        "MB/s of body (10^6 bytes) delivered and answered; direct for reference. Medians of the runs, \
         B/A pair by pair.",
        &[
            "body",
            "direct MB/s",
            "tunnel MB/s",
            "B/A",
            "tunnel req/s",
            "tunnel p50 ms",
        ],
    );
    let load = Load {
        connections: 1,
        warmup: Duration::ZERO,
        duration: if settings.quick {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(2)
        },
    };
    let bins = settings.binaries()?;
    for (name, size) in SIZES {
        let payload = payload::signed(size)?;
        let pairs = alternate(sink, &payload, load, settings.runs().min(3), &bins).await?;
        let direct = median(pairs.iter().map(|(a, _)| a.throughput / 1e6));
        let tunnel = median(pairs.iter().map(|(_, b)| b.throughput / 1e6));
        let ratio = median(pairs.iter().map(|(a, b)| b.throughput / a.throughput));
        let tunnel_rate = median(pairs.iter().map(|(_, b)| b.rate));
        let p50 = median(pairs.iter().map(|(_, b)| b.latency.p50));
        section.push(
            vec![
                name.into(),
                fixed(direct, 1),
                fixed(tunnel, 1),
                fixed(ratio, 3),
                rate(tunnel_rate),
                fixed(p50, 3),
            ],
            json!({
                "body_bytes": size, "direct_mb_s": direct, "tunnel_mb_s": tunnel, "ratio": ratio,
                "tunnel_rate": tunnel_rate, "tunnel_p50_ms": p50,
            }),
        );
    }
    Ok(section)
}
