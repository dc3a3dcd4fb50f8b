//! `--forward-ca` and `--forward-insecure`: how `https://` targets are
//! trusted, the same for `listen --forward`, `replay --to` and `trigger`.

use std::path::PathBuf;

use crate::forward::{TlsOptions, read_pem_certificates};

/// Trust settings for HTTPS local apps (and an HTTPS relay for `trigger`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ForwardTlsArgs {
    /// Also trust this PEM certificate for https:// targets: a development
    /// CA (mkcert's rootCA.pem) or the app's own self-signed certificate.
    /// The system's roots are trusted as well.
    #[arg(long, env = "HOOKLINE_FORWARD_CA", value_name = "PEM")]
    pub forward_ca: Option<PathBuf>,
    /// Accept any certificate from https:// targets (self-signed dev servers).
    /// Traffic stays encrypted, but whoever answers is not checked.
    #[arg(long)]
    pub forward_insecure: bool,
}

/// What `--forward-insecure` prints when a command starts.
pub const INSECURE_WARNING: &str = "--forward-insecure: certificates of https:// targets are NOT \
     checked; anyone able to intercept the connection can read and answer these requests";

impl ForwardTlsArgs {
    /// The trust settings, with the `--forward-ca` file read and checked now,
    /// so a wrong path fails the command before anything is sent.
    pub fn options(&self) -> anyhow::Result<TlsOptions> {
        let extra_roots = match &self.forward_ca {
            Some(path) => read_pem_certificates(path).map_err(anyhow::Error::msg)?,
            None => Vec::new(),
        };
        Ok(TlsOptions {
            extra_roots,
            insecure: self.forward_insecure,
        })
    }

    /// Says `--forward-insecure` loudly on stderr, once, when it is set.
    pub fn warn_if_insecure(&self) {
        if self.forward_insecure {
            eprintln!("WARNING: {INSECURE_WARNING}");
        }
    }
}
