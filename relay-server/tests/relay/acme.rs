//! Automatic HTTPS against a real pebble (the ACME test CA) validating for
//! real on loopback: each challenge type on its own, the certificate chaining
//! to pebble's root and serving webhooks, a restart reusing the cache, a
//! renewal that leaves a connected client connected, and the binary's flags.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use hookline_protocol::RelayMessage;
use hookline_relay::acme::{Acme, AcmeConfig, AcmeStatus, ServedCertificate};
use hookline_relay::{Relay, RelayConfig, RelayError};
use http_body_util::Full;
use rustls::RootCertStore;
use rustls::pki_types::ServerName;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::MaybeTlsStream;
use tokio_util::sync::CancellationToken;

use crate::support::*;

#[path = "../../src/acme/test_pebble.rs"]
#[allow(dead_code)]
mod pebble;

use pebble::{Pebble, connector, free_port, roots_from_pem};

/// A relay with a plain and a TLS listener whose certificate comes from pebble.
struct AcmeRelay {
    relay: Relay,
    plain: SocketAddr,
    tls: SocketAddr,
    status: watch::Receiver<AcmeStatus>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<Result<(), RelayError>>>,
}

impl AcmeRelay {
    async fn start(
        pebble: &Pebble,
        data_dir: &Path,
        plain: TcpListener,
        tls: TcpListener,
        tweak: impl FnOnce(&mut AcmeConfig),
    ) -> AcmeRelay {
        let mut config = AcmeConfig::new(vec!["localhost".into()], data_dir);
        config.email = Some("ops@localhost".into());
        config.directory = pebble.directory_url();
        config.directory_ca = Some(pebble.directory_ca.clone());
        tweak(&mut config);
        let acme = Acme::new(config).expect("ACME settings");
        let mut relay_config = RelayConfig::new(tokens(), data_dir.to_owned());
        relay_config.acme_challenges = Some(acme.challenges());
        let relay = Relay::open(relay_config).expect("relay opens");
        let shutdown = CancellationToken::new();
        let (plain_addr, tls_addr) = (plain.local_addr().unwrap(), tls.local_addr().unwrap());
        let tls_config = acme.tls_config().expect("TLS config");
        let status = acme.status();
        let tasks = vec![
            tokio::spawn({
                let (relay, shutdown) = (relay.clone(), shutdown.clone());
                async move { relay.serve(plain, None, shutdown).await }
            }),
            tokio::spawn({
                let (relay, shutdown) = (relay.clone(), shutdown.clone());
                async move { relay.serve(tls, Some(tls_config), shutdown).await }
            }),
            tokio::spawn({
                let shutdown = shutdown.clone();
                async move {
                    acme.run(shutdown).await;
                    Ok(())
                }
            }),
        ];
        AcmeRelay {
            relay,
            plain: plain_addr,
            tls: tls_addr,
            status,
            shutdown,
            tasks,
        }
    }

    /// Waits for `done`, failing with the manager's last error and pebble's log.
    async fn until(
        &mut self,
        pebble: &Pebble,
        done: impl FnMut(&AcmeStatus) -> bool,
    ) -> AcmeStatus {
        let reached = tokio::time::timeout(WAIT, self.status.wait_for(done))
            .await
            .map(|status| status.map(|s| s.clone()));
        match reached {
            Ok(Ok(status)) => status,
            _ => panic!(
                "ACME did not get there within {WAIT:?}: {:?}\npebble log:\n{}",
                self.status.borrow().last_error,
                pebble.log()
            ),
        }
    }

    async fn certificate(&mut self, pebble: &Pebble) -> ServedCertificate {
        let status = self.until(pebble, |s| s.certificate.is_some()).await;
        status.certificate.expect("certificate")
    }

    async fn stop(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            tokio::time::timeout(WAIT, task)
                .await
                .expect("stops in time")
                .expect("task")
                .expect("served");
        }
        self.relay.close().await.expect("close");
    }
}

async fn listeners() -> (TcpListener, TcpListener) {
    (
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
}

/// A TLS connection to `addr` as `localhost`, trusting exactly `roots`.
async fn tls_to(
    addr: SocketAddr,
    roots: &RootCertStore,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    connector(roots.clone())
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake with pebble's root as the only trust")
}

/// The leaf certificate the relay serves now.
async fn served_leaf(addr: SocketAddr, roots: &RootCertStore) -> Vec<u8> {
    let tls = tls_to(addr, roots).await;
    tls.get_ref().1.peer_certificates().expect("certificates")[0].to_vec()
}

async fn https_post(addr: SocketAddr, roots: &RootCertStore, path: &str) -> Reply {
    let request = http::Request::post(path)
        .header("host", format!("localhost:{}", addr.port()))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(b"{\"over\":\"https\"}")))
        .unwrap();
    send_on(tls_to(addr, roots).await, request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_alpn_01_alone_then_a_restart_serves_the_cached_certificate() {
    let (plain, tls) = listeners().await;
    let tls_port = tls.local_addr().unwrap().port();
    // Nothing listens on pebble's HTTP-01 port: only TLS-ALPN-01 can pass.
    let Some(pebble) = Pebble::start(free_port(), tls_port) else {
        return;
    };
    let root = roots_from_pem(&pebble.root_pem().await);
    let dir = tempfile::tempdir().unwrap();
    let mut relay = AcmeRelay::start(&pebble, dir.path(), plain, tls, |_| {}).await;
    let first = relay.certificate(&pebble).await;
    assert_eq!(relay.status.borrow().issued, 1);
    assert_eq!(served_leaf(relay.tls, &root).await, first.leaf);
    let path = format!("/h/{}/acme", channel(TOKEN_A));
    let reply = https_post(relay.tls, &root, &path).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    relay.stop().await;

    let (plain, tls) = listeners().await;
    let mut again = AcmeRelay::start(&pebble, dir.path(), plain, tls, |_| {}).await;
    let cached = again.status.borrow().certificate.clone();
    assert_eq!(
        cached.as_ref(),
        Some(&first),
        "the cached certificate is served at start"
    );
    assert_eq!(served_leaf(again.tls, &root).await, first.leaf);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = again.until(&pebble, |_| true).await;
    assert_eq!(status.issued, 0, "no new order after a restart");
    assert_eq!(status.last_error, None);
    // The queued webhook from before the restart is still there.
    let mut client = Client::welcome(again.plain, TOKEN_A).await;
    let (delivery, _) = client.delivery().await;
    assert_eq!(delivery.body, &b"{\"over\":\"https\"}"[..]);
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_01_is_ordered_when_tls_alpn_01_cannot_be_validated() {
    let (plain, tls) = listeners().await;
    let http_port = plain.local_addr().unwrap().port();
    // Nothing listens on pebble's TLS-ALPN-01 port: the relay falls back to HTTP-01.
    let Some(pebble) = Pebble::start(http_port, free_port()) else {
        return;
    };
    let root = roots_from_pem(&pebble.root_pem().await);
    let dir = tempfile::tempdir().unwrap();
    let mut relay = AcmeRelay::start(&pebble, dir.path(), plain, tls, |_| {}).await;
    let certificate = relay.certificate(&pebble).await;
    assert_eq!(relay.status.borrow().issued, 1);
    assert_eq!(served_leaf(relay.tls, &root).await, certificate.leaf);
    // Answers exist only while an order is open.
    let reply = send(
        relay.plain,
        "GET",
        "/.well-known/acme-challenge/anything",
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(reply.status, 404);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_that_cannot_reach_the_relay_is_reported_and_plain_http_keeps_serving() {
    let (plain, tls) = listeners().await;
    let Some(pebble) = Pebble::start(free_port(), free_port()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut relay = AcmeRelay::start(&pebble, dir.path(), plain, tls, |_| {}).await;
    let status = relay.until(&pebble, |s| s.last_error.is_some()).await;
    let error = status.last_error.unwrap();
    assert!(error.contains("could not validate localhost"), "{error}");
    assert!(
        error.contains("port 443") && error.contains("port 80"),
        "{error}"
    );
    assert!(status.certificate.is_none());
    let path = format!("/h/{}/plain", channel(TOKEN_A));
    assert_eq!(post(relay.plain, &path, "{}").await.status, 202);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_serves_the_new_certificate_and_keeps_the_client_connected() {
    let (plain, tls) = listeners().await;
    let ports = (
        plain.local_addr().unwrap().port(),
        tls.local_addr().unwrap().port(),
    );
    let Some(pebble) = Pebble::start(ports.0, ports.1) else {
        return;
    };
    let root = roots_from_pem(&pebble.root_pem().await);
    let dir = tempfile::tempdir().unwrap();
    // A threshold longer than the certificate's life: every certificate is
    // due at once, and renewed as often as the floor allows.
    let mut relay = AcmeRelay::start(&pebble, dir.path(), plain, tls, |c| {
        c.renew_before = Duration::from_secs(100 * 365 * 24 * 3600);
        c.min_renew_interval = Duration::from_secs(2);
    })
    .await;
    let first = relay.certificate(&pebble).await;
    let url = format!("wss://localhost:{}/connect", relay.tls.port());
    let stream = MaybeTlsStream::Rustls(tls_to(relay.tls, &root).await);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
        .await
        .expect("WebSocket over TLS");
    let mut client = Client { ws };
    client.send(&hello(TOKEN_A, None)).await;
    assert!(matches!(client.recv().await, RelayMessage::Welcome { .. }));

    let renewed = relay
        .until(&pebble, |s| {
            s.issued >= 2 && s.certificate.as_ref().is_some_and(|c| c.leaf != first.leaf)
        })
        .await;
    let now_served = served_leaf(relay.tls, &root).await;
    assert_ne!(
        now_served, first.leaf,
        "new handshakes get the renewed certificate"
    );
    assert!(renewed.issued >= 2);
    // The session opened under the old certificate still carries deliveries.
    let path = format!("/h/{}/after-renewal", channel(TOKEN_A));
    let sender = tokio::spawn({
        let root = root.clone();
        let addr = relay.tls;
        async move { https_post(addr, &root, &path).await }
    });
    let (delivery, _) = client.delivery().await;
    assert_eq!(delivery.body, &b"{\"over\":\"https\"}"[..]);
    client.stored(delivery.id).await;
    client.respond(delivery.id, 200, vec![], b"ok").await;
    assert_eq!(sender.await.unwrap().status, 200);
    drop(client);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_binary_obtains_a_certificate_with_the_acme_flags() {
    let (http_port, tls_port) = (free_port(), free_port());
    let Some(pebble) = Pebble::start(http_port, tls_port) else {
        return;
    };
    let root = roots_from_pem(&pebble.root_pem().await);
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookline-relay"))
        .args(["--listen", &format!("127.0.0.1:{http_port}")])
        .args(["--tls-listen", &format!("127.0.0.1:{tls_port}")])
        .args([
            "--acme-domain",
            "localhost",
            "--acme-email",
            "ops@localhost",
        ])
        .args(["--acme-directory", &pebble.directory_url()])
        .arg("--acme-directory-ca")
        .arg(&pebble.directory_ca)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("HOOKLINE_RELAY_TOKENS", TOKEN_A)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start hookline-relay");
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("start line in time")
        .unwrap()
        .expect("a start line");
    assert_eq!(
        line,
        format!(
            "channel default: https://localhost:{tls_port}/h/{}",
            channel(TOKEN_A)
        )
    );
    let addr: SocketAddr = format!("127.0.0.1:{tls_port}").parse().unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    let connector = connector(root.clone());
    loop {
        let tcp = TcpStream::connect(addr).await.expect("TLS listener up");
        let name = ServerName::try_from("localhost").unwrap();
        if connector.connect(name, tcp).await.is_ok() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no certificate within {WAIT:?}:\n{}",
            pebble.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let path = format!("/h/{}/binary", channel(TOKEN_A));
    assert_eq!(https_post(addr, &root, &path).await.status, 202);
    let cached = std::fs::read_dir(dir.path().join("data").join("acme"))
        .unwrap()
        .count();
    assert!(cached >= 2, "account and certificate cached");
    child.kill().await.unwrap();
}
