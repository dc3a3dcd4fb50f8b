//! The signature schemes hookline knows, by the names the command line uses.

use std::fmt;
use std::str::FromStr;

/// One provider's signing algorithm. The names (`Display`/`FromStr`) are the
/// `--scheme` values and what verdicts record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    Autosend,
    StandardWebhooks,
    Svix,
    Stripe,
    Github,
    Slack,
    Shopify,
    Twilio,
    Square,
    Paddle,
    Linear,
    Hmac(GenericHmac),
}

/// `--scheme`: a fixed scheme, or `auto` to pick one from each request's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemeChoice {
    Auto,
    Fixed(Scheme),
}

/// The `hmac` scheme, for senders hookline has no name for: an HMAC of the raw
/// body in one header, described by these four settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenericHmac {
    /// The header carrying the signature (matched case-insensitively).
    pub header: String,
    pub digest: Digest,
    pub encoding: Encoding,
    /// Text before the encoded MAC, e.g. `sha256=`.
    pub prefix: Option<String>,
}

/// The hash under the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    Sha256,
    Sha1,
}

/// How a MAC is written into a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    Base64,
}

/// A `--scheme` (or digest, encoding) value that names nothing hookline knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{given}': expected one of {expected}")]
pub struct ParseSchemeError {
    what: &'static str,
    given: String,
    expected: &'static str,
}

/// Every name `SchemeChoice` parses, in the order `--help` lists them.
pub const SCHEME_NAMES: &str = "auto, autosend, standard-webhooks, svix, stripe, github, slack, \
                                shopify, twilio, square, paddle, linear, hmac";

impl Default for GenericHmac {
    /// `X-Signature: <hex HMAC-SHA256>`, the most common shape among senders
    /// without a documented scheme of their own.
    fn default() -> Self {
        Self {
            header: "X-Signature".to_owned(),
            digest: Digest::Sha256,
            encoding: Encoding::Hex,
            prefix: None,
        }
    }
}

impl Scheme {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Autosend => "autosend",
            Self::StandardWebhooks => "standard-webhooks",
            Self::Svix => "svix",
            Self::Stripe => "stripe",
            Self::Github => "github",
            Self::Slack => "slack",
            Self::Shopify => "shopify",
            Self::Twilio => "twilio",
            Self::Square => "square",
            Self::Paddle => "paddle",
            Self::Linear => "linear",
            Self::Hmac(_) => "hmac",
        }
    }

    /// Every named scheme, with the generic one at its defaults.
    pub fn all() -> [Scheme; 12] {
        [
            Self::Autosend,
            Self::StandardWebhooks,
            Self::Svix,
            Self::Stripe,
            Self::Github,
            Self::Slack,
            Self::Shopify,
            Self::Twilio,
            Self::Square,
            Self::Paddle,
            Self::Linear,
            Self::Hmac(GenericHmac::default()),
        ]
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scheme {
    type Err = ParseSchemeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Self::all()
            .into_iter()
            .find(|scheme| scheme.name() == wanted)
            .ok_or_else(|| ParseSchemeError {
                what: "scheme",
                given: s.to_owned(),
                expected: SCHEME_NAMES,
            })
    }
}

impl fmt::Display for SchemeChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Fixed(scheme) => scheme.fmt(f),
        }
    }
}

impl FromStr for SchemeChoice {
    type Err = ParseSchemeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        s.parse().map(Self::Fixed)
    }
}

impl Digest {
    /// Bytes in one MAC: a signature of any other length cannot match.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha1 => 20,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha1 => "sha1",
        }
    }
}

impl FromStr for Digest {
    type Err = ParseSchemeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('-', "").as_str() {
            "sha256" => Ok(Self::Sha256),
            "sha1" => Ok(Self::Sha1),
            _ => Err(ParseSchemeError {
                what: "digest",
                given: s.to_owned(),
                expected: "sha256, sha1",
            }),
        }
    }
}

impl FromStr for Encoding {
    type Err = ParseSchemeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hex" => Ok(Self::Hex),
            "base64" => Ok(Self::Base64),
            _ => Err(ParseSchemeError {
                what: "encoding",
                given: s.to_owned(),
                expected: "hex, base64",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for scheme in Scheme::all() {
            let choice: SchemeChoice = scheme.name().parse().unwrap();
            assert_eq!(choice, SchemeChoice::Fixed(scheme.clone()));
            assert_eq!(choice.to_string(), scheme.name());
        }
        assert_eq!("auto".parse::<SchemeChoice>().unwrap(), SchemeChoice::Auto);
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let err = "stripee".parse::<SchemeChoice>().unwrap_err().to_string();
        assert!(
            err.contains("stripee") && err.contains("standard-webhooks"),
            "{err}"
        );
        assert_eq!("SHA-1".parse::<Digest>().unwrap(), Digest::Sha1);
        assert!("md5".parse::<Digest>().is_err());
        assert!("b32".parse::<Encoding>().is_err());
    }
}
