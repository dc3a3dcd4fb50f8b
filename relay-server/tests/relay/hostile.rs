//! Hostile senders: requests trickled byte by byte, and floods of connections
//! from one address. Each probe is quick and loopback-only.

use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// The deadlines under test are under a second; a relay that has not cut a
/// trickle off by this bound never will (the old relay held them for good).
const CUT_OFF: Duration = Duration::from_secs(20);

/// A deadline short enough for a quick test, long enough for a busy machine
/// to read an honest request.
const READ_DEADLINE: Duration = Duration::from_millis(600);

/// Sends `first`, then one byte every 100 ms, and returns what the relay
/// wrote once it closed the connection; `None` if it had not by [`CUT_OFF`].
async fn trickle_until_closed(stream: TcpStream, first: &[u8]) -> Option<String> {
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(first).await.expect("write the start");
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(CUT_OFF, async {
        loop {
            tokio::select! {
                read = reader.read(&mut buf) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => reply.extend_from_slice(&buf[..n]),
                },
                _ = tick.tick() => { let _ = writer.write_all(b"a").await; }
            }
        }
    })
    .await;
    closed
        .ok()
        .map(|()| String::from_utf8_lossy(&reply).into_owned())
}

fn slow_post(path: &str) -> Vec<u8> {
    format!("POST {path} HTTP/1.1\r\nhost: relay\r\ncontent-length: 100000\r\n\r\n").into_bytes()
}

#[tokio::test]
async fn a_trickled_body_gets_408_at_the_request_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| c.request_read_timeout = READ_DEADLINE).await;
    let stream = TcpStream::connect(relay.addr).await.unwrap();
    let path = format!("/h/{}", channel(TOKEN_A));
    let reply = trickle_until_closed(stream, &slow_post(&path))
        .await
        .expect("a trickled body was never cut off");
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    let json = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(json).expect("JSON error body");
    assert_eq!(json["reason"], "request_timeout", "{json}");
    assert_eq!(metric(relay.addr, "request_timeouts_total").await, 1);
    assert_eq!(metric(relay.addr, "received_total").await, 0);
    // An unknown channel is answered at once and the connection closed, so a
    // slowloris there holds nothing either.
    let stream = TcpStream::connect(relay.addr).await.unwrap();
    let reply = trickle_until_closed(stream, &slow_post("/h/nosuchchannel"))
        .await
        .expect("a trickle to an unknown channel was never cut off");
    assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
    relay.stop().await;
}

#[tokio::test]
async fn a_trickled_head_is_cut_at_the_request_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| {
        // The head alone may take a minute; the whole request may not.
        c.header_read_timeout = Duration::from_secs(60);
        c.request_read_timeout = READ_DEADLINE;
    })
    .await;
    let stream = TcpStream::connect(relay.addr).await.unwrap();
    let reply = trickle_until_closed(stream, b"POST /h/x HTTP/1.1\r\nhost: relay\r\nx-slow: ")
        .await
        .expect("a trickled head was not cut at the request deadline");
    assert_eq!(reply, "", "hyper closes a timed-out head without an answer");
    relay.stop().await;
}

#[tokio::test]
async fn the_wait_for_the_apps_answer_is_not_part_of_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| c.request_read_timeout = READ_DEADLINE).await;
    let mut client = Client::welcome(relay.addr, TOKEN_A).await;
    let sender = tokio::spawn(post(relay.addr, &format!("/h/{}", channel(TOKEN_A)), "{}"));
    let (delivery, respond) = client.delivery().await;
    assert!(respond);
    // A trickle started after that request was read gets its 408: the
    // deadline has passed for the waiting sender too.
    let stream = TcpStream::connect(relay.addr).await.unwrap();
    let path = format!("/h/{}", channel(TOKEN_B));
    let reply = trickle_until_closed(stream, &slow_post(&path)).await;
    assert!(reply.is_some_and(|r| r.starts_with("HTTP/1.1 408")));
    client
        .respond(delivery.id, 200, vec![], b"late but fine")
        .await;
    let reply = sender.await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, Bytes::from_static(b"late but fine"));
    relay.stop().await;
}

/// Reads one connection's whole answer (the relay closes after it).
async fn answer(mut stream: TcpStream) -> String {
    let mut reply = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut reply))
        .await
        .expect("an answer in time")
        .expect("read");
    String::from_utf8_lossy(&reply).into_owned()
}

#[tokio::test]
async fn one_address_at_its_cap_leaves_room_for_another() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| {
        c.max_connections = 8;
        c.max_connections_per_ip = 4;
        // The held connections stay idle for the whole test.
        c.header_read_timeout = Duration::from_secs(60);
        c.request_read_timeout = Duration::from_secs(60);
    })
    .await;
    // The relay accepts in connect order: the first four hold their slots.
    let mut flood = Vec::new();
    for _ in 0..8 {
        flood.push(connect_from("127.0.0.1", relay.addr).await);
    }
    let refused = flood.split_off(4);
    for stream in refused {
        let reply = answer(stream).await;
        assert!(reply.starts_with("HTTP/1.1 429"), "{reply}");
        assert!(reply.contains("too_many_connections"), "{reply}");
    }
    let path = format!("/h/{}", channel(TOKEN_A));
    let reply = send_from("127.0.0.2", relay.addr, "POST", &path, &[], "{}").await;
    assert_eq!(reply.status, 202, "another address still gets through");
    let refusals = r#"connections_refused_total{reason="per_ip"}"#;
    assert_eq!(metric_from("127.0.0.2", relay.addr, refusals).await, 4);
    // A freed slot is usable again.
    drop(flood.pop());
    let healthz = send_from("127.0.0.1", relay.addr, "GET", "/healthz", &[], "").await;
    assert_eq!(healthz.status, 200);
    drop(flood);
    relay.stop().await;
}

#[tokio::test]
async fn trusted_proxies_are_exempt_from_the_per_address_cap() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| {
        c.max_connections_per_ip = 2;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.header_read_timeout = Duration::from_secs(60);
        c.request_read_timeout = Duration::from_secs(60);
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from("127.0.0.1", relay.addr).await);
        held.push(connect_from("127.0.0.2", relay.addr).await);
    }
    let proxied = send_from("127.0.0.1", relay.addr, "GET", "/healthz", &[], "").await;
    assert_eq!(proxied.status, 200, "the proxy has no cap");
    let third = held.pop().unwrap();
    let reply = answer(third).await;
    assert!(
        reply.starts_with("HTTP/1.1 429"),
        "a direct sender is capped: {reply}"
    );
    drop(held);
    relay.stop().await;
}
