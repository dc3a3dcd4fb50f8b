//! The ACME account and the issued certificate on disk, under
//! `DATA_DIR/acme/`, owner-only: a restart reuses both instead of ordering
//! again (CAs rate-limit duplicate certificates). Files are named by a hash
//! of the directory URL (and the names), so switching from staging to
//! production, or changing names, never serves a stale certificate.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use instant_acme::AccountCredentials;
use rustls::pki_types::CertificateDer;
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};

use super::{AcmeError, expiry};

#[derive(Debug, Clone)]
pub(crate) struct Cache {
    dir: PathBuf,
}

/// A certificate chain and its private key, as the CA issued them.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub key_pem: String,
    pub chain_pem: String,
}

impl Issued {
    /// The chain and key, checked, as rustls serves them, and the leaf's expiry.
    pub(crate) fn load(&self) -> Result<(Arc<CertifiedKey>, SystemTime), AcmeError> {
        let chain = rustls_pemfile::certs(&mut self.chain_pem.as_bytes())
            .collect::<Result<Vec<CertificateDer<'static>>, _>>()
            .map_err(AcmeError::certificate)?;
        let leaf = chain
            .first()
            .ok_or_else(|| AcmeError::Certificate("no certificate in the chain".into()))?;
        let expires = expiry::not_after(leaf).map_err(AcmeError::Certificate)?;
        let key = rustls_pemfile::private_key(&mut self.key_pem.as_bytes())
            .map_err(AcmeError::certificate)?
            .ok_or_else(|| AcmeError::Certificate("no private key".into()))?;
        let signer =
            rustls::crypto::ring::sign::any_supported_type(&key).map_err(AcmeError::certificate)?;
        Ok((Arc::new(CertifiedKey::new(chain, signer)), expires))
    }
}

impl Cache {
    /// Creates `dir` owner-only if needed.
    pub(crate) fn open(dir: PathBuf) -> Result<Cache, AcmeError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&dir)
            .map_err(|e| AcmeError::cache(&dir, e))?;
        Ok(Cache { dir })
    }

    pub(crate) fn load_account(
        &self,
        directory: &str,
    ) -> Result<Option<AccountCredentials>, AcmeError> {
        let path = self.account_path(directory);
        match read(&path)? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| AcmeError::cache(&path, e)),
        }
    }

    pub(crate) fn save_account(
        &self,
        directory: &str,
        credentials: &AccountCredentials,
    ) -> Result<(), AcmeError> {
        let path = self.account_path(directory);
        let json =
            serde_json::to_string_pretty(credentials).map_err(|e| AcmeError::cache(&path, e))?;
        write_private(&path, json.as_bytes())
    }

    /// Forgets the account, so the next order registers a new one (the CA
    /// no longer knows it: a test CA restarted, or the account was deactivated).
    pub(crate) fn forget_account(&self, directory: &str) -> Result<(), AcmeError> {
        let path = self.account_path(directory);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(AcmeError::cache(&path, e)),
        }
    }

    pub(crate) fn load_certificate(
        &self,
        directory: &str,
        names: &[String],
    ) -> Result<Option<Issued>, AcmeError> {
        let path = self.certificate_path(directory, names);
        let Some(text) = read(&path)? else {
            return Ok(None);
        };
        // The key block comes first, then the chain.
        let split = text
            .find("-----BEGIN CERTIFICATE-----")
            .ok_or_else(|| AcmeError::cache(&path, "no certificate in the file"))?;
        let (key_pem, chain_pem) = text.split_at(split);
        Ok(Some(Issued {
            key_pem: key_pem.to_owned(),
            chain_pem: chain_pem.to_owned(),
        }))
    }

    /// Key and chain in one file, so a crash never leaves one without the other.
    pub(crate) fn save_certificate(
        &self,
        directory: &str,
        names: &[String],
        issued: &Issued,
    ) -> Result<(), AcmeError> {
        let path = self.certificate_path(directory, names);
        let mut text = issued.key_pem.trim_end().to_owned();
        text.push('\n');
        text.push_str(&issued.chain_pem);
        write_private(&path, text.as_bytes())
    }

    fn account_path(&self, directory: &str) -> PathBuf {
        self.dir
            .join(format!("account-{}.json", short_hash(&[directory])))
    }

    fn certificate_path(&self, directory: &str, names: &[String]) -> PathBuf {
        let mut parts = vec![directory];
        let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        parts.extend(sorted);
        self.dir
            .join(format!("certificate-{}.pem", short_hash(&parts)))
    }
}

fn short_hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(&hasher.finalize()[..8])
}

fn read(path: &Path) -> Result<Option<String>, AcmeError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AcmeError::cache(path, e)),
    }
}

/// Writes `bytes` to `path` (0600) through a temporary file and a rename,
/// so a crash leaves the old file or the new one, never half of one.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AcmeError> {
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    written
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| AcmeError::cache(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_round_trips_owner_only_and_per_directory() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().join("acme")).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["relay.test".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let issued = Issued {
            key_pem: key.serialize_pem(),
            chain_pem: cert.pem(),
        };
        let names = vec!["relay.test".to_owned()];
        cache
            .save_certificate("https://ca/dir", &names, &issued)
            .unwrap();
        let loaded = cache
            .load_certificate("https://ca/dir", &names)
            .unwrap()
            .unwrap();
        assert_eq!(loaded.chain_pem, issued.chain_pem);
        let (certified, _) = loaded.load().unwrap();
        assert_eq!(certified.cert[0].as_ref(), cert.der().as_ref());
        assert!(
            cache
                .load_certificate("https://other/dir", &names)
                .unwrap()
                .is_none()
        );
        #[cfg(unix)]
        for entry in std::fs::read_dir(dir.path().join("acme")).unwrap() {
            use std::os::unix::fs::PermissionsExt;
            let mode = entry.unwrap().metadata().unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "cache files are owner-only");
        }
    }
}
