//! Schemes that sign a timestamp with the body: standard-webhooks, svix,
//! stripe, slack and paddle. Each keeps its SDK's tolerance and direction.

use base64::Engine;
use hookline_protocol::Header;

use super::claim::{Freshness, Parsed};
use super::headers;
use super::mac;
use super::scheme::{Digest, Encoding};
use super::signature_list::{Entries, parse_unix, required};

/// Standard Webhooks and Svix: ±5 minutes.
pub(crate) const STANDARD_TOLERANCE_SECS: u64 = 5 * 60;
/// Stripe's SDK default; timestamps in the future are not rejected.
pub(crate) const STRIPE_TOLERANCE_SECS: u64 = 300;
/// Slack: |now − timestamp| ≤ 5 minutes.
pub(crate) const SLACK_TOLERANCE_SECS: u64 = 5 * 60;
/// Paddle's SDK default maximum variance, old timestamps only.
pub(crate) const PADDLE_TOLERANCE_SECS: u64 = 5;

pub(crate) const STRIPE_HEADER: &str = "Stripe-Signature";
pub(crate) const SLACK_SIGNATURE: &str = "X-Slack-Signature";
pub(crate) const SLACK_TIMESTAMP: &str = "X-Slack-Request-Timestamp";
pub(crate) const PADDLE_HEADER: &str = "Paddle-Signature";

/// Header names for the id, timestamp and signature of Standard Webhooks.
pub(crate) struct StandardNames {
    pub id: &'static str,
    pub timestamp: &'static str,
    pub signature: &'static str,
}

pub(crate) const WEBHOOK_NAMES: StandardNames = StandardNames {
    id: "webhook-id",
    timestamp: "webhook-timestamp",
    signature: "webhook-signature",
};
pub(crate) const SVIX_NAMES: StandardNames = StandardNames {
    id: "svix-id",
    timestamp: "svix-timestamp",
    signature: "svix-signature",
};

/// Standard Webhooks: `{id}.{timestamp}.{body}`, space-separated `v1,<base64>`.
/// Svix's SDKs read `svix-*` headers and fall back to `webhook-*`.
pub(crate) fn standard(headers: &[Header], body: &[u8], now: i64, svix: bool) -> Parsed {
    let names = if svix && headers::has(headers, SVIX_NAMES.signature) {
        &SVIX_NAMES
    } else {
        &WEBHOOK_NAMES
    };
    let (id, ts, signature) = match standard_headers(headers, names) {
        Ok(Some(found)) => found,
        Ok(None) => return Parsed::Unsigned,
        Err(reason) => return Parsed::Invalid(reason),
    };
    let mut entries = Entries::default();
    for entry in signature.split(' ').filter(|entry| !entry.is_empty()) {
        match entry.split_once(',') {
            Some(("v1", encoded)) => {
                entries.known(mac::decode(Encoding::Base64, Digest::Sha256, encoded))
            }
            Some((version, _)) => entries.unknown(version),
            None => entries.unknown(entry),
        }
    }
    // The SDKs sign the timestamp as they parsed it, not the header's spelling.
    let message = [id.as_bytes(), b".", ts.to_string().as_bytes(), b".", body].concat();
    let freshness = Freshness::from_secs(now, ts, STANDARD_TOLERANCE_SECS, false);
    entries.into_claim(names.signature, "v1", message, freshness)
}

/// The id, parsed timestamp and signature list; `None` when unsigned.
fn standard_headers<'a>(
    headers: &'a [Header],
    names: &'a StandardNames,
) -> Result<Option<(&'a str, i64, &'a str)>, String> {
    let Some(signature) = required(headers, names.signature)? else {
        return Ok(None);
    };
    let missing = |name: &str| format!("the {name} header is missing");
    let id = required(headers, names.id)?.ok_or_else(|| missing(names.id))?;
    let timestamp = required(headers, names.timestamp)?.ok_or_else(|| missing(names.timestamp))?;
    let ts = parse_unix(timestamp)
        .ok_or_else(|| format!("malformed {} header: not a unix timestamp", names.timestamp))?;
    Ok(Some((id, ts, signature)))
}

/// Stripe: `t=…,v1=…[,v1=…]` over `{t}.{body}`; only `v1` counts.
pub(crate) fn stripe(headers: &[Header], body: &[u8], now: i64) -> Parsed {
    let value = match required(headers, STRIPE_HEADER) {
        Ok(Some(value)) => value,
        Ok(None) => return Parsed::Unsigned,
        Err(reason) => return Parsed::Invalid(reason),
    };
    let mut timestamp = None;
    let mut entries = Entries::default();
    for item in value.split(',') {
        match item.split_once('=') {
            Some(("t", t)) => timestamp = timestamp.or(Some(t)),
            Some(("v1", hex)) => entries.known(mac::decode(Encoding::Hex, Digest::Sha256, hex)),
            Some((scheme, _)) => entries.unknown(scheme),
            None => entries.unknown(item),
        }
    }
    let Some(ts) = timestamp.and_then(parse_unix) else {
        return Parsed::Invalid(format!(
            "malformed {STRIPE_HEADER} header: no t= unix timestamp"
        ));
    };
    let message = [ts.to_string().as_bytes(), b".", body].concat();
    entries.into_claim(
        STRIPE_HEADER,
        "v1",
        message,
        Freshness::from_secs(now, ts, STRIPE_TOLERANCE_SECS, true),
    )
}

/// Slack: `v0=<hex>` over `v0:{timestamp header}:{body}`.
pub(crate) fn slack(headers: &[Header], body: &[u8], now: i64) -> Parsed {
    let value = match required(headers, SLACK_SIGNATURE) {
        Ok(Some(value)) => value,
        Ok(None) => return Parsed::Unsigned,
        Err(reason) => return Parsed::Invalid(reason),
    };
    let timestamp = match required(headers, SLACK_TIMESTAMP) {
        Ok(Some(ts)) => ts,
        Ok(None) => return Parsed::Invalid(format!("the {SLACK_TIMESTAMP} header is missing")),
        Err(reason) => return Parsed::Invalid(reason),
    };
    let Some(ts) = parse_unix(timestamp) else {
        return Parsed::Invalid(format!(
            "malformed {SLACK_TIMESTAMP} header: not a unix timestamp"
        ));
    };
    let mut entries = Entries::default();
    match value.split_once('=') {
        Some(("v0", hex)) => entries.known(mac::decode(Encoding::Hex, Digest::Sha256, hex)),
        Some((version, _)) => entries.unknown(version),
        None => entries.unknown(value),
    }
    let message = [b"v0:", timestamp.as_bytes(), b":", body].concat();
    entries.into_claim(
        SLACK_SIGNATURE,
        "v0",
        message,
        Freshness::from_secs(now, ts, SLACK_TOLERANCE_SECS, false),
    )
}

/// Paddle: `ts=…;h1=…` over `{ts}:{body}`.
pub(crate) fn paddle(headers: &[Header], body: &[u8], now: i64) -> Parsed {
    let value = match required(headers, PADDLE_HEADER) {
        Ok(Some(value)) => value,
        Ok(None) => return Parsed::Unsigned,
        Err(reason) => return Parsed::Invalid(reason),
    };
    let mut timestamp = None;
    let mut entries = Entries::default();
    for part in value.split(';') {
        match part.split_once('=') {
            Some(("ts", ts)) => timestamp = Some(ts),
            Some(("h1", hex)) => entries.known(mac::decode(Encoding::Hex, Digest::Sha256, hex)),
            Some((key, _)) => entries.unknown(key),
            None => entries.unknown(part),
        }
    }
    let Some(ts) = timestamp.and_then(parse_unix) else {
        return Parsed::Invalid(format!(
            "malformed {PADDLE_HEADER} header: no ts= unix timestamp"
        ));
    };
    let message = [ts.to_string().as_bytes(), b":", body].concat();
    entries.into_claim(
        PADDLE_HEADER,
        "h1",
        message,
        Freshness::from_secs(now, ts, PADDLE_TOLERANCE_SECS, true),
    )
}

/// Base64 for a Standard Webhooks signature, used when signing.
pub(crate) fn standard_signature(mac: &[u8]) -> String {
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac)
    )
}
