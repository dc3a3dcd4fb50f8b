//! Reading and replacing headers in an ordered header list.

use hookline_protocol::{Header, header_values};

/// The first value of `name` as text: `Ok(None)` when absent, `Err(reason)`
/// when present but not UTF-8 (no signature header legitimately is).
pub(crate) fn text<'a>(headers: &'a [Header], name: &'a str) -> Result<Option<&'a str>, String> {
    match header_values(headers, name).next() {
        None => Ok(None),
        Some(value) => std::str::from_utf8(value)
            .map(|text| Some(text.trim()))
            .map_err(|_| format!("malformed {name} header: not valid UTF-8")),
    }
}

/// Whether `name` is present at all.
pub(crate) fn has(headers: &[Header], name: &str) -> bool {
    header_values(headers, name).next().is_some()
}

/// Sets `name` to `value` where it already is (keeping its position and
/// spelling, dropping later duplicates), or appends it.
pub(crate) fn set(headers: &mut Vec<Header>, name: &str, value: String) {
    let mut seen = false;
    headers.retain_mut(|header| {
        if !header.name.eq_ignore_ascii_case(name) {
            return true;
        }
        if seen {
            return false;
        }
        seen = true;
        header.value = value.clone().into_bytes();
        true
    });
    if !seen {
        headers.push(Header::new(name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_in_place_and_drops_duplicates() {
        let mut headers = vec![
            Header::new("A", "1"),
            Header::new("stripe-signature", "old"),
            Header::new("B", "2"),
            Header::new("Stripe-Signature", "older"),
        ];
        set(&mut headers, "Stripe-Signature", "new".to_owned());
        let names: Vec<_> = headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["A", "stripe-signature", "B"]);
        assert_eq!(headers[1].value, b"new");
        set(&mut headers, "C", "3".to_owned());
        assert_eq!(headers.last().unwrap().name, "C");
    }

    #[test]
    fn text_trims_and_rejects_binary() {
        let headers = vec![Header::new("X", " v "), Header::new("Y", vec![0xff])];
        assert_eq!(text(&headers, "x").unwrap(), Some("v"));
        assert!(text(&headers, "Y").is_err());
        assert_eq!(text(&headers, "Z").unwrap(), None);
    }
}
