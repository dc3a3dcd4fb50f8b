//! Reading the list-valued signature headers of the timestamped schemes:
//! known versions decoded, unknown ones set aside, and why nothing was usable.

use hookline_protocol::Header;

use super::claim::{Claim, Freshness, Parsed};
use super::headers;
use super::scheme::Digest;

/// A header that, when present, must not be empty.
pub(crate) fn required<'a>(
    headers: &'a [Header],
    name: &'a str,
) -> Result<Option<&'a str>, String> {
    match headers::text(headers, name)? {
        Some("") => Err(format!("malformed {name} header: it is empty")),
        other => Ok(other),
    }
}

/// Seconds since the epoch, as the SDKs read them (an integer; Standard
/// Webhooks' Python SDK also takes a fraction, floored).
pub(crate) fn parse_unix(text: &str) -> Option<i64> {
    let text = text.trim();
    text.parse::<i64>().ok().or_else(|| {
        let float = text
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && f.abs() < 1e15)?;
        Some(float.floor() as i64)
    })
}

/// The signatures found in a list-valued header.
#[derive(Default)]
pub(crate) struct Entries {
    signatures: Vec<Vec<u8>>,
    malformed: Vec<String>,
    unknown: Vec<String>,
}

impl Entries {
    pub(crate) fn known(&mut self, decoded: Result<Vec<u8>, String>) {
        match decoded {
            Ok(signature) => self.signatures.push(signature),
            Err(why) => self.malformed.push(why),
        }
    }

    pub(crate) fn unknown(&mut self, version: &str) {
        self.unknown.push(version.chars().take(16).collect());
    }

    pub(crate) fn into_claim(
        self,
        header: &str,
        version: &str,
        message: Vec<u8>,
        freshness: Freshness,
    ) -> Parsed {
        if self.signatures.is_empty() {
            let why = match self.malformed.first() {
                Some(why) => format!("malformed {header} header: {why}"),
                None => format!("{header} has no {version} signature{}", self.ignored_note()),
            };
            return Parsed::Invalid(why);
        }
        let mut claim = Claim::new(Digest::Sha256, message, self.signatures);
        claim.freshness = Some(freshness);
        claim.skipped = self
            .malformed
            .iter()
            .map(|why| format!("skipped a malformed {version}: {why}"))
            .collect();
        if !self.unknown.is_empty() {
            claim.skipped.push(format!(
                "ignored unknown versions: {}",
                self.unknown.join(", ")
            ));
        }
        Parsed::Claim(claim)
    }

    fn ignored_note(&self) -> String {
        if self.unknown.is_empty() {
            String::new()
        } else {
            format!(" (ignored: {})", self.unknown.join(", "))
        }
    }
}
