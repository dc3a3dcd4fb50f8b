//! What an edited replay changed: the original and the sent request as text
//! (headers, a blank line, the body; JSON bodies pretty-printed the same way
//! on both sides so a one-field edit is a one-line change), compared line
//! by line, for the TUI's diff screen and `replay --edit`'s unified diff.

use hookline_protocol::Header;

/// One line of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    Same(String),
    Removed(String),
    Added(String),
}

/// Past this many line pairs the comparison is not worth its memory: the
/// whole old text is shown removed and the new one added.
const MAX_CELLS: usize = 4_000_000;

/// A request as the diff shows it: `name: value` per header, a blank line,
/// then the body (pretty JSON when it parses as JSON, else its text).
pub fn request_text(headers: &[Header], body: &[u8]) -> String {
    let mut text = String::new();
    for header in headers {
        text.push_str(&header.name);
        text.push_str(": ");
        text.push_str(&String::from_utf8_lossy(&header.value));
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&body_text(body));
    text
}

/// A body as compared: JSON pretty-printed (keys in one order), else lossy UTF-8.
pub fn body_text(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => serde_json::to_string_pretty(&value).unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    }
}

/// `old` against `new`, line by line (longest common subsequence).
pub fn lines(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        return a
            .iter()
            .map(|l| DiffLine::Removed((*l).to_owned()))
            .chain(b.iter().map(|l| DiffLine::Added((*l).to_owned())))
            .collect();
    }
    // common[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let width = b.len() + 1;
    let mut common = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            common[i * width + j] = if a[i] == b[j] {
                common[(i + 1) * width + j + 1] + 1
            } else {
                common[(i + 1) * width + j].max(common[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push(DiffLine::Same(a[i].to_owned()));
            i += 1;
            j += 1;
        } else if common[(i + 1) * width + j] >= common[i * width + j + 1] {
            out.push(DiffLine::Removed(a[i].to_owned()));
            i += 1;
        } else {
            out.push(DiffLine::Added(b[j].to_owned()));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| DiffLine::Removed((*l).to_owned())));
    out.extend(b[j..].iter().map(|l| DiffLine::Added((*l).to_owned())));
    out
}

/// A unified diff (`---`/`+++` labels, `@@` hunks with `context` lines
/// around each change); empty when nothing changed.
pub fn unified(old: &str, new: &str, old_label: &str, new_label: &str, context: usize) -> String {
    let diff = lines(old, new);
    if diff.iter().all(|l| matches!(l, DiffLine::Same(_))) {
        return String::new();
    }
    let changed: Vec<usize> = diff
        .iter()
        .enumerate()
        .filter(|(_, l)| !matches!(l, DiffLine::Same(_)))
        .map(|(i, _)| i)
        .collect();
    // Hunks: runs of changes closer than twice the context merge.
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for &i in &changed {
        let start = i.saturating_sub(context);
        let end = (i + context + 1).min(diff.len());
        match hunks.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => hunks.push((start, end)),
        }
    }
    let mut out = format!("--- {old_label}\n+++ {new_label}\n");
    // Line numbers (1-based) in the old and new text where each diff line sits.
    let (mut old_at, mut new_at) = (Vec::new(), Vec::new());
    let (mut o, mut n) = (1usize, 1usize);
    for line in &diff {
        old_at.push(o);
        new_at.push(n);
        match line {
            DiffLine::Same(_) => {
                o += 1;
                n += 1;
            }
            DiffLine::Removed(_) => o += 1,
            DiffLine::Added(_) => n += 1,
        }
    }
    for (start, end) in hunks {
        let slice = &diff[start..end];
        let old_len = slice
            .iter()
            .filter(|l| !matches!(l, DiffLine::Added(_)))
            .count();
        let new_len = slice
            .iter()
            .filter(|l| !matches!(l, DiffLine::Removed(_)))
            .count();
        out.push_str(&format!(
            "@@ -{},{old_len} +{},{new_len} @@\n",
            old_at[start], new_at[start]
        ));
        for line in slice {
            let (mark, text) = match line {
                DiffLine::Same(t) => (' ', t),
                DiffLine::Removed(t) => ('-', t),
                DiffLine::Added(t) => ('+', t),
            };
            out.push(mark);
            out.push_str(text);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_field_json_edit_is_a_one_line_change_whatever_the_layout() {
        let old = body_text(br#"{"type":"email.opened","data":{"to":"a@x.test","n":1}}"#);
        let new = body_text(
            b"{\n  \"data\": {\"n\": 2, \"to\": \"a@x.test\"},\n  \"type\": \"email.opened\"\n}",
        );
        let diff = lines(&old, &new);
        let removed: Vec<_> = diff
            .iter()
            .filter(|l| matches!(l, DiffLine::Removed(_)))
            .collect();
        let added: Vec<_> = diff
            .iter()
            .filter(|l| matches!(l, DiffLine::Added(_)))
            .collect();
        assert_eq!(removed, [&DiffLine::Removed("    \"n\": 1,".into())]);
        assert_eq!(added, [&DiffLine::Added("    \"n\": 2,".into())]);
    }

    #[test]
    fn unified_output_has_labels_hunks_and_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nD\ne\nf\ng\nh\nI\n";
        let text = unified(old, new, "stored", "edited", 1);
        assert_eq!(
            text,
            "--- stored\n+++ edited\n@@ -3,3 +3,3 @@\n c\n-d\n+D\n e\n@@ -8,1 +8,2 @@\n h\n+I\n"
        );
        assert_eq!(unified(old, old, "x", "y", 3), "");
    }

    #[test]
    fn headers_come_first_then_a_blank_line_then_the_body() {
        let headers = vec![Header::new("content-type", b"text/plain".to_vec())];
        assert_eq!(
            request_text(&headers, b"hi"),
            "content-type: text/plain\n\nhi"
        );
    }
}
