//! Delivery ids that sort by the time they were made.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Crockford's base32: no I, L, O or U, so ids survive being read aloud or retyped.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Length of the text form: 128 bits in base32.
pub const ID_LEN: usize = 26;

/// A ULID-shaped id: 48 bits of Unix milliseconds then 80 random bits, written
/// as 26 base32 characters. Ids made later sort later both as text and as
/// bytes, so the stores can key by id and read in arrival order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeliveryId(u128);

impl DeliveryId {
    /// A fresh id for a delivery received now.
    pub fn generate() -> Self {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Self::from_parts(ms, rand::random())
    }

    /// An id with the given time and randomness (only the low 80 bits are used).
    pub fn from_parts(unix_ms: u64, random: u128) -> Self {
        let time = u128::from(unix_ms & 0xFFFF_FFFF_FFFF) << 80;
        Self(time | (random & ((1u128 << 80) - 1)))
    }

    /// The Unix time in milliseconds encoded in the id.
    pub fn unix_ms(self) -> u64 {
        (self.0 >> 80) as u64
    }

    /// Big-endian bytes: byte order equals time order, for use as a store key.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(u128::from_be_bytes(bytes))
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; ID_LEN];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 5 * (ID_LEN - 1 - i);
            *slot = ALPHABET[((self.0 >> shift) & 0x1F) as usize];
        }
        // The alphabet is ASCII, so this cannot fail.
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeliveryId({self})")
    }
}

/// Why a string is not a delivery id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid delivery id {0:?}: expected 26 base32 characters")]
pub struct InvalidId(pub String);

impl FromStr for DeliveryId {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != ID_LEN {
            return Err(InvalidId(s.to_owned()));
        }
        let mut value: u128 = 0;
        for (i, c) in s.bytes().enumerate() {
            let digit = decode_char(c).ok_or_else(|| InvalidId(s.to_owned()))?;
            // The first character carries only 3 bits (26 * 5 = 130 > 128).
            if i == 0 && digit > 7 {
                return Err(InvalidId(s.to_owned()));
            }
            value = (value << 5) | u128::from(digit);
        }
        Ok(Self(value))
    }
}

/// Decodes one base32 character; lowercase and the usual look-alikes are accepted.
fn decode_char(c: u8) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        b'O' => b'0',
        b'I' | b'L' => b'1',
        c => c,
    };
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u8)
}

impl Serialize for DeliveryId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeliveryId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        let id = DeliveryId::generate();
        let text = id.to_string();
        assert_eq!(text.len(), ID_LEN);
        assert_eq!(text.parse::<DeliveryId>().unwrap(), id);
        assert_eq!(text.to_lowercase().parse::<DeliveryId>().unwrap(), id);
    }

    #[test]
    fn later_ids_sort_later_as_text_and_bytes() {
        let a = DeliveryId::from_parts(1_780_000_000_000, u128::MAX);
        let b = DeliveryId::from_parts(1_780_000_000_001, 0);
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
        assert!(a.to_bytes() < b.to_bytes());
        assert_eq!(b.unix_ms(), 1_780_000_000_001);
    }

    #[test]
    fn known_encoding_is_pinned() {
        let id = DeliveryId::from_parts(1_780_000_000_000, 0);
        assert_eq!(id.to_string(), "01KSR492000000000000000000");
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "",
            "short",
            "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "0000000000000000000000000!",
            "01KSR492000000000000000000X",
        ] {
            assert!(bad.parse::<DeliveryId>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn generated_ids_differ() {
        assert_ne!(DeliveryId::generate(), DeliveryId::generate());
    }
}
