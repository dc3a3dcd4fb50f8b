//! Opening a session: the WebSocket upgrade, then `hello` → `welcome`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hookline_protocol::{
    ChannelId, ClientMessage, GoodbyeReason, PROTOCOL_VERSION, RelayMessage, Secret, check_version,
    limits,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::error::{Error as WsError, UrlError};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The socket to the relay.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct RelayEndpoint {
    /// `ws://host:port` or `wss://host` (`/connect` is appended): the relays
    /// to try in turn, at least one; the channel's URL is the same on each.
    pub urls: Vec<String>,
    pub token: Secret,
    /// `None`: the token's default channel.
    pub channel: Option<ChannelId>,
    /// Trust for `wss://` (`--relay-ca`); `None`: the compiled-in web roots.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// Who answers senders while this client is connected (`--respond accept`: the relay).
    pub respond: hookline_protocol::SessionRespond,
}

/// What the relay said when it accepted the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome {
    pub channel: ChannelId,
    pub public_url: String,
    pub relay: String,
    /// Silence after which the relay counts as gone: the relay's own
    /// dead-peer time, so the two ends agree whatever `--ping-interval` says.
    pub dead_peer_after: Duration,
}

/// Bounds on the relay's announced dead-peer time: a broken or hostile relay
/// can neither make the client give up at once nor wait forever.
const DEAD_PEER_RANGE: (Duration, Duration) =
    (Duration::from_millis(200), Duration::from_secs(3600));

/// The client's dead-peer timeout from the relay's announced timing: its
/// dead-peer time, and never less than two of its ping intervals.
pub fn dead_peer_after(ping_interval_ms: u64, dead_peer_after_ms: u64) -> Duration {
    let announced = dead_peer_after_ms.max(ping_interval_ms.saturating_mul(2));
    Duration::from_millis(announced).clamp(DEAD_PEER_RANGE.0, DEAD_PEER_RANGE.1)
}

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("relay {url} refused the session: {message}")]
    Refused {
        url: String,
        reason: GoodbyeReason,
        message: String,
    },
    #[error(transparent)]
    Version(#[from] hookline_protocol::ProtocolError),
    #[error("cannot reach relay {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("relay {url} broke the handshake: {detail}")]
    Handshake { url: String, detail: String },
    /// The settings look wrong: a URL that is not `ws://`/`wss://`, a
    /// certificate this machine does not trust, a server that is not a relay.
    #[error("cannot use relay {url}: {detail}; {advice}")]
    Misconfigured {
        url: String,
        detail: String,
        advice: &'static str,
    },
}

impl ConnectError {
    /// True when retrying with the same settings cannot help.
    pub fn is_fatal(&self) -> bool {
        match self {
            Self::Refused { reason, .. } => reason.is_fatal(),
            Self::Version(_) => true,
            Self::Unreachable { .. } | Self::Handshake { .. } | Self::Misconfigured { .. } => false,
        }
    }

    /// True when the settings are probably wrong. Before any session has
    /// worked that ends `listen` with the advice; once one has, the same
    /// error more likely means a relay being redeployed or a captive portal,
    /// and retrying is right.
    pub fn is_misconfiguration(&self) -> bool {
        matches!(self, Self::Misconfigured { .. })
    }
}

/// Sorts a failed WebSocket connect into settings that cannot work (with
/// what to change) and trouble that may pass (retried).
fn connect_error(url: &str, err: WsError) -> ConnectError {
    let advice = match &err {
        WsError::Url(UrlError::UnsupportedUrlScheme) => Some(
            "the relay URL must start with https:// or wss:// (http:// or ws:// for a relay \
             without TLS)",
        ),
        WsError::Url(UrlError::NoHostName | UrlError::EmptyHostName) => {
            Some("the relay URL has no host name; check --relay")
        }
        WsError::Tls(_) => Some("check the host name in --relay"),
        WsError::Io(io) => match io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::InvalidCertificate(_)) => Some(
                "the relay's TLS certificate is not trusted by this machine (self-signed, expired \
                 or for another name); give the relay a certificate from a public CA \
                 (hookline-relay --acme-domain), trust its CA with --relay-ca PEM, or use \
                 ws:// on a trusted network",
            ),
            Some(rustls::Error::InvalidMessage(_) | rustls::Error::PeerIncompatible(_)) => {
                Some("that port does not speak TLS; use ws:// if the relay serves plain HTTP there")
            }
            _ => None,
        },
        WsError::Http(response) => match response.status().as_u16() {
            400 | 401 | 403 | 404 | 405 | 410 => Some(
                "the server there is not a hookline relay (it refused the WebSocket at /connect); \
                 check --relay",
            ),
            _ => None,
        },
        _ => None,
    };
    match advice {
        Some(advice) => ConnectError::Misconfigured {
            url: url.to_owned(),
            detail: err.to_string(),
            advice,
        },
        None => ConnectError::Unreachable {
            url: url.to_owned(),
            detail: err.to_string(),
        },
    }
}

/// tungstenite's write buffer: written out once it holds this much.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// A delivery at the relay's largest limit must fit in a frame. The read
/// buffer grows on demand, so it starts small rather than at tungstenite's
/// 128 KiB. The client writes only acknowledgements and answers (bodies up to
/// `MAX_RESPONSE_BODY_BYTES`), so the write buffer is bounded near that: a
/// relay that stops reading, or floods pings whose pongs it never reads,
/// fills it and the session ends instead of the client's memory growing.
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(
            WRITE_BUFFER_BYTES + 2 * (limits::MAX_RESPONSE_BODY_BYTES + limits::MAX_META_BYTES),
        )
        .max_message_size(Some(limits::MAX_MESSAGE_BYTES))
        .max_frame_size(Some(limits::MAX_MESSAGE_BYTES))
}

/// Connects to `relay` (one of `endpoint.urls`), says hello and waits for
/// the welcome, all within the handshake timeout.
pub async fn open(
    endpoint: &RelayEndpoint,
    relay: &str,
) -> Result<(Socket, Welcome), ConnectError> {
    let url = format!("{}/connect", relay.trim_end_matches('/'));
    let timed = tokio::time::timeout(limits::HANDSHAKE_TIMEOUT, open_inner(endpoint, &url));
    timed.await.unwrap_or_else(|_| {
        Err(ConnectError::Handshake {
            url: url.clone(),
            detail: format!("no welcome within {:?}", limits::HANDSHAKE_TIMEOUT),
        })
    })
}

async fn open_inner(
    endpoint: &RelayEndpoint,
    url: &str,
) -> Result<(Socket, Welcome), ConnectError> {
    let unreachable = |detail: String| ConnectError::Unreachable {
        url: url.to_owned(),
        detail,
    };
    let broken = |detail: String| ConnectError::Handshake {
        url: url.to_owned(),
        detail,
    };
    // Checked before connecting: a refused connection would hide it.
    if let Some(scheme) = url.split_once("://").map(|(scheme, _)| scheme)
        && !scheme.eq_ignore_ascii_case("ws")
        && !scheme.eq_ignore_ascii_case("wss")
    {
        return Err(connect_error(
            url,
            WsError::Url(UrlError::UnsupportedUrlScheme),
        ));
    }
    let connector = endpoint
        .tls
        .clone()
        .map(tokio_tungstenite::Connector::Rustls);
    let (mut socket, _) = tokio_tungstenite::connect_async_tls_with_config(
        url,
        Some(socket_config()),
        true,
        connector,
    )
    .await
    .map_err(|e| connect_error(url, e))?;
    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        token: endpoint.token.clone(),
        channel: endpoint.channel.clone(),
        client: concat!("hookline/", env!("CARGO_PKG_VERSION")).to_owned(),
        respond: endpoint.respond,
    };
    socket
        .send(super::message(hello.encode()))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    loop {
        let frame = socket
            .next()
            .await
            .ok_or_else(|| broken("closed before answering hello".into()))?
            .map_err(|e| broken(e.to_string()))?;
        let decoded = match frame {
            Message::Text(text) => RelayMessage::decode_text(text.as_bytes()),
            Message::Binary(_) => return Err(broken("sent a binary frame before welcome".into())),
            Message::Close(frame) => {
                let why = frame.map_or_else(|| "no reason".to_owned(), |f| f.reason.to_string());
                return Err(broken(format!("closed before welcome: {why}")));
            }
            _ => continue,
        };
        return match decoded {
            Ok(RelayMessage::Welcome {
                protocol,
                channel,
                public_url,
                relay,
                ping_interval_ms,
                dead_peer_after_ms,
            }) => {
                check_version(protocol, "client", "relay")?;
                Ok((
                    socket,
                    Welcome {
                        channel,
                        public_url,
                        relay,
                        dead_peer_after: dead_peer_after(ping_interval_ms, dead_peer_after_ms),
                    },
                ))
            }
            Ok(RelayMessage::Goodbye { reason, message }) => Err(ConnectError::Refused {
                url: url.to_owned(),
                reason,
                message,
            }),
            Ok(
                RelayMessage::Delivery { .. }
                | RelayMessage::Refused { .. }
                | RelayMessage::Gap { .. },
            ) => Err(broken("sent a session frame before welcome".into())),
            Err(e) => Err(broken(e.to_string())),
        };
    }
}
