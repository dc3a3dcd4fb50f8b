//! Store measurements with 100,000 deliveries (ignored by default):
//! `cargo test -p hookline --release --test store_bench -- --ignored --nocapture`
//! (`HOOKLINE_BENCH_N` changes the count).

use crate::store_support;

use std::time::{Duration, Instant};

use hookline::store::{DeliveryStatus, Filter, Glob, ListQuery, Store};
use store_support::*;

fn percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    format!(
        "median {:?}, p99 {:?}, max {:?}",
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

fn time_many(runs: usize, mut f: impl FnMut(usize)) -> String {
    percentiles(
        (0..runs)
            .map(|i| {
                let start = Instant::now();
                f(i);
                start.elapsed()
            })
            .collect(),
    )
}

#[test]
#[ignore = "measurement; run with --release --ignored --nocapture"]
fn insert_flush_rate_and_read_latency_at_100k() {
    let n: u64 = std::env::var("HOOKLINE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let padding = "x".repeat(800);
    let deliveries: Vec<_> = (0..n)
        .map(|i| {
            let event = if i % 1000 == 0 {
                "rare.event"
            } else if i % 2 == 0 {
                "email.opened"
            } else {
                "contact.created"
            };
            let body = format!(r#"{{"type":"{event}","data":{{"i":{i},"pad":"{padding}"}}}}"#)
                .into_bytes();
            delivery(T0 + i * 10, u128::from(i) + 1, "", "/webhooks", body)
        })
        .collect();

    let (mut inserting, mut flushing) = (Duration::ZERO, Duration::ZERO);
    for batch in deliveries.chunks(64) {
        let start = Instant::now();
        for d in batch {
            assert!(store.insert(d, &valid()).unwrap());
        }
        let flush = Instant::now();
        rt.block_on(store.flush()).unwrap();
        (inserting, flushing) = (inserting + (flush - start), flushing + flush.elapsed());
    }
    let took = inserting + flushing;
    println!(
        "insert+flush (batches of 64, ~1 KiB bodies): {n} in {took:?} = {:.0}/s (inserts {inserting:?}, flushes {flushing:?})",
        n as f64 / took.as_secs_f64()
    );

    let start = Instant::now();
    for (i, batch) in deliveries.chunks(64).enumerate() {
        for d in batch {
            store
                .record_attempt(
                    d.id,
                    &attempt(
                        d.received_at_ms + 1,
                        Some(if i % 2 == 0 { 200 } else { 500 }),
                        false,
                    ),
                )
                .unwrap();
        }
        rt.block_on(store.flush()).unwrap();
    }
    let took = start.elapsed();
    println!(
        "record_attempt+flush (batches of 64): {n} in {took:?} = {:.0}/s",
        n as f64 / took.as_secs_f64()
    );

    let page = |filter: Filter, before| ListQuery {
        filter,
        before,
        limit: 50,
    };
    let middle = Some(deliveries[deliveries.len() / 2].id);
    let cases = [
        ("newest page", page(Filter::default(), None)),
        (
            "page at the middle (cursor)",
            page(Filter::default(), middle),
        ),
        (
            "page, --status failed",
            page(
                Filter {
                    status: Some(DeliveryStatus::Failed),
                    ..Filter::default()
                },
                None,
            ),
        ),
        (
            "page, --event 'rare.*' (1 in 1000 match)",
            page(
                Filter {
                    event: Some(Glob::new("rare.*")),
                    ..Filter::default()
                },
                None,
            ),
        ),
    ];
    for (name, query) in cases {
        let items = store.page(&query).unwrap().items.len();
        println!(
            "{name}: {items} items, {}",
            time_many(200, |_| drop(store.page(&query).unwrap()))
        );
    }
    let stride = (n as usize / 1000).max(1);
    println!(
        "get: {}",
        time_many(1000, |i| drop(
            store
                .get(deliveries[(i * stride) % n as usize].id)
                .unwrap()
                .unwrap()
        ))
    );
    println!(
        "resolve 14-char prefix: {}",
        time_many(1000, |i| {
            let id = deliveries[(i * stride) % n as usize].id.to_string();
            store.resolve(&id[..14]).unwrap();
        })
    );
    println!(
        "counts: {}",
        time_many(1000, |_| {
            store.counts().unwrap();
        })
    );
    let counts = store.counts().unwrap();
    assert_eq!(counts.total, n);
    let size: u64 = walk_size(&hookline::store::db_path(dir.path()));
    println!("store on disk: {:.1} MiB", size as f64 / 1_048_576.0);
}

fn walk_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    if e.path().is_dir() {
                        walk_size(&e.path())
                    } else {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}
