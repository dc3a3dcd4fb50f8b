//! Log setup: `RUST_LOG` wins; otherwise warnings, or debug with `-v`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber, writing to stderr so stdout stays for output
/// that scripts read.
pub fn init(verbose: bool) {
    let default = if verbose {
        "hookline=debug,hookline_relay=debug"
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
