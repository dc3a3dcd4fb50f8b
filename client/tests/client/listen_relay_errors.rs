//! `listen --relay` with settings that cannot work stops at once with
//! advice, instead of retrying forever; once a session has worked, the same
//! errors are retried (relays restart, proxies come and go).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hookline::connection::{self, ConnectionState, RelayEndpoint};
use hookline::listen::{ListenOptions, Listening, RelayChoice};
use hookline_protocol::Secret;
use hookline_relay::{Relay, RelayConfig, TokenSet, load_tls, new_token};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Longer than any wait here should take; far shorter than "forever".
const WAIT: Duration = Duration::from_secs(20);

/// `Listening::start` against `url`, which must fail: its message.
async fn start_error(url: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut options = ListenOptions::new(
        "http://127.0.0.1:9/".parse().unwrap(),
        dir.path().to_path_buf(),
    );
    options.relay = RelayChoice::Remote {
        urls: vec![url.to_owned()],
        token: Secret::new("hlr_test"),
        tls: None,
    };
    match tokio::time::timeout(WAIT, Listening::start(options)).await {
        Ok(Ok(_)) => panic!("listening through {url} should fail"),
        Ok(Err(err)) => format!("{err:#}"),
        Err(_) => panic!("listen kept retrying {url} instead of stopping"),
    }
}

/// A relay with one token, serving on `listener` (TLS when `tls` is given).
fn relay(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    dir: &std::path::Path,
    shutdown: CancellationToken,
) -> Secret {
    let token = new_token().unwrap();
    let mut tokens = TokenSet::new();
    tokens.add(token.clone(), Vec::new());
    let relay = Relay::open(RelayConfig::new(tokens, dir.join("relay"))).unwrap();
    tokio::spawn(async move { relay.serve(listener, tls, shutdown).await });
    token
}

#[tokio::test]
async fn an_unknown_scheme_stops_with_the_forms_that_work() {
    let err = start_error("ftp://127.0.0.1:9").await;
    assert!(err.contains("unknown scheme"), "{err}");
    assert!(err.contains("give https://HOST[:PORT]"), "{err}");
}

/// A relay serving HTTPS on loopback with a self-signed certificate for
/// 127.0.0.1: its address, the certificate's PEM file and its token.
async fn self_signed_relay(
    dir: &std::path::Path,
    shutdown: CancellationToken,
) -> (SocketAddr, std::path::PathBuf, Secret) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = relay(
        listener,
        Some(load_tls(&cert, &key).unwrap()),
        dir,
        shutdown,
    );
    (addr, cert, token)
}

#[tokio::test]
async fn an_untrusted_certificate_stops_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let (addr, _, _) = self_signed_relay(dir.path(), shutdown.clone()).await;
    let err = start_error(&format!("wss://{addr}")).await;
    assert!(err.contains("not trusted by this machine"), "{err}");
    shutdown.cancel();
}

#[tokio::test]
async fn relay_ca_trusts_a_private_certificate_given_as_an_https_url() {
    let dir = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let (addr, cert, token) = self_signed_relay(dir.path(), shutdown.clone()).await;
    let mut options = ListenOptions::new(
        "http://127.0.0.1:9/".parse().unwrap(),
        dir.path().join("client"),
    );
    let extra_roots = hookline::forward::read_pem_certificates(&cert).unwrap();
    let tls = hookline::forward::client_config(&hookline::forward::TlsOptions {
        extra_roots,
        insecure: false,
    });
    options.relay = RelayChoice::Remote {
        urls: vec![format!("https://{addr}/")],
        token,
        tls: Some(Arc::new(tls)),
    };
    let listening = tokio::time::timeout(WAIT, Listening::start(options))
        .await
        .expect("welcome in time")
        .expect("the private CA is trusted");
    assert!(
        listening
            .public_url
            .starts_with(&format!("https://{addr}/h/")),
        "{}",
        listening.public_url
    );
    listening.stop().await.unwrap();
    shutdown.cancel();
}

#[tokio::test]
async fn a_server_that_is_not_a_relay_stops_with_advice() {
    let (addr, _server) = not_a_relay(None).await;
    let err = start_error(&format!("ws://{addr}")).await;
    assert!(err.contains("not a hookline relay"), "{err}");
}

/// A plain HTTP server answering 404 to everything, on `at` or a free port.
async fn not_a_relay(at: Option<SocketAddr>) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind(at.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = [0u8; 4096];
            let _ = socket.read(&mut head).await;
            let _ = socket
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
        }
    });
    (addr, server)
}

/// The connection supervisor on `urls`, its state and its stop; the
/// channels it talks through are kept open for the test's length.
struct Supervised {
    supervisor: tokio::task::JoinHandle<Result<(), connection::Stopped>>,
    state: watch::Receiver<ConnectionState>,
    stop: CancellationToken,
    _channels: (
        mpsc::UnboundedReceiver<connection::Incoming>,
        mpsc::UnboundedReceiver<connection::Refusal>,
        mpsc::UnboundedSender<hookline_protocol::ClientMessage>,
    ),
}

fn supervise(urls: Vec<String>, token: Secret) -> Supervised {
    let (deliveries, deliveries_rx) = mpsc::unbounded_channel();
    let (refusals, refusals_rx) = mpsc::unbounded_channel();
    let incoming = connection::FromRelay {
        deliveries,
        refusals,
        gaps: mpsc::unbounded_channel().0,
    };
    let (outbound, outbound_rx) = mpsc::unbounded_channel();
    let (state_tx, state) = watch::channel(ConnectionState::Connecting);
    let stop = CancellationToken::new();
    let endpoint = RelayEndpoint {
        urls,
        token,
        channel: None,
        tls: None,
        respond: Default::default(),
    };
    let supervisor = tokio::spawn(connection::run(
        endpoint,
        incoming,
        outbound_rx,
        state_tx,
        stop.clone(),
    ));
    Supervised {
        supervisor,
        state,
        stop,
        _channels: (deliveries_rx, refusals_rx, outbound),
    }
}

#[tokio::test]
async fn after_one_session_the_same_errors_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let relay_stop = CancellationToken::new();
    let token = relay(listener, None, dir.path(), relay_stop.clone());

    let Supervised {
        supervisor,
        state,
        stop,
        _channels: _kept,
    } = supervise(vec![format!("ws://{addr}")], token);
    let until = |wanted: fn(&ConnectionState) -> bool| {
        let mut state = state.clone();
        async move {
            tokio::time::timeout(WAIT, state.wait_for(wanted))
                .await
                .expect("state reached")
                .map(|s| s.clone())
                .expect("supervisor alive")
        }
    };
    until(|s| matches!(s, ConnectionState::Connected { .. })).await;

    // The relay goes and something else takes its address.
    relay_stop.cancel();
    let (_, _server) = tokio::time::timeout(WAIT, async {
        loop {
            match TcpListener::bind(addr).await {
                Ok(free) => {
                    drop(free);
                    return not_a_relay(Some(addr)).await;
                }
                Err(_) => tokio::task::yield_now().await,
            }
        }
    })
    .await
    .expect("the relay's port comes free");
    let retrying = until(|s| {
        matches!(s, ConnectionState::Reconnecting { error, .. } if error.contains("not a hookline relay"))
    })
    .await;
    assert!(matches!(retrying, ConnectionState::Reconnecting { .. }));
    assert!(
        !supervisor.is_finished(),
        "a relay that worked once is retried"
    );
    stop.cancel();
    let ended = tokio::time::timeout(WAIT, supervisor)
        .await
        .unwrap()
        .unwrap();
    assert!(ended.is_ok(), "{ended:?}");
}

/// A relay on a free loopback port serving `token`, stopped by `stop`.
async fn relay_for(token: &Secret, dir: &std::path::Path, stop: CancellationToken) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut tokens = TokenSet::new();
    tokens.add(token.clone(), Vec::new());
    let relay = Relay::open(RelayConfig::new(tokens, dir.to_owned())).unwrap();
    tokio::spawn(async move {
        let served = relay.serve(listener, None, stop).await;
        let _ = relay.close().await;
        served
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_goes_away_is_left_for_the_next_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let token = new_token().unwrap();
    let (stop_a, stop_b) = (CancellationToken::new(), CancellationToken::new());
    let a = relay_for(&token, &dir.path().join("a"), stop_a.clone()).await;
    let b = relay_for(&token, &dir.path().join("b"), stop_b.clone()).await;
    let Supervised {
        supervisor,
        mut state,
        stop,
        _channels: _kept,
    } = supervise(vec![format!("ws://{a}"), format!("ws://{b}")], token);
    let on = |relay: String| move |s: &ConnectionState| matches!(s, ConnectionState::Connected { relay: r, .. } if *r == relay);
    tokio::time::timeout(WAIT, state.wait_for(on(format!("ws://{a}"))))
        .await
        .expect("connected to the first relay")
        .unwrap();
    stop_a.cancel();
    let left = std::time::Instant::now();
    tokio::time::timeout(WAIT, state.wait_for(on(format!("ws://{b}"))))
        .await
        .expect("connected to the second relay")
        .unwrap();
    // The next relay is dialled at once, not after a backoff.
    assert!(
        left.elapsed() < Duration::from_secs(2),
        "back after {:?}",
        left.elapsed()
    );
    stop.cancel();
    stop_b.cancel();
    supervisor.await.unwrap().unwrap();
}
