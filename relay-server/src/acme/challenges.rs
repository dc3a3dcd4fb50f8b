//! Answers to the CA's challenges while an order is open: HTTP-01 key
//! authorizations by token (served on the plain listener) and TLS-ALPN-01
//! certificates by name (served on the TLS listener to `acme-tls/1` hellos).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rcgen::{CertificateParams, CustomExtension, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

use super::AcmeError;

/// The ALPN protocol of TLS-ALPN-01 (RFC 8737): a hello offering it is the
/// CA validating, never a sender.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The challenge answers of the orders in progress; empty between orders.
#[derive(Debug, Default)]
pub struct Challenges {
    http01: Mutex<HashMap<String, String>>,
    tls_alpn01: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl Challenges {
    /// The key authorization to answer `GET /.well-known/acme-challenge/TOKEN` with.
    pub fn http01(&self, token: &str) -> Option<String> {
        lock(&self.http01).get(token).cloned()
    }

    pub(crate) fn tls_alpn01(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        lock(&self.tls_alpn01)
            .get(&name.to_ascii_lowercase())
            .cloned()
    }

    pub(crate) fn answer_http01(&self, token: String, key_authorization: String) {
        lock(&self.http01).insert(token, key_authorization);
    }

    /// Arms the self-signed certificate carrying the key authorization's
    /// digest in the critical acmeIdentifier extension, for `name`.
    pub(crate) fn answer_tls_alpn01(&self, name: &str, digest: &[u8]) -> Result<(), AcmeError> {
        let key = KeyPair::generate().map_err(AcmeError::certificate)?;
        let mut params =
            CertificateParams::new(vec![name.to_owned()]).map_err(AcmeError::certificate)?;
        params
            .custom_extensions
            .push(CustomExtension::new_acme_identifier(digest));
        let cert = params.self_signed(&key).map_err(AcmeError::certificate)?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signer = rustls::crypto::ring::sign::any_supported_type(&der)
            .map_err(|e| AcmeError::Certificate(e.to_string()))?;
        let certified = CertifiedKey::new(vec![cert.der().clone()], signer);
        lock(&self.tls_alpn01).insert(name.to_ascii_lowercase(), Arc::new(certified));
        Ok(())
    }

    /// Forgets every answer: the order they belong to is over.
    pub(crate) fn clear(&self) {
        lock(&self.http01).clear();
        lock(&self.tls_alpn01).clear();
    }
}

/// `GET /.well-known/acme-challenge/TOKEN`: the key authorization while an
/// HTTP-01 order is open, 404 otherwise.
pub(crate) async fn http01_answer(
    axum::extract::State(relay): axum::extract::State<crate::Relay>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let answer = relay
        .inner
        .config
        .acme_challenges
        .as_ref()
        .and_then(|c| c.http01(&token));
    match answer {
        Some(key_authorization) => (
            [(http::header::CONTENT_TYPE, "application/octet-stream")],
            key_authorization,
        )
            .into_response(),
        None => crate::ops::not_found().await,
    }
}

/// A poisoned lock only means another thread panicked mid-insert of a map
/// entry; the map itself is still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
