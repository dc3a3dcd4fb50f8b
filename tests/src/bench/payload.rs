//! The webhook every scenario sends: an AutoSend sample padded to a chosen
//! size and signed the way AutoSend signs (hex HMAC-SHA256 of the raw body in
//! `X-Webhook-Signature`), so the client really verifies it.

use bytes::Bytes;

/// The secret the sender signs with and the client verifies with.
pub const SECRET: &str = "as_whsec_bench_5f1e";

/// The size of the standard payload: a typical provider event with metadata.
pub const STANDARD_SIZE: usize = 1536;

/// A signed body and the headers a sender puts on it.
#[derive(Debug, Clone)]
pub struct Payload {
    pub body: Bytes,
    pub headers: Vec<(String, String)>,
}

/// The `email.opened` sample with a `padding` field filling it to `size`
/// bytes (at least the sample's own size), signed with [`SECRET`].
pub fn signed(size: usize) -> anyhow::Result<Payload> {
    let sample = crate::fixture("email.opened");
    let mut event: serde_json::Value = serde_json::from_slice(&sample)?;
    let object = event
        .as_object_mut()
        .ok_or_else(|| anyhow::anyhow!("the email.opened fixture is not a JSON object"))?;
    object.insert("padding".into(), serde_json::Value::String(String::new()));
    let bare = serde_json::to_vec(&event)?.len();
    if let Some(object) = event.as_object_mut() {
        let fill = "x".repeat(size.saturating_sub(bare));
        object.insert("padding".into(), serde_json::Value::String(fill));
    }
    let body = serde_json::to_vec(&event)?;
    let signature = crate::autosend_signature(SECRET, &body);
    Ok(Payload {
        body: Bytes::from(body),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-webhook-signature".into(), signature),
            ("x-webhook-delivery-id".into(), "dlv_bench".into()),
        ],
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_payload_has_the_asked_size_and_a_valid_signature() {
        let payload = super::signed(super::STANDARD_SIZE).unwrap();
        assert_eq!(payload.body.len(), super::STANDARD_SIZE);
        let signature = &payload.headers[1].1;
        assert_eq!(
            *signature,
            crate::autosend_signature(super::SECRET, &payload.body)
        );
    }
}
