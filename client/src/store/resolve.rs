//! Finding a delivery from what a person types: `latest`, `latest~N`, or
//! the start or the end of its id. Every command that takes an id (`show`,
//! `replay`, `export`) comes here, directly or through the listener.
//!
//! Ids start with their millisecond, so deliveries received close together
//! share their first 9 or 10 characters and a short prefix rarely names one.
//! The last characters are random: `list` shows [`SHORT_ID_LEN`] of them,
//! and they name a delivery as well as the whole id does in practice.

use std::collections::BTreeSet;

use hookline_protocol::{DeliveryId, ID_LEN};

use super::read::key_to_id;
use super::{Store, StoreError};

/// Characters of an id's end that `list` shows: 30 random bits, so among
/// 10,000 stored deliveries a given one shares them with another with odds
/// of about 1 in 100,000 (and then the error lists both).
pub const SHORT_ID_LEN: usize = 6;

/// Shortest end of an id taken as a suffix; shorter text is only a prefix
/// (a suffix of 1 to 3 characters would match whatever happens to end so).
const MIN_SUFFIX_LEN: usize = 4;

/// Crockford base32, as ids are written.
const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Candidates listed in an ambiguity error.
pub(super) const MAX_CANDIDATES: usize = 10;

impl Store {
    /// The one stored delivery that `given` names:
    /// - `latest` is the newest, `latest~1` the one before, and so on;
    /// - otherwise the start of an id (like git's abbreviated hashes) or its
    ///   end (at least 4 characters, as `list` shows it); case-insensitive,
    ///   Crockford look-alikes (`o`, `i`, `l`) accepted.
    ///
    /// Text that matches several deliveries, as a start or an end, is an
    /// error listing them.
    pub fn resolve(&self, given: &str) -> Result<DeliveryId, StoreError> {
        let invalid = || StoreError::InvalidPrefix {
            prefix: given.to_owned(),
        };
        if let Some(back) = latest_offset(given.trim()).map_err(|()| invalid())? {
            return self.nth_newest(given, back);
        }
        let digits = normalise(given.trim()).ok_or_else(invalid)?;
        let mut found = BTreeSet::new();
        match prefix_bounds(&digits) {
            Some((low, high)) => {
                for entry in self.inner.summaries.range(low.to_bytes()..=high.to_bytes()) {
                    found.insert(key_to_id(&entry?.0)?);
                    if found.len() > MAX_CANDIDATES {
                        break;
                    }
                }
            }
            // Not the start of any id (ids begin with 0-7): only an end can match.
            None if digits.len() >= MIN_SUFFIX_LEN => {}
            None => return Err(invalid()),
        }
        if digits.len() >= MIN_SUFFIX_LEN {
            self.suffix_matches(&digits, &mut found)?;
        }
        let mut found: Vec<DeliveryId> = found.into_iter().rev().collect();
        match found.len() {
            0 => Err(StoreError::Unknown {
                prefix: given.to_owned(),
            }),
            1 => Ok(found[0]),
            _ => {
                found.truncate(MAX_CANDIDATES + 1);
                Err(StoreError::Ambiguous {
                    prefix: given.to_owned(),
                    candidates: found,
                })
            }
        }
    }

    /// Ids ending in `digits`, added to `found` until it holds more than
    /// [`MAX_CANDIDATES`]. A scan of the keys only: no summary is decoded.
    fn suffix_matches(
        &self,
        digits: &str,
        found: &mut BTreeSet<DeliveryId>,
    ) -> Result<(), StoreError> {
        for key in self.inner.summaries.iter().keys().rev() {
            let id = key_to_id(&key?)?;
            if id.to_string().ends_with(digits) {
                found.insert(id);
                if found.len() > MAX_CANDIDATES {
                    break;
                }
            }
        }
        Ok(())
    }

    /// The delivery `back` places before the newest.
    fn nth_newest(&self, given: &str, back: usize) -> Result<DeliveryId, StoreError> {
        match self.inner.summaries.iter().keys().rev().nth(back) {
            Some(key) => key_to_id(&key?),
            None => Err(StoreError::TooFarBack {
                given: given.to_owned(),
                stored: self.counts()?.total,
            }),
        }
    }
}

/// `latest` → 0, `latest~N` → N (`latest~` alone is `latest~1`, as in git);
/// `Ok(None)` for anything else, `Err` for `latest~` followed by a non-number.
fn latest_offset(text: &str) -> Result<Option<usize>, ()> {
    let lower = text.to_ascii_lowercase();
    if lower == "latest" {
        return Ok(Some(0));
    }
    match lower.strip_prefix("latest~") {
        None => Ok(None),
        Some("") => Ok(Some(1)),
        Some(n) => n.parse().map(Some).map_err(drop),
    }
}

/// `text` in the canonical spelling of ids (uppercase, look-alikes
/// replaced), or `None` when it cannot be part of an id.
fn normalise(text: &str) -> Option<String> {
    if text.is_empty() || text.len() > ID_LEN {
        return None;
    }
    text.chars()
        .map(|c| match c.to_ascii_uppercase() {
            'O' => Some('0'),
            'I' | 'L' => Some('1'),
            c if ALPHABET.contains(c) => Some(c),
            _ => None,
        })
        .collect()
}

/// The lowest and highest ids whose text starts with `digits`: padded with
/// the smallest and the largest base32 digit. `None` when no id starts so.
fn prefix_bounds(digits: &str) -> Option<(DeliveryId, DeliveryId)> {
    let pad = |c: char| format!("{digits}{}", c.to_string().repeat(ID_LEN - digits.len()));
    Some((pad('0').parse().ok()?, pad('Z').parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_forms() {
        assert_eq!(latest_offset("latest"), Ok(Some(0)));
        assert_eq!(latest_offset("LATEST~3"), Ok(Some(3)));
        assert_eq!(latest_offset("latest~"), Ok(Some(1)));
        assert_eq!(latest_offset("latest~x"), Err(()));
        assert_eq!(latest_offset("01KQ"), Ok(None));
    }

    #[test]
    fn spelling_is_normalised() {
        assert_eq!(normalise("o1kq5z").as_deref(), Some("01KQ5Z"));
        assert_eq!(normalise("ab-c"), None);
        assert_eq!(normalise("u"), None);
        assert_eq!(normalise(""), None);
        assert!(prefix_bounds("8ZZ").is_none());
        assert!(prefix_bounds("01K").is_some());
    }
}
