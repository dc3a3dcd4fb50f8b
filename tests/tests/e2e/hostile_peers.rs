//! Peers that try to cost the other side memory or time: a WebSocket peer
//! that pings without ever reading (against the relay, before and after its
//! hello, and a fake relay against the client), and a relay whose heartbeat
//! timing differs from the client's defaults.
//!
//! The relay runs in this test process, so its memory is this process's:
//! these tests live in their own binary to keep others' allocations out of
//! the measurement.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hookline::listen::{ListenOptions, Listening, RelayChoice};
use hookline_protocol::{ClientMessage, Frame, PROTOCOL_VERSION, RelayMessage, Secret};
use hookline_relay::{Relay, RelayConfig, TokenSet};
use hookline_tests::{LocalApp, send, within};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "test-token-hostile-peers";

/// The most this process may grow while four peers flood it. Before the
/// write buffers were bounded, one such peer grew a relay by 2 GB in 8 s.
const MAX_GROWTH_BYTES: u64 = 64 << 20;

/// Longest any flood runs; a bounded peer is cut off long before.
const FLOOD_FOR: Duration = Duration::from_secs(4);

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line");
    kib * 1024
}

async fn start_relay() -> (Relay, SocketAddr, CancellationToken, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut tokens = TokenSet::new();
    tokens.add(Secret::new(TOKEN), Vec::new());
    let relay = Relay::open(RelayConfig::new(tokens, dir.path().to_path_buf())).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    tokio::spawn({
        let (relay, stop) = (relay.clone(), stop.clone());
        async move { relay.serve(listener, None, stop).await }
    });
    (relay, addr, stop, dir)
}

fn ws_message(frame: Frame) -> Message {
    match frame {
        Frame::Text(text) => Message::text(text),
        Frame::Binary(bytes) => Message::binary(bytes),
    }
}

/// Opens a WebSocket to the relay, optionally says hello, then sends 125-byte
/// pings as fast as the socket takes them and never reads. Returns how long
/// the relay put up with it (`None`: still open when the flood ended).
async fn ping_without_reading(addr: SocketAddr, hello: bool) -> Option<Duration> {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/connect"))
        .await
        .expect("upgrade");
    let (mut sink, _unread) = ws.split();
    if hello {
        let hello = ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            token: Secret::new(TOKEN),
            channel: None,
            client: "flood".into(),
            respond: Default::default(),
        };
        sink.send(ws_message(hello.encode())).await.unwrap();
    }
    let started = Instant::now();
    while started.elapsed() < FLOOD_FOR {
        let ping = Message::Ping(vec![0x55; 125].into());
        match tokio::time::timeout(Duration::from_secs(1), sink.send(ping)).await {
            Ok(Ok(())) => {}
            // An error, or a write that blocks because the relay stopped
            // reading a closed session's socket: it is gone for us.
            _ => return Some(started.elapsed()),
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_memory_stays_bounded_under_ping_floods_and_webhooks_still_flow() {
    let (relay, addr, stop, _dir) = start_relay().await;
    let channel = relay_channel(addr).await;
    let before = rss_bytes();
    let floods: Vec<_> = (0..4)
        .map(|n| tokio::spawn(ping_without_reading(addr, n % 2 == 1)))
        .collect();
    // Meanwhile a sender still gets its webhook queued.
    let sent = send(
        "POST",
        &format!("http://{addr}/h/{channel}"),
        &[],
        &b"{\"type\":\"during.flood\"}"[..],
    )
    .await;
    assert_eq!(sent.status, 202, "the relay keeps serving webhooks");
    for flood in floods {
        let cut_after = flood.await.unwrap();
        assert!(
            cut_after.is_some(),
            "a peer that floods pings without reading must be disconnected"
        );
    }
    let grown = rss_bytes().saturating_sub(before);
    assert!(
        grown <= MAX_GROWTH_BYTES,
        "the relay grew by {} MiB under four ping floods",
        grown >> 20
    );
    stop.cancel();
    relay.close().await.unwrap();
}

/// The default channel's id, from a welcome.
async fn relay_channel(addr: SocketAddr) -> String {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/connect"))
        .await
        .unwrap();
    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        token: Secret::new(TOKEN),
        channel: None,
        client: "probe".into(),
        respond: Default::default(),
    };
    ws.send(ws_message(hello.encode())).await.unwrap();
    loop {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            continue;
        };
        if let Ok(RelayMessage::Welcome { channel, .. }) =
            RelayMessage::decode_text(text.as_bytes())
        {
            let _ = ws.close(None).await;
            return channel.to_string();
        }
    }
}

/// A fake relay: accepts WebSocket sessions, reads the hello, welcomes with
/// the given timing, then runs `after` on the socket. Each accepted session
/// is reported on the channel.
async fn fake_relay<F, Fut>(
    ping_interval_ms: u64,
    dead_peer_after_ms: u64,
    after: F,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<Instant>)
where
    F: Fn(tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let after = std::sync::Arc::new(after);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (tx, after) = (tx.clone(), after.clone());
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let _hello = ws.next().await;
                let welcome = RelayMessage::Welcome {
                    protocol: PROTOCOL_VERSION,
                    channel: hookline_protocol::ChannelId::derive(&Secret::new(TOKEN), "default"),
                    public_url: "http://127.0.0.1:9/h/fake".into(),
                    relay: "fake".into(),
                    ping_interval_ms,
                    dead_peer_after_ms,
                };
                if ws.send(ws_message(welcome.encode())).await.is_err() {
                    return;
                }
                let _ = tx.send(Instant::now());
                after(ws).await;
            });
        }
    });
    (url, rx)
}

async fn listen_to(relay: String, app: &LocalApp) -> (Listening, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut options = ListenOptions::new(app.url("/").parse().unwrap(), dir.path().into());
    options.relay = RelayChoice::Remote {
        urls: vec![relay],
        token: Secret::new(TOKEN),
        tls: None,
    };
    let listening = within("the listener to start", Listening::start(options))
        .await
        .unwrap();
    (listening, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_flooding_pings_is_dropped_and_the_client_still_stops_at_once() {
    let (url, mut sessions) = fake_relay(10_000, 30_000, |ws| async move {
        // Pings as fast as the socket takes them; the client's pongs are never read.
        let (mut sink, _unread) = ws.split();
        let started = Instant::now();
        while started.elapsed() < FLOOD_FOR {
            let ping = Message::Ping(vec![0x55; 125].into());
            match tokio::time::timeout(Duration::from_secs(1), sink.send(ping)).await {
                Ok(Ok(())) => {}
                _ => return,
            }
        }
    })
    .await;
    let app = LocalApp::start().await;
    let before = rss_bytes();
    let (listening, _dir) = listen_to(url, &app).await;
    within("the first session", sessions.recv()).await.unwrap();
    let second = tokio::time::timeout(FLOOD_FOR, sessions.recv()).await;
    assert!(
        matches!(second, Ok(Some(_))),
        "the client must drop a session whose relay floods pings, and reconnect"
    );
    let grown = rss_bytes().saturating_sub(before);
    assert!(
        grown <= MAX_GROWTH_BYTES,
        "the client grew by {} MiB under a ping flood",
        grown >> 20
    );
    let stopping = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), listening.stop())
        .await
        .expect("the client stops within 5 s while a relay floods it")
        .unwrap();
    assert!(stopping.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_takes_its_dead_peer_time_from_the_welcome() {
    // The relay announces a 600 ms dead-peer time and then says nothing at
    // all (reading, so the client's writes go through): the client must give
    // up on it after about that, not after a built-in 30 s.
    let (url, mut sessions) = fake_relay(200, 600, |mut ws| async move {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    let app = LocalApp::start().await;
    let (listening, _dir) = listen_to(url, &app).await;
    let first = within("the first session", sessions.recv()).await.unwrap();
    let second = tokio::time::timeout(Duration::from_secs(10), sessions.recv())
        .await
        .expect("the client must give up on a silent relay after its announced dead-peer time")
        .unwrap();
    assert!(
        second.duration_since(first) >= Duration::from_millis(600),
        "not before the announced time: {:?}",
        second.duration_since(first)
    );
    listening.stop().await.unwrap();
}
