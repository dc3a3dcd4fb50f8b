//! Sample events for `hookline trigger`, compiled into the binary so it works
//! anywhere: each provider's own body shape, sent with that provider's
//! headers and signed its way, so a handler can be tested without the
//! provider.

use hookline_protocol::{DeliveryId, Header, Secret};

use crate::verify::{Scheme, SignError, sign};

/// Who sends a sample: decides its headers, its signature scheme and its
/// group in `trigger --list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    AutoSend,
    Stripe,
    GitHub,
    Shopify,
    Slack,
    StandardWebhooks,
}

impl Provider {
    pub const ALL: [Provider; 6] = [
        Self::AutoSend,
        Self::Stripe,
        Self::GitHub,
        Self::Shopify,
        Self::Slack,
        Self::StandardWebhooks,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::AutoSend => "AutoSend",
            Self::Stripe => "Stripe",
            Self::GitHub => "GitHub",
            Self::Shopify => "Shopify",
            Self::Slack => "Slack",
            Self::StandardWebhooks => "Standard Webhooks",
        }
    }

    /// The scheme the provider signs with.
    pub fn scheme(self) -> Scheme {
        match self {
            Self::AutoSend => Scheme::Autosend,
            Self::Stripe => Scheme::Stripe,
            Self::GitHub => Scheme::Github,
            Self::Shopify => Scheme::Shopify,
            Self::Slack => Scheme::Slack,
            Self::StandardWebhooks => Scheme::StandardWebhooks,
        }
    }

    /// The provider whose signature `scheme` is, if hookline has samples for it.
    pub fn of_scheme(scheme: &Scheme) -> Option<Provider> {
        Self::ALL.into_iter().find(|p| p.scheme() == *scheme)
    }
}

/// One sample event.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub provider: Provider,
    /// The event type as the provider names it (`trigger EVENT`).
    pub event: &'static str,
    pub body: &'static [u8],
}

macro_rules! sample {
    ($provider:ident, $event:literal, $file:literal) => {
        Sample {
            provider: Provider::$provider,
            event: $event,
            body: include_bytes!(concat!("../fixtures/", $file)),
        }
    };
}

/// Every sample, grouped by provider in [`Provider::ALL`] order.
pub const SAMPLES: &[Sample] = &[
    sample!(AutoSend, "email.delivered", "autosend/email.delivered.json"),
    sample!(AutoSend, "email.opened", "autosend/email.opened.json"),
    sample!(AutoSend, "email.clicked", "autosend/email.clicked.json"),
    sample!(AutoSend, "email.bounced", "autosend/email.bounced.json"),
    sample!(
        AutoSend,
        "email.unsubscribed",
        "autosend/email.unsubscribed.json"
    ),
    sample!(AutoSend, "contact.created", "autosend/contact.created.json"),
    sample!(AutoSend, "contact.updated", "autosend/contact.updated.json"),
    sample!(AutoSend, "contact.deleted", "autosend/contact.deleted.json"),
    sample!(
        Stripe,
        "payment_intent.succeeded",
        "stripe/payment_intent.succeeded.json"
    ),
    sample!(
        Stripe,
        "checkout.session.completed",
        "stripe/checkout.session.completed.json"
    ),
    sample!(Stripe, "invoice.paid", "stripe/invoice.paid.json"),
    sample!(
        Stripe,
        "customer.subscription.deleted",
        "stripe/customer.subscription.deleted.json"
    ),
    sample!(GitHub, "push", "github/push.json"),
    sample!(GitHub, "pull_request", "github/pull_request.json"),
    sample!(GitHub, "issues", "github/issues.json"),
    sample!(GitHub, "ping", "github/ping.json"),
    sample!(Shopify, "orders/create", "shopify/orders-create.json"),
    sample!(Shopify, "products/update", "shopify/products-update.json"),
    sample!(Shopify, "app/uninstalled", "shopify/app-uninstalled.json"),
    sample!(Slack, "url_verification", "slack/url_verification.json"),
    sample!(Slack, "app_mention", "slack/app_mention.json"),
    sample!(Slack, "message.channels", "slack/message.channels.json"),
    sample!(
        StandardWebhooks,
        "user.created",
        "standard-webhooks/user.created.json"
    ),
    sample!(
        StandardWebhooks,
        "subscription.renewed",
        "standard-webhooks/subscription.renewed.json"
    ),
];

/// The sample named `event`.
pub fn sample(event: &str) -> Option<&'static Sample> {
    SAMPLES.iter().find(|s| s.event == event)
}

/// The headers and body to send for `sample`, signed under `scheme` with
/// `secret` at `now_ms`. The headers are those of the provider that signs
/// with `scheme` (a Stripe-signed sample carries Stripe's headers only, never
/// another provider's); schemes without samples get a bare JSON request.
/// `url` is the URL the request goes to, which URL-signing schemes sign.
pub fn signed_request(
    sample: &Sample,
    scheme: &Scheme,
    secret: &Secret,
    url: &str,
    now_ms: u64,
) -> Result<Vec<Header>, SignError> {
    let mut headers = match Provider::of_scheme(scheme) {
        Some(provider) => provider_headers(provider, sample.event, now_ms),
        None => vec![
            Header::new("Content-Type", "application/json"),
            Header::new("User-Agent", TRIGGER_AGENT),
        ],
    };
    sign(
        scheme,
        secret,
        &mut headers,
        sample.body,
        url,
        (now_ms / 1000) as i64,
    )?;
    Ok(headers)
}

const TRIGGER_AGENT: &str = concat!("hookline-trigger/", env!("CARGO_PKG_VERSION"));

/// What `provider` sends besides its signature, in its spelling and order;
/// the signature (and a signed timestamp) is added by [`sign`].
fn provider_headers(provider: Provider, event: &str, now_ms: u64) -> Vec<Header> {
    let id = DeliveryId::generate();
    match provider {
        Provider::AutoSend => vec![
            Header::new("Content-Type", "application/json"),
            Header::new("User-Agent", "AutoSend-Webhooks/1.0"),
            Header::new("X-Webhook-Event", event),
            Header::new("X-Webhook-Delivery-Id", format!("dlv_{id}")),
            Header::new("X-Webhook-Timestamp", now_ms.to_string()),
        ],
        Provider::Stripe => vec![
            Header::new(
                "User-Agent",
                "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            ),
            Header::new("Content-Type", "application/json; charset=utf-8"),
        ],
        Provider::GitHub => vec![
            Header::new("User-Agent", "GitHub-Hookshot/044aadd"),
            Header::new("Content-Type", "application/json"),
            Header::new("X-GitHub-Delivery", uuid()),
            Header::new("X-GitHub-Event", event),
            Header::new("X-GitHub-Hook-ID", "292430182"),
            // GitHub still sends the SHA-1 signature; `sign` fills it in.
            Header::new("X-Hub-Signature", ""),
        ],
        Provider::Shopify => vec![
            Header::new("Content-Type", "application/json"),
            Header::new("X-Shopify-Topic", event),
            Header::new("X-Shopify-Shop-Domain", "example-goods.myshopify.com"),
            Header::new("X-Shopify-API-Version", "2025-10"),
            Header::new("X-Shopify-Webhook-Id", uuid()),
            Header::new("X-Shopify-Event-Id", uuid()),
            Header::new("X-Shopify-Triggered-At", rfc3339(now_ms)),
        ],
        Provider::Slack => vec![
            Header::new("Content-Type", "application/json"),
            Header::new("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)"),
        ],
        Provider::StandardWebhooks => vec![
            Header::new("Content-Type", "application/json"),
            Header::new("webhook-id", format!("msg_{id}")),
        ],
    }
}

/// Gives the message-id and timestamp headers a provider sends fresh
/// values of the same shape, so a receiver that remembers ids (or checks a
/// timestamp header) takes a re-sent fixture as a new message. The signature
/// and its own timestamp are renewed by [`sign`] afterwards.
pub fn refresh_ids(headers: &mut [Header], now_ms: u64) {
    let id = DeliveryId::generate();
    for header in headers.iter_mut() {
        let fresh = match header.name.to_ascii_lowercase().as_str() {
            "webhook-id" | "svix-id" => format!("msg_{id}"),
            "x-webhook-delivery-id" => format!("dlv_{id}"),
            "x-github-delivery" | "x-shopify-webhook-id" | "x-shopify-event-id" => uuid(),
            "x-webhook-timestamp" => now_ms.to_string(),
            "x-shopify-triggered-at" => rfc3339(now_ms),
            _ => continue,
        };
        header.value = fresh.into_bytes();
    }
}

/// A random (version 4) UUID, the id shape GitHub and Shopify use.
fn uuid() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `2026-11-20T09:20:11.044Z` for a Unix time in milliseconds.
fn rfc3339(now_ms: u64) -> String {
    crate::store::time::format_rfc3339(now_ms)
}

#[cfg(test)]
mod tests;
