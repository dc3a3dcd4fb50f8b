//! The sled implementation of [`ChannelQueue`].
//!
//! Key: channel id (24 bytes) ‖ seq (8, big-endian) ‖ delivery id (16), so a
//! prefix scan reads one channel in arrival order. Value: the delivery JSON.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use hookline_protocol::{ChannelId, DeliveryId};

use super::{ChannelQueue, QueueError, QueueStats, Queued};
use crate::QueueLimits;

const CHANNEL_LEN: usize = 24;
const KEY_LEN: usize = CHANNEL_LEN + 8 + 16;

/// How often sled writes its log in the background. This is the durability
/// window of passthrough deliveries (see `ingress`), so it is kept short.
const FLUSH_EVERY_MS: u64 = 200;

#[derive(Debug, Default)]
struct ChannelState {
    next_seq: u64,
    stats: QueueStats,
}

/// The relay's queue in `<data_dir>/queue`.
#[derive(Debug)]
pub struct SledQueue {
    db: sled::Db,
    channels: RwLock<HashMap<ChannelId, Arc<Mutex<ChannelState>>>>,
}

fn storage(e: impl std::fmt::Display) -> QueueError {
    QueueError::Storage(e.to_string())
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

impl SledQueue {
    /// Opens (or creates) the queue and counts what it holds per channel.
    pub fn open(dir: &Path) -> Result<Self, QueueError> {
        let db = sled::Config::new()
            .path(dir.join("queue"))
            .flush_every_ms(Some(FLUSH_EVERY_MS))
            .open()
            .map_err(storage)?;
        let mut channels: HashMap<ChannelId, ChannelState> = HashMap::new();
        for item in db.iter() {
            let (k, v) = item.map_err(storage)?;
            let Some((channel, seq, _)) = parse_key(&k) else {
                return Err(QueueError::Storage(format!(
                    "unexpected key of {} bytes in the queue",
                    k.len()
                )));
            };
            let state = channels.entry(channel).or_default();
            state.next_seq = state.next_seq.max(seq + 1);
            state.stats.count += 1;
            state.stats.bytes += v.len() as u64;
        }
        let channels = channels
            .into_iter()
            .map(|(c, s)| (c, Arc::new(Mutex::new(s))))
            .collect();
        Ok(Self {
            db,
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
        json: &[u8],
        limits: &QueueLimits,
    ) -> Result<u64, QueueError> {
        let state = self.channel(channel);
        let mut state = lock(&state);
        let QueueStats { count, bytes } = state.stats;
        if count >= limits.max_count {
            return Err(QueueError::FullCount {
                count,
                limit: limits.max_count,
            });
        }
        let incoming = json.len() as u64;
        if bytes + incoming > limits.max_bytes {
            return Err(QueueError::FullBytes {
                bytes,
                incoming,
                limit: limits.max_bytes,
            });
        }
        let seq = state.next_seq;
        self.db
            .insert(key(channel, seq, id), json)
            .map_err(storage)?;
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
        let mut out = Vec::new();
        for item in self.db.range(start..=end).take(max) {
            let (k, v) = item.map_err(storage)?;
            let Some((_, seq, id)) = parse_key(&k) else {
                continue;
            };
            out.push(Queued {
                seq,
                id,
                json: Bytes::from_owner(v),
            });
        }
        Ok(out)
    }

    fn remove(&self, channel: &ChannelId, seq: u64, id: DeliveryId) -> Result<bool, QueueError> {
        let state = self.channel(channel);
        let mut state = lock(&state);
        let Some(old) = self.db.remove(key(channel, seq, id)).map_err(storage)? else {
            return Ok(false);
        };
        state.stats.count = state.stats.count.saturating_sub(1);
        state.stats.bytes = state.stats.bytes.saturating_sub(old.len() as u64);
        Ok(true)
    }

    fn expire(&self, cutoff_ms: u64) -> Result<Vec<(ChannelId, DeliveryId)>, QueueError> {
        let mut expired = Vec::new();
        for (channel, state) in self.all_channels() {
            let mut state = lock(&state);
            for item in self.db.scan_prefix(channel.as_str().as_bytes()) {
                let (k, _) = item.map_err(storage)?;
                let Some((_, _, id)) = parse_key(&k) else {
                    continue;
                };
                // Seq order is arrival order, so the first young entry ends the scan.
                if id.unix_ms() >= cutoff_ms {
                    break;
                }
                if let Some(old) = self.db.remove(&k).map_err(storage)? {
                    state.stats.count = state.stats.count.saturating_sub(1);
                    state.stats.bytes = state.stats.bytes.saturating_sub(old.len() as u64);
                    expired.push((channel.clone(), id));
                }
            }
        }
        Ok(expired)
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

    fn flush(&self) -> Result<(), QueueError> {
        self.db.flush().map(drop).map_err(storage)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hookline_protocol::Secret;

    use super::*;

    fn limits(count: u64, bytes: u64) -> QueueLimits {
        QueueLimits {
            max_count: count,
            max_bytes: bytes,
            max_age: Duration::from_secs(60),
        }
    }

    fn chan(name: &str) -> ChannelId {
        ChannelId::derive(&Secret::new("unit-test-token"), name)
    }

    #[test]
    fn reads_in_order_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (chan("a"), chan("b"));
        {
            let q = SledQueue::open(dir.path()).unwrap();
            for i in 0..5u8 {
                q.push(&a, DeliveryId::generate(), &[i], &limits(100, 1000))
                    .unwrap();
            }
            q.push(&b, DeliveryId::generate(), b"other", &limits(100, 1000))
                .unwrap();
            q.flush().unwrap();
        }
        let q = SledQueue::open(dir.path()).unwrap();
        assert_eq!(q.stats(&a), QueueStats { count: 5, bytes: 5 });
        let all = q.read_after(&a, None, 100).unwrap();
        assert_eq!(
            all.iter().map(|e| e.json[0]).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        let rest = q.read_after(&a, Some(all[2].seq), 100).unwrap();
        assert_eq!(rest.len(), 2);
        let seq = q
            .push(&a, DeliveryId::generate(), b"x", &limits(100, 1000))
            .unwrap();
        assert!(seq > all[4].seq, "seq continues after a reopen");
    }

    #[test]
    fn bounds_by_count_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let q = SledQueue::open(dir.path()).unwrap();
        let a = chan("a");
        q.push(&a, DeliveryId::generate(), b"12345", &limits(2, 8))
            .unwrap();
        let full = q.push(&a, DeliveryId::generate(), b"6789", &limits(2, 8));
        assert!(
            matches!(full, Err(QueueError::FullBytes { .. })),
            "{full:?}"
        );
        q.push(&a, DeliveryId::generate(), b"6", &limits(2, 8))
            .unwrap();
        let full = q.push(&a, DeliveryId::generate(), b"7", &limits(2, 8));
        assert!(
            matches!(full, Err(QueueError::FullCount { .. })),
            "{full:?}"
        );
    }

    #[test]
    fn remove_only_hits_its_own_channel() {
        let dir = tempfile::tempdir().unwrap();
        let q = SledQueue::open(dir.path()).unwrap();
        let (a, b) = (chan("a"), chan("b"));
        let id = DeliveryId::generate();
        let seq = q.push(&a, id, b"x", &limits(10, 100)).unwrap();
        assert!(!q.remove(&b, seq, id).unwrap());
        assert!(q.remove(&a, seq, id).unwrap());
        assert!(!q.remove(&a, seq, id).unwrap());
        assert_eq!(q.totals(), QueueStats::default());
    }

    #[test]
    fn expires_old_entries_only() {
        let dir = tempfile::tempdir().unwrap();
        let q = SledQueue::open(dir.path()).unwrap();
        let a = chan("a");
        let old = DeliveryId::from_parts(1_000, 1);
        q.push(&a, old, b"old", &limits(10, 100)).unwrap();
        q.push(
            &a,
            DeliveryId::from_parts(5_000, 1),
            b"new",
            &limits(10, 100),
        )
        .unwrap();
        assert_eq!(q.expire(2_000).unwrap(), vec![(a.clone(), old)]);
        assert_eq!(q.stats(&a).count, 1);
    }
}
