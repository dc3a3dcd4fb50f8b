//! Copying without a clipboard library: an OSC 52 escape sequence (most
//! terminals, and tmux with `set-clipboard on`, put it on the clipboard) and
//! always a file too, because some terminals ignore OSC 52 silently.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::terminal::Screen;

/// Largest text sent by OSC 52; several terminals drop longer sequences.
const MAX_OSC52_BYTES: usize = 74_000;

/// The file every copy is also written to.
pub fn copy_path(dir: &Path) -> PathBuf {
    dir.join("tui-clipboard.txt")
}

/// The OSC 52 sequence that sets the system clipboard to `text`.
pub fn osc52(text: &[u8]) -> Vec<u8> {
    format!("\x1b]52;c;{}\x07", STANDARD.encode(text)).into_bytes()
}

/// Copies `text` and says where it went, e.g. `body copied (OSC 52), also in /…/tui-clipboard.txt`.
pub fn copy(
    screen: &mut dyn Screen,
    what: &str,
    text: &[u8],
    dir: &Path,
) -> Result<String, String> {
    let path = copy_path(dir);
    write_private(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    let sent = text.len() <= MAX_OSC52_BYTES && screen.raw(&osc52(text)).unwrap_or(false);
    let place = if sent {
        "copied (OSC 52), also in"
    } else {
        "saved to"
    };
    Ok(format!("{what} {place} {}", path.display()))
}

/// Bodies can hold customer data: the file is readable by its owner only.
pub(super) fn write_private(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_is_base64_between_the_markers() {
        assert_eq!(osc52(b"hi"), b"\x1b]52;c;aGk=\x07");
    }

    #[test]
    fn copies_land_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut screen = ratatui::Terminal::new(ratatui::backend::TestBackend::new(10, 2)).unwrap();
        let said = copy(&mut screen, "body", b"{\"a\":1}", dir.path()).unwrap();
        assert!(said.starts_with("body saved to "), "{said}");
        assert_eq!(std::fs::read(copy_path(dir.path())).unwrap(), b"{\"a\":1}");
    }
}
