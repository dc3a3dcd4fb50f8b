//! Delivery ids without a system call per request: the random part comes
//! from the thread's generator (seeded from the OS once, reseeded as it
//! goes), not from `getrandom` per webhook. Ids need to be unique and
//! time-ordered, not secret: the channel id is the unguessable part of a URL.

use hookline_protocol::DeliveryId;

/// A fresh id for a delivery received at `unix_ms`.
pub(crate) fn delivery_id(unix_ms: u64) -> DeliveryId {
    DeliveryId::from_parts(unix_ms, rand::random())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_unique_and_carry_the_time() {
        let ids: HashSet<DeliveryId> = (0..10_000)
            .map(|_| delivery_id(1_780_000_000_000))
            .collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|id| id.unix_ms() == 1_780_000_000_000));
        assert!(
            delivery_id(1) < delivery_id(2),
            "later milliseconds sort later"
        );
    }
}
