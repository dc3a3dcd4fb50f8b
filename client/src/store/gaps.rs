//! Gaps the relay reported (deliveries it accepted and dropped before this
//! client stored them), in their own `gaps` tree so that a store written
//! before it existed simply has none.
//!
//! Key: the channel's public URL ‖ 0 ‖ first seq ‖ last seq (big-endian), so
//! a gap the relay sends again (its ack was lost) lands on the same key.
//! A gap stays until the user dismisses it (the TUI's banner); dismissed
//! ones are kept with the time, for `status`.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

/// One reported gap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GapRecord {
    /// The channel's public URL, as the relay named it.
    pub public_url: String,
    pub first_seq: u64,
    pub last_seq: u64,
    pub count: u64,
    /// Why the relay dropped them: `age`.
    pub reason: String,
    /// Unix milliseconds when this client first heard of it.
    pub noticed_at_ms: u64,
    /// When the user dismissed it; `None` while it is still news.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dismissed_at_ms: Option<u64>,
}

impl GapRecord {
    /// One line for a terminal.
    pub fn describe(&self) -> String {
        let what = if self.count == 1 {
            "delivery".to_owned()
        } else {
            format!("{} deliveries", self.count)
        };
        let why = match self.reason.as_str() {
            "age" => "they passed its queue age limit before this client stored them".to_owned(),
            other => format!("reason: {other}"),
        };
        format!(
            "the relay dropped {what} (seq {}..={}): {why}",
            self.first_seq, self.last_seq
        )
    }
}

fn key(gap: &GapRecord) -> Vec<u8> {
    let mut key = Vec::with_capacity(gap.public_url.len() + 17);
    key.extend_from_slice(gap.public_url.as_bytes());
    key.push(0);
    key.extend_from_slice(&gap.first_seq.to_be_bytes());
    key.extend_from_slice(&gap.last_seq.to_be_bytes());
    key
}

impl Store {
    /// Records a gap; false when it was already recorded (the relay sent it again).
    /// Durable after the next [`Store::flush`].
    pub fn record_gap(&self, gap: &GapRecord) -> Result<bool, StoreError> {
        let value = serde_json::to_vec(gap).map_err(StoreError::decode("gap"))?;
        let new = self
            .inner
            .gaps
            .compare_and_swap(key(gap), None::<&[u8]>, Some(value))?
            .is_ok();
        Ok(new)
    }

    /// Every recorded gap, dismissed or not, by channel then seq.
    pub fn gaps(&self) -> Result<Vec<GapRecord>, StoreError> {
        let mut out = Vec::new();
        for item in self.inner.gaps.iter() {
            let (_, v) = item?;
            out.push(serde_json::from_slice(&v).map_err(StoreError::decode("gap"))?);
        }
        Ok(out)
    }

    /// The gaps nobody dismissed yet: what the TUI's banner shows.
    pub fn open_gaps(&self) -> Result<Vec<GapRecord>, StoreError> {
        let mut gaps = self.gaps()?;
        gaps.retain(|g| g.dismissed_at_ms.is_none());
        Ok(gaps)
    }

    /// Marks every gap not yet dismissed as seen at `now_ms`; returns how many.
    pub fn dismiss_gaps(&self, now_ms: u64) -> Result<usize, StoreError> {
        let mut dismissed = 0;
        for item in self.inner.gaps.iter() {
            let (k, v) = item?;
            let mut gap: GapRecord =
                serde_json::from_slice(&v).map_err(StoreError::decode("gap"))?;
            if gap.dismissed_at_ms.is_none() {
                gap.dismissed_at_ms = Some(now_ms);
                let value = serde_json::to_vec(&gap).map_err(StoreError::decode("gap"))?;
                self.inner.gaps.insert(k, value)?;
                dismissed += 1;
            }
        }
        Ok(dismissed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(first: u64, last: u64) -> GapRecord {
        GapRecord {
            public_url: "http://127.0.0.1:1/h/abc".into(),
            first_seq: first,
            last_seq: last,
            count: last - first + 1,
            reason: "age".into(),
            noticed_at_ms: 1_000,
            dismissed_at_ms: None,
        }
    }

    #[tokio::test]
    async fn gaps_are_recorded_once_survive_reopening_and_can_be_dismissed() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            assert!(store.gaps().unwrap().is_empty(), "a fresh store has none");
            assert!(store.record_gap(&gap(0, 3)).unwrap());
            assert!(
                !store.record_gap(&gap(0, 3)).unwrap(),
                "sent again: same record"
            );
            assert!(store.record_gap(&gap(7, 7)).unwrap());
            store.flush().await.unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let gaps = store.gaps().unwrap();
        assert_eq!(gaps, vec![gap(0, 3), gap(7, 7)]);
        assert_eq!(store.dismiss_gaps(5_000).unwrap(), 2);
        assert_eq!(store.dismiss_gaps(6_000).unwrap(), 0);
        assert!(
            store
                .gaps()
                .unwrap()
                .iter()
                .all(|g| g.dismissed_at_ms == Some(5_000))
        );
        assert!(gaps[0].describe().contains("4 deliveries (seq 0..=3)"));
    }
}
