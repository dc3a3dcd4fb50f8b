//! Queued bytes per channel across a cluster. JetStream 2.9 limits messages
//! per subject but not bytes, so the relays keep the count themselves in a
//! key-value bucket (`hookline-bytes`, one decimal counter per channel):
//! each relay adds what it published and subtracts what its clients stored,
//! and folds its changes into the bucket with compare-and-set every
//! `maintain` pass. Between passes a relay sees the others' changes up to
//! half a second late, so a channel may pass its byte limit by what the
//! cluster accepts for it in that time; the count limit stays exact (the
//! engine enforces it).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_nats::jetstream::{Context, kv, stream};
use bytes::Bytes;
use hookline_protocol::ChannelId;

/// The byte counters' bucket.
pub const BYTES_BUCKET: &str = "hookline-bytes";

/// Compare-and-set attempts per counter and pass before the change waits
/// for the next pass.
const CAS_TRIES: usize = 5;

#[derive(Default)]
struct State {
    /// This relay's changes not yet in the bucket.
    pending: HashMap<ChannelId, i64>,
    /// The bucket's values at the last pass.
    known: HashMap<ChannelId, u64>,
    /// Channels the stream had no message for at the last pass: a counter
    /// still above zero after two such passes is reset (what JetStream
    /// removed by age was never subtracted).
    empty_before: HashSet<ChannelId>,
}

pub(crate) struct ChannelBytes {
    store: kv::Store,
    state: Mutex<State>,
}

impl ChannelBytes {
    pub(crate) async fn open(js: &Context, replicas: usize) -> Result<ChannelBytes, String> {
        let store = super::buckets::Bucket {
            name: BYTES_BUCKET,
            replicas,
            storage: stream::StorageType::File,
            ttl: None,
        }
        .open(js)
        .await?;
        Ok(ChannelBytes {
            store,
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `delta` bytes queued (negative: removed) by this relay.
    pub(crate) fn add(&self, channel: &ChannelId, delta: i64) {
        *self.state().pending.entry(channel.clone()).or_default() += delta;
    }

    /// The channel's queued bytes as this relay knows them.
    pub(crate) fn get(&self, channel: &ChannelId) -> u64 {
        let state = self.state();
        let known = state.known.get(channel).copied().unwrap_or(0);
        let pending = state.pending.get(channel).copied().unwrap_or(0);
        known.saturating_add_signed(pending)
    }

    pub(crate) fn total(&self) -> u64 {
        let state = self.state();
        let mut channels: HashSet<&ChannelId> = state.known.keys().collect();
        channels.extend(state.pending.keys());
        channels
            .into_iter()
            .map(|c| {
                let known = state.known.get(c).copied().unwrap_or(0);
                known.saturating_add_signed(state.pending.get(c).copied().unwrap_or(0))
            })
            .sum()
    }

    /// Folds this relay's changes into the bucket and reads the counters of
    /// the channels the stream holds messages for (`counts`).
    pub(crate) async fn sync(&self, counts: &HashMap<ChannelId, u64>) -> Result<(), String> {
        let (pending, resets) = {
            let mut state = self.state();
            let pending = std::mem::take(&mut state.pending);
            let empty: HashSet<ChannelId> = state
                .known
                .iter()
                .filter(|(c, bytes)| **bytes > 0 && counts.get(*c).is_none_or(|n| *n == 0))
                .map(|(c, _)| c.clone())
                .collect();
            let resets: Vec<ChannelId> = empty.intersection(&state.empty_before).cloned().collect();
            state.empty_before = empty;
            (pending, resets)
        };
        let mut failed = Vec::new();
        for (channel, delta) in &pending {
            if *delta != 0
                && self
                    .apply(channel, |v| v.saturating_add_signed(*delta))
                    .await
                    .is_err()
            {
                failed.push((channel.clone(), *delta));
            }
        }
        for channel in &resets {
            let _ = self.apply(channel, |_| 0).await;
        }
        let mut known = HashMap::new();
        for channel in counts.keys().chain(pending.keys()) {
            if let Some(value) = self.read(channel).await? {
                known.insert(channel.clone(), value.0);
            }
        }
        let mut state = self.state();
        for (channel, delta) in failed {
            *state.pending.entry(channel).or_default() += delta;
        }
        state.known = known;
        Ok(())
    }

    async fn read(&self, channel: &ChannelId) -> Result<Option<(u64, u64)>, String> {
        let entry = self
            .store
            .entry(channel.to_string())
            .await
            .map_err(|e| e.to_string())?;
        Ok(entry
            .filter(|e| e.operation == kv::Operation::Put)
            .map(|e| {
                let value = std::str::from_utf8(&e.value)
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                (value, e.revision)
            }))
    }

    /// Sets the counter to `change(current)` by compare-and-set.
    async fn apply(&self, channel: &ChannelId, change: impl Fn(u64) -> u64) -> Result<(), String> {
        let key = channel.to_string();
        for _ in 0..CAS_TRIES {
            let written = match self.read(channel).await? {
                Some((value, revision)) => self
                    .store
                    .update(&key, Bytes::from(change(value).to_string()), revision)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()),
                None => self
                    .store
                    .create(&key, Bytes::from(change(0).to_string()))
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()),
            };
            if written.is_ok() {
                return Ok(());
            }
        }
        Err(format!(
            "the byte counter of {channel} kept changing under us"
        ))
    }
}
