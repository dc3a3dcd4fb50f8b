//! The event type of a delivery, read where its provider puts it: the one
//! place that decides it, for lists, `list --event`, `listen --events` and
//! the `listen` lines alike.

use hookline_protocol::{Header, header_values};
use serde::Deserialize;

/// Longest event type kept; a hostile sender cannot bloat lists.
const MAX_EVENT_LEN: usize = 200;

/// Headers that name the event, for providers that put it there rather than
/// in the body (a GitHub push body has no type field at all). Checked in
/// order before the body.
const EVENT_HEADERS: [&str; 7] = [
    // GitHub: `push`, `pull_request`, `ping`…
    "X-GitHub-Event",
    // Shopify: `orders/create`…
    "X-Shopify-Topic",
    // Linear: `Issue`, `Comment`… (the body's `type` says the same)
    "Linear-Event",
    // GitLab: `Push Hook`, `Merge Request Hook`…
    "X-Gitlab-Event",
    // Bitbucket: `repo:push`, `pullrequest:created`…
    "X-Event-Key",
    // AutoSend: `email.opened`…
    "X-Webhook-Event",
    // CloudEvents in binary mode: the type travels as a header.
    "ce-type",
];

/// The event type: a provider's event header (see [`EVENT_HEADERS`]), else
/// a JSON object body's `event`, `type` or `event_type` string field, which
/// covers Stripe, Standard Webhooks, Svix, Square, Paddle (`event_type`),
/// AutoSend and most others. A Slack Events API callback
/// (`"type":"event_callback"`) is named by its inner `event.type`, e.g.
/// `app_mention`. Cut to 200 characters.
pub fn event_type(headers: &[Header], body: &[u8]) -> Option<String> {
    let from_header = EVENT_HEADERS
        .iter()
        .find_map(|name| {
            let value = header_values(headers, name).next()?;
            std::str::from_utf8(value).ok().map(str::trim)
        })
        .filter(|value| !value.is_empty())
        .map(str::to_owned);
    let text = from_header.or_else(|| from_body(body))?;
    Some(text.chars().take(MAX_EVENT_LEN).collect())
}

fn from_body(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Probe {
        event: Option<serde_json::Value>,
        #[serde(rename = "type")]
        kind: Option<serde_json::Value>,
        event_type: Option<serde_json::Value>,
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    let probe: Probe = serde_json::from_slice(body).ok()?;
    if probe.kind.as_ref().and_then(|k| k.as_str()) == Some("event_callback")
        && let Some(inner) = probe
            .event
            .as_ref()
            .and_then(|e| e.get("type"))
            .and_then(|t| t.as_str())
    {
        return Some(inner.to_owned());
    }
    [probe.event, probe.kind, probe.event_type]
        .into_iter()
        .flatten()
        .find_map(|v| v.as_str().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(headers: &[(&str, &str)], body: &str) -> Option<String> {
        let headers: Vec<Header> = headers.iter().map(|(n, v)| Header::new(*n, *v)).collect();
        event_type(&headers, body.as_bytes())
    }

    #[test]
    fn providers_headers_name_the_event() {
        let push = of(
            &[("x-github-event", "push")],
            r#"{"ref":"refs/heads/main"}"#,
        );
        assert_eq!(push.as_deref(), Some("push"));
        let order = of(&[("X-Shopify-Topic", "orders/create")], r#"{"id":1}"#);
        assert_eq!(order.as_deref(), Some("orders/create"));
        let gitlab = of(
            &[("X-Gitlab-Event", "Push Hook")],
            r#"{"object_kind":"push"}"#,
        );
        assert_eq!(gitlab.as_deref(), Some("Push Hook"));
        let cloud = of(&[("ce-type", "com.example.object.deleted")], "{}");
        assert_eq!(cloud.as_deref(), Some("com.example.object.deleted"));
    }

    #[test]
    fn body_fields_name_the_rest() {
        let stripe = of(&[], r#"{"id":"evt_1","type":"payment_intent.succeeded"}"#);
        assert_eq!(stripe.as_deref(), Some("payment_intent.succeeded"));
        let paddle = of(
            &[],
            r#"{"event_id":"evt_1","event_type":"transaction.completed"}"#,
        );
        assert_eq!(paddle.as_deref(), Some("transaction.completed"));
        let slack = of(
            &[],
            r#"{"type":"event_callback","event":{"type":"app_mention","text":"hi"}}"#,
        );
        assert_eq!(slack.as_deref(), Some("app_mention"));
        let challenge = of(&[], r#"{"type":"url_verification","challenge":"x"}"#);
        assert_eq!(challenge.as_deref(), Some("url_verification"));
        assert_eq!(of(&[], "Body=hi&From=%2B1"), None);
        assert_eq!(of(&[], r#"{"event":{"nested":true}}"#), None);
    }

    #[test]
    fn empty_headers_fall_back_and_long_types_are_cut() {
        let empty = of(&[("X-GitHub-Event", " ")], r#"{"type":"a.b"}"#);
        assert_eq!(empty.as_deref(), Some("a.b"));
        let long = "x".repeat(500);
        let cut = of(&[], &format!(r#"{{"type":"{long}"}}"#)).unwrap();
        assert_eq!(cut.len(), MAX_EVENT_LEN);
    }
}
