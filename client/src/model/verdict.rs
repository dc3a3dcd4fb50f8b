//! The outcome of checking one delivery's signature, as stored with it.

use serde::{Deserialize, Serialize};

/// What signature checking concluded. Stored with the delivery and shown to the
/// developer, so every failing case says why, and none carries a secret or the
/// expected MAC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// A signature matched; `secret` is the 1-based position of the secret that did.
    Valid { scheme: String, secret: usize },
    /// The signature is wrong or unreadable; `reason` says which and how.
    Invalid { scheme: String, reason: String },
    /// The timestamp is outside the scheme's tolerance by `skew_secs` (positive:
    /// in the past). `signature_matches` tells whether it would be valid ignoring time.
    Stale {
        scheme: String,
        skew_secs: i64,
        tolerance_secs: u64,
        signature_matches: bool,
    },
    /// The request carries no signature the scheme (or `auto`) recognises.
    Unsigned { scheme: Option<String> },
    /// No secret is configured, so nothing could be checked.
    NoSecret,
}

/// The verdict without its details: what lists filter and count by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    Valid,
    Invalid,
    Stale,
    Unsigned,
    NoSecret,
}

impl Verdict {
    pub fn kind(&self) -> VerdictKind {
        match self {
            Self::Valid { .. } => VerdictKind::Valid,
            Self::Invalid { .. } => VerdictKind::Invalid,
            Self::Stale { .. } => VerdictKind::Stale,
            Self::Unsigned { .. } => VerdictKind::Unsigned,
            Self::NoSecret => VerdictKind::NoSecret,
        }
    }

    /// The scheme the verdict was reached under, if one was chosen.
    pub fn scheme(&self) -> Option<&str> {
        match self {
            Self::Valid { scheme, .. }
            | Self::Invalid { scheme, .. }
            | Self::Stale { scheme, .. } => Some(scheme),
            Self::Unsigned { scheme } => scheme.as_deref(),
            Self::NoSecret => None,
        }
    }

    /// One line for terminals and logs, e.g. `invalid (stripe): no signature matched any of 2 secrets`.
    pub fn describe(&self) -> String {
        match self {
            Self::Valid { scheme, secret } => format!("valid ({scheme}, secret #{secret})"),
            Self::Invalid { scheme, reason } => format!("invalid ({scheme}): {reason}"),
            Self::Stale {
                scheme,
                skew_secs,
                tolerance_secs,
                signature_matches,
            } => {
                let when = if *skew_secs >= 0 {
                    "old"
                } else {
                    "in the future"
                };
                let sig = if *signature_matches {
                    "signature would be valid ignoring time"
                } else {
                    "signature does not match either"
                };
                format!(
                    "stale ({scheme}): timestamp {}s {when}, tolerance {tolerance_secs}s; {sig}",
                    skew_secs.unsigned_abs()
                )
            }
            Self::Unsigned {
                scheme: Some(scheme),
            } => format!("unsigned: no {scheme} signature header"),
            Self::Unsigned { scheme: None } => "unsigned: no known signature header".to_owned(),
            Self::NoSecret => "not checked: no secret configured".to_owned(),
        }
    }
}

impl VerdictKind {
    /// The one-character mark lists use: ✓ valid, ✗ invalid or stale, – otherwise.
    pub fn mark(self) -> &'static str {
        match self {
            Self::Valid => "✓",
            Self::Invalid | Self::Stale => "✗",
            Self::Unsigned | Self::NoSecret => "–",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Stale => "stale",
            Self::Unsigned => "unsigned",
            Self::NoSecret => "no-secret",
        }
    }
}
