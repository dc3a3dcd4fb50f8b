//! curl export: a POSIX shell script that resends each delivery with the
//! same method, headers and byte-identical body.
//!
//! Bodies travel as base64 in a quoted heredoc piped through `base64 -d`
//! into `curl --data-binary @-`, so any bytes (NUL included) survive the
//! shell. curl's own default headers (User-Agent, Accept, Content-Type,
//! Expect) are suppressed unless the original request had them.

use std::io::Write;

use anyhow::bail;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hookline_protocol::Header;

use crate::model::{AttemptKind, StoredDelivery};
use crate::store::time::format_utc;

/// Headers that describe one connection or that curl must compute itself.
const SKIPPED: [&str; 10] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

/// Headers curl adds on its own; sent empty (which removes them) when the
/// original request did not have them.
const CURL_DEFAULTS: [&str; 4] = ["User-Agent", "Accept", "Content-Type", "Expect"];

pub(crate) fn begin(out: &mut dyn Write, count: usize) -> anyhow::Result<()> {
    writeln!(out, "#!/bin/sh")?;
    writeln!(
        out,
        "# hookline export: {count} request(s). Each prints the status code and the delivery id."
    )?;
    writeln!(
        out,
        "# Needs curl and base64 (-d). Stops at the first request that cannot connect."
    )?;
    writeln!(out, "set -e")?;
    Ok(())
}

/// Writes one delivery as a commented curl command (after [`begin`]'s
/// preamble in a script, or alone for a clipboard).
pub fn command(
    out: &mut dyn Write,
    stored: &StoredDelivery,
    to: Option<&str>,
) -> anyhow::Result<()> {
    let d = &stored.delivery;
    let url = target(stored, to)?;
    let send_body = !d.body.is_empty() || d.header("content-length").is_some();
    let marker = format!("HOOKLINE_BODY_{}", d.id);
    writeln!(
        out,
        "\n# {} {} {}{} received {} UTC, {} bytes, sha256 {}",
        d.id,
        d.method,
        d.path,
        query(d.query.as_deref()),
        format_utc(d.received_at_ms),
        d.body.len(),
        d.body_sha256
    )?;
    if send_body {
        write!(out, "base64 -d <<'{marker}' | ")?;
    }
    write!(
        out,
        "curl -sS --path-as-is --globoff -o /dev/null -w '%{{http_code}} {}\\n'",
        d.id
    )?;
    if d.method.eq_ignore_ascii_case("HEAD") {
        write!(out, " --head")?;
    } else {
        write!(out, " -X {}", quote(d.method.as_bytes()))?;
    }
    for name in CURL_DEFAULTS {
        if d.header(name).is_none() || name == "Expect" {
            write!(out, " \\\n  -H {}", quote(format!("{name}:").as_bytes()))?;
        }
    }
    for h in d
        .headers
        .iter()
        .filter(|h| !SKIPPED.contains(&h.name.to_ascii_lowercase().as_str()))
    {
        write!(out, " \\\n  -H {}", header_arg(h))?;
    }
    if send_body {
        write!(out, " \\\n  --data-binary @-")?;
    }
    writeln!(out, " \\\n  {}", quote(url.as_bytes()))?;
    if send_body {
        for line in STANDARD.encode(&d.body).as_bytes().chunks(76) {
            out.write_all(line)?;
            writeln!(out)?;
        }
        writeln!(out, "{marker}")?;
    }
    Ok(())
}

fn query(q: Option<&str>) -> String {
    q.map(|q| format!("?{q}")).unwrap_or_default()
}

/// `--to` plus the delivery's path and query, or where it was last forwarded.
fn target(stored: &StoredDelivery, to: Option<&str>) -> anyhow::Result<String> {
    let d = &stored.delivery;
    if let Some(base) = to {
        return Ok(format!(
            "{}{}{}",
            base.trim_end_matches('/'),
            d.path,
            query(d.query.as_deref())
        ));
    }
    let forwarded = stored
        .attempts
        .iter()
        .rev()
        .find(|a| a.kind == AttemptKind::Forward);
    match forwarded {
        Some(a) => Ok(a.target.clone()),
        None => bail!(
            "delivery {} was never forwarded, so its target is unknown: pass --to URL",
            d.id
        ),
    }
}

/// `Name: value`, or curl's `Name;` for an empty value (plain `Name:` would
/// remove the header instead of sending it empty).
fn header_arg(h: &Header) -> String {
    let mut arg = h.name.as_bytes().to_vec();
    if h.value.is_empty() {
        arg.push(b';');
    } else {
        arg.extend_from_slice(b": ");
        arg.extend_from_slice(&h.value);
    }
    quote(&arg)
}

/// One shell word for `bytes`: single quotes for text; for other bytes a
/// `printf` of octal escapes (POSIX sh has no `$'…'` everywhere).
pub fn quote(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => format!("'{}'", text.replace('\'', r"'\''")),
        _ => {
            let escaped: String = bytes.iter().map(|b| format!("\\{b:03o}")).collect();
            format!("\"$(printf '{escaped}')\"")
        }
    }
}
