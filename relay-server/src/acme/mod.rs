//! Automatic HTTPS: certificates from an ACME CA (Let's Encrypt by default)
//! for the names the relay serves, obtained at start, cached under the data
//! dir and renewed in the background without dropping a connection.
//!
//! Proof of control: TLS-ALPN-01 on the TLS listener first (one port, the
//! one senders use), HTTP-01 on the plain listener when that fails. While no
//! certificate is had, the relay keeps serving plain HTTP (and, on renewal,
//! the old certificate); what went wrong is logged once, with the fix.

mod advice;
mod cache;
mod challenges;
mod expiry;
mod http_client;
mod issue;
mod manager;
mod resolver;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use challenges::http01_answer;
pub use challenges::{ACME_TLS_ALPN, Challenges};
pub use manager::{Acme, AcmeStatus, ServedCertificate};

/// Let's Encrypt's production directory, the default CA.
pub const DEFAULT_DIRECTORY: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// What to obtain, from where, and when to renew.
#[derive(Debug, Clone)]
pub struct AcmeConfig {
    /// DNS names on the certificate; each must resolve to this relay.
    pub domains: Vec<String>,
    /// Contact for the CA account (expiry and policy notices).
    pub email: Option<String>,
    /// The CA's directory URL.
    pub directory: String,
    /// PEM roots to trust for the directory's own HTTPS (a private CA).
    pub directory_ca: Option<PathBuf>,
    /// Renew once the certificate has less than this left.
    pub renew_before: Duration,
    /// Shortest time between two orders of this process, so a renew
    /// threshold above the certificate's life cannot hammer the CA.
    pub min_renew_interval: Duration,
    /// Where the account and certificate are kept (owner-only).
    pub cache_dir: PathBuf,
}

impl AcmeConfig {
    /// Let's Encrypt production, renewing 30 days before expiry, cached in
    /// `DATA_DIR/acme`.
    pub fn new(domains: Vec<String>, data_dir: &Path) -> AcmeConfig {
        AcmeConfig {
            domains,
            email: None,
            directory: DEFAULT_DIRECTORY.to_owned(),
            directory_ca: None,
            renew_before: Duration::from_secs(30 * 24 * 3600),
            min_renew_interval: Duration::from_secs(24 * 3600),
            cache_dir: data_dir.join("acme"),
        }
    }
}

/// Why automatic HTTPS cannot start or an order failed.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    #[error("--acme-domain {name:?} is not a DNS name a CA can issue for: {why}")]
    Domain { name: String, why: String },
    #[error("--acme-email {0:?} is not an email address")]
    Email(String),
    #[error("ACME cache {path}: {why}")]
    Cache { path: PathBuf, why: String },
    #[error("--acme-directory-ca {path}: {why}")]
    DirectoryCa { path: PathBuf, why: String },
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("{0}")]
    Order(String),
}

impl AcmeError {
    pub(crate) fn cache(path: &Path, why: impl std::fmt::Display) -> AcmeError {
        AcmeError::Cache {
            path: path.to_owned(),
            why: why.to_string(),
        }
    }

    pub(crate) fn directory_ca(path: &Path, why: impl std::fmt::Display) -> AcmeError {
        AcmeError::DirectoryCa {
            path: path.to_owned(),
            why: why.to_string(),
        }
    }

    pub(crate) fn certificate(why: impl std::fmt::Display) -> AcmeError {
        AcmeError::Certificate(why.to_string())
    }
}
