//! Pins the wire format: a change here breaks deployed relays and clients,
//! so it must come with a protocol version bump.

use bytes::Bytes;
use hookline_protocol::{
    ChannelId, ClientMessage, Delivery, DeliveryId, Frame, GoodbyeReason, Header, PROTOCOL_VERSION,
    ProtocolError, RelayMessage, Secret, SessionRespond, body_sha256_hex, check_version, frame,
    limits,
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
        body: body.into(),
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
        respond: Default::default(),
    };
    let value: serde_json::Value = serde_json::from_str(&text(hello.encode())).unwrap();
    assert_eq!(
        value,
        json!({"type": "hello", "protocol": 1, "token": "tok", "channel": null, "client": "hookline/0.1.0"})
    );
}

#[test]
fn hello_with_accept_is_pinned() {
    let hello = ClientMessage::Hello {
        protocol: 2,
        token: Secret::new("tok"),
        channel: None,
        client: "hookline/0.1.0".into(),
        respond: SessionRespond::Accept,
    };
    let value: serde_json::Value = serde_json::from_str(&text(hello.encode())).unwrap();
    assert_eq!(
        value,
        json!({"type": "hello", "protocol": 2, "token": "tok", "channel": null, "client": "hookline/0.1.0", "respond": "accept"})
    );
    let older = r#"{"type":"hello","protocol":2,"token":"tok","channel":null,"client":"c"}"#;
    let ClientMessage::Hello { respond, .. } =
        ClientMessage::decode_text(older.as_bytes()).unwrap()
    else {
        panic!("a hello");
    };
    assert_eq!(
        respond,
        SessionRespond::App,
        "absent means the client answers"
    );
}

fn text(frame: Frame) -> String {
    match frame {
        Frame::Text(text) => text,
        Frame::Binary(_) => panic!("expected a text frame"),
    }
}

fn binary(frame: Frame) -> Bytes {
    match frame {
        Frame::Binary(bytes) => bytes,
        Frame::Text(text) => panic!("expected a binary frame, got {text}"),
    }
}

/// Kind, flags, metadata as JSON, body: the four parts of a binary frame.
fn parts(frame: &[u8]) -> (u8, u8, serde_json::Value, &[u8]) {
    let meta_len = u32::from_be_bytes(frame[2..6].try_into().unwrap()) as usize;
    let meta = serde_json::from_slice(&frame[6..6 + meta_len]).unwrap();
    (frame[0], frame[1], meta, &frame[6 + meta_len..])
}

#[test]
fn delivery_frame_is_pinned() {
    let frame = binary(
        RelayMessage::Delivery {
            delivery: Box::new(sample_delivery()),
            respond: true,
        }
        .encode(),
    );
    let (kind, flags, d, body) = parts(&frame);
    assert_eq!((kind, flags), (1, 1));
    assert_eq!(
        body, b"{\"event\":\"email.opened\"}\xff",
        "raw body, no base64"
    );
    assert_eq!(d["id"], "01KSR49200000000000000001A");
    assert_eq!(
        d["headers"][0],
        json!({"name": "Content-Type", "value": "application/json"})
    );
    assert_eq!(
        d["headers"][3],
        json!({"name": "X-Latin1", "value": {"b64": "6Q=="}})
    );
    assert_eq!(d.get("body_b64"), None);
    assert_eq!(d["query"], "a=1&a=2");
    assert_eq!(d["received_at_ms"], 1_780_000_000_123u64);
    let quiet = frame::with_respond(frame.clone(), false);
    assert_eq!(quiet[1], 0);
    assert_eq!(quiet[2..], frame[2..]);
    assert_eq!(
        frame::with_respond(frame.clone(), true).as_ptr(),
        frame.as_ptr(),
        "an unchanged flag shares the bytes"
    );
}

#[test]
fn acks_and_responses_are_pinned() {
    let id = DeliveryId::from_parts(1_780_000_000_000, 42);
    let other = DeliveryId::from_parts(1_780_000_000_001, 43);
    assert_eq!(
        text(
            ClientMessage::Stored {
                ids: vec![id, other]
            }
            .encode()
        ),
        r#"{"type":"stored","ids":["01KSR49200000000000000001A","01KSR49201000000000000001B"]}"#
    );
    let response = binary(
        ClientMessage::Response {
            id,
            status: 200,
            headers: vec![Header::new("content-type", "text/plain")],
            body: Bytes::from_static(b"ok"),
        }
        .encode(),
    );
    let (kind, flags, meta, body) = parts(&response);
    assert_eq!((kind, flags, body), (2, 0, &b"ok"[..]));
    assert_eq!(
        meta,
        json!({"id": "01KSR49200000000000000001A", "status": 200, "headers": [{"name": "content-type", "value": "text/plain"}]})
    );
    let bye = RelayMessage::Goodbye {
        reason: GoodbyeReason::TakenOver,
        message: "x".into(),
    };
    assert_eq!(
        text(bye.encode()),
        r#"{"type":"goodbye","reason":"taken_over","message":"x"}"#
    );
}

#[test]
fn welcome_carries_the_heartbeat_timing() {
    let welcome = RelayMessage::Welcome {
        protocol: 2,
        channel: ChannelId::derive(&Secret::new("tok"), "default"),
        public_url: "http://127.0.0.1:1/h/x".into(),
        relay: "r".into(),
        ping_interval_ms: 10_000,
        dead_peer_after_ms: 30_000,
    };
    let value: serde_json::Value = serde_json::from_str(&text(welcome.encode())).unwrap();
    assert_eq!(value["ping_interval_ms"], 10_000);
    assert_eq!(value["dead_peer_after_ms"], 30_000);
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
            respond: Default::default(),
        },
        ClientMessage::Stored { ids: vec![id] },
        ClientMessage::Response {
            id,
            status: 418,
            headers: vec![Header::new("a", vec![0, 255])],
            body: Bytes::from_static(&[0, 1, 2, 255]),
        },
        ClientMessage::Goodbye {
            reason: GoodbyeReason::ShuttingDown,
            message: "bye".into(),
        },
    ];
    for msg in client {
        assert_eq!(ClientMessage::decode(msg.encode()).unwrap(), msg);
    }
    let relay = [
        RelayMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            channel: ChannelId::derive(&Secret::new("t"), "default"),
            public_url: "http://127.0.0.1:1/h/x".into(),
            relay: "r".into(),
            ping_interval_ms: 1,
            dead_peer_after_ms: 2,
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
        assert_eq!(RelayMessage::decode(msg.encode()).unwrap(), msg);
    }
}

#[test]
fn a_body_at_the_ceiling_fits_in_one_message() {
    let mut delivery = sample_delivery();
    delivery.body = vec![0xAB; limits::MAX_BODY_BYTES_CEILING].into();
    let frame = binary(
        RelayMessage::Delivery {
            delivery: Box::new(delivery),
            respond: true,
        }
        .encode(),
    );
    assert!(
        frame.len() > 16 << 20,
        "the test must exceed tungstenite's default"
    );
    assert!(frame.len() <= limits::MAX_MESSAGE_BYTES);
    let body_at = frame.len() - limits::MAX_BODY_BYTES_CEILING;
    let RelayMessage::Delivery { delivery, .. } =
        RelayMessage::decode_binary(frame.clone()).unwrap()
    else {
        panic!("not a delivery")
    };
    assert_eq!(
        delivery.body.as_ptr(),
        frame[body_at..].as_ptr(),
        "the decoded body is a slice of the frame, not a copy"
    );
}

#[test]
fn bad_frames_are_errors_not_panics() {
    let cases: [&[u8]; 9] = [
        b"",
        b"{",
        b"null",
        br#"{"type":"warp"}"#,
        br#"{"type":"stored","ids":["nope"]}"#,
        br#"{"type":"stored","id":"01KSR49200000000000000001A"}"#,
        br#"{"type":"stored","ids":[],"extra":1}"#,
        br#"{"type":"response","id":"01KSR49200000000000000001A","status":200,"headers":[],"body_b64":""}"#,
        br#"{"type":"delivery","respond":true,"delivery":{}}"#,
    ];
    for case in cases {
        assert!(
            ClientMessage::decode_text(case).is_err(),
            "{:?}",
            String::from_utf8_lossy(case)
        );
        assert!(RelayMessage::decode_text(case).is_err());
    }
    let good = binary(
        RelayMessage::Delivery {
            delivery: Box::new(sample_delivery()),
            respond: true,
        }
        .encode(),
    );
    let mut wrong_kind = good.to_vec();
    wrong_kind[0] = 2;
    let mut long_meta = good.to_vec();
    long_meta[2..6].copy_from_slice(&u32::MAX.to_be_bytes());
    let binaries: [&[u8]; 5] = [b"", b"\x01\x00\x00", &wrong_kind, &long_meta, &good[..20]];
    for case in binaries {
        assert!(
            RelayMessage::decode_binary(Bytes::copy_from_slice(case)).is_err(),
            "{case:?}"
        );
    }
    assert!(
        ClientMessage::decode_binary(good).is_err(),
        "a client never sends a delivery"
    );
}

#[test]
fn oversized_frames_are_refused_before_parsing() {
    let big = vec![b' '; limits::MAX_MESSAGE_BYTES + 1];
    assert!(matches!(
        ClientMessage::decode_text(&big),
        Err(ProtocolError::TooLarge { .. })
    ));
    assert!(matches!(
        RelayMessage::decode_binary(big.into()),
        Err(ProtocolError::TooLarge { .. })
    ));
}

#[test]
fn random_bytes_never_panic() {
    // A small deterministic generator: the cargo-fuzz target explores far more.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let seed = binary(
        RelayMessage::Delivery {
            delivery: Box::new(sample_delivery()),
            respond: true,
        }
        .encode(),
    )
    .to_vec();
    for round in 0..20_000 {
        let mut bytes = seed.clone();
        for _ in 0..(round % 8 + 1) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state as usize) % bytes.len();
            bytes[at] = (state >> 32) as u8;
        }
        let _ = RelayMessage::decode_binary(Bytes::copy_from_slice(&bytes));
        let _ = ClientMessage::decode_binary(Bytes::copy_from_slice(&bytes));
        let _ = RelayMessage::decode_text(&bytes[6..]);
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

#[test]
fn gap_and_its_ack_are_pinned() {
    let gap = RelayMessage::Gap {
        first_seq: 3,
        last_seq: 7,
        count: 5,
        reason: "age".into(),
    };
    let value: serde_json::Value = serde_json::from_str(&text(gap.encode())).unwrap();
    assert_eq!(
        value,
        json!({"type": "gap", "first_seq": 3, "last_seq": 7, "count": 5, "reason": "age"})
    );
    assert_eq!(RelayMessage::decode(gap.encode()).unwrap(), gap);
    let ack = ClientMessage::GapRecorded {
        first_seq: 3,
        last_seq: 7,
    };
    let value: serde_json::Value = serde_json::from_str(&text(ack.encode())).unwrap();
    assert_eq!(
        value,
        json!({"type": "gap_recorded", "first_seq": 3, "last_seq": 7})
    );
    assert_eq!(ClientMessage::decode(ack.encode()).unwrap(), ack);
}
