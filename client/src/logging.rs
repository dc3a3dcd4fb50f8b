//! Log setup: `RUST_LOG` wins; otherwise warnings, or debug with `-v`.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Logs go to stderr, so stdout stays for
/// output that scripts read — or, while a terminal UI owns the screen, to
/// `log_file`, where a stray warning cannot draw over it.
pub fn init(verbose: bool, log_file: Option<&Path>) {
    let default = if verbose {
        "hookline=debug,hookline_relay=debug"
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let file = log_file.and_then(|path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
    });
    let _ = match file {
        Some(file) => builder
            .with_ansi(false)
            .with_writer(Mutex::new(file))
            .try_init(),
        // Colours only on a terminal: `2> listen.log` gets plain text.
        None => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .try_init(),
    };
}
