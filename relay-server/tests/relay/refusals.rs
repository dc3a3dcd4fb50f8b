//! Failed handshakes are limited per address: past the limit `/connect`
//! answers 429 before any WebSocket, and the metrics count both.

use hookline_protocol::{GoodbyeReason, RelayMessage};

use crate::support::*;

#[tokio::test]
async fn an_address_that_keeps_failing_handshakes_gets_429_and_others_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| c.max_failed_handshakes = 3).await;
    for attempt in 0..3 {
        let (_, first) = Client::connect_from("127.0.0.1", relay.addr, hello("bad-token", None))
            .await
            .unwrap_or_else(|r| panic!("attempt {attempt} refused with {}", r.status()));
        assert!(
            matches!(
                first,
                RelayMessage::Goodbye {
                    reason: GoodbyeReason::BadToken,
                    ..
                }
            ),
            "attempt {attempt}: {first:?}"
        );
    }
    let throttled = Client::connect_from("127.0.0.1", relay.addr, hello(TOKEN_A, None)).await;
    let Err(response) = throttled else {
        panic!("a fourth attempt from the same address was let through");
    };
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let body = String::from_utf8(response.body().clone().unwrap_or_default()).unwrap();
    assert!(body.contains("handshake_throttled"), "{body}");
    // Another address is not affected.
    let (_, first) = Client::connect_from("127.0.0.2", relay.addr, hello(TOKEN_A, None))
        .await
        .expect("another address may connect");
    assert!(matches!(first, RelayMessage::Welcome { .. }), "{first:?}");
    let bad_token = r#"handshakes_refused_total{reason="bad_token"}"#;
    assert_eq!(metric(relay.addr, bad_token).await, 3);
    assert_eq!(metric(relay.addr, "handshakes_throttled_total").await, 1);
    relay.stop().await;
}
