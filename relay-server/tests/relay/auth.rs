//! Handshake: who may subscribe to which channel, and what a refused client hears.

use hookline_protocol::{ChannelId, GoodbyeReason, RelayMessage, Secret};

use crate::support::*;

async fn refused_with(hello: hookline_protocol::ClientMessage) -> (GoodbyeReason, String) {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let (mut client, first) = Client::connect(relay.addr, hello).await;
    let RelayMessage::Goodbye { reason, message } = first else {
        panic!("expected goodbye, got {first:?}");
    };
    assert!(
        client.try_recv().await.is_none(),
        "the relay closes after a refusal"
    );
    relay.stop().await;
    (reason, message)
}

#[tokio::test]
async fn missing_token_is_refused() {
    let (reason, message) = refused_with(hello("", None)).await;
    assert_eq!(reason, GoodbyeReason::MissingToken);
    assert!(message.contains("no token"), "{message}");
}

#[tokio::test]
async fn bad_token_is_refused() {
    let (reason, _) = refused_with(hello("token-nobody-knows", None)).await;
    assert_eq!(reason, GoodbyeReason::BadToken);
}

#[tokio::test]
async fn another_tokens_channel_is_forbidden() {
    let (reason, message) = refused_with(hello(TOKEN_B, Some(channel(TOKEN_A)))).await;
    assert_eq!(reason, GoodbyeReason::ChannelForbidden);
    assert!(message.contains(channel(TOKEN_A).as_str()), "{message}");
}

#[tokio::test]
async fn version_mismatch_says_which_side_to_update() {
    let mut newer = hello(TOKEN_A, None);
    if let hookline_protocol::ClientMessage::Hello { protocol, .. } = &mut newer {
        *protocol = 99;
    }
    let (reason, message) = refused_with(newer).await;
    assert_eq!(reason, GoodbyeReason::VersionMismatch);
    assert!(message.contains("update the relay"), "{message}");
}

#[tokio::test]
async fn unparseable_hello_of_another_version_still_gets_version_advice() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let url = format!("ws://{}/connect", relay.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    use futures_util::SinkExt;
    let old = r#"{"type":"hello","protocol":0,"token":"x","version_field_of_old_clients":1}"#;
    ws.send(tokio_tungstenite::tungstenite::Message::text(old))
        .await
        .unwrap();
    let mut client = Client { ws };
    match client.recv().await {
        RelayMessage::Goodbye { reason, message } => {
            assert_eq!(reason, GoodbyeReason::VersionMismatch);
            assert!(message.contains("update the client"), "{message}");
        }
        other => panic!("expected goodbye, got {other:?}"),
    }
    relay.stop().await;
}

#[tokio::test]
async fn welcome_names_the_default_or_asked_channel_and_its_url() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let (_client, first) = Client::connect(relay.addr, hello(TOKEN_A, None)).await;
    let RelayMessage::Welcome {
        channel: got,
        public_url,
        protocol,
        ..
    } = first
    else {
        panic!("expected welcome, got {first:?}");
    };
    assert_eq!(got, channel(TOKEN_A));
    assert_eq!(protocol, hookline_protocol::PROTOCOL_VERSION);
    assert_eq!(public_url, relay.url(&format!("/h/{got}")));
    let stripe = ChannelId::derive(&Secret::new(TOKEN_A), "stripe");
    let (_c2, first) = Client::connect(relay.addr, hello(TOKEN_A, Some(stripe.clone()))).await;
    assert!(matches!(first, RelayMessage::Welcome { channel, .. } if channel == stripe));
    relay.stop().await;
}

#[tokio::test]
async fn configured_public_url_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| {
        c.public_url = Some("https://relay.example.com/".into())
    })
    .await;
    let (_client, first) = Client::connect(relay.addr, hello(TOKEN_A, None)).await;
    let RelayMessage::Welcome { public_url, .. } = first else {
        panic!("{first:?}")
    };
    assert_eq!(
        public_url,
        format!("https://relay.example.com/h/{}", channel(TOKEN_A))
    );
    relay.stop().await;
}

#[tokio::test]
async fn oversized_frame_before_hello_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |_| {}).await;
    let url = format!("ws://{}/connect", relay.addr);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(ws_config()), true)
        .await
        .unwrap();
    let mut client = Client { ws };
    let huge = "x".repeat(hookline_relay::CLIENT_MESSAGE_LIMIT + 1);
    use futures_util::SinkExt;
    // The relay may close while the frame is still being written.
    let _ = client
        .ws
        .send(tokio_tungstenite::tungstenite::Message::text(huge))
        .await;
    assert!(
        client.try_recv().await.is_none(),
        "no welcome for an oversized frame"
    );
    relay.stop().await;
}
