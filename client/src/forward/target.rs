//! The local app's address, and how a delivery's path suffix is joined to it
//! without ever leaving its origin.

use std::fmt;
use std::str::FromStr;

use http::Uri;
use http::uri::{Authority, PathAndQuery, Scheme};

/// Where deliveries are forwarded: an `http://` or `https://` URL given by
/// the developer. Only the client's own configuration names it; nothing from
/// the network can.
#[derive(Clone, PartialEq, Eq)]
pub struct ForwardTarget {
    scheme: Scheme,
    authority: Authority,
    /// The base path, without a trailing slash (empty for `/`).
    base_path: String,
}

/// Why a forward URL or a joined request URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error(
        "forward URL {0:?} is not an absolute http:// or https:// URL (example: http://127.0.0.1:3000/webhooks)"
    )]
    NotHttp(String),
    #[error(
        "forward URL {0:?} must not carry a query string; the delivery's own query is appended"
    )]
    HasQuery(String),
    #[error("delivery path {0:?} cannot be appended to the forward URL")]
    BadSuffix(String),
}

impl ForwardTarget {
    pub fn authority(&self) -> &str {
        self.authority.as_str()
    }

    pub fn is_https(&self) -> bool {
        self.scheme == Scheme::HTTPS
    }

    /// The URL for a delivery with path suffix `suffix` (empty or `/…`) and raw
    /// query. The scheme and authority are copied from the target, never parsed
    /// from the suffix, so `//host`, `@host` or encoded tricks stay inside the
    /// path. Dot segments are refused so the request cannot climb out of the
    /// base path either.
    pub fn join(&self, suffix: &str, query: Option<&str>) -> Result<Uri, TargetError> {
        let bad = || TargetError::BadSuffix(suffix.to_owned());
        if !(suffix.is_empty() || suffix.starts_with('/')) || has_dot_segment(suffix) {
            return Err(bad());
        }
        let mut path = format!("{}{}", self.base_path, suffix);
        if path.is_empty() {
            path.push('/');
        }
        if let Some(query) = query {
            path.push('?');
            path.push_str(query);
        }
        let path_and_query = PathAndQuery::from_maybe_shared(path).map_err(|_| bad())?;
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
            .map_err(|_| bad())
    }
}

/// True if any segment of `path` is `.` or `..`, literally or percent-encoded.
fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

impl FromStr for ForwardTarget {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let uri: Uri = text
            .parse()
            .map_err(|_| TargetError::NotHttp(text.to_owned()))?;
        let scheme = uri
            .scheme()
            .cloned()
            .filter(|s| *s == Scheme::HTTP || *s == Scheme::HTTPS);
        let (Some(scheme), Some(authority)) = (scheme, uri.authority().cloned()) else {
            return Err(TargetError::NotHttp(text.to_owned()));
        };
        if uri.query().is_some() {
            return Err(TargetError::HasQuery(text.to_owned()));
        }
        Ok(Self {
            scheme,
            authority,
            base_path: uri.path().trim_end_matches('/').to_owned(),
        })
    }
}

impl fmt::Display for ForwardTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.base_path.is_empty() {
            "/"
        } else {
            &self.base_path
        };
        write!(f, "{}://{}{}", self.scheme, self.authority, path)
    }
}

impl fmt::Debug for ForwardTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ForwardTarget({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(text: &str) -> ForwardTarget {
        text.parse().unwrap()
    }

    #[test]
    fn joins_suffix_and_query() {
        let t = target("http://127.0.0.1:3000/webhooks/");
        assert_eq!(t.to_string(), "http://127.0.0.1:3000/webhooks");
        let uri = t.join("/github", Some("a=1&b=%20")).unwrap();
        assert_eq!(
            uri.to_string(),
            "http://127.0.0.1:3000/webhooks/github?a=1&b=%20"
        );
        assert_eq!(
            t.join("", None).unwrap().to_string(),
            "http://127.0.0.1:3000/webhooks"
        );
        assert_eq!(
            target("http://localhost:3000")
                .join("", None)
                .unwrap()
                .to_string(),
            "http://localhost:3000/"
        );
    }

    #[test]
    fn no_suffix_changes_the_origin() {
        let t = target("http://127.0.0.1:3000/hooks");
        for suffix in [
            "//evil.example",
            "/@evil.example",
            "/x@evil.example:80/",
            "/%2F%2Fevil.example",
        ] {
            let uri = t.join(suffix, None).unwrap();
            assert_eq!(
                uri.authority().unwrap().as_str(),
                "127.0.0.1:3000",
                "{suffix}"
            );
            assert_eq!(uri.scheme_str(), Some("http"));
        }
        for suffix in [
            "/..",
            "/../admin",
            "/a/%2e%2E/b",
            "/.",
            "evil.example",
            "/a b",
            "/\u{0}",
        ] {
            assert!(t.join(suffix, None).is_err(), "{suffix:?} accepted");
        }
    }

    #[test]
    fn refuses_targets_that_are_not_http_or_https() {
        for text in [
            "ftp://x/",
            "localhost:3000",
            "/webhooks",
            "http://127.0.0.1:3000/x?y=1",
            "wss://127.0.0.1/",
        ] {
            assert!(text.parse::<ForwardTarget>().is_err(), "{text}");
        }
        let https = target("https://localhost:8443/hooks");
        assert!(https.is_https());
        assert_eq!(
            https.join("/x", None).unwrap().to_string(),
            "https://localhost:8443/hooks/x"
        );
    }
}
