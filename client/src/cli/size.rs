//! Byte sizes as people type them: `26214400`, `512KiB`, `25MiB`, `25MB`.

/// Parses a size: a whole number of bytes, optionally followed by a unit —
/// `K`/`KiB`/`KB`, `M`/`MiB`/`MB` (binary multiples: webhook limits are
/// quoted in MiB), case-insensitive.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let err =
        || format!("{text:?} is not a size: use bytes or a unit, e.g. 1048576, 512KiB or 25MiB");
    let trimmed = text.trim();
    let digits = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let number: usize = trimmed[..digits].parse().map_err(|_| err())?;
    let unit: usize = match trimmed[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => return Err(err()),
    };
    number.checked_mul(unit).ok_or_else(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_binary_units() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("25MiB"), Ok(25 << 20));
        assert_eq!(parse_size("25 mb"), Ok(25 << 20));
        for bad in ["", "MiB", "2.5MiB", "-1", "10GiB", "99999999999999999999"] {
            assert!(parse_size(bad).is_err(), "{bad:?} parsed");
        }
    }
}
