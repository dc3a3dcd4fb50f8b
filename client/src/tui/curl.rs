//! `c`: one delivery as a single curl command for the clipboard, sending
//! the same method, headers and byte-identical body to the forward target.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hookline_protocol::Delivery;

use crate::forward::ForwardTarget;

/// Headers that describe one connection or that curl computes itself.
const SKIPPED: [&str; 6] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "expect",
];

/// A POSIX shell command; bodies that are not plain text travel as base64.
pub fn command(delivery: &Delivery, target: &ForwardTarget) -> String {
    let url = target
        .join(&delivery.path, delivery.query.as_deref())
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("{target}"));
    let mut out = String::new();
    let text = std::str::from_utf8(&delivery.body)
        .ok()
        .filter(|t| !t.contains('\0'));
    match (delivery.body.is_empty(), text) {
        (true, _) => {}
        (false, Some(text)) => out.push_str(&format!("printf '%s' {} | ", quote(text))),
        (false, None) => out.push_str(&format!(
            "printf '%s' '{}' | base64 -d | ",
            STANDARD.encode(&delivery.body)
        )),
    }
    out.push_str(&format!(
        "curl -sS --path-as-is -X {} {}",
        quote(&delivery.method),
        quote(&url)
    ));
    for header in delivery
        .headers
        .iter()
        .filter(|h| !SKIPPED.contains(&h.name.to_ascii_lowercase().as_str()))
    {
        let value = String::from_utf8_lossy(&header.value);
        out.push_str(&format!(
            " \\\n  -H {}",
            quote(&format!("{}: {value}", header.name))
        ));
    }
    if !delivery.body.is_empty() {
        out.push_str(" \\\n  --data-binary @-");
    }
    out.push('\n');
    out
}

/// One shell word in single quotes.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
