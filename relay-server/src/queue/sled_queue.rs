//! The sled implementation of [`ChannelQueue`].
//!
//! Key: channel id (24 bytes) ‖ seq (8, big-endian) ‖ delivery id (16), so a
//! prefix scan reads one channel in arrival order. Value: the delivery frame
//! (see `migrate` for the formats).
//!
//! Write-behind: a push lands in a per-channel staging map first and is
//! written to sled by [`ChannelQueue::maintain`] once it is `SPILL_AFTER`
//! old, or by [`ChannelQueue::flush`] at once. A connected client usually
//! acknowledges within a few milliseconds, so most passthrough deliveries
//! never cost a sled insert, a sled remove and a log write. Every staged seq
//! of a channel is above every seq of that channel in sled (spills take the
//! oldest first), so reads are sled then staging, in order.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hookline_protocol::{ChannelId, DeliveryId};

use super::sled_gaps::GapTrees;
use super::{ChannelQueue, Gap, QueueError, QueueStats, Queued};
use crate::QueueLimits;

pub(super) const CHANNEL_LEN: usize = 24;
const KEY_LEN: usize = CHANNEL_LEN + 8 + 16;

/// How often sled writes its log in the background. This is the durability
/// window of passthrough deliveries (see `ingress`), so it is kept short.
const FLUSH_EVERY_MS: u64 = 200;

/// How long a delivery stays in memory only. It widens the crash window
/// of a passthrough delivery from sled's flush interval by this much.
const SPILL_AFTER: Duration = Duration::from_millis(50);

#[derive(Debug)]
struct Staged {
    id: DeliveryId,
    at: Instant,
    frame: Bytes,
}

#[derive(Debug, Default)]
struct ChannelState {
    next_seq: u64,
    stats: QueueStats,
    /// Pushed, not yet in sled, by seq.
    staged: BTreeMap<u64, Staged>,
}

impl ChannelState {
    fn forget(&mut self, bytes: usize) {
        self.stats.count = self.stats.count.saturating_sub(1);
        self.stats.bytes = self.stats.bytes.saturating_sub(bytes as u64);
    }
}

/// The relay's queue in `<data_dir>/queue`.
#[derive(Debug)]
pub struct SledQueue {
    db: sled::Db,
    gaps: GapTrees,
    channels: RwLock<HashMap<ChannelId, Arc<Mutex<ChannelState>>>>,
}

fn key(channel: &ChannelId, seq: u64, id: DeliveryId) -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    key[..CHANNEL_LEN].copy_from_slice(channel.as_str().as_bytes());
    key[CHANNEL_LEN..CHANNEL_LEN + 8].copy_from_slice(&seq.to_be_bytes());
    key[CHANNEL_LEN + 8..].copy_from_slice(&id.to_bytes());
    key
}

/// (channel, seq, id) of a stored key; `None` for a key this queue never writes.
fn parse_key(key: &[u8]) -> Option<(ChannelId, u64, DeliveryId)> {
    if key.len() != KEY_LEN {
        return None;
    }
    let channel = ChannelId::parse(std::str::from_utf8(&key[..CHANNEL_LEN]).ok()?)?;
    let seq = u64::from_be_bytes(key[CHANNEL_LEN..CHANNEL_LEN + 8].try_into().ok()?);
    let id = DeliveryId::from_bytes(key[CHANNEL_LEN + 8..].try_into().ok()?);
    Some((channel, seq, id))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// sled's background flusher holds a closed database's file lock until its
/// next tick, so a relay reopened in the same process (a restart, a test)
/// waits that out instead of failing; another live process still fails fast
/// enough to report.
fn open_waiting_for_lock(config: &sled::Config) -> sled::Result<sled::Db> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            other => return other,
        }
    }
}

impl SledQueue {
    /// Opens (or creates) the queue and counts what it holds per channel.
    pub fn open(dir: &Path) -> Result<Self, QueueError> {
        let config = sled::Config::new()
            .path(dir.join("queue"))
            .flush_every_ms(Some(FLUSH_EVERY_MS));
        let db = open_waiting_for_lock(&config)?;
        super::migrate::migrate(&db)?;
        let mut channels: HashMap<ChannelId, ChannelState> = HashMap::new();
        for item in db.iter() {
            let (k, v) = item?;
            let Some((channel, seq, _)) = parse_key(&k) else {
                return Err(QueueError::Corrupt(format!(
                    "unexpected key of {} bytes",
                    k.len()
                )));
            };
            let state = channels.entry(channel).or_default();
            state.next_seq = state.next_seq.max(seq + 1);
            state.stats.count += 1;
            state.stats.bytes += v.len() as u64;
        }
        let gaps = GapTrees::open(&db)?;
        for channel in gaps.channels()? {
            let floor = gaps.floor(&channel)?;
            let state = channels.entry(channel).or_default();
            state.next_seq = state.next_seq.max(floor);
        }
        let channels = channels
            .into_iter()
            .map(|(c, s)| (c, Arc::new(Mutex::new(s))))
            .collect();
        Ok(Self {
            db,
            gaps,
            channels: RwLock::new(channels),
        })
    }

    fn channel(&self, channel: &ChannelId) -> Arc<Mutex<ChannelState>> {
        if let Some(state) = self
            .channels
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(channel)
        {
            return state.clone();
        }
        let mut map = self
            .channels
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(channel.clone()).or_default().clone()
    }

    fn all_channels(&self) -> Vec<(ChannelId, Arc<Mutex<ChannelState>>)> {
        let map = self
            .channels
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.iter().map(|(c, s)| (c.clone(), s.clone())).collect()
    }
}

impl ChannelQueue for SledQueue {
    fn push(
        &self,
        channel: &ChannelId,
        id: DeliveryId,
        frame: Bytes,
        limits: &QueueLimits,
    ) -> Result<u64, QueueError> {
        let state = self.channel(channel);
        let mut state = lock(&state);
        let incoming = frame.len() as u64;
        limits.admit(state.stats, incoming)?;
        let seq = state.next_seq;
        let at = Instant::now();
        state.staged.insert(seq, Staged { id, at, frame });
        state.next_seq += 1;
        state.stats.count += 1;
        state.stats.bytes += incoming;
        Ok(seq)
    }

    fn read_after(
        &self,
        channel: &ChannelId,
        after: Option<u64>,
        max: usize,
    ) -> Result<Vec<Queued>, QueueError> {
        let start = match after {
            Some(seq) if seq == u64::MAX => return Ok(Vec::new()),
            Some(seq) => key(channel, seq + 1, DeliveryId::from_bytes([0; 16])),
            None => key(channel, 0, DeliveryId::from_bytes([0; 16])),
        };
        let end = key(channel, u64::MAX, DeliveryId::from_bytes([0xFF; 16]));
        let state = self.channel(channel);
        // Held across both reads, so a spill cannot move an entry between them.
        let state = lock(&state);
        let mut out = Vec::new();
        for item in self.db.range(start..=end).take(max) {
            let (k, v) = item?;
            let Some((_, seq, id)) = parse_key(&k) else {
                continue;
            };
            out.push(Queued {
                seq,
                id,
                frame: Bytes::from_owner(v),
            });
        }
        let from = after.map_or(0, |seq| seq + 1);
        let room = max.saturating_sub(out.len());
        for (&seq, staged) in state.staged.range(from..).take(room) {
            let frame = staged.frame.clone();
            out.push(Queued {
                seq,
                id: staged.id,
                frame,
            });
        }
        Ok(out)
    }

    fn remove(&self, channel: &ChannelId, seq: u64, id: DeliveryId) -> Result<bool, QueueError> {
        let state = self.channel(channel);
        let mut state = lock(&state);
        if state.staged.get(&seq).is_some_and(|s| s.id == id) {
            if let Some(staged) = state.staged.remove(&seq) {
                state.forget(staged.frame.len());
            }
            return Ok(true);
        }
        let Some(old) = self.db.remove(key(channel, seq, id))? else {
            return Ok(false);
        };
        state.forget(old.len());
        Ok(true)
    }

    fn expire(&self, cutoff_ms: u64) -> Result<Vec<(ChannelId, DeliveryId)>, QueueError> {
        let mut expired = Vec::new();
        for (channel, state) in self.all_channels() {
            let mut state = lock(&state);
            let mut seqs = Vec::new();
            for item in self.db.scan_prefix(channel.as_str().as_bytes()) {
                let (k, _) = item?;
                let Some((_, seq, id)) = parse_key(&k) else {
                    continue;
                };
                // Seq order is arrival order, so the first young entry ends the scan.
                if id.unix_ms() >= cutoff_ms {
                    break;
                }
                if let Some(old) = self.db.remove(&k)? {
                    state.forget(old.len());
                    expired.push((channel.clone(), id));
                    seqs.push(seq);
                }
            }
            while let Some(entry) = state.staged.first_entry() {
                if entry.get().id.unix_ms() >= cutoff_ms {
                    break;
                }
                let seq = *entry.key();
                let staged = entry.remove();
                state.forget(staged.frame.len());
                expired.push((channel.clone(), staged.id));
                seqs.push(seq);
            }
            // Recorded while the channel is locked, so a client never sees
            // the entries gone without the gap that names them.
            self.gaps.add(&channel, &seqs, "age")?;
        }
        Ok(expired)
    }

    fn gaps(&self, channel: &ChannelId) -> Result<Vec<Gap>, QueueError> {
        self.gaps.list(channel)
    }

    fn forget_gap(
        &self,
        channel: &ChannelId,
        first_seq: u64,
        last_seq: u64,
    ) -> Result<bool, QueueError> {
        self.gaps.forget(channel, first_seq, last_seq)
    }

    fn stats(&self, channel: &ChannelId) -> QueueStats {
        let map = self
            .channels
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(channel).map(|s| lock(s).stats).unwrap_or_default()
    }

    fn totals(&self) -> QueueStats {
        self.all_channels()
            .iter()
            .fold(QueueStats::default(), |acc, (_, s)| {
                let s = lock(s).stats;
                QueueStats {
                    count: acc.count + s.count,
                    bytes: acc.bytes + s.bytes,
                }
            })
    }

    fn maintain(&self) -> Result<(), QueueError> {
        self.spill(SPILL_AFTER)
    }

    fn flush(&self) -> Result<(), QueueError> {
        self.spill(Duration::ZERO)?;
        self.db.flush()?;
        Ok(())
    }
}

impl SledQueue {
    /// Writes every staged delivery at least `age` old to sled, oldest first.
    fn spill(&self, age: Duration) -> Result<(), QueueError> {
        for (channel, state) in self.all_channels() {
            let mut state = lock(&state);
            let due = state
                .staged
                .iter()
                .take_while(|(_, s)| s.at.elapsed() >= age)
                .count();
            if due == 0 {
                continue;
            }
            let mut batch = sled::Batch::default();
            for (&seq, staged) in state.staged.iter().take(due) {
                batch.insert(&key(&channel, seq, staged.id)[..], staged.frame.as_ref());
            }
            self.db.apply_batch(batch)?;
            for _ in 0..due {
                state.staged.pop_first();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "sled_queue_tests.rs"]
mod tests;
