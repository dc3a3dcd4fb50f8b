//! What `--relay` may say: the URL a user copies from the relay's start line
//! (`https://relay.example.com`), the WebSocket form (`wss://…`, `ws://…`) or
//! just `host[:port]`, all turned into the WebSocket base URL to dial.

/// Why a `--relay` value cannot be a relay address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--relay {input:?}: {why}; give https://HOST[:PORT] (or wss://…), HOST[:PORT] for HTTPS on \
     port 443, or http://HOST:PORT for a relay without TLS"
)]
pub struct RelayUrlError {
    input: String,
    why: &'static str,
}

/// The `ws://` or `wss://` base URL (no trailing slash) for `input`.
pub fn relay_ws_url(input: &str) -> Result<String, RelayUrlError> {
    let fail = |why| RelayUrlError {
        input: input.to_owned(),
        why,
    };
    let trimmed = input.trim();
    let (scheme, rest) = match trimmed.split_once("://") {
        Some((scheme, rest)) => {
            let ws = match scheme.to_ascii_lowercase().as_str() {
                "https" | "wss" => "wss",
                "http" | "ws" => "ws",
                _ => return Err(fail("unknown scheme")),
            };
            (ws, rest)
        }
        None => ("wss", trimmed),
    };
    if rest.contains(['?', '#']) {
        return Err(fail("a relay address has no query or fragment"));
    }
    let rest = rest.trim_end_matches('/');
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() || host.contains(char::is_whitespace) || authority.contains('@') {
        return Err(fail("no host name"));
    }
    if let Some(port) = authority.strip_prefix('[').map_or_else(
        || authority.rsplit_once(':').map(|(_, p)| p),
        |b| b.split_once("]:").map(|(_, p)| p),
    ) && port.parse::<u16>().is_err()
    {
        return Err(fail("the port is not a number from 1 to 65535"));
    }
    Ok(format!("{scheme}://{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_form_becomes_a_websocket_base_url() {
        for (input, expected) in [
            ("https://relay.example.com", "wss://relay.example.com"),
            ("https://relay.example.com/", "wss://relay.example.com"),
            (
                "HTTPS://relay.example.com:8443",
                "wss://relay.example.com:8443",
            ),
            ("wss://relay.example.com", "wss://relay.example.com"),
            ("relay.example.com", "wss://relay.example.com"),
            ("relay.example.com:8443", "wss://relay.example.com:8443"),
            ("http://127.0.0.1:8700", "ws://127.0.0.1:8700"),
            ("ws://127.0.0.1:8700/", "ws://127.0.0.1:8700"),
            ("https://[::1]:8443", "wss://[::1]:8443"),
            ("[::1]", "wss://[::1]"),
            ("https://example.com/relay", "wss://example.com/relay"),
        ] {
            assert_eq!(relay_ws_url(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn what_cannot_be_a_relay_says_what_would_be() {
        for input in [
            "ftp://relay.example.com",
            "https://",
            "",
            "relay.example.com:http",
            "https://relay.example.com:99999",
            "https://relay.example.com/?x=1",
            "https://user@relay.example.com",
        ] {
            let err = relay_ws_url(input).unwrap_err().to_string();
            assert!(err.contains("https://HOST[:PORT]"), "{input}: {err}");
        }
    }
}
