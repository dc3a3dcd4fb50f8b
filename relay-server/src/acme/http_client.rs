//! The HTTPS client the ACME protocol runs over: one connection a request
//! (an order is a handful of requests a month), rustls with the web's roots
//! plus `--acme-directory-ca`, and a deadline and size cap on every answer.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::AcmeError;

/// Longest wait for one request to the CA, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest answer read from the CA (a certificate chain is a few KiB).
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub(crate) struct AcmeHttp {
    tls: TlsConnector,
}

impl AcmeHttp {
    /// Trusts the web's roots, and the PEM certificates in `extra_ca` when given.
    pub(crate) fn new(extra_ca: Option<&Path>) -> Result<AcmeHttp, AcmeError> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = extra_ca {
            let pem = std::fs::read(path).map_err(|e| AcmeError::directory_ca(path, e))?;
            let mut added = 0;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert = cert.map_err(|e| AcmeError::directory_ca(path, e))?;
                roots
                    .add(cert)
                    .map_err(|e| AcmeError::directory_ca(path, e))?;
                added += 1;
            }
            if added == 0 {
                return Err(AcmeError::directory_ca(path, "no PEM certificate found"));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(AcmeError::certificate)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(AcmeHttp {
            tls: TlsConnector::from(Arc::new(config)),
        })
    }
}

impl HttpClient for AcmeHttp {
    fn request(
        &self,
        req: Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let tls = self.tls.clone();
        Box::pin(async move {
            match tokio::time::timeout(REQUEST_TIMEOUT, send(tls, req)).await {
                Ok(result) => result.map_err(|e| instant_acme::Error::Other(e.into())),
                Err(_) => Err(instant_acme::Error::Other(
                    format!("no answer from the ACME server within {REQUEST_TIMEOUT:?}").into(),
                )),
            }
        })
    }
}

async fn send(
    tls: TlsConnector,
    mut req: Request<BodyWrapper<Bytes>>,
) -> Result<BytesResponse, String> {
    let uri = req.uri().clone();
    if uri.scheme_str() != Some("https") {
        return Err(format!("{uri}: the ACME directory must be an https:// URL"));
    }
    let host = uri
        .host()
        .ok_or_else(|| format!("{uri}: no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(443);
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let name = ServerName::try_from(host.clone()).map_err(|e| format!("{host}: {e}"))?;
    let stream = tls
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {host}:{port}: {e}"))?;
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or(host);
    let path = uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    *req.uri_mut() = path.parse().map_err(|e| format!("{uri}: {e}"))?;
    req.headers_mut().insert(
        http::header::HOST,
        authority.parse().map_err(|e| format!("{uri}: {e}"))?,
    );
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP with {uri}: {e}"))?;
    let exchange = async move {
        let response = sender
            .send_request(req)
            .await
            .map_err(|e| format!("HTTP with {uri}: {e}"))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading the answer of {uri}: {e}"))?
            .to_bytes();
        drop(sender);
        Ok::<_, String>(http::Response::from_parts(parts, Full::new(body)))
    };
    // The connection is driven beside the exchange and ends once the
    // sender is dropped, so nothing outlives this request.
    let (response, _) = tokio::join!(exchange, connection);
    Ok(BytesResponse::from(response?))
}
