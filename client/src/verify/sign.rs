//! Re-signing a stored request with a fresh timestamp, so receivers with a
//! replay window (Stripe's 5 minutes, Paddle's 5 seconds) accept a replay.

use hookline_protocol::{Header, Secret, body_sha256_hex};

use super::body_schemes::{
    AUTOSEND_HEADER, GITHUB_HEADER, GITHUB_SHA1_HEADER, LINEAR_HEADER, SHOPIFY_HEADER,
};
use super::headers::{has, set, text};
use super::keys::{self, KeyError};
use super::mac::{compute, compute_parts, encode};
use super::scheme::{Digest, Encoding, GenericHmac, Scheme};
use super::timestamped::{
    PADDLE_HEADER, SLACK_SIGNATURE, SLACK_TIMESTAMP, STRIPE_HEADER, SVIX_NAMES, StandardNames,
    WEBHOOK_NAMES, standard_signature,
};
use super::url_signed::{self, SQUARE_HEADER, TWILIO_HEADER};

/// Unsigned headers some senders add, refreshed so they agree with the new signature.
const AUTOSEND_TIMESTAMP_MS: &str = "X-Webhook-Timestamp";
const LINEAR_TIMESTAMP_MS: &str = "Linear-Timestamp";

/// Why a request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("cannot sign for {scheme}: {source}")]
    Secret {
        scheme: &'static str,
        #[source]
        source: KeyError,
    },
    #[error("{scheme} signs the public URL the sender called, and none was given")]
    MissingUrl { scheme: &'static str },
    #[error(
        "the body's SHA-256 differs from bodySHA256 in the URL: Twilio signs that hash, so an edited \
         JSON body needs a URL carrying the new hash"
    )]
    BodyHashMismatch,
    #[error("cannot sign for twilio: {0}")]
    TwilioSettings(String),
}

/// Re-signs a request in place with a fresh timestamp (`now_unix`): replaces
/// the scheme's signature and timestamp headers where they are (keeping
/// header order), appends them if absent. Untimestamped schemes just get the
/// MAC recomputed over `body`, which matters after an edited body. Linear's
/// timestamp sits inside the body: refresh it first with
/// [`refresh_linear_timestamp`](super::refresh_linear_timestamp).
pub fn sign(
    scheme: &Scheme,
    secret: &Secret,
    headers: &mut Vec<Header>,
    body: &[u8],
    url: &str,
    now_unix: i64,
) -> Result<(), SignError> {
    let key = keys::derive(scheme, secret).map_err(|source| SignError::Secret {
        scheme: scheme.name(),
        source,
    })?;
    match scheme {
        Scheme::Twilio => return sign_twilio(&key, headers, body, url),
        Scheme::Square => return sign_square(&key, headers, body, url),
        Scheme::StandardWebhooks => sign_standard(&WEBHOOK_NAMES, &key, headers, body, now_unix),
        Scheme::Svix => sign_standard(svix_names(headers), &key, headers, body, now_unix),
        Scheme::Stripe | Scheme::Slack | Scheme::Paddle => {
            sign_timestamped(scheme, &key, headers, body, now_unix);
        }
        Scheme::Autosend | Scheme::Github | Scheme::Shopify | Scheme::Linear | Scheme::Hmac(_) => {
            sign_body(scheme, &key, headers, body, now_unix);
        }
    }
    Ok(())
}

/// Stripe, Slack and Paddle: a hex MAC over the timestamp and the body.
fn sign_timestamped(
    scheme: &Scheme,
    key: &[u8],
    headers: &mut Vec<Header>,
    body: &[u8],
    now_unix: i64,
) {
    let now = now_unix.to_string();
    let mac = |parts: &[&[u8]]| hex::encode(compute_parts(Digest::Sha256, key, parts));
    match scheme {
        Scheme::Stripe => {
            let signature = mac(&[now.as_bytes(), b".", body]);
            set(headers, STRIPE_HEADER, format!("t={now},v1={signature}"));
        }
        Scheme::Slack => {
            let signature = mac(&[b"v0:", now.as_bytes(), b":", body]);
            set(headers, SLACK_TIMESTAMP, now);
            set(headers, SLACK_SIGNATURE, format!("v0={signature}"));
        }
        Scheme::Paddle => {
            let signature = mac(&[now.as_bytes(), b":", body]);
            set(headers, PADDLE_HEADER, format!("ts={now};h1={signature}"));
        }
        _ => {}
    }
}

/// Schemes that MAC the body alone; their unsigned timestamp headers are
/// refreshed too, so they agree with the new signature.
fn sign_body(scheme: &Scheme, key: &[u8], headers: &mut Vec<Header>, body: &[u8], now_unix: i64) {
    let sha256 = compute(Digest::Sha256, key, body);
    match scheme {
        Scheme::Autosend => {
            set(headers, AUTOSEND_HEADER, hex::encode(sha256));
            refresh_ms(headers, AUTOSEND_TIMESTAMP_MS, now_unix);
        }
        Scheme::Github => {
            set(
                headers,
                GITHUB_HEADER,
                format!("sha256={}", hex::encode(sha256)),
            );
            if has(headers, GITHUB_SHA1_HEADER) {
                let sha1 = hex::encode(compute(Digest::Sha1, key, body));
                set(headers, GITHUB_SHA1_HEADER, format!("sha1={sha1}"));
            }
        }
        Scheme::Shopify => set(headers, SHOPIFY_HEADER, encode(Encoding::Base64, &sha256)),
        Scheme::Linear => {
            set(headers, LINEAR_HEADER, hex::encode(sha256));
            refresh_ms(headers, LINEAR_TIMESTAMP_MS, now_unix);
        }
        Scheme::Hmac(config) => sign_generic(config, key, headers, body),
        _ => {}
    }
}

fn sign_square(
    key: &[u8],
    headers: &mut Vec<Header>,
    body: &[u8],
    url: &str,
) -> Result<(), SignError> {
    if url.is_empty() {
        return Err(SignError::MissingUrl { scheme: "square" });
    }
    let signature = compute_parts(Digest::Sha256, key, &[url.as_bytes(), body]);
    set(headers, SQUARE_HEADER, encode(Encoding::Base64, &signature));
    Ok(())
}

/// Svix requests keep the header family they came with.
fn svix_names(headers: &[Header]) -> &'static StandardNames {
    let webhook_only = !has(headers, SVIX_NAMES.signature)
        && !has(headers, SVIX_NAMES.id)
        && has(headers, WEBHOOK_NAMES.signature);
    if webhook_only {
        &WEBHOOK_NAMES
    } else {
        &SVIX_NAMES
    }
}

fn sign_standard(
    names: &StandardNames,
    key: &[u8],
    headers: &mut Vec<Header>,
    body: &[u8],
    now_unix: i64,
) {
    let id = match text(headers, names.id) {
        Ok(Some(id)) if !id.is_empty() => id.to_owned(),
        // The id is signed, so a request without one gets a stable made-up id.
        _ => {
            let seed = [body, now_unix.to_string().as_bytes()].concat();
            let id = format!("msg_hookline_{}", &body_sha256_hex(&seed)[..24]);
            set(headers, names.id, id.clone());
            id
        }
    };
    let now = now_unix.to_string();
    let mac = compute(
        Digest::Sha256,
        key,
        &[id.as_bytes(), b".", now.as_bytes(), b".", body].concat(),
    );
    set(headers, names.timestamp, now);
    set(headers, names.signature, standard_signature(&mac));
}

fn sign_twilio(
    key: &[u8],
    headers: &mut Vec<Header>,
    body: &[u8],
    url: &str,
) -> Result<(), SignError> {
    if url.is_empty() {
        return Err(SignError::MissingUrl { scheme: "twilio" });
    }
    if url_signed::body_hash_mismatch(url, body).is_some() {
        return Err(SignError::BodyHashMismatch);
    }
    let digest = url_signed::twilio_digest(headers).map_err(SignError::TwilioSettings)?;
    let params = url_signed::twilio_params(headers, body, url);
    let signature = compute(
        digest,
        key,
        url_signed::twilio_message(url, &params).as_bytes(),
    );
    set(headers, TWILIO_HEADER, encode(Encoding::Base64, &signature));
    Ok(())
}

fn sign_generic(config: &GenericHmac, key: &[u8], headers: &mut Vec<Header>, body: &[u8]) {
    let signature = encode(config.encoding, &compute(config.digest, key, body));
    let prefix = config.prefix.as_deref().unwrap_or("");
    set(headers, &config.header, format!("{prefix}{signature}"));
}

/// Updates a millisecond timestamp header only if the request had one.
fn refresh_ms(headers: &mut Vec<Header>, name: &str, now_unix: i64) {
    if has(headers, name) {
        set(headers, name, now_unix.saturating_mul(1000).to_string());
    }
}
