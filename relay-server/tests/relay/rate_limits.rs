//! Per-channel limits of a shared relay: past its requests per second a
//! channel answers 429 with `Retry-After` (counted, told to the client) and
//! nothing it accepted is lost; a token's own limits override the relay's
//! defaults and change on a reload without ending its session.

use std::collections::HashSet;

use hookline_protocol::RelayMessage;
use hookline_relay::TokenSet;

use crate::support::*;

/// More requests than any honest test machine sends in the bucket's refill time.
const ATTEMPTS: usize = 60;

#[tokio::test]
async fn past_the_rate_senders_get_429_and_every_accepted_delivery_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| c.channel_rate = 3).await;
    let path = format!("/h/{}", channel(TOKEN_A));
    let (mut accepted, mut limited) = (Vec::new(), None);
    for n in 0..ATTEMPTS {
        let reply = post(relay.addr, &path, format!("event-{n}")).await;
        match reply.status {
            202 => accepted.push(reply.json()["id"].as_str().unwrap().to_owned()),
            429 => {
                limited = Some(reply);
                break;
            }
            other => panic!("request {n}: unexpected status {other}"),
        }
    }
    let limited = limited.expect("a channel limited to 3/s took 60 requests in a row");
    assert!(
        accepted.len() >= 3,
        "the burst of one second's worth passes"
    );
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(retry_after, 1, "a 3/s bucket refills within a second");
    assert_eq!(limited.json()["reason"], "rate_limited");
    let rate_limited = r#"dropped_total{reason="rate_limited"}"#;
    assert_eq!(metric(relay.addr, rate_limited).await, 1);
    // Another channel has a bucket of its own.
    let other = post(relay.addr, &format!("/h/{}", channel(TOKEN_B)), "b").await;
    assert_eq!(other.status, 202);

    // The client hears of the refusal and gets every accepted delivery once.
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    let (mut got, mut told) = (HashSet::new(), false);
    while got.len() < accepted.len() || !told {
        match client.recv().await {
            RelayMessage::Refused { status, reason, .. } => {
                assert_eq!((status, reason.as_str()), (429, "rate_limited"));
                told = true;
            }
            RelayMessage::Delivery { delivery, .. } => {
                assert!(got.insert(delivery.id.to_string()), "delivered twice");
                client.stored(delivery.id).await;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, accepted.into_iter().collect::<HashSet<_>>());
    relay.stop().await;
}

#[tokio::test]
async fn a_tokens_own_limits_override_the_defaults_and_reload_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| c.channel_rate = 1).await;
    let unlimited = format!("{TOKEN_A} stripe rate=0\n{TOKEN_B}\n");
    relay
        .relay
        .reload_tokens(TokenSet::parse_file(&unlimited).unwrap())
        .unwrap();
    let path = format!("/h/{}", channel(TOKEN_A));
    for n in 0..20 {
        let reply = post(relay.addr, &path, format!("event-{n}")).await;
        assert_eq!(reply.status, 202, "request {n} with rate=0");
    }
    // A connected session survives a change of its token's limits.
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    for _ in 0..20 {
        let (delivery, _) = client.delivery().await;
        client.stored(delivery.id).await;
    }
    let small = format!("{TOKEN_A} stripe rate=0 queue_bytes=16\n{TOKEN_B}\n");
    let report = relay
        .relay
        .reload_tokens(TokenSet::parse_file(&small).unwrap())
        .unwrap();
    assert_eq!((report.channels_added, report.channels_removed), (0, 0));
    drop(client);
    let big = post(relay.addr, &path, "a body longer than sixteen bytes").await;
    assert_eq!(big.status, 503);
    assert_eq!(big.json()["reason"], "queue_full");
    // Back to the relay's default of 1/s: a burst of one, then 429.
    let default = format!("{TOKEN_A} stripe\n{TOKEN_B}\n");
    relay
        .relay
        .reload_tokens(TokenSet::parse_file(&default).unwrap())
        .unwrap();
    let statuses: Vec<u16> =
        futures_util::future::join_all((0..5).map(|_| post(relay.addr, &path, "x")))
            .await
            .iter()
            .map(|r| r.status)
            .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 202 || *s == 429),
        "{statuses:?}"
    );
    relay.stop().await;
}
