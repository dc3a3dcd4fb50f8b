//! The listener itself: HTTPS, the slowloris guard and the connection limit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hookline_protocol::RelayMessage;
use hookline_relay::{Relay, RelayConfig, load_tls};
use http_body_util::Full;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::MaybeTlsStream;

use crate::support::*;

/// A self-signed certificate for `localhost`, written as PEM files in `dir`,
/// and a connector that trusts exactly it.
fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, TlsConnector) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (cert, key, TlsConnector::from(Arc::new(config)))
}

#[tokio::test]
async fn https_ingress_and_websocket_with_a_generated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, connector) = certificate(dir.path());
    let tls = load_tls(&cert, &key).expect("PEM files load");
    let relay = Relay::open(RelayConfig::new(tokens(), dir.path().join("data"))).unwrap();
    let relay = TestRelay::serve(relay, Some(tls)).await;
    let host = format!("localhost:{}", relay.addr.port());
    let connect = || async {
        let tcp = TcpStream::connect(relay.addr).await.unwrap();
        connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .expect("TLS handshake")
    };
    let path = format!("/h/{}/tls?x=1", channel(TOKEN_A));
    let request = http::Request::post(&path)
        .header("host", &host)
        .body(Full::new(Bytes::from_static(b"secure")))
        .unwrap();
    let reply = send_on(connect().await, request).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let url = format!("wss://{host}/connect");
    let stream = MaybeTlsStream::Rustls(connect().await);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
        .await
        .unwrap();
    let mut client = Client { ws };
    client.send(&hello(TOKEN_A, None)).await;
    let RelayMessage::Welcome { public_url, .. } = client.recv().await else {
        panic!("no welcome")
    };
    assert_eq!(public_url, format!("https://{host}/h/{}", channel(TOKEN_A)));
    let (delivery, _) = client.delivery().await;
    assert_eq!(delivery.body, &b"secure"[..]);
    assert_eq!(delivery.public_url, format!("https://{host}{path}"));
    relay.stop().await;
}

#[tokio::test]
async fn tls_files_that_are_not_pem_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let err = load_tls(&junk, &junk).unwrap_err().to_string();
    assert!(err.contains("no PEM certificate"), "{err}");
    let err = load_tls(&dir.path().join("missing.pem"), &junk)
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.pem"), "{err}");
}

#[tokio::test]
async fn client_trickling_header_bytes_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| {
        c.header_read_timeout = Duration::from_millis(500)
    })
    .await;
    let tcp = TcpStream::connect(relay.addr).await.unwrap();
    let (mut reader, mut writer) = tcp.into_split();
    writer
        .write_all(b"POST /h/x HTTP/1.1\r\nHost: relay\r\nX-Slow: ")
        .await
        .unwrap();
    let started = Instant::now();
    let mut trickle = tokio::time::interval(Duration::from_millis(100));
    let mut buf = [0u8; 1024];
    let cut_off = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            tokio::select! {
                read = reader.read(&mut buf) => if matches!(read, Ok(0) | Err(_)) { break },
                _ = trickle.tick() => { let _ = writer.write_all(b"a").await; }
            }
        }
    })
    .await;
    assert!(cut_off.is_ok(), "a trickling client was never cut off");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed < Duration::from_secs(5),
        "cut off after {elapsed:?}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn connections_past_the_limit_wait_for_a_free_slot() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| c.max_connections = 1).await;
    let holder = TcpStream::connect(relay.addr).await.unwrap();
    let mut waiting = TcpStream::connect(relay.addr).await.unwrap();
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = Vec::new();
    let early =
        tokio::time::timeout(Duration::from_millis(300), waiting.read_to_end(&mut reply)).await;
    assert!(
        early.is_err(),
        "served past the connection limit: {:?}",
        String::from_utf8_lossy(&reply)
    );
    drop(holder);
    tokio::time::timeout(WAIT, waiting.read_to_end(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&reply).starts_with("HTTP/1.1 200"));
    relay.stop().await;
}

#[tokio::test]
async fn websocket_sessions_count_against_the_connection_limit() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path(), |c| c.max_connections = 1).await;
    let client = Client::welcome(relay.addr, TOKEN_A).await;
    let mut waiting = TcpStream::connect(relay.addr).await.unwrap();
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = Vec::new();
    let early =
        tokio::time::timeout(Duration::from_millis(300), waiting.read_to_end(&mut reply)).await;
    assert!(
        early.is_err(),
        "served past the limit while a session held the slot"
    );
    drop(client);
    tokio::time::timeout(WAIT, waiting.read_to_end(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&reply).starts_with("HTTP/1.1 200"));
    relay.stop().await;
}
