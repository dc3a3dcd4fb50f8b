//! Which request headers reach the local app, and which answer headers go
//! back to the sender.

use hookline_protocol::{Header, is_hop_by_hop};
use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Headers the client sets itself; any the sender sent are replaced, not appended to,
/// so the app can trust them to describe this hop.
const FORWARDED_SET: &[&str] = &["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"];

/// Whether the proxy drops `name`, given the tokens the request's `Connection` header lists.
fn is_dropped(name: &str, connection_tokens: &[String]) -> bool {
    // `host` is rewritten to the target's.
    is_hop_by_hop(name)
        || name.eq_ignore_ascii_case("host")
        || FORWARDED_SET.iter().any(|h| name.eq_ignore_ascii_case(h))
        || connection_tokens
            .iter()
            .any(|t| name.eq_ignore_ascii_case(t))
}

fn connection_tokens(headers: &[Header]) -> Vec<String> {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
        .filter_map(|h| h.value_str())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Where the request came from, for the `X-Forwarded-*` headers.
#[derive(Debug, Clone, Default)]
pub struct Origin<'a> {
    /// The sender's IP (no port), if known.
    pub client_ip: Option<&'a str>,
    /// `https` or `http`, from the public URL the sender called.
    pub proto: Option<&'a str>,
    /// The public host the sender called.
    pub host: Option<&'a str>,
}

/// The header map sent to the local app: the delivery's headers in order
/// (names as received; values byte-identical) minus hop-by-hop ones, then the
/// `X-Forwarded-*` set. Headers whose name or value HTTP cannot carry are
/// skipped and named in the returned list, so the attempt can say so.
pub fn outgoing(headers: &[Header], origin: &Origin<'_>) -> (HeaderMap, Vec<String>) {
    let tokens = connection_tokens(headers);
    let mut map = HeaderMap::with_capacity(headers.len() + 3);
    let mut skipped = Vec::new();
    for header in headers.iter().filter(|h| !is_dropped(&h.name, &tokens)) {
        match (
            HeaderName::from_bytes(header.name.as_bytes()),
            HeaderValue::from_bytes(&header.value),
        ) {
            (Ok(name), Ok(value)) => {
                map.append(name, value);
            }
            _ => skipped.push(header.name.clone()),
        }
    }
    let set = [
        ("x-forwarded-for", origin.client_ip),
        ("x-forwarded-proto", origin.proto),
        ("x-forwarded-host", origin.host),
    ];
    for (name, value) in set {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
            map.insert(HeaderName::from_static(name), value);
        }
    }
    (map, skipped)
}

/// The local app's response headers as an ordered list, for storing and for
/// passing back through the relay (which drops its own hop-by-hop set).
pub fn to_list(map: &HeaderMap) -> Vec<Header> {
    map.iter()
        .map(|(name, value)| Header::new(name.as_str(), value.as_bytes()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_hop_by_hop_and_connection_named_headers() {
        let headers = vec![
            Header::new("Content-Type", "application/json"),
            Header::new("Connection", "keep-alive, X-Secret-Hop"),
            Header::new("X-Secret-Hop", "1"),
            Header::new("Transfer-Encoding", "chunked"),
            Header::new("Host", "relay.example.com"),
            Header::new("X-Webhook-Signature", "abc"),
            Header::new("X-Dup", "1"),
            Header::new("X-Dup", "2"),
        ];
        let (map, skipped) = outgoing(&headers, &Origin::default());
        assert!(skipped.is_empty());
        let names: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["content-type", "x-webhook-signature", "x-dup"]);
        let dups: Vec<&[u8]> = map.get_all("x-dup").iter().map(|v| v.as_bytes()).collect();
        assert_eq!(dups, [b"1".as_slice(), b"2"]);
    }

    #[test]
    fn forwarded_headers_are_replaced_not_appended() {
        let headers = vec![
            Header::new("X-Forwarded-For", "10.9.9.9"),
            Header::new("X-Forwarded-Host", "spoofed.example"),
        ];
        let origin = Origin {
            client_ip: Some("203.0.113.5"),
            proto: Some("https"),
            host: Some("relay.example.com"),
        };
        let (map, _) = outgoing(&headers, &origin);
        assert_eq!(map.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(map["x-forwarded-for"], "203.0.113.5");
        assert_eq!(map["x-forwarded-host"], "relay.example.com");
        assert_eq!(map["x-forwarded-proto"], "https");
    }

    #[test]
    fn non_ascii_values_pass_byte_for_byte() {
        let headers = vec![Header::new("X-Latin1", vec![b'a', 0xE9])];
        let (map, _) = outgoing(&headers, &Origin::default());
        assert_eq!(map["x-latin1"].as_bytes(), &[b'a', 0xE9]);
    }

    #[test]
    fn unsendable_headers_are_reported() {
        let headers = vec![Header::new("Bad Name", "x"), Header::new("X-Nl", "a\nb")];
        let (map, skipped) = outgoing(&headers, &Origin::default());
        assert!(map.is_empty());
        assert_eq!(skipped, ["Bad Name", "X-Nl"]);
    }
}
