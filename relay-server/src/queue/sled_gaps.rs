//! Gaps of the sled queue: what [`ChannelQueue::expire`] dropped, kept in a
//! `gaps` tree until the channel's client says it recorded them.
//!
//! Key: channel id (24 bytes) ‖ first seq (8, big-endian); value: the
//! [`Gap`] as JSON. A queue from before this tree existed simply has it
//! empty. A `seq_floor` tree keeps, per channel, one past the last seq any
//! gap named, so a restart with an empty queue never numbers a new delivery
//! with a seq a client already knows as missing.
//!
//! [`ChannelQueue::expire`]: super::ChannelQueue::expire

use hookline_protocol::ChannelId;

use super::sled_queue::CHANNEL_LEN;
use super::{Gap, QueueError};

/// Gaps kept per channel; past this, a new one widens the newest instead, so a
/// channel whose client never comes back costs bounded space.
pub(super) const MAX_GAPS_PER_CHANNEL: usize = 64;

fn key(channel: &ChannelId, first_seq: u64) -> [u8; CHANNEL_LEN + 8] {
    let mut key = [0u8; CHANNEL_LEN + 8];
    key[..CHANNEL_LEN].copy_from_slice(channel.as_str().as_bytes());
    key[CHANNEL_LEN..].copy_from_slice(&first_seq.to_be_bytes());
    key
}

/// The two trees, opened from the queue's database.
#[derive(Debug)]
pub(super) struct GapTrees {
    gaps: sled::Tree,
    floor: sled::Tree,
}

impl GapTrees {
    pub(super) fn open(db: &sled::Db) -> Result<Self, QueueError> {
        Ok(Self {
            gaps: db.open_tree("gaps")?,
            floor: db.open_tree("seq_floor")?,
        })
    }

    /// The lowest seq a new delivery of `channel` may take.
    pub(super) fn floor(&self, channel: &ChannelId) -> Result<u64, QueueError> {
        let mut floor = match self.floor.get(channel.as_str())? {
            Some(v) => u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8])),
            None => 0,
        };
        for gap in self.list(channel)? {
            floor = floor.max(gap.last_seq.saturating_add(1));
        }
        Ok(floor)
    }

    /// Channels with a floor or a gap, for the queue to number on open.
    pub(super) fn channels(&self) -> Result<Vec<ChannelId>, QueueError> {
        let mut out = Vec::new();
        for item in self.floor.iter().chain(self.gaps.iter()) {
            let (k, _) = item?;
            let Some(id) = k
                .get(..CHANNEL_LEN)
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(ChannelId::parse)
            else {
                continue;
            };
            if !out.contains(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// Records the seqs (ascending) just dropped from `channel` for `reason`.
    pub(super) fn add(
        &self,
        channel: &ChannelId,
        seqs: &[u64],
        reason: &str,
    ) -> Result<(), QueueError> {
        let (Some(&first_seq), Some(&last_seq)) = (seqs.first(), seqs.last()) else {
            return Ok(());
        };
        let mut gap = Gap {
            first_seq,
            last_seq,
            count: seqs.len() as u64,
            reason: reason.to_owned(),
        };
        let existing = self.list(channel)?;
        if existing.len() >= MAX_GAPS_PER_CHANNEL
            && let Some(newest) = existing.last()
        {
            // Widened in place: the client's ack names the old last seq, so
            // it cannot forget the widened gap by mistake.
            gap = Gap {
                first_seq: newest.first_seq,
                last_seq: newest.last_seq.max(last_seq),
                count: newest.count + gap.count,
                reason: if newest.reason == reason {
                    newest.reason.clone()
                } else {
                    "several".into()
                },
            };
        }
        let value =
            serde_json::to_vec(&gap).map_err(|e| QueueError::Corrupt(format!("gap: {e}")))?;
        self.gaps.insert(key(channel, gap.first_seq), value)?;
        Ok(())
    }

    /// The channel's gaps not yet recorded by its client, oldest first.
    pub(super) fn list(&self, channel: &ChannelId) -> Result<Vec<Gap>, QueueError> {
        let mut out = Vec::new();
        for item in self.gaps.scan_prefix(channel.as_str().as_bytes()) {
            let (_, v) = item?;
            match serde_json::from_slice::<Gap>(&v) {
                Ok(gap) => out.push(gap),
                Err(e) => tracing::warn!("unreadable gap record skipped: {e}"),
            }
        }
        Ok(out)
    }

    /// Forgets a gap once its client recorded exactly this range.
    pub(super) fn forget(
        &self,
        channel: &ChannelId,
        first_seq: u64,
        last_seq: u64,
    ) -> Result<bool, QueueError> {
        let key = key(channel, first_seq);
        let Some(v) = self.gaps.get(key)? else {
            return Ok(false);
        };
        let gap: Gap =
            serde_json::from_slice(&v).map_err(|e| QueueError::Corrupt(format!("gap: {e}")))?;
        if gap.last_seq != last_seq {
            return Ok(false);
        }
        let floor = self.floor(channel)?.max(last_seq.saturating_add(1));
        self.floor.insert(channel.as_str(), &floor.to_be_bytes())?;
        self.gaps.remove(key)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use hookline_protocol::{DeliveryId, Secret};

    use super::*;
    use crate::QueueLimits;
    use crate::queue::{ChannelQueue, SledQueue};

    fn limits() -> QueueLimits {
        QueueLimits {
            max_count: 100,
            max_bytes: 10_000,
            max_age: std::time::Duration::from_secs(60),
        }
    }

    fn push_at(q: &SledQueue, channel: &ChannelId, ms: u64) -> (u64, DeliveryId) {
        let id = DeliveryId::from_parts(ms, 1);
        let seq = q
            .push(channel, id, Bytes::from_static(b"x"), &limits())
            .unwrap();
        (seq, id)
    }

    #[test]
    fn expiry_records_a_durable_gap_until_the_client_records_it() {
        let dir = tempfile::tempdir().unwrap();
        let a = ChannelId::derive(&Secret::new("gap-test"), "a");
        let b = ChannelId::derive(&Secret::new("gap-test"), "b");
        {
            let q = SledQueue::open(dir.path()).unwrap();
            for ms in [1_000, 1_001, 1_002] {
                push_at(&q, &a, ms);
            }
            q.flush().unwrap();
            push_at(&q, &a, 1_003); // still staged in memory
            push_at(&q, &a, 9_000);
            assert_eq!(q.expire(2_000).unwrap().len(), 4);
            let gap = Gap {
                first_seq: 0,
                last_seq: 3,
                count: 4,
                reason: "age".into(),
            };
            assert_eq!(q.gaps(&a).unwrap(), vec![gap]);
            assert!(q.gaps(&b).unwrap().is_empty(), "gaps are per channel");
            q.flush().unwrap();
        }
        let q = SledQueue::open(dir.path()).unwrap();
        assert_eq!(q.gaps(&a).unwrap().len(), 1, "a gap survives a restart");
        assert!(
            !q.forget_gap(&a, 0, 2).unwrap(),
            "a different range forgets nothing"
        );
        assert!(
            !q.forget_gap(&b, 0, 3).unwrap(),
            "another channel forgets nothing"
        );
        assert!(q.forget_gap(&a, 0, 3).unwrap());
        assert!(q.gaps(&a).unwrap().is_empty());
    }

    #[test]
    fn numbers_named_by_a_gap_are_never_reused_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let a = ChannelId::derive(&Secret::new("gap-test"), "a");
        {
            let q = SledQueue::open(dir.path()).unwrap();
            push_at(&q, &a, 1_000);
            push_at(&q, &a, 1_001);
            q.expire(5_000).unwrap();
            assert!(q.forget_gap(&a, 0, 1).unwrap());
            q.flush().unwrap();
        }
        let q = SledQueue::open(dir.path()).unwrap();
        assert_eq!(
            push_at(&q, &a, 9_000).0,
            2,
            "the queue was empty, yet seq goes on"
        );
    }

    #[test]
    fn gaps_per_channel_are_bounded_by_widening_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let a = ChannelId::derive(&Secret::new("gap-test"), "a");
        let q = SledQueue::open(dir.path()).unwrap();
        for i in 0..(MAX_GAPS_PER_CHANNEL as u64 + 5) {
            push_at(&q, &a, 1_000 + i);
            q.expire(1_001 + i).unwrap();
        }
        let gaps = q.gaps(&a).unwrap();
        assert_eq!(gaps.len(), MAX_GAPS_PER_CHANNEL);
        let newest = gaps.last().unwrap();
        assert_eq!(newest.last_seq, MAX_GAPS_PER_CHANNEL as u64 + 4);
        assert_eq!(newest.count, 6);
        assert_eq!(
            gaps.iter().map(|g| g.count).sum::<u64>(),
            MAX_GAPS_PER_CHANNEL as u64 + 5
        );
    }
}
