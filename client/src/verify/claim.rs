//! What a request claims (signatures, signed content, timestamp) and how the
//! configured secrets turn that claim into a verdict.

use hookline_protocol::Secret;

use super::scheme::{Digest, Scheme};
use super::{keys, mac};
use crate::model::Verdict;

/// A scheme's reading of one request, before any secret is tried.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// The scheme's signature header is absent.
    Unsigned,
    /// Decided without secrets: a malformed header, a missing URL.
    Invalid(String),
    Claim(Claim),
}

/// Everything needed to check a request against a secret.
#[derive(Debug)]
pub(crate) struct Claim {
    pub digest: Digest,
    /// The signed content. Several when the SDK accepts more than one reading
    /// (Twilio: the URL with and without its port).
    pub messages: Vec<Vec<u8>>,
    /// Decoded signatures of known versions, each exactly one MAC long.
    pub signatures: Vec<Vec<u8>>,
    /// Entries that were skipped (unknown versions, malformed), for the reason.
    pub skipped: Vec<String>,
    pub freshness: Option<Freshness>,
    /// A check that failed regardless of the secret (Twilio's body hash).
    pub failed_check: Option<String>,
}

/// Where the signed timestamp sits relative to `now`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Freshness {
    /// Milliseconds the timestamp lies in the past (negative: in the future).
    pub skew_ms: i64,
    pub tolerance_secs: u64,
    /// Stripe and Paddle reject only old timestamps; the others both ways.
    pub future_ok: bool,
}

impl Freshness {
    pub fn from_secs(now_unix: i64, timestamp: i64, tolerance_secs: u64, future_ok: bool) -> Self {
        let skew_ms = now_unix.saturating_sub(timestamp).saturating_mul(1000);
        Self {
            skew_ms,
            tolerance_secs,
            future_ok,
        }
    }

    fn is_stale(&self) -> bool {
        let tolerance_ms = i64::try_from(self.tolerance_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        self.skew_ms > tolerance_ms
            || (!self.future_ok && self.skew_ms < tolerance_ms.saturating_neg())
    }

    /// Whole seconds, rounded away from zero so 60.5 s over a 60 s window
    /// reads as 61 s, never as 60.
    fn skew_secs(&self) -> i64 {
        let secs = self.skew_ms.unsigned_abs().div_ceil(1000);
        let secs = i64::try_from(secs).unwrap_or(i64::MAX);
        if self.skew_ms < 0 { -secs } else { secs }
    }
}

impl Claim {
    /// A claim with one signed message and no timestamp.
    pub fn new(digest: Digest, message: Vec<u8>, signatures: Vec<Vec<u8>>) -> Self {
        Self {
            digest,
            messages: vec![message],
            signatures,
            skipped: Vec::new(),
            freshness: None,
            failed_check: None,
        }
    }
}

/// The verdict for `parsed` with `secrets` (non-empty: the caller handles none).
pub(crate) fn decide(scheme: &Scheme, parsed: Parsed, secrets: &[Secret]) -> Verdict {
    let name = scheme.name().to_owned();
    let claim = match parsed {
        Parsed::Unsigned => return Verdict::Unsigned { scheme: Some(name) },
        Parsed::Invalid(reason) => {
            return Verdict::Invalid {
                scheme: name,
                reason,
            };
        }
        Parsed::Claim(claim) => claim,
    };
    let (matched, unusable) = try_secrets(scheme, &claim, secrets);
    if let Some(freshness) = claim.freshness.filter(Freshness::is_stale) {
        return Verdict::Stale {
            scheme: name,
            skew_secs: freshness.skew_secs(),
            tolerance_secs: freshness.tolerance_secs,
            signature_matches: matched.is_some() && claim.failed_check.is_none(),
        };
    }
    if let Some(reason) = claim.failed_check {
        return Verdict::Invalid {
            scheme: name,
            reason,
        };
    }
    match matched {
        Some(secret) => Verdict::Valid {
            scheme: name,
            secret,
        },
        None => Verdict::Invalid {
            reason: no_match_reason(scheme, &claim, secrets, &unusable),
            scheme: name,
        },
    }
}

/// The 1-based position of the first secret that matches, and the secrets
/// that could not be keys at all.
fn try_secrets(
    scheme: &Scheme,
    claim: &Claim,
    secrets: &[Secret],
) -> (Option<usize>, Vec<(usize, keys::KeyError)>) {
    let mut unusable = Vec::new();
    for (index, secret) in secrets.iter().enumerate() {
        let key = match keys::derive(scheme, secret) {
            Ok(key) => key,
            Err(err) => {
                unusable.push((index + 1, err));
                continue;
            }
        };
        let hit = claim.messages.iter().any(|message| {
            mac::matches_any(
                &mac::compute(claim.digest, &key, message),
                &claim.signatures,
            )
        });
        if hit {
            return (Some(index + 1), unusable);
        }
    }
    (None, unusable)
}

fn no_match_reason(
    scheme: &Scheme,
    claim: &Claim,
    secrets: &[Secret],
    unusable: &[(usize, keys::KeyError)],
) -> String {
    let mut parts = Vec::new();
    if unusable.len() == secrets.len() {
        parts.push("no secret is usable for this scheme".to_owned());
    } else {
        let count = secrets.len();
        let plural = if count == 1 { "" } else { "s" };
        let mut headline = format!("no signature matched any of the {count} secret{plural}");
        if claim.signatures.len() > 1 {
            headline.push_str(&format!(" ({} signatures checked)", claim.signatures.len()));
        }
        parts.push(headline);
    }
    parts.extend(
        unusable
            .iter()
            .map(|(position, err)| format!("secret #{position}: {err}")),
    );
    parts.extend(
        secrets
            .iter()
            .enumerate()
            .filter_map(|(index, secret)| keys::hint(scheme, index + 1, secret)),
    );
    parts.extend(claim.skipped.iter().cloned());
    parts.push(mismatch_hint(scheme).to_owned());
    parts.join("; ")
}

/// What usually causes a mismatch, per scheme: where to look next.
fn mismatch_hint(scheme: &Scheme) -> &'static str {
    match scheme {
        Scheme::Twilio | Scheme::Square => {
            "wrong secret, changed body, or not the URL the sender signed (it must be the public URL, query included)"
        }
        Scheme::StandardWebhooks
        | Scheme::Svix
        | Scheme::Stripe
        | Scheme::Slack
        | Scheme::Paddle => "wrong secret, or the body or timestamp changed after signing",
        _ => "wrong secret, or the body changed after signing",
    }
}
