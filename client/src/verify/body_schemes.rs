//! Schemes whose header carries one MAC of the raw body: autosend, github,
//! shopify, linear and the generic `hmac`.

use hookline_protocol::Header;

use super::claim::{Claim, Freshness, Parsed};
use super::scheme::{Digest, Encoding, GenericHmac};
use super::{headers, linear_body, mac};

pub(crate) const AUTOSEND_HEADER: &str = "X-Webhook-Signature";
pub(crate) const GITHUB_HEADER: &str = "X-Hub-Signature-256";
pub(crate) const GITHUB_SHA1_HEADER: &str = "X-Hub-Signature";
pub(crate) const SHOPIFY_HEADER: &str = "X-Shopify-Hmac-Sha256";
pub(crate) const LINEAR_HEADER: &str = "Linear-Signature";

/// Linear's SDK rejects a `webhookTimestamp` more than a minute from now.
pub(crate) const LINEAR_TOLERANCE_SECS: u64 = 60;

/// One header, one encoded MAC of the body, after an optional fixed prefix.
struct BodyMac<'a> {
    header: &'a str,
    prefix: Option<&'a str>,
    digest: Digest,
    encoding: Encoding,
}

impl BodyMac<'_> {
    fn parse(&self, headers: &[Header], body: &[u8]) -> Parsed {
        let value = match headers::text(headers, self.header) {
            Ok(Some(value)) => value,
            Ok(None) => return Parsed::Unsigned,
            Err(reason) => return Parsed::Invalid(reason),
        };
        let encoded = match self.prefix {
            None => value,
            Some(prefix) => match value.strip_prefix(prefix) {
                Some(rest) => rest,
                None => {
                    return Parsed::Invalid(format!(
                        "malformed {} header: it does not start with '{prefix}'",
                        self.header
                    ));
                }
            },
        };
        match mac::decode(self.encoding, self.digest, encoded) {
            Ok(signature) => Parsed::Claim(Claim::new(self.digest, body.to_vec(), vec![signature])),
            Err(why) => Parsed::Invalid(format!("malformed {} header: {why}", self.header)),
        }
    }
}

/// AutoSend: hex HMAC-SHA256 of the body. `X-Webhook-Timestamp` is not signed,
/// so it is not checked: a receiver can only dedupe on the delivery id.
pub(crate) fn autosend(headers: &[Header], body: &[u8]) -> Parsed {
    BodyMac {
        header: AUTOSEND_HEADER,
        prefix: None,
        digest: Digest::Sha256,
        encoding: Encoding::Hex,
    }
    .parse(headers, body)
}

/// GitHub: `sha256=<hex>`. The legacy SHA-1 header is not accepted, as in
/// GitHub's own SDK.
pub(crate) fn github(headers: &[Header], body: &[u8]) -> Parsed {
    BodyMac {
        header: GITHUB_HEADER,
        prefix: Some("sha256="),
        digest: Digest::Sha256,
        encoding: Encoding::Hex,
    }
    .parse(headers, body)
}

pub(crate) fn shopify(headers: &[Header], body: &[u8]) -> Parsed {
    BodyMac {
        header: SHOPIFY_HEADER,
        prefix: None,
        digest: Digest::Sha256,
        encoding: Encoding::Base64,
    }
    .parse(headers, body)
}

/// Linear: hex HMAC-SHA256 of the body; freshness from `webhookTimestamp`
/// (milliseconds) inside the signed body. The `Linear-Timestamp` header is
/// ignored, as Linear's SDK ignores it, and a body without the field is not
/// time-checked (the SDK skips the check then too).
pub(crate) fn linear(headers: &[Header], body: &[u8], now_unix: i64) -> Parsed {
    let parsed = BodyMac {
        header: LINEAR_HEADER,
        prefix: None,
        digest: Digest::Sha256,
        encoding: Encoding::Hex,
    }
    .parse(headers, body);
    let Parsed::Claim(mut claim) = parsed else {
        return parsed;
    };
    claim.freshness = linear_body::timestamp_ms(body).map(|timestamp_ms| Freshness {
        skew_ms: now_unix.saturating_mul(1000).saturating_sub(timestamp_ms),
        tolerance_secs: LINEAR_TOLERANCE_SECS,
        future_ok: false,
    });
    Parsed::Claim(claim)
}

pub(crate) fn generic(config: &GenericHmac, headers: &[Header], body: &[u8]) -> Parsed {
    BodyMac {
        header: &config.header,
        prefix: config.prefix.as_deref().filter(|prefix| !prefix.is_empty()),
        digest: config.digest,
        encoding: config.encoding,
    }
    .parse(headers, body)
}
