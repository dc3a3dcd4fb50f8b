//! Just enough `application/x-www-form-urlencoded` decoding for Twilio, which
//! signs the decoded parameters rather than the body bytes.

/// The body's name/value pairs, decoded (`+` is a space, `%XX` a byte, then
/// UTF-8 with replacement, as web frameworks hand them to Twilio's SDK).
/// Blank values are kept: Twilio signs them too.
pub(crate) fn parse(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &[][..]),
            };
            (decode(name), decode(value))
        })
        .collect()
}

/// Percent-decodes one component. A `%` not followed by two hex digits stays literal.
pub(crate) fn decode(component: &[u8]) -> String {
    let mut out = Vec::with_capacity(component.len());
    let mut i = 0;
    while i < component.len() {
        match component[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                component.get(i + 1).and_then(hex_value),
                component.get(i + 2).and_then(hex_value),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(byte: &u8) -> Option<u8> {
    (*byte as char)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

/// The first non-blank value of `name` in a URL's query string, decoded
/// (blank values are dropped, as Python's `parse_qs` in Twilio's SDK does).
pub(crate) fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    parse(query.as_bytes())
        .into_iter()
        .find(|(key, value)| key == name && !value.is_empty())
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_like_a_form_parser() {
        let pairs = parse(b"Body=Ol%C3%A1+caf%C3%A9&Empty=&Flag&&Bad=%zz%4");
        assert_eq!(
            pairs,
            [
                ("Body".to_owned(), "Olá café".to_owned()),
                ("Empty".to_owned(), String::new()),
                ("Flag".to_owned(), String::new()),
                ("Bad".to_owned(), "%zz%4".to_owned()),
            ]
        );
    }

    #[test]
    fn finds_query_values() {
        let url = "https://h/p?a=1&bodySHA256=ab%63#frag";
        assert_eq!(query_value(url, "bodySHA256").as_deref(), Some("abc"));
        assert_eq!(query_value(url, "x"), None);
        assert_eq!(query_value("https://h/p?bodySHA256=", "bodySHA256"), None);
        assert_eq!(query_value("https://h/p", "a"), None);
    }
}
