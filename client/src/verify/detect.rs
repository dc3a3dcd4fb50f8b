//! `--scheme auto`: which scheme a request's headers announce.

use hookline_protocol::Header;

use super::body_schemes::{AUTOSEND_HEADER, GITHUB_HEADER, LINEAR_HEADER, SHOPIFY_HEADER};
use super::headers::has;
use super::scheme::Scheme;
use super::timestamped::{
    PADDLE_HEADER, SLACK_SIGNATURE, STRIPE_HEADER, SVIX_NAMES, WEBHOOK_NAMES,
};
use super::url_signed::{SQUARE_HEADER, TWILIO_HEADER};

/// Each scheme's signature header, most specific first: `X-Webhook-Signature`
/// (AutoSend) is generic enough that another sender could send it alongside
/// its own header, so it comes last.
const SIGNATURE_HEADERS: [(&str, Scheme); 11] = [
    (STRIPE_HEADER, Scheme::Stripe),
    (SVIX_NAMES.signature, Scheme::Svix),
    (WEBHOOK_NAMES.signature, Scheme::StandardWebhooks),
    (GITHUB_HEADER, Scheme::Github),
    (SLACK_SIGNATURE, Scheme::Slack),
    (SHOPIFY_HEADER, Scheme::Shopify),
    (TWILIO_HEADER, Scheme::Twilio),
    (SQUARE_HEADER, Scheme::Square),
    (PADDLE_HEADER, Scheme::Paddle),
    (LINEAR_HEADER, Scheme::Linear),
    (AUTOSEND_HEADER, Scheme::Autosend),
];

/// Which scheme `auto` would pick from these headers (None: unsigned). The
/// generic `hmac` scheme is never detected: its header is whatever you say.
pub fn detect(headers: &[Header]) -> Option<Scheme> {
    SIGNATURE_HEADERS
        .iter()
        .find(|(name, _)| has(headers, name))
        .map(|(_, scheme)| scheme.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_header_case_insensitively() {
        let cases = [
            ("stripe-signature", "stripe"),
            ("Svix-Signature", "svix"),
            ("webhook-signature", "standard-webhooks"),
            ("X-HUB-SIGNATURE-256", "github"),
            ("x-slack-signature", "slack"),
            ("X-Shopify-Hmac-Sha256", "shopify"),
            ("X-Twilio-Signature", "twilio"),
            ("x-square-hmacsha256-signature", "square"),
            ("Paddle-Signature", "paddle"),
            ("linear-signature", "linear"),
            ("X-Webhook-Signature", "autosend"),
        ];
        for (header, scheme) in cases {
            let found = detect(&[Header::new("Content-Type", "x"), Header::new(header, "v")]);
            assert_eq!(found.map(|s| s.name()), Some(scheme), "{header}");
        }
        assert_eq!(detect(&[Header::new("X-Hub-Signature", "sha1=00")]), None);
    }

    #[test]
    fn specific_headers_win_over_autosend() {
        let headers = [
            Header::new("X-Webhook-Signature", "a"),
            Header::new("Stripe-Signature", "b"),
        ];
        assert_eq!(detect(&headers), Some(Scheme::Stripe));
    }
}
