//! Upgrades a store written by an earlier release, one schema step at a time,
//! when it opens. Each step is written once and kept: a store from any older
//! release walks the chain to [`SCHEMA_VERSION`].

use std::path::Path;

use super::{SCHEMA_VERSION, StoreError, record};

/// One step: what it does, and the function taking a store from the version
/// before it to the next.
struct Step {
    to: u32,
    what: &'static str,
    run: fn(&Trees) -> Result<usize, StoreError>,
}

/// The trees a step may rewrite.
pub(super) struct Trees<'a> {
    pub deliveries: &'a sled::Tree,
}

const STEPS: &[Step] = &[Step {
    to: 2,
    what: "delivery bodies stored as raw bytes instead of base64 JSON",
    run: records_to_raw_bytes,
}];

/// Runs every step above `found`. The new version is written after the last
/// step and flushed, so a crash midway runs the steps again on the next
/// open; each step accepts records already in its target form.
pub(super) fn migrate(
    dir: &Path,
    found: u32,
    trees: &Trees,
    set_version: impl FnOnce(u32) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    if found >= SCHEMA_VERSION {
        return Ok(());
    }
    for step in STEPS.iter().filter(|s| s.to > found) {
        let rewritten = (step.run)(trees)?;
        tracing::info!(
            store = %dir.display(),
            schema = step.to,
            records = rewritten,
            "upgraded the store: {}",
            step.what
        );
    }
    set_version(SCHEMA_VERSION)
}

/// 1 → 2: each record from `{"delivery":…,"verdict":…}` to the binary record.
fn records_to_raw_bytes(trees: &Trees) -> Result<usize, StoreError> {
    let mut rewritten = 0;
    for entry in trees.deliveries.iter() {
        let (key, value) = entry?;
        if value.first() != Some(&b'{') {
            continue;
        }
        let (delivery, verdict) = record::decode(value)?;
        trees
            .deliveries
            .insert(key, record::encode(&delivery, &verdict)?)?;
        rewritten += 1;
    }
    Ok(rewritten)
}
