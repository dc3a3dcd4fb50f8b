//! Where senders think they are: the public base URL and the sender's
//! address, taken from `X-Forwarded-*` only when the proxy is trusted.

use std::net::SocketAddr;

use http::HeaderMap;

use crate::RelayConfig;

/// Facts about the TCP connection a request came on; set by `serve`.
#[derive(Debug, Clone)]
pub(crate) struct ConnInfo {
    pub peer: SocketAddr,
    pub tls: bool,
    /// The `serve` call's shutdown token, so its sessions end with it.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The connection's slots under `max_connections` and its address's cap;
    /// a WebSocket session keeps them after the upgrade, so sessions count too.
    pub _slot: std::sync::Arc<crate::conn_limits::Slot>,
    /// When bytes last moved on the socket: a session's progress signal.
    pub activity: crate::io::Activity,
}

/// First comma-separated element of header `name`, trimmed.
fn first_forwarded<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get(name)?.to_str().ok()?;
    let first = value.split(',').next()?.trim();
    (!first.is_empty()).then_some(first)
}

/// `scheme://host` (no trailing slash) as the sender called it.
pub(crate) fn base_url(
    config: &RelayConfig,
    headers: &HeaderMap,
    conn: Option<&ConnInfo>,
) -> String {
    if let Some(base) = config.public_base() {
        return base;
    }
    let proxied = config.is_proxy(conn.map(|c| c.peer.ip()));
    let forwarded = |name| proxied.then(|| first_forwarded(headers, name)).flatten();
    let tls = conn.is_some_and(|c| c.tls);
    let scheme = match forwarded("x-forwarded-proto") {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        Some(p) if p.eq_ignore_ascii_case("http") => "http",
        _ if tls => "https",
        _ => "http",
    };
    let host = forwarded("x-forwarded-host")
        .or_else(|| {
            headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
        })
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .or_else(|| conn.map(|c| c.peer.to_string()))
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{scheme}://{host}")
}

/// The sender's address: the proxy's `X-Forwarded-For` when the peer is a
/// trusted proxy, else the peer.
pub(crate) fn remote_addr(
    config: &RelayConfig,
    headers: &HeaderMap,
    conn: Option<&ConnInfo>,
) -> Option<String> {
    if config.is_proxy(conn.map(|c| c.peer.ip()))
        && let Some(addr) = first_forwarded(headers, "x-forwarded-for")
    {
        return Some(addr.to_owned());
    }
    conn.map(|c| c.peer.to_string())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::TokenSet;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    http::HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn forwarded_headers_count_only_behind_a_trusted_proxy() {
        let mut config = RelayConfig::new(TokenSet::new(), PathBuf::from("/unused"));
        let h = headers(&[
            ("host", "10.0.0.5:8700"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "hooks.example.com"),
            ("x-forwarded-for", "203.0.113.9, 10.0.0.1"),
        ]);
        assert_eq!(base_url(&config, &h, None), "http://10.0.0.5:8700");
        assert_eq!(remote_addr(&config, &h, None), None);
        config.trust_proxy = true;
        assert_eq!(base_url(&config, &h, None), "https://hooks.example.com");
        assert_eq!(
            remote_addr(&config, &h, None).as_deref(),
            Some("203.0.113.9")
        );
        config.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            remote_addr(&config, &h, None),
            None,
            "with a list, an unknown peer is not a proxy"
        );
        assert!(config.is_proxy(Some("10.0.0.1".parse().unwrap())));
        assert!(!config.is_proxy(Some("192.0.2.1".parse().unwrap())));
        config.public_url = Some("https://relay.example.com/".into());
        assert_eq!(base_url(&config, &h, None), "https://relay.example.com");
    }
}
