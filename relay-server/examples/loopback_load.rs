//! Loopback load: senders POST through a relay to a WebSocket client that
//! answers and acknowledges every delivery; prints deliveries per second.
//!
//! `cargo run --release -p hookline-relay --example loopback_load -- [DELIVERIES] [SENDERS] [BODY_BYTES]`
//!
//! With `HOOKLINE_LOAD_ADDR=127.0.0.1:PORT` it drives a relay already running
//! in another process (started with the token `load-test-token-0001`), so the
//! relay's own CPU time per delivery can be read from that process.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hookline_protocol::{
    ChannelId, ClientMessage, DEFAULT_CHANNEL_NAME, Frame, PROTOCOL_VERSION, RelayMessage, Secret,
};
use hookline_relay::{Relay, RelayConfig, TokenSet};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "load-test-token-0001";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let (total, senders, body_bytes) = (arg(1, 100_000), arg(2, 64), arg(3, 512));
    let dir = tempfile::tempdir()?;
    let shutdown = CancellationToken::new();
    let (addr, local) = match std::env::var("HOOKLINE_LOAD_ADDR") {
        Ok(addr) => (addr.parse().context("HOOKLINE_LOAD_ADDR")?, None),
        Err(_) => {
            let (addr, relay, server) = start_relay(dir.path(), shutdown.clone()).await?;
            (addr, Some((relay, server)))
        }
    };
    let client = tokio::spawn(client(connect(addr).await?, total));
    let body = Bytes::from(vec![b'x'; body_bytes]);
    let path = format!(
        "/h/{}/load",
        ChannelId::derive(&Secret::new(TOKEN), DEFAULT_CHANNEL_NAME)
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..senders {
        let count = total / senders + usize::from(i < total % senders);
        tasks.push(tokio::spawn(sender(
            addr,
            path.clone(),
            body.clone(),
            count,
        )));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();
    let acked = tokio::time::timeout(Duration::from_secs(60), client)
        .await
        .context("client never saw every delivery")???;
    println!(
        "{total} deliveries of {body_bytes} B from {senders} senders in {elapsed:.2?}: {:.0} deliveries/s (passthrough, answered and acked: {acked})",
        total as f64 / elapsed.as_secs_f64()
    );
    shutdown.cancel();
    if let Some((relay, server)) = local {
        server.await??;
        relay.close().await?;
    }
    Ok(())
}

type Server = tokio::task::JoinHandle<Result<(), hookline_relay::RelayError>>;

/// A relay in this process on 127.0.0.1:0.
async fn start_relay(
    dir: &std::path::Path,
    shutdown: CancellationToken,
) -> anyhow::Result<(SocketAddr, Relay, Server)> {
    let mut tokens = TokenSet::new();
    tokens.add(Secret::new(TOKEN), vec![]);
    let relay = Relay::open(RelayConfig::new(tokens, dir.to_owned()))?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn({
        let relay = relay.clone();
        async move { relay.serve(listener, None, shutdown).await }
    });
    Ok((addr, relay, server))
}

/// One keep-alive connection sending `count` POSTs, each waiting for the local app's answer.
async fn sender(addr: SocketAddr, path: String, body: Bytes, count: usize) -> anyhow::Result<()> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    for _ in 0..count {
        let request = http::Request::post(&path)
            .header("host", "relay")
            .body(Full::new(body.clone()))?;
        let response = send.send_request(request).await?;
        let status = response.status();
        response.into_body().collect().await?;
        if status != 200 {
            bail!("sender got {status}");
        }
    }
    Ok(())
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Connects and waits for the welcome, so every sender finds the client online.
async fn connect(addr: SocketAddr) -> anyhow::Result<Ws> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/connect")).await?;
    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        token: Secret::new(TOKEN),
        channel: None,
        client: "load".into(),
        respond: Default::default(),
    };
    ws.send(ws_message(hello.encode())).await?;
    match ws.next().await {
        Some(Ok(Message::Text(text)))
            if matches!(
                RelayMessage::decode_text(text.as_bytes())?,
                RelayMessage::Welcome { .. }
            ) =>
        {
            Ok(ws)
        }
        other => bail!("expected a welcome, got {other:?}"),
    }
}

/// Answers every delivery with 200 and acknowledges it, batching socket flushes.
async fn client(ws: Ws, total: usize) -> anyhow::Result<usize> {
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            sink.feed(first).await?;
            while let Ok(more) = rx.try_recv() {
                sink.feed(more).await?;
            }
            sink.flush().await?;
        }
        anyhow::Ok(())
    });
    let mut acked = 0;
    while acked < total {
        let Some(frame) = stream.next().await else {
            bail!("relay closed after {acked}")
        };
        let Message::Binary(bytes) = frame? else {
            continue;
        };
        match RelayMessage::decode_binary(bytes)? {
            RelayMessage::Delivery { delivery, respond } => {
                if respond {
                    let answer = ClientMessage::Response {
                        id: delivery.id,
                        status: 200,
                        headers: vec![],
                        body: Bytes::from_static(b"ok"),
                    };
                    tx.send(ws_message(answer.encode()))?;
                }
                tx.send(ws_message(
                    ClientMessage::Stored {
                        ids: vec![delivery.id],
                    }
                    .encode(),
                ))?;
                acked += 1;
            }
            RelayMessage::Welcome { .. }
            | RelayMessage::Refused { .. }
            | RelayMessage::Gap { .. } => {}
            RelayMessage::Goodbye { message, .. } => bail!("relay said goodbye: {message}"),
        }
    }
    // The last answers must reach the relay before the socket closes.
    drop(tx);
    writer.await??;
    Ok(acked)
}

fn ws_message(frame: Frame) -> Message {
    match frame {
        Frame::Text(text) => Message::text(text),
        Frame::Binary(bytes) => Message::binary(bytes),
    }
}
