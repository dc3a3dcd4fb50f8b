//! Bodies made ready to draw once, when a delivery is loaded, so redrawing
//! on every keypress never re-formats a large body.

use crate::store::render::{BodyKind, body_kind, render_body};

/// Lines kept of one body; the rest is summarised in a final line.
pub const MAX_LINES: usize = 5_000;

/// Bytes shown as a hex dump at most for a binary body.
const MAX_DUMP: usize = 4_096;

/// A body as lines of escaped text, and whether it is JSON (to colour it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyLines {
    pub lines: Vec<String>,
    pub json: bool,
}

impl BodyLines {
    pub fn new(body: &[u8]) -> Self {
        let json = body_kind(body) == BodyKind::Json;
        let text = render_body(body, MAX_DUMP);
        // Already escaped by `render_body`; tabs become spaces because a
        // cell grid has no tab stops.
        let mut lines: Vec<String> = text
            .lines()
            .take(MAX_LINES)
            .map(|line| line.replace('\t', "    "))
            .collect();
        let total = text.lines().count();
        if total > MAX_LINES {
            lines.push(format!(
                "… {} more lines (export the delivery to see them all)",
                total - MAX_LINES
            ));
        }
        Self { lines, json }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_pretty_and_escapes_are_neutralised() {
        let body = BodyLines::new(br#"{"event":"a\u001b","n":1}"#);
        assert!(body.json);
        assert_eq!(
            body.lines,
            ["{", r#"  "event": "a\u001b","#, r#"  "n": 1"#, "}"]
        );
        let text = BodyLines::new(b"hi \x1b[2J there");
        assert!(!text.json);
        assert!(!text.lines.concat().contains('\x1b'));
        let text = BodyLines::new(b"a\tb\rc");
        assert_eq!(text.lines, [r"a    b\rc"]);
    }
}
