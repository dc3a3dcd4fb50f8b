//! HTTPS to local apps (and to a remote relay for `trigger`): a connector
//! that speaks plain TCP to `http://` targets and rustls to `https://` ones.
//!
//! Trust: the operating system's roots (so a CA installed by `mkcert -install`
//! or a corporate proxy works as it does in curl), the compiled-in Mozilla
//! roots when the system has none, plus any `--forward-ca` certificates.
//! `--forward-insecure` skips certificate checks for self-signed dev servers;
//! handshake signatures are still checked, so the connection is encrypted,
//! just not authenticated.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How HTTPS targets are trusted.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Certificates trusted as roots besides the system's (`--forward-ca`).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Accept any certificate (`--forward-insecure`).
    pub insecure: bool,
}

/// A TLS handshake with the target failed: the words say what to do, because
/// the usual cause is a self-signed development certificate.
#[derive(Debug, thiserror::Error)]
#[error(
    "TLS handshake with {host} failed: {source}; for a self-signed development certificate \
     pass --forward-ca PEM (the CA or the certificate) or --forward-insecure"
)]
pub struct HandshakeError {
    host: String,
    #[source]
    source: io::Error,
}

/// Connects `http://` targets over TCP and `https://` ones over TLS. The
/// TLS configuration is built on the first HTTPS connection, so plain HTTP
/// users never read the system's certificate store.
#[derive(Clone)]
pub struct Connector {
    http: HttpConnector,
    options: Arc<TlsOptions>,
    tls: Arc<OnceLock<TlsConnector>>,
}

impl Connector {
    pub fn new(mut http: HttpConnector, options: TlsOptions) -> Self {
        http.enforce_http(false);
        Self {
            http,
            options: Arc::new(options),
            tls: Arc::new(OnceLock::new()),
        }
    }

    fn tls(&self) -> TlsConnector {
        self.tls
            .get_or_init(|| TlsConnector::from(Arc::new(client_config(&self.options))))
            .clone()
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("options", &self.options)
            .field("tls_ready", &self.tls.get().is_some())
            .finish()
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let tls = https.then(|| self.tls());
        let connecting = self.http.call(uri.clone());
        Box::pin(async move {
            let tcp = connecting.await?;
            let Some(tls) = tls else {
                return Ok(Stream::Plain(tcp));
            };
            let host = uri.host().unwrap_or_default();
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let name = ServerName::try_from(host.clone())?;
            let stream = tls
                .connect(name, tcp.into_inner())
                .await
                .map_err(|source| HandshakeError { host, source })?;
            Ok(Stream::Tls(Box::new(TokioIo::new(stream))))
        })
    }
}

/// The rustls client configuration for `options` (also the relay's with `--relay-ca`).
pub fn client_config(options: &TlsOptions) -> ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions");
    if options.insecure {
        return builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth();
    }
    let mut roots = system_roots();
    let (_, ignored) = roots.add_parsable_certificates(options.extra_roots.iter().cloned());
    if ignored > 0 {
        tracing::warn!(
            ignored,
            "some --forward-ca certificates are not usable as roots"
        );
    }
    builder.with_root_certificates(roots).with_no_client_auth()
}

/// The operating system's roots; the compiled-in Mozilla set when it has none
/// (a minimal container), so public HTTPS relays still verify.
fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for err in &native.errors {
        tracing::debug!(%err, "a system certificate could not be read");
    }
    let (added, _) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    roots
}

/// `--forward-insecure`: any certificate is accepted, handshake signatures
/// are still verified with the provider's algorithms.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A connection to the target, plain or TLS (boxed: a TLS session's state
/// is over a kilobyte, a plain socket a few words).
#[derive(Debug)]
pub enum Stream {
    Plain(TokioIo<TcpStream>),
    Tls(Box<TokioIo<TlsStream<TcpStream>>>),
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        match self {
            Self::Plain(stream) => stream.connected(),
            Self::Tls(stream) => stream.inner().get_ref().0.connected(),
        }
    }
}

impl Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Reads every certificate in the PEM file at `path` (`--forward-ca`).
pub fn read_pem_certificates(
    path: &std::path::Path,
) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read --forward-ca {}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("--forward-ca {} is not PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "--forward-ca {} holds no CERTIFICATE block; pass the PEM of the CA or of the app's certificate",
            path.display()
        ));
    }
    Ok(certs)
}
