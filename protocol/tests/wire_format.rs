//! Pins the JSON wire format: a change here breaks deployed relays and clients,
//! so it must come with a protocol version bump.

use hookline_protocol::{
    ChannelId, ClientMessage, Delivery, DeliveryId, GoodbyeReason, Header, PROTOCOL_VERSION,
    ProtocolError, RelayMessage, Secret, body_sha256_hex, check_version, limits,
};
use serde_json::json;

fn sample_delivery() -> Delivery {
    let body = b"{\"event\":\"email.opened\"}\xff".to_vec();
    Delivery {
        id: DeliveryId::from_parts(1_780_000_000_000, 42),
        channel: ChannelId::derive(&Secret::new("tok"), "default"),
        received_at_ms: 1_780_000_000_123,
        method: "POST".into(),
        path: "/autosend".into(),
        query: Some("a=1&a=2".into()),
        headers: vec![
            Header::new("Content-Type", "application/json"),
            Header::new("X-Dup", "1"),
            Header::new("x-dup", "2"),
            Header::new("X-Latin1", vec![0xE9]),
        ],
        body_sha256: body_sha256_hex(&body),
        body,
        remote_addr: Some("203.0.113.7:5555".into()),
        public_url: "https://relay.example.com/h/abc/autosend?a=1&a=2".into(),
    }
}

#[test]
fn hello_is_pinned() {
    let hello = ClientMessage::Hello {
        protocol: 1,
        token: Secret::new("tok"),
        channel: None,
        client: "hookline/0.1.0".into(),
    };
    let value: serde_json::Value = serde_json::from_str(&hello.encode()).unwrap();
    assert_eq!(
        value,
        json!({"type": "hello", "protocol": 1, "token": "tok", "channel": null, "client": "hookline/0.1.0"})
    );
}

#[test]
fn delivery_frame_is_pinned() {
    let frame = RelayMessage::Delivery {
        delivery: Box::new(sample_delivery()),
        respond: true,
    };
    let value: serde_json::Value = serde_json::from_str(&frame.encode()).unwrap();
    let d = &value["delivery"];
    assert_eq!(value["type"], "delivery");
    assert_eq!(value["respond"], true);
    assert_eq!(d["id"], "01KSR49200000000000000001A");
    assert_eq!(
        d["headers"][0],
        json!({"name": "Content-Type", "value": "application/json"})
    );
    assert_eq!(
        d["headers"][3],
        json!({"name": "X-Latin1", "value": {"b64": "6Q=="}})
    );
    assert_eq!(d["body_b64"], "eyJldmVudCI6ImVtYWlsLm9wZW5lZCJ9/w==");
    assert_eq!(d["query"], "a=1&a=2");
    assert_eq!(d["received_at_ms"], 1_780_000_000_123u64);
}

#[test]
fn acks_are_pinned() {
    let id = DeliveryId::from_parts(1_780_000_000_000, 42);
    assert_eq!(
        ClientMessage::Stored { id }.encode(),
        r#"{"type":"stored","id":"01KSR49200000000000000001A"}"#
    );
    let response = ClientMessage::Response {
        id,
        status: 200,
        headers: vec![Header::new("content-type", "text/plain")],
        body: b"ok".to_vec(),
    };
    assert_eq!(
        response.encode(),
        r#"{"type":"response","id":"01KSR49200000000000000001A","status":200,"headers":[{"name":"content-type","value":"text/plain"}],"body_b64":"b2s="}"#
    );
    let bye = RelayMessage::Goodbye {
        reason: GoodbyeReason::TakenOver,
        message: "x".into(),
    };
    assert_eq!(
        bye.encode(),
        r#"{"type":"goodbye","reason":"taken_over","message":"x"}"#
    );
}

#[test]
fn every_message_round_trips() {
    let id = DeliveryId::generate();
    let client = [
        ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            token: Secret::new("t"),
            channel: Some(ChannelId::derive(&Secret::new("t"), "stripe")),
            client: "c".into(),
        },
        ClientMessage::Stored { id },
        ClientMessage::Response {
            id,
            status: 418,
            headers: vec![Header::new("a", vec![0, 255])],
            body: vec![0, 1, 2, 255],
        },
        ClientMessage::Goodbye {
            reason: GoodbyeReason::ShuttingDown,
            message: "bye".into(),
        },
    ];
    for msg in client {
        assert_eq!(ClientMessage::decode(msg.encode().as_bytes()).unwrap(), msg);
    }
    let relay = [
        RelayMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            channel: ChannelId::derive(&Secret::new("t"), "default"),
            public_url: "http://127.0.0.1:1/h/x".into(),
            relay: "r".into(),
        },
        RelayMessage::Delivery {
            delivery: Box::new(sample_delivery()),
            respond: false,
        },
        RelayMessage::Goodbye {
            reason: GoodbyeReason::BadToken,
            message: "no".into(),
        },
    ];
    for msg in relay {
        assert_eq!(RelayMessage::decode(msg.encode().as_bytes()).unwrap(), msg);
    }
}

#[test]
fn a_body_at_the_ceiling_fits_in_one_message() {
    let mut delivery = sample_delivery();
    delivery.body = vec![0xAB; limits::MAX_BODY_BYTES_CEILING];
    let frame = RelayMessage::Delivery {
        delivery: Box::new(delivery),
        respond: true,
    }
    .encode();
    assert!(
        frame.len() > 16 << 20,
        "the test must exceed tungstenite's default"
    );
    assert!(frame.len() <= limits::MAX_MESSAGE_BYTES);
    assert!(RelayMessage::decode(frame.as_bytes()).is_ok());
}

#[test]
fn bad_frames_are_errors_not_panics() {
    let cases: [&[u8]; 8] = [
        b"",
        b"{",
        b"null",
        br#"{"type":"warp"}"#,
        br#"{"type":"stored","id":"nope"}"#,
        br#"{"type":"stored","id":"01KSR49200000000000000001A","extra":1}"#,
        br#"{"type":"response","id":"01KSR49200000000000000001A","status":70000,"headers":[],"body_b64":""}"#,
        br#"{"type":"response","id":"01KSR49200000000000000001A","status":200,"headers":[],"body_b64":"***"}"#,
    ];
    for case in cases {
        assert!(
            ClientMessage::decode(case).is_err(),
            "{:?}",
            String::from_utf8_lossy(case)
        );
        assert!(RelayMessage::decode(case).is_err());
    }
}

#[test]
fn oversized_frames_are_refused_before_parsing() {
    let big = vec![b' '; limits::MAX_MESSAGE_BYTES + 1];
    assert!(matches!(
        ClientMessage::decode(&big),
        Err(ProtocolError::TooLarge { .. })
    ));
}

#[test]
fn random_bytes_never_panic() {
    // A small deterministic generator: the cargo-fuzz target explores far more.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let seed = RelayMessage::Delivery {
        delivery: Box::new(sample_delivery()),
        respond: true,
    }
    .encode()
    .into_bytes();
    for round in 0..20_000 {
        let mut bytes = seed.clone();
        for _ in 0..(round % 8 + 1) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state as usize) % bytes.len();
            bytes[at] = (state >> 32) as u8;
        }
        let _ = RelayMessage::decode(&bytes);
        let _ = ClientMessage::decode(&bytes);
    }
}

#[test]
fn version_mismatch_says_which_side_to_update() {
    assert!(check_version(PROTOCOL_VERSION, "relay", "client").is_ok());
    let err = check_version(PROTOCOL_VERSION + 1, "relay", "client").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("please update the relay"), "{text}");
    let err = check_version(0, "relay", "client").unwrap_err();
    assert!(err.to_string().contains("please update the client"));
}

#[test]
fn fatal_reasons_are_the_ones_retrying_cannot_fix() {
    assert!(GoodbyeReason::BadToken.is_fatal());
    assert!(GoodbyeReason::VersionMismatch.is_fatal());
    assert!(!GoodbyeReason::TakenOver.is_fatal());
    assert!(!GoodbyeReason::ShuttingDown.is_fatal());
}
