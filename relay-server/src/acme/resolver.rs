//! The TLS listener's certificate: the current one from the CA, swapped in
//! place on renewal (open connections keep the one they started with), or
//! a TLS-ALPN-01 challenge certificate for a CA's `acme-tls/1` hello.

use std::sync::{Arc, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::challenges::{ACME_TLS_ALPN, Challenges};

#[derive(Debug)]
pub(crate) struct CertResolver {
    current: RwLock<Option<Arc<CertifiedKey>>>,
    challenges: Arc<Challenges>,
}

impl CertResolver {
    pub(crate) fn new(challenges: Arc<Challenges>) -> Self {
        Self {
            current: RwLock::new(None),
            challenges,
        }
    }

    /// Serves `certified` to every handshake from now on.
    pub(crate) fn install(&self, certified: Arc<CertifiedKey>) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(certified);
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let validating = hello
            .alpn()
            .is_some_and(|mut offered| offered.any(|p| p == ACME_TLS_ALPN));
        if validating {
            return hello
                .server_name()
                .and_then(|name| self.challenges.tls_alpn01(name));
        }
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
