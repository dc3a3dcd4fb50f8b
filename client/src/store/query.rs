//! What a list asks for: filters, a cursor and a page size, and the tiny glob
//! matcher event filters use.

use hookline_protocol::DeliveryId;
use serde::{Deserialize, Serialize};

use super::rows::{DeliveryStatus, Summary};
use crate::model::VerdictKind;

/// Largest page one request may ask for, so a control client cannot make the
/// listener build an unbounded answer.
pub const MAX_PAGE: usize = 1000;

/// One page request: newest first, starting just before `before` (the `next`
/// of the previous page), at most `limit` items.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListQuery {
    pub filter: Filter,
    pub before: Option<DeliveryId>,
    /// Page size, clamped to `1..=MAX_PAGE`.
    pub limit: usize,
}

/// A page of summaries, newest first; `next` is the cursor for the following
/// page, `None` when this was the last.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub items: Vec<Summary>,
    pub next: Option<DeliveryId>,
}

/// Conditions a summary must all meet (unset ones match everything).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    /// Event type glob, e.g. `email.*`; several separated by commas.
    pub event: Option<Glob>,
    /// See [`Summary::has_status`] for what each state selects.
    pub status: Option<DeliveryStatus>,
    /// Received at or after this Unix millisecond.
    pub since_ms: Option<u64>,
    /// Case-insensitive substring of the id, event type, method or path.
    pub text: Option<String>,
    pub verdict: Option<VerdictKind>,
    /// First digit of the last status, e.g. 5 for any 5xx.
    pub status_class: Option<u16>,
}

impl Filter {
    pub fn matches(&self, s: &Summary) -> bool {
        self.event
            .as_ref()
            .is_none_or(|g| g.matches(s.event.as_deref().unwrap_or("")))
            && self.status.is_none_or(|st| s.has_status(st))
            && self.since_ms.is_none_or(|t| s.received_at_ms >= t)
            && self.verdict.is_none_or(|v| s.verdict == v)
            && self
                .status_class
                .is_none_or(|c| s.last_status.is_some_and(|st| st / 100 == c))
            && self.text.as_deref().is_none_or(|t| text_matches(s, t))
    }

    /// Ids are time-ordered, so a scan can stop once ids are well before
    /// `since_ms`; the minute of slack covers relay ids minted slightly
    /// before the request finished arriving.
    pub(crate) fn scan_floor_ms(&self) -> Option<u64> {
        self.since_ms.map(|t| t.saturating_sub(60_000))
    }
}

fn text_matches(s: &Summary, needle: &str) -> bool {
    let needle = needle.to_lowercase();
    let id = s.id.to_string().to_lowercase();
    [
        Some(id.as_str()),
        s.event.as_deref(),
        Some(&s.method),
        Some(&s.path),
    ]
    .into_iter()
    .flatten()
    .any(|hay| hay.to_lowercase().contains(&needle))
}

/// A glob over event types: `*` matches any run of characters, `?` exactly
/// one, and commas separate alternatives (`email.*,contact.created`), the
/// same syntax as `listen --events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Glob(String);

impl Glob {
    pub fn new(pattern: impl Into<String>) -> Self {
        Self(pattern.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, text: &str) -> bool {
        self.0
            .split(',')
            .map(str::trim)
            .any(|alt| glob_match(alt.as_bytes(), text.as_bytes()))
    }
}

/// Iterative matcher with single-star backtracking: linear in practice, and
/// never exponential on patterns like `*a*a*a*b`.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_cases() {
        let yes = [
            ("email.*", "email.opened"),
            ("*", ""),
            ("e?ail.*d", "email.clicked"),
            ("a,b*", "bee"),
        ];
        for (p, t) in yes {
            assert!(Glob::new(p).matches(t), "{p} should match {t}");
        }
        let no = [
            ("email.*", "contact.created"),
            ("?", ""),
            ("email.opened", "email.opened2"),
            ("*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac"),
        ];
        for (p, t) in no {
            assert!(!Glob::new(p).matches(t), "{p} should not match {t}");
        }
    }
}
