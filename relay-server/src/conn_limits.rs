//! Connection slots: each listener's cap on open connections, and a cap per
//! source address shared by every listener, so that one address flooding the
//! relay with slow or idle connections cannot take all the slots.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OwnedSemaphorePermit;

/// Whom a per-address limit counts: one IPv4 address, or one IPv6 /64,
/// since a single IPv6 host is usually handed a whole /64 to pick from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SourceKey {
    V4([u8; 4]),
    V6Net([u8; 8]),
}

impl From<IpAddr> for SourceKey {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self::V4(v4.octets()),
            IpAddr::V6(v6) => {
                let mut net = [0u8; 8];
                net.copy_from_slice(&v6.octets()[..8]);
                Self::V6Net(net)
            }
        }
    }
}

impl fmt::Display for SourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(o) => write!(f, "{}", std::net::Ipv4Addr::from(*o)),
            Self::V6Net(n) => {
                let mut octets = [0u8; 16];
                octets[..8].copy_from_slice(n);
                write!(f, "{}/64", std::net::Ipv6Addr::from(octets))
            }
        }
    }
}

/// Open connections per source, bounded by `cap`. Entries exist only while a
/// source has a connection open, so the map is bounded by the listeners'
/// connection caps.
#[derive(Debug)]
pub(crate) struct PerSourceLimit {
    cap: usize,
    open: Mutex<HashMap<SourceKey, usize>>,
}

impl PerSourceLimit {
    pub(crate) fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for one more connection from `key`, or `None` at the cap.
    pub(crate) fn try_acquire(self: &Arc<Self>, key: SourceKey) -> Option<SourceSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(key).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(SourceSlot {
            limit: self.clone(),
            key,
        })
    }

    /// Connections open from `key` right now.
    #[cfg(test)]
    fn open(&self, key: SourceKey) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&key).copied().unwrap_or(0)
    }
}

/// One connection counted against its source; released on drop.
#[derive(Debug)]
pub(crate) struct SourceSlot {
    limit: Arc<PerSourceLimit>,
    key: SourceKey,
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = self
            .limit
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Everything one connection holds while open: its listener slot and, unless
/// it comes from a trusted proxy, its source's slot. A WebSocket session
/// keeps it after the upgrade, so sessions count against both caps.
#[derive(Debug)]
pub(crate) struct Slot {
    pub _listener: OwnedSemaphorePermit,
    pub _source: Option<SourceSlot>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_at_its_cap_is_refused_until_a_slot_is_released() {
        let limit = PerSourceLimit::new(2);
        let a = SourceKey::from("127.0.0.1".parse::<IpAddr>().unwrap());
        let b = SourceKey::from("127.0.0.2".parse::<IpAddr>().unwrap());
        let first = limit.try_acquire(a).unwrap();
        let _second = limit.try_acquire(a).unwrap();
        assert!(limit.try_acquire(a).is_none());
        let _other = limit.try_acquire(b).expect("another source has room");
        drop(first);
        assert_eq!(limit.open(a), 1);
        assert!(limit.try_acquire(a).is_some());
    }

    #[test]
    fn ipv6_hosts_count_by_their_64_and_mapped_v4_as_v4() {
        let key = |s: &str| SourceKey::from(s.parse::<IpAddr>().unwrap());
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
        assert_eq!(key("2001:db8:1:2::1").to_string(), "2001:db8:1:2::/64");
        assert_eq!(key("192.0.2.7").to_string(), "192.0.2.7");
    }
}
