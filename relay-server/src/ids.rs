//! Delivery ids without a system call per request.
//!
//! `DeliveryId::generate` asks the OS for randomness every time, which is one
//! `getrandom` syscall per webhook on the hot path. Delivery ids need to be
//! unique and time-ordered, not secret (the channel id is the unguessable
//! part of a URL), so each thread seeds a SplitMix64 stream from the OS once.

use std::cell::Cell;

use hookline_protocol::DeliveryId;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // Without OS randomness, the time and thread still make streams differ.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let thread = format!("{:?}", std::thread::current().id());
        return nanos
            ^ thread
                .bytes()
                .fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(b));
    }
    u64::from_le_bytes(bytes)
}

/// SplitMix64: one multiply-xorshift step per output, full 2^64 period.
fn next() -> u64 {
    STATE.with(|state| {
        let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// A fresh id for a delivery received at `unix_ms`.
pub(crate) fn delivery_id(unix_ms: u64) -> DeliveryId {
    let random = (u128::from(next()) << 64) | u128::from(next());
    DeliveryId::from_parts(unix_ms, random)
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
