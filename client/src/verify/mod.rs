//! Webhook signature verification: every scheme `--scheme` names, checked on
//! the exact received bytes with an injected clock, and re-signing for replay.
//!
//! How a verdict is reached, in order:
//! 1. no secret configured → [`Verdict::NoSecret`];
//! 2. `auto` finds no known signature header, or a fixed scheme's signature
//!    header is absent → [`Verdict::Unsigned`];
//! 3. a malformed header, a missing URL (twilio, square), a secret that cannot
//!    be a key for the scheme → [`Verdict::Invalid`] saying which;
//! 4. a signed timestamp outside the scheme's tolerance → [`Verdict::Stale`],
//!    with whether the signature would match ignoring time (checked first,
//!    so a replayed request reads as stale, not as a forgery);
//! 5. any known-version signature matches any secret → [`Verdict::Valid`]
//!    with that secret's 1-based position; else [`Verdict::Invalid`] with
//!    "no signature matched …" and hints. Reasons never carry a secret or an
//!    expected MAC.

mod body_schemes;
mod claim;
mod detect;
mod form;
mod headers;
mod keys;
mod linear_body;
mod mac;
mod scheme;
mod sign;
mod signature_list;
mod timestamped;
mod url_signed;

#[cfg(test)]
mod tests;

use hookline_protocol::{Header, Secret};

use crate::model::Verdict;

pub use detect::detect;
pub use keys::KeyError;
pub use linear_body::refresh_linear_timestamp;
pub use scheme::{
    Digest, Encoding, GenericHmac, ParseSchemeError, SCHEME_NAMES, Scheme, SchemeChoice,
};
pub use sign::{SignError, sign};

use claim::Parsed;

/// Checks requests against a scheme (or `auto`) and the configured secrets.
/// Several secrets are tried in order, for key rotation.
#[derive(Debug, Clone)]
pub struct Verifier {
    scheme: SchemeChoice,
    secrets: Vec<Secret>,
    /// The one secret is hookline's own development secret, not a provider's.
    development: bool,
}

impl Verifier {
    pub fn new(scheme: SchemeChoice, secrets: Vec<Secret>) -> Self {
        Self {
            scheme,
            secrets,
            development: false,
        }
    }

    /// Checks with the data dir's development secret (see
    /// [`crate::dev_secret`]). A mismatch then most likely means a real
    /// provider signed with its own secret, and the verdict says so.
    pub fn development(scheme: SchemeChoice, secret: Secret) -> Self {
        Self {
            scheme,
            secrets: vec![secret],
            development: true,
        }
    }

    pub fn uses_development_secret(&self) -> bool {
        self.development
    }

    pub fn has_secrets(&self) -> bool {
        !self.secrets.is_empty()
    }

    /// How many secrets are tried (never the secrets themselves).
    pub fn secret_count(&self) -> usize {
        self.secrets.len()
    }

    pub fn scheme(&self) -> &SchemeChoice {
        &self.scheme
    }

    /// The verdict for one request. `url` is the full public URL the sender
    /// called (`Delivery::public_url`), which twilio and square sign;
    /// `now_unix` is the clock the timestamp tolerance is measured against.
    pub fn verify(&self, headers: &[Header], body: &[u8], url: &str, now_unix: i64) -> Verdict {
        if self.secrets.is_empty() {
            return Verdict::NoSecret;
        }
        let scheme = match &self.scheme {
            SchemeChoice::Fixed(scheme) => scheme.clone(),
            SchemeChoice::Auto => match detect(headers) {
                Some(scheme) => scheme,
                None => return Verdict::Unsigned { scheme: None },
            },
        };
        let verdict = claim::decide(
            &scheme,
            parse(&scheme, headers, body, url, now_unix),
            &self.secrets,
        );
        match verdict {
            Verdict::Invalid { scheme, reason }
                if self.development && reason.starts_with("no signature matched") =>
            {
                Verdict::Invalid {
                    scheme,
                    reason: "no signature matched hookline's development secret (it signs only \
                             `trigger` and `replay --resign`); pass the provider's signing secret \
                             with --secret"
                        .to_owned(),
                }
            }
            verdict => verdict,
        }
    }
}

/// What `scheme` reads from the request.
fn parse(scheme: &Scheme, headers: &[Header], body: &[u8], url: &str, now: i64) -> Parsed {
    match scheme {
        Scheme::Autosend => body_schemes::autosend(headers, body),
        Scheme::StandardWebhooks => timestamped::standard(headers, body, now, false),
        Scheme::Svix => timestamped::standard(headers, body, now, true),
        Scheme::Stripe => timestamped::stripe(headers, body, now),
        Scheme::Github => body_schemes::github(headers, body),
        Scheme::Slack => timestamped::slack(headers, body, now),
        Scheme::Shopify => body_schemes::shopify(headers, body),
        Scheme::Twilio => url_signed::twilio(headers, body, url),
        Scheme::Square => url_signed::square(headers, body, url),
        Scheme::Paddle => timestamped::paddle(headers, body, now),
        Scheme::Linear => body_schemes::linear(headers, body, now),
        Scheme::Hmac(config) => body_schemes::generic(config, headers, body),
    }
}
