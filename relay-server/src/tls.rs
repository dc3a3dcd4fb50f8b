//! TLS from PEM files, on rustls with the ring provider (builds with only a C
//! compiler: no cmake, no aws-lc).

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;

use crate::RelayError;

/// Loads a certificate chain and private key for the HTTPS listener.
pub fn load_tls(cert_pem: &Path, key_pem: &Path) -> Result<Arc<ServerConfig>, RelayError> {
    let read = |what, path: &Path| {
        std::fs::read(path).map_err(|source| RelayError::ReadFile {
            what,
            path: path.to_owned(),
            source,
        })
    };
    let cert_bytes = read("TLS certificate", cert_pem)?;
    let key_bytes = read("TLS private key", key_pem)?;
    let certs = rustls_pemfile::certs(&mut cert_bytes.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RelayError::Tls(format!("{}: {e}", cert_pem.display())))?;
    if certs.is_empty() {
        return Err(RelayError::Tls(format!(
            "{}: no PEM certificate found",
            cert_pem.display()
        )));
    }
    let key = rustls_pemfile::private_key(&mut key_bytes.as_slice())
        .map_err(|e| RelayError::Tls(format!("{}: {e}", key_pem.display())))?
        .ok_or_else(|| {
            RelayError::Tls(format!("{}: no PEM private key found", key_pem.display()))
        })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RelayError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| RelayError::Tls(format!("certificate and key do not fit together: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
