//! Syntax colours for one line of pretty-printed JSON: keys, strings,
//! numbers and literals, everything else plain.

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

/// Colours `line` (already escaped, as made by [`crate::tui::body::BodyLines`]).
pub fn highlight(line: &str) -> Line<'static> {
    let mut spans = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        let (token, style) = next_token(rest);
        spans.push(Span::styled(token.to_owned(), style));
        rest = &rest[token.len()..];
    }
    Line::from(spans)
}

/// The next token of `text` and its style; never empty for non-empty `text`.
fn next_token(text: &str) -> (&str, Style) {
    let first = text.chars().next().unwrap_or(' ');
    if first == '"' {
        let end = string_end(text);
        let is_key = text[end..].trim_start().starts_with(':');
        let color = if is_key { Color::Cyan } else { Color::Green };
        return (&text[..end], Style::new().fg(color));
    }
    if first == '-' || first.is_ascii_digit() {
        let end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.')))
            .unwrap_or(text.len());
        return (&text[..end], Style::new().fg(Color::Yellow));
    }
    for literal in ["true", "false", "null"] {
        if text.starts_with(literal) {
            return (&text[..literal.len()], Style::new().fg(Color::Magenta));
        }
    }
    let end = text
        .find(|c: char| c == '"' || c == '-' || c.is_ascii_alphanumeric())
        .unwrap_or(text.len())
        .max(first.len_utf8());
    (&text[..end], Style::new())
}

/// Byte index just past the closing quote of the string `text` starts with.
fn string_end(text: &str) -> usize {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return i + 1,
            _ => {}
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_strings_numbers_literals() {
        let line = highlight(r#"  "id": "a\"b", "n": -1.5e3, "ok": true, "x": null"#);
        let parts: Vec<(String, Option<Color>)> = line
            .spans
            .iter()
            .map(|s| (s.content.to_string(), s.style.fg))
            .collect();
        assert!(parts.contains(&(r#""id""#.into(), Some(Color::Cyan))));
        assert!(parts.contains(&(r#""a\"b""#.into(), Some(Color::Green))));
        assert!(parts.contains(&("-1.5e3".into(), Some(Color::Yellow))));
        assert!(parts.contains(&("true".into(), Some(Color::Magenta))));
        let text: String = parts.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(
            text,
            r#"  "id": "a\"b", "n": -1.5e3, "ok": true, "x": null"#
        );
    }
}
