//! The client's store at scale: inserts/s with the listener's policy (insert,
//! then one flush per batch before the batch is acknowledged), then the
//! latency of one list page and of `show` (a full get) at that size.

use std::time::Instant;

use anyhow::Context;
use hookline::model::Verdict;
use hookline::store::{ListQuery, Store};
use hookline_protocol::{
    ChannelId, DEFAULT_CHANNEL_NAME, Delivery, DeliveryId, Header, Secret, body_sha256_hex,
};
use serde_json::json;

use super::Settings;
use crate::bench::payload;
use crate::bench::report::{Section, fixed, rate};
use crate::bench::stats::time_many;

/// Deliveries per flush: the listener's flusher covers whatever arrived
/// during the previous flush; 64 is what 64 busy connections produce.
const BATCH: usize = 64;

/// A filled store, kept for the TUI scenario.
#[derive(Debug)]
pub struct Filled {
    pub store: Store,
    pub dir: tempfile::TempDir,
    pub count: usize,
}

pub fn size(settings: &Settings) -> usize {
    if settings.quick { 2_000 } else { 100_000 }
}

pub async fn run(settings: Settings) -> anyhow::Result<(Section, Filled)> {
    let count = size(&settings);
    let dir = tempfile::tempdir().context("temp dir")?;
    let store = Store::open(dir.path()).context("store open")?;
    let payload = payload::signed(payload::STANDARD_SIZE)?;
    let headers: Vec<Header> = payload
        .headers
        .iter()
        .map(|(n, v)| Header::new(n.as_str(), v.as_bytes()))
        .collect();
    let template = Delivery {
        id: DeliveryId::generate(),
        channel: ChannelId::derive(&Secret::new("bench-store"), DEFAULT_CHANNEL_NAME),
        received_at_ms: 0,
        method: "POST".into(),
        path: "/webhooks".into(),
        query: None,
        headers,
        body_sha256: body_sha256_hex(&payload.body),
        body: payload.body.to_vec().into(),
        remote_addr: Some("127.0.0.1".into()),
        public_url: "http://127.0.0.1:8700/h/bench/webhooks".into(),
    };
    let verdict = Verdict::Valid {
        scheme: "autosend".into(),
        secret: 1,
    };
    let mut ids = Vec::with_capacity(count);
    let started = Instant::now();
    for batch in 0..count.div_ceil(BATCH) {
        for _ in (batch * BATCH)..((batch + 1) * BATCH).min(count) {
            let mut delivery = template.clone();
            delivery.id = DeliveryId::generate();
            delivery.received_at_ms = hookline::store::time::now_ms();
            if !store.insert(&delivery, &verdict).context("insert")? {
                anyhow::bail!("delivery {} was already stored", delivery.id);
            }
            ids.push(delivery.id);
        }
        store.flush().await.context("flush")?;
    }
    let inserts = count as f64 / started.elapsed().as_secs_f64();
    let total = store.counts().context("counts")?.total;
    if total != count as u64 {
        anyhow::bail!("store counts {total} deliveries, inserted {count}");
    }
    let samples = if settings.quick { 20 } else { 500 };
    let newest = ListQuery {
        limit: 50,
        ..ListQuery::default()
    };
    let middle = ListQuery {
        before: Some(ids[count / 2]),
        ..newest.clone()
    };
    let store_ref = &store;
    let page = |query: &ListQuery| {
        let query = query.clone();
        time_many(samples, move |_| {
            match store_ref.page(&query)?.items.len() {
                50 => Ok(()),
                n => anyhow::bail!("a page of 50 held {n}"),
            }
        })
    };
    let (newest_p50, newest_p99) = page(&newest)?;
    let (middle_p50, middle_p99) = page(&middle)?;
    let stride = (count / samples).max(1);
    let (get_p50, get_p99) = time_many(samples, |i| {
        match store_ref.get(ids[(i * stride) % count])? {
            Some(_) => Ok(()),
            None => anyhow::bail!("a stored delivery is missing"),
        }
    })?;
    let mut section = Section::new(
        &format!("Store ({} deliveries of 1.5 KB)", rate(count as f64)),
        &format!(
            "Inserts with a flush per batch of {BATCH} before acknowledging (the listener's policy); \
             then a page of 50 (`hookline list`) newest and from a cursor in the middle, and `show` \
             (get one delivery in full). Latencies: median / p99 of {samples} calls, ms."
        ),
        &["inserts/s", "page newest", "page middle", "get (show)"],
    );
    let pair = |a: f64, b: f64| format!("{} / {}", fixed(a, 3), fixed(b, 3));
    section.push(
        vec![
            rate(inserts),
            pair(newest_p50, newest_p99),
            pair(middle_p50, middle_p99),
            pair(get_p50, get_p99),
        ],
        json!({
            "deliveries": count, "batch": BATCH, "inserts_per_s": inserts,
            "page_newest_ms": {"p50": newest_p50, "p99": newest_p99},
            "page_middle_ms": {"p50": middle_p50, "p99": middle_p99},
            "get_ms": {"p50": get_p50, "p99": get_p99},
        }),
    );
    Ok((section, Filled { store, dir, count }))
}
