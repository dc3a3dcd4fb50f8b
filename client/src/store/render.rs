//! How stored bytes are shown to people (`show`, the TUI): JSON
//! re-indented in its original key order, text as is, binary as a hex dump,
//! and control characters escaped in all of them (see [`crate::escape`]).

use std::fmt::Write;

use crate::escape::{Lines, for_terminal};

/// What a body looks like, decided once so every view agrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Empty,
    Json,
    Text,
    Binary,
}

pub fn body_kind(body: &[u8]) -> BodyKind {
    if body.is_empty() {
        return BodyKind::Empty;
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        return BodyKind::Json;
    }
    match std::str::from_utf8(body) {
        Ok(text)
            if !text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) =>
        {
            BodyKind::Text
        }
        _ => BodyKind::Binary,
    }
}

/// The body for reading on a terminal: pretty JSON, text, or a hex dump of
/// at most `max_dump` bytes (with a line saying how many more there are).
/// JSON strings may hold raw C1 controls and bidi overrides, and text may
/// hold a lone `\r`; all come out escaped.
pub fn render_body(body: &[u8], max_dump: usize) -> String {
    match body_kind(body) {
        BodyKind::Empty => "(empty body)".to_owned(),
        BodyKind::Json => std::str::from_utf8(body)
            .map(|text| for_terminal(pretty_json(text), Lines::Kept))
            .unwrap_or_default(),
        BodyKind::Text => for_terminal(body, Lines::Kept),
        BodyKind::Binary => hex_dump(body, max_dump),
    }
}

/// Re-indents valid JSON text by walking its tokens, so keys keep the
/// sender's order (parsing into a map would sort them) and numbers keep
/// their exact digits.
pub fn pretty_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                let closer = if c == '{' { '}' } else { ']' };
                while chars.peek().is_some_and(|n| n.is_whitespace()) {
                    chars.next();
                }
                if chars.peek() == Some(&closer) {
                    out.push(closer);
                    chars.next();
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// `00000000  7b 22 61 ...  |{"a...|`, 16 bytes a line.
pub fn hex_dump(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    for (line, chunk) in bytes[..bytes.len().min(max)].chunks(16).enumerate() {
        let _ = write!(out, "{:08x}  ", line * 16);
        for i in 0..16 {
            match chunk.get(i) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
            if i == 7 {
                out.push(' ');
            }
        }
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        let _ = writeln!(out, " |{ascii}|");
    }
    if bytes.len() > max {
        let _ = writeln!(out, "… {} more bytes", bytes.len() - max);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_key_order_and_digits() {
        let pretty = pretty_json(r#"{"z":1.50,"a":[],"s":"x,{\"y"}"#);
        assert_eq!(
            pretty,
            "{\n  \"z\": 1.50,\n  \"a\": [],\n  \"s\": \"x,{\\\"y\"\n}"
        );
    }

    #[test]
    fn kinds_and_dump() {
        assert_eq!(body_kind(b""), BodyKind::Empty);
        assert_eq!(body_kind(b"a=1&b=2"), BodyKind::Text);
        assert_eq!(body_kind(&[0xff, 0x00]), BodyKind::Binary);
        assert!(hex_dump(&[0u8; 40], 32).ends_with("… 8 more bytes\n"));
    }

    #[test]
    fn rendered_bodies_carry_no_raw_controls() {
        let json = render_body("{\"t\":\"a\u{9b}2J\u{202e}\"}".as_bytes(), 64);
        assert_eq!(json, "{\n  \"t\": \"a\\u{9b}2J\\u{202e}\"\n}");
        let text = render_body(b"line one\r\nfake\rover", 64);
        assert_eq!(text, "line one\r\nfake\\rover");
    }
}
