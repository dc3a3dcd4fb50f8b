//! Schemes that sign the URL the sender called: twilio and square. Behind a
//! tunnel that is the relay's public URL, never the local forward target.

use hookline_protocol::{Header, body_sha256_hex};

use super::claim::{Claim, Parsed};
use super::scheme::{Digest, Encoding};
use super::{form, headers, mac};

pub(crate) const TWILIO_HEADER: &str = "X-Twilio-Signature";
/// Present when a Twilio Webhook Rule signs with a SharedKey: names the algorithm.
pub(crate) const TWILIO_SETTINGS: &str = "X-Twilio-Webhooks-Signature-Settings";
pub(crate) const SQUARE_HEADER: &str = "X-Square-HmacSha256-Signature";

/// Twilio: base64 HMAC over the URL followed by the sorted form parameters;
/// for JSON bodies the URL carries `bodySHA256` instead, which must match.
pub(crate) fn twilio(headers: &[Header], body: &[u8], url: &str) -> Parsed {
    let value = match headers::text(headers, TWILIO_HEADER) {
        Ok(Some(value)) => value,
        Ok(None) => return Parsed::Unsigned,
        Err(reason) => return Parsed::Invalid(reason),
    };
    let digest = match twilio_digest(headers) {
        Ok(digest) => digest,
        Err(reason) => return Parsed::Invalid(reason),
    };
    if url.is_empty() {
        return Parsed::Invalid(missing_url("twilio"));
    }
    let signature = match mac::decode(Encoding::Base64, digest, value) {
        Ok(signature) => signature,
        Err(why) => return Parsed::Invalid(format!("malformed {TWILIO_HEADER} header: {why}")),
    };
    let params = twilio_params(headers, body, url);
    // Twilio's SDK tries the URL with and without the port, because Twilio
    // itself is inconsistent about including `:443`.
    let messages = url_variants(url)
        .iter()
        .map(|url| twilio_message(url, &params).into_bytes())
        .collect();
    let mut claim = Claim::new(digest, Vec::new(), vec![signature]);
    claim.messages = messages;
    claim.failed_check = body_hash_mismatch(url, body);
    Parsed::Claim(claim)
}

/// Square: base64 HMAC-SHA256 over the notification URL followed by the body.
pub(crate) fn square(headers: &[Header], body: &[u8], url: &str) -> Parsed {
    let value = match headers::text(headers, SQUARE_HEADER) {
        Ok(Some(value)) => value,
        Ok(None) => return Parsed::Unsigned,
        Err(reason) => return Parsed::Invalid(reason),
    };
    if url.is_empty() {
        return Parsed::Invalid(missing_url("square"));
    }
    match mac::decode(Encoding::Base64, Digest::Sha256, value) {
        Ok(signature) => Parsed::Claim(Claim::new(
            Digest::Sha256,
            [url.as_bytes(), body].concat(),
            vec![signature],
        )),
        Err(why) => Parsed::Invalid(format!("malformed {SQUARE_HEADER} header: {why}")),
    }
}

fn missing_url(scheme: &str) -> String {
    format!("{scheme} signs the public URL the sender called, and none was given (pass --url)")
}

/// SHA-1 unless a SharedKey setting names another algorithm.
pub(crate) fn twilio_digest(headers: &[Header]) -> Result<Digest, String> {
    let Some(settings) = headers::text(headers, TWILIO_SETTINGS)? else {
        return Ok(Digest::Sha1);
    };
    let algorithm = settings
        .split(',')
        .filter_map(|item| item.trim().split_once('='))
        .find(|(key, _)| key.eq_ignore_ascii_case("algorithm"))
        .map(|(_, value)| value.trim());
    match algorithm {
        Some(a) if a.eq_ignore_ascii_case("HMAC_SHA256") => Ok(Digest::Sha256),
        Some(a) if a.eq_ignore_ascii_case("HMAC_SHA1") => Ok(Digest::Sha1),
        Some(other) => Err(format!(
            "{TWILIO_SETTINGS} names an unsupported algorithm '{}'",
            other.chars().take(32).collect::<String>()
        )),
        None => Err(format!("malformed {TWILIO_SETTINGS} header: no algorithm=")),
    }
}

/// The parameters Twilio signed: none for a body covered by `bodySHA256`,
/// else the form fields (a body of another content type carries none).
pub(crate) fn twilio_params(headers: &[Header], body: &[u8], url: &str) -> Vec<(String, String)> {
    if form::query_value(url, "bodySHA256").is_some() {
        return Vec::new();
    }
    let is_form = match headers::text(headers, "Content-Type") {
        Ok(Some(content_type)) => content_type
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded"),
        Ok(None) => true,
        Err(_) => false,
    };
    if is_form {
        form::parse(body)
    } else {
        Vec::new()
    }
}

/// `url` then each name and value, sorted by name and then value.
pub(crate) fn twilio_message(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut out = url.to_owned();
    for (name, value) in sorted {
        out.push_str(name);
        out.push_str(value);
    }
    out
}

/// Why the body does not hash to the URL's `bodySHA256`, if it does not.
pub(crate) fn body_hash_mismatch(url: &str, body: &[u8]) -> Option<String> {
    let claimed = form::query_value(url, "bodySHA256")?;
    let matches = hex::decode(&claimed)
        .ok()
        .zip(hex::decode(body_sha256_hex(body)).ok())
        .is_some_and(|(claimed, actual)| mac::matches_any(&actual, &[claimed]));
    (!matches).then(|| "the body's SHA-256 differs from bodySHA256 in the signed URL: the body changed after signing".to_owned())
}

/// The URL without and with its port (443 for https, 80 otherwise), the
/// variants Twilio's SDK accepts. A URL it cannot take apart is used as is.
pub(crate) fn url_variants(url: &str) -> Vec<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return vec![url.to_owned()];
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host_start = authority.rfind('@').map_or(0, |at| at + 1);
    let host_port = &authority[host_start..];
    let port_at = host_port
        .rfind(':')
        .filter(|&colon| !host_port[colon..].contains(']'));
    let (host, port) = match port_at {
        Some(colon) => (&host_port[..colon], &host_port[colon + 1..]),
        None => (host_port, ""),
    };
    let userinfo = &authority[..host_start];
    let has_port = !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.bytes().any(|b| b != b'0');
    let without = format!("{scheme}://{userinfo}{host}{tail}");
    let with = if has_port {
        url.to_owned()
    } else {
        let default = if scheme.eq_ignore_ascii_case("https") {
            443
        } else {
            80
        };
        format!("{scheme}://{userinfo}{host}:{default}{tail}")
    };
    if without == with {
        vec![without]
    } else {
        vec![without, with]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_variants_add_and_remove_the_port() {
        assert_eq!(
            url_variants("https://h.test/p?q=1"),
            ["https://h.test/p?q=1", "https://h.test:443/p?q=1"]
        );
        assert_eq!(
            url_variants("https://h.test:443/p"),
            ["https://h.test/p", "https://h.test:443/p"]
        );
        assert_eq!(
            url_variants("http://u:pw@h:8080"),
            ["http://u:pw@h", "http://u:pw@h:8080"]
        );
        assert_eq!(
            url_variants("http://[::1]/x"),
            ["http://[::1]/x", "http://[::1]:80/x"]
        );
        assert_eq!(url_variants("no-scheme"), ["no-scheme"]);
    }

    #[test]
    fn params_sort_by_name_then_value() {
        let params = vec![
            ("b".to_owned(), "2".to_owned()),
            ("a".to_owned(), "z".to_owned()),
            ("a".to_owned(), "y".to_owned()),
        ];
        assert_eq!(twilio_message("U", &params), "Uayazb2");
    }
}
