//! Test harness: a real relay on 127.0.0.1:0, a raw WebSocket client and an
//! HTTP sender, all with timeouts so a broken relay fails instead of hanging.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hookline_protocol::limits::MAX_MESSAGE_BYTES;
use hookline_protocol::{
    ChannelId, ClientMessage, DEFAULT_CHANNEL_NAME, Delivery, DeliveryId, Frame, Header,
    PROTOCOL_VERSION, RelayMessage, Secret,
};
use hookline_relay::{Relay, RelayConfig, RelayError, TokenSet};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

pub const TOKEN_A: &str = "token-alpha-0001";
pub const TOKEN_B: &str = "token-bravo-0002";
/// Upper bound on any single wait in these tests: generous, because a debug
/// build moving 25 MiB on a busy two-core machine takes seconds.
pub const WAIT: Duration = Duration::from_secs(60);

pub fn channel(token: &str) -> ChannelId {
    ChannelId::derive(&Secret::new(token), DEFAULT_CHANNEL_NAME)
}

pub fn tokens() -> TokenSet {
    let mut tokens = TokenSet::new();
    tokens.add(Secret::new(TOKEN_A), vec!["stripe".into()]);
    tokens.add(Secret::new(TOKEN_B), vec![]);
    tokens
}

/// A relay serving one plain listener on loopback.
pub struct TestRelay {
    pub relay: Relay,
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), RelayError>>,
}

impl TestRelay {
    pub async fn start(dir: &Path, tweak: impl FnOnce(&mut RelayConfig)) -> Self {
        let mut config = RelayConfig::new(tokens(), dir.to_owned());
        tweak(&mut config);
        let relay = Relay::open(config).expect("relay opens");
        Self::serve(relay, None).await
    }

    pub async fn serve(relay: Relay, tls: Option<std::sync::Arc<rustls::ServerConfig>>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn({
            let (relay, shutdown) = (relay.clone(), shutdown.clone());
            async move { relay.serve(listener, tls, shutdown).await }
        });
        Self {
            relay,
            addr,
            shutdown,
            task,
        }
    }

    /// Graceful shutdown, then `close`; the queue is flushed when this returns.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let served = tokio::time::timeout(WAIT, self.task)
            .await
            .expect("serve returns");
        served.expect("serve task").expect("serve ok");
        tokio::time::timeout(WAIT, self.relay.close())
            .await
            .expect("close in time")
            .expect("close ok");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
}

pub fn hello(token: &str, channel: Option<ChannelId>) -> ClientMessage {
    ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        token: Secret::new(token),
        channel,
        client: "relay-tests".into(),
        respond: Default::default(),
    }
}

impl Client {
    /// Connects, says `hello`, and returns the relay's first answer.
    pub async fn connect(addr: SocketAddr, hello: ClientMessage) -> (Client, RelayMessage) {
        let url = format!("ws://{addr}/connect");
        let (ws, _) = tokio::time::timeout(
            WAIT,
            tokio_tungstenite::connect_async_with_config(url, Some(ws_config()), true),
        )
        .await
        .expect("connect in time")
        .expect("websocket upgrade");
        let mut client = Client { ws };
        client.send(&hello).await;
        let first = client.recv().await;
        (client, first)
    }

    /// [`connect`](Self::connect) from the loopback address `source`;
    /// the upgrade's refusal (an HTTP status) is an `Err`.
    pub async fn connect_from(
        source: &str,
        addr: SocketAddr,
        hello: ClientMessage,
    ) -> Result<(Client, RelayMessage), http::Response<Option<Vec<u8>>>> {
        let stream = MaybeTlsStream::Plain(connect_from(source, addr).await);
        let url = format!("ws://{addr}/connect");
        let upgrade = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()));
        match tokio::time::timeout(WAIT, upgrade)
            .await
            .expect("upgrade in time")
        {
            Ok((ws, _)) => {
                let mut client = Client { ws };
                client.send(&hello).await;
                let first = client.recv().await;
                Ok((client, first))
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(*response),
            Err(e) => panic!("websocket upgrade: {e}"),
        }
    }

    /// Connects with the token's default channel and expects a welcome.
    pub async fn welcome(addr: SocketAddr, token: &str) -> Client {
        let (client, first) = Self::connect(addr, hello(token, None)).await;
        assert!(
            matches!(first, RelayMessage::Welcome { .. }),
            "expected welcome, got {first:?}"
        );
        client
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.ws
            .send(ws_message(message.encode()))
            .await
            .expect("send frame");
    }

    /// The next protocol message (control frames skipped).
    pub async fn recv(&mut self) -> RelayMessage {
        self.try_recv().await.expect("relay closed the socket")
    }

    /// The next protocol message, or `None` once the relay closed.
    pub async fn try_recv(&mut self) -> Option<RelayMessage> {
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("frame in time");
            match next {
                Some(Ok(Message::Text(text))) => {
                    return Some(
                        RelayMessage::decode_text(text.as_bytes()).expect("valid relay frame"),
                    );
                }
                Some(Ok(Message::Binary(bytes))) => {
                    return Some(RelayMessage::decode_binary(bytes).expect("valid relay frame"));
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    pub async fn delivery(&mut self) -> (Delivery, bool) {
        match self.recv().await {
            RelayMessage::Delivery { delivery, respond } => (*delivery, respond),
            other => panic!("expected a delivery, got {other:?}"),
        }
    }

    pub async fn stored(&mut self, id: DeliveryId) {
        self.send(&ClientMessage::Stored { ids: vec![id] }).await;
    }

    pub async fn respond(
        &mut self,
        id: DeliveryId,
        status: u16,
        headers: Vec<Header>,
        body: &[u8],
    ) {
        let message = ClientMessage::Response {
            id,
            status,
            headers,
            body: Bytes::copy_from_slice(body),
        };
        self.send(&message).await;
    }
}

/// A finished HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// Sends one request over `io` (plain or TLS) with HTTP/1.1.
pub async fn send_on<S>(io: S, request: http::Request<Full<Bytes>>) -> Reply
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .expect("http handshake");
    tokio::spawn(conn);
    let response = tokio::time::timeout(WAIT, sender.send_request(request))
        .await
        .expect("response in time")
        .expect("response");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("response body").to_bytes();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

/// A TCP connection to `addr` from the loopback address `source` (127.0.0.2
/// is a second sender as far as per-address limits go).
pub async fn connect_from(source: &str, addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    let source: std::net::IpAddr = source.parse().expect("source address");
    socket
        .bind(SocketAddr::new(source, 0))
        .expect("bind source");
    tokio::time::timeout(WAIT, socket.connect(addr))
        .await
        .expect("connect in time")
        .expect("connect")
}

/// `method path` with `headers` and `body` to the relay at `addr`.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    send_from("127.0.0.1", addr, method, path, headers, body).await
}

/// [`send`] from the loopback address `source`.
pub async fn send_from(
    source: &str,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    let mut request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body.into())).expect("request");
    send_on(connect_from(source, addr).await, request).await
}

/// A JSON POST; the future owns its arguments so it can be spawned.
pub fn post(
    addr: SocketAddr,
    path: &str,
    body: impl Into<Bytes>,
) -> impl Future<Output = Reply> + Send + 'static {
    let (path, body) = (path.to_owned(), body.into());
    async move {
        send(
            addr,
            "POST",
            &path,
            &[("content-type", "application/json")],
            body,
        )
        .await
    }
}

/// The value of one metric; `name` may carry labels: `x_total{reason="y"}`.
pub async fn metric(addr: SocketAddr, name: &str) -> u64 {
    metric_from("127.0.0.1", addr, name).await
}

/// [`metric`], asked from the loopback address `source`.
pub async fn metric_from(source: &str, addr: SocketAddr, name: &str) -> u64 {
    let reply = send_from(source, addr, "GET", "/metrics", &[], Bytes::new()).await;
    let text = String::from_utf8(reply.body.to_vec()).expect("utf-8 metrics");
    let prefix = format!("hookline_relay_{name} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("metric {name} missing in:\n{text}"))
}

/// The WebSocket message that carries a protocol frame.
pub fn ws_message(frame: Frame) -> Message {
    match frame {
        Frame::Text(text) => Message::text(text),
        Frame::Binary(bytes) => Message::binary(bytes),
    }
}

/// The text of a control frame.
pub fn text_of(frame: Frame) -> String {
    match frame {
        Frame::Text(text) => text,
        Frame::Binary(_) => panic!("expected a text frame"),
    }
}
