//! Deliveries and attempts for the store tests, built the way the relay and
//! forwarder build them.
#![allow(dead_code)]

use hookline::model::{Attempt, AttemptKind, Outcome, Verdict};
use hookline::store::Store;
use hookline_protocol::{ChannelId, Delivery, DeliveryId, Header, Secret, body_sha256_hex};

/// A fixed base time (2026-05-01T00:00:00Z) so ids and filters are stable.
pub const T0: u64 = 1_777_593_600_000;

pub fn delivery(ms: u64, random: u128, event: &str, path: &str, body: Vec<u8>) -> Delivery {
    let body = if body.is_empty() && !event.is_empty() {
        format!(r#"{{"type":"{event}","data":{{"n":{random}}}}}"#).into_bytes()
    } else {
        body
    };
    Delivery {
        id: DeliveryId::from_parts(ms, random),
        channel: ChannelId::derive(&Secret::new("tok"), "default"),
        received_at_ms: ms,
        method: "POST".into(),
        path: path.into(),
        query: Some("a=1&b=two".into()),
        headers: vec![
            Header::new("Content-Type", "application/json"),
            Header::new("X-Webhook-Signature", "abc123"),
            Header::new("X-Dup", "one"),
            Header::new("X-Dup", "two"),
            Header::new("X-Binary", vec![0xff, 0x00, 0x41]),
        ],
        body_sha256: body_sha256_hex(&body),
        body: body.into(),
        remote_addr: Some("127.0.0.1:5555".into()),
        public_url: format!("http://127.0.0.1:9/h/chan{path}?a=1&b=two"),
    }
}

pub fn valid() -> Verdict {
    Verdict::Valid {
        scheme: "autosend".into(),
        secret: 1,
    }
}

pub fn invalid() -> Verdict {
    Verdict::Invalid {
        scheme: "autosend".into(),
        reason: "no signature matched any of 1 secrets".into(),
    }
}

pub fn attempt(at_ms: u64, status: Option<u16>, replay: bool) -> Attempt {
    let outcome = match status {
        Some(status) => Outcome::Response {
            status,
            headers: vec![Header::new("content-type", "text/plain")],
            body: format!("status {status}").into_bytes(),
            body_truncated: false,
        },
        None => Outcome::Error {
            message: "connection refused".into(),
        },
    };
    Attempt {
        at_ms,
        kind: if replay {
            AttemptKind::Replay {
                resigned: false,
                edited: false,
            }
        } else {
            AttemptKind::Forward
        },
        target: "http://127.0.0.1:3000/webhooks/x?a=1&b=two".into(),
        sent_body_sha256: "00".repeat(32),
        duration_us: 1500,
        outcome,
    }
}

/// Fills `store` with `n` deliveries one second apart; every third one
/// invalid, every event alternating `email.opened` / `contact.created`,
/// even ones forwarded with 200, odd ones with 500.
pub fn fill(store: &Store, n: u64) -> Vec<DeliveryId> {
    (0..n)
        .map(|i| {
            let event = if i % 2 == 0 {
                "email.opened"
            } else {
                "contact.created"
            };
            let d = delivery(
                T0 + i * 1000,
                u128::from(i) + 1,
                event,
                &format!("/p{i}"),
                Vec::new(),
            );
            let verdict = if i % 3 == 0 { invalid() } else { valid() };
            assert!(store.insert(&d, &verdict).unwrap());
            store
                .record_attempt(
                    d.id,
                    &attempt(
                        T0 + i * 1000 + 5,
                        Some(if i % 2 == 0 { 200 } else { 500 }),
                        false,
                    ),
                )
                .unwrap();
            d.id
        })
        .collect()
}
