//! Sender-controlled text made inert before it reaches a terminal.
//!
//! Event types, paths, queries, header names and values and bodies come from
//! whoever posted the webhook. Printed raw, `{"type":"\u001b]0;PWNED\u0007"}`
//! retitles the developer's terminal, and other sequences recolour it, move
//! the cursor over earlier lines or worse. Every view for people (the CLI's
//! tables and text, `listen --output text`, the TUI) passes such text through
//! [`for_terminal`]; JSON output is exact and escaped by JSON itself.

use std::fmt::Write;

/// What happens to line breaks and tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line: `\n`, `\r` and `\t` are escaped like any other control.
    One,
    /// A block of text (a body): `\n`, `\t` and `\r\n` are kept; a lone
    /// `\r`, which would let a line overwrite itself, is escaped.
    Kept,
}

/// `text` with every control character (C0, DEL, C1) and every bidirectional
/// override shown as a visible escape (`\x1b`, `\u{9b}`, `\u{202e}`), and
/// bytes that are not UTF-8 as `\xff`. Printable text, backslashes included,
/// is unchanged, so ordinary values read exactly as sent.
pub fn for_terminal(text: impl AsRef<[u8]>, lines: Lines) -> String {
    let bytes = text.as_ref();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        let mut chars = chunk.valid().chars().peekable();
        while let Some(c) = chars.next() {
            let kept = match c {
                '\n' | '\t' => lines == Lines::Kept,
                '\r' => lines == Lines::Kept && chars.peek() == Some(&'\n'),
                c => !needs_escape(c),
            };
            if kept {
                out.push(c);
            } else {
                push_escaped(&mut out, c);
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// Characters a terminal acts on instead of showing: controls, and the
/// bidirectional embeddings, overrides and isolates that reorder what
/// follows them (so `evil\u{202e}txt.exe` cannot pose as something else).
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if u32::from(c) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// A request as list rows show it, `METHOD /path`, escaped for the terminal.
pub fn request_line(method: &str, path: &str) -> String {
    let path = if path.is_empty() { "/" } else { path };
    for_terminal(format!("{method} {path}"), Lines::One)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible_escapes() {
        assert_eq!(
            for_terminal("\u{1b}]0;PWNED\u{7}", Lines::One),
            "\\x1b]0;PWNED\\x07"
        );
        assert_eq!(
            for_terminal("a\u{9b}31mb\u{7f}", Lines::One),
            "a\\u{9b}31mb\\x7f"
        );
        assert_eq!(
            for_terminal("x\u{202e}gpj.exe", Lines::One),
            "x\\u{202e}gpj.exe"
        );
        assert_eq!(for_terminal(b"\xff\x00A", Lines::One), "\\xff\\x00A");
    }

    #[test]
    fn printable_text_is_unchanged() {
        let text = r#"{"a":"caf\u00e9 \"q\" ü 日本 🚀 C:\path"}"#;
        assert_eq!(for_terminal(text, Lines::One), text);
        assert_eq!(for_terminal("", Lines::Kept), "");
    }

    #[test]
    fn line_breaks_depend_on_the_view() {
        let text = "a\tb\r\nc\rd\ne";
        assert_eq!(for_terminal(text, Lines::One), "a\\tb\\r\\nc\\rd\\ne");
        assert_eq!(for_terminal(text, Lines::Kept), "a\tb\r\nc\\rd\ne");
        assert_eq!(for_terminal("end\r", Lines::Kept), "end\\r");
    }
}
