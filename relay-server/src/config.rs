//! Relay settings with the defaults a public relay should start with.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use hookline_protocol::limits;

use crate::{IpNet, RelayError, TokenSet};

/// What the relay does with a webhook for a channel whose client is offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfflineMode {
    /// Keep it durably and answer 202; it is delivered when the client connects.
    Queue,
    /// Answer 503 with `Retry-After` and keep nothing, so the sender retries later.
    Reject,
}

/// Per-channel bounds on the durable queue. A full queue makes the sender get
/// an error status; nothing is dropped silently except by age, which is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    pub max_count: u64,
    pub max_bytes: u64,
    pub max_age: Duration,
}

impl Default for QueueLimits {
    fn default() -> Self {
        Self {
            max_count: 10_000,
            max_bytes: 512 * 1024 * 1024,
            // Providers give up retrying after about three days; a week keeps
            // a weekend's webhooks for a developer who was away.
            max_age: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl QueueLimits {
    /// Whether a channel holding `stats` may take one more delivery of
    /// `incoming` bytes.
    pub(crate) fn admit(
        &self,
        stats: crate::queue::QueueStats,
        incoming: u64,
    ) -> Result<(), crate::queue::QueueError> {
        if stats.count >= self.max_count {
            return Err(crate::queue::QueueError::FullCount {
                count: stats.count,
                limit: self.max_count,
            });
        }
        if stats.bytes + incoming > self.max_bytes {
            return Err(crate::queue::QueueError::FullBytes {
                bytes: stats.bytes,
                incoming,
                limit: self.max_bytes,
            });
        }
        Ok(())
    }
}

/// WebSocket heartbeat timing; configurable so tests detect a dead peer fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    pub ping_interval: Duration,
    pub dead_peer_after: Duration,
    pub handshake_timeout: Duration,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Self {
            ping_interval: limits::PING_INTERVAL,
            dead_peer_after: limits::DEAD_PEER_AFTER,
            handshake_timeout: limits::HANDSHAKE_TIMEOUT,
        }
    }
}

/// Everything [`crate::Relay::open`] needs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub tokens: TokenSet,
    pub data_dir: PathBuf,
    /// Base URL senders use, e.g. `https://relay.example.com`. `None`: derived
    /// from each request (Host, and `X-Forwarded-*` only when `trust_proxy`).
    pub public_url: Option<String>,
    /// Believe `X-Forwarded-Proto/Host/For`: only behind a proxy that sets
    /// them. Alone, every peer counts as a proxy (see [`Self::is_proxy`]).
    pub trust_proxy: bool,
    /// The proxies' addresses. When given, only these peers count as proxies:
    /// their `X-Forwarded-*` is believed (whatever `trust_proxy` says) and
    /// they are exempt from the per-address limits; every other peer is a
    /// direct sender.
    pub trusted_proxies: Vec<IpNet>,
    pub max_body: usize,
    /// Senders give up after about 10 s, so the default stays inside that.
    pub response_timeout: Duration,
    pub offline: OfflineMode,
    pub queue_limits: QueueLimits,
    /// Requests per second one channel may take (per relay process), in
    /// bursts of up to a second's worth; past it senders get 429 with
    /// `Retry-After`. 0: no limit. A token's `rate=` overrides it.
    pub channel_rate: u32,
    /// Open connections per listener; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Open connections per source address (IPv6: per /64), proxies exempt:
    /// past it a connection is closed at once, so one address cannot take
    /// every slot. Sized far above what one honest sender opens.
    pub max_connections_per_ip: usize,
    /// Failed WebSocket handshakes a source address (proxies exempt) may make
    /// per minute before its `/connect` attempts get 429 for the rest of it.
    pub max_failed_handshakes: u32,
    /// An HTTP connection with no bytes in either direction for this long is
    /// closed. Kept above `response_timeout` so a waiting sender is not cut.
    pub idle_timeout: Duration,
    /// Time allowed for a request's head (and the TLS handshake): the slowloris guard.
    pub header_read_timeout: Duration,
    /// Time allowed for a whole request, head and body, from its first byte;
    /// past it the sender gets 408. The wait for the local app's answer is
    /// not part of it (`response_timeout`).
    pub request_read_timeout: Duration,
    pub heartbeat: Heartbeat,
    /// Tokens come from a watched file (`watch_tokens`), so starting with none
    /// is fine: the first `token add` takes effect without a restart.
    pub tokens_reloadable: bool,
    /// HTTP-01 answers of an ACME order in progress, served at
    /// `/.well-known/acme-challenge/TOKEN` (see [`crate::acme`]).
    pub acme_challenges: Option<std::sync::Arc<crate::acme::Challenges>>,
}

impl RelayConfig {
    pub fn new(tokens: TokenSet, data_dir: PathBuf) -> Self {
        Self {
            tokens,
            data_dir,
            public_url: None,
            trust_proxy: false,
            trusted_proxies: Vec::new(),
            max_body: limits::DEFAULT_MAX_BODY_BYTES,
            response_timeout: Duration::from_secs(9),
            offline: OfflineMode::Queue,
            queue_limits: QueueLimits::default(),
            // Embedded in `hookline listen`, the relay serves one developer:
            // no rate limit. The public binary sets its own default.
            channel_rate: 0,
            max_connections: 4096,
            max_connections_per_ip: 256,
            max_failed_handshakes: 10,
            idle_timeout: Duration::from_secs(60),
            header_read_timeout: Duration::from_secs(10),
            // A 25 MiB body at 1 MB/s fits; a trickle of any size does not.
            request_read_timeout: Duration::from_secs(30),
            heartbeat: Heartbeat::default(),
            tokens_reloadable: false,
            acme_challenges: None,
        }
    }

    /// Rejects settings that cannot work, with a message naming the setting.
    pub(crate) fn validate(&self) -> Result<(), RelayError> {
        if self.tokens.is_empty() && !self.tokens_reloadable {
            return Err(RelayError::NoTokens);
        }
        let bad = |m: String| Err(RelayError::Config(m));
        if self.max_body == 0 || self.max_body > limits::MAX_BODY_BYTES_CEILING {
            return bad(format!(
                "max body {} must be between 1 and {} bytes",
                self.max_body,
                limits::MAX_BODY_BYTES_CEILING
            ));
        }
        if self.max_connections == 0 || self.max_connections_per_ip == 0 {
            return bad("max connections (in all and per address) must be at least 1".into());
        }
        if self.max_failed_handshakes == 0 {
            return bad("max failed handshakes must be at least 1".into());
        }
        if self.idle_timeout <= self.response_timeout {
            return bad("idle timeout must be longer than the response timeout".into());
        }
        let zero = [
            self.idle_timeout,
            self.header_read_timeout,
            self.request_read_timeout,
            self.heartbeat.ping_interval,
            self.heartbeat.handshake_timeout,
        ];
        if zero.contains(&Duration::ZERO) {
            return bad("timeouts and intervals must be longer than zero".into());
        }
        if self.heartbeat.dead_peer_after <= self.heartbeat.ping_interval {
            return bad("dead-peer timeout must be longer than the ping interval".into());
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return bad(format!(
                "public url {url:?} must start with http:// or https://"
            ));
        }
        Ok(())
    }

    /// Whether the peer at `ip` is a proxy speaking for senders: one of
    /// `trusted_proxies` when that list is given, else any peer when
    /// `trust_proxy` is set. `None` (no socket, as in router tests) is a
    /// proxy only under a bare `trust_proxy`.
    pub fn is_proxy(&self, ip: Option<IpAddr>) -> bool {
        if self.trusted_proxies.is_empty() {
            return self.trust_proxy;
        }
        ip.is_some_and(|ip| self.trusted_proxies.iter().any(|net| net.contains(ip)))
    }

    /// The public base without a trailing slash.
    pub(crate) fn public_base(&self) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|u| u.trim_end_matches('/').to_owned())
    }
}
