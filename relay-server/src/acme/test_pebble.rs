//! A real pebble (the ACME test CA) on free loopback ports with its own
//! HTTPS certificate in a temp dir, validating for real against the ports
//! it is given; stopped when dropped. Shared by the ACME tests.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct Pebble {
    child: Child,
    pub port: u16,
    pub management_port: u16,
    /// PEM of the certificate pebble's own HTTPS endpoints serve (pass as
    /// `--acme-directory-ca`).
    pub directory_ca: PathBuf,
    ca_der: Vec<u8>,
    dir: tempfile::TempDir,
}

/// The `pebble` binary, or `None` after a loud skip message. Under
/// `CI=true` a missing binary fails the test instead.
fn binary() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/bin")])
            .map(|dir| dir.join("pebble"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "pebble is missing and CI=true: install it (apt-get install pebble)"
        );
        eprintln!("\n*** SKIPPED: pebble not found; install it to run the ACME tests ***\n");
    }
    found
}

pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

impl Pebble {
    /// Starts pebble validating HTTP-01 on `http_port` and TLS-ALPN-01 on
    /// `tls_port` of `localhost`, or `None` (skipped) without the binary.
    pub(crate) fn start(http_port: u16, tls_port: u16) -> Option<Pebble> {
        let binary = binary()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .expect("pebble certificate");
        let cert = dir.path().join("pebble-cert.pem");
        let key = dir.path().join("pebble-key.pem");
        std::fs::write(&cert, certified.cert.pem()).expect("write cert");
        std::fs::write(&key, certified.key_pair.serialize_pem()).expect("write key");
        let (port, management_port) = (free_port(), free_port());
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{port}"),
                "managementListenAddress": format!("127.0.0.1:{management_port}"),
                "certificate": cert,
                "privateKey": key,
                "httpPort": http_port,
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false
            }
        });
        let config_path = dir.path().join("pebble-config.json");
        std::fs::write(&config_path, config.to_string()).expect("write config");
        let log = std::fs::File::create(dir.path().join("pebble.log")).expect("log file");
        let child = Command::new(binary)
            .arg("-config")
            .arg(&config_path)
            // Validation is real; only the VA's random sleeps are skipped.
            // Nonce rejections stay at pebble's default, so badNonce retries run.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env_remove("PEBBLE_VA_ALWAYS_VALID")
            .env_remove("PEBBLE_WFE_NONCEREJECT")
            .stdout(Stdio::from(log.try_clone().expect("log file")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start pebble");
        let pebble = Pebble {
            child,
            port,
            management_port,
            directory_ca: cert,
            ca_der: certified.cert.der().to_vec(),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        for port in [port, management_port] {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "pebble did not listen within 15 s: {}",
                    pebble.log()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Some(pebble)
    }

    pub(crate) fn directory_url(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.port)
    }

    /// What pebble printed so far, for failure messages.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }

    /// The root pebble issues under, from its management interface (PEM).
    pub(crate) async fn root_pem(&self) -> String {
        use http_body_util::BodyExt;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(self.ca_der.clone()))
            .expect("pebble cert as root");
        let connector = connector(roots);
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.management_port))
            .await
            .expect("connect to pebble management");
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
        let tls = connector.connect(name, tcp).await.expect("TLS to pebble");
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .expect("HTTP to pebble");
        let driver = tokio::spawn(conn);
        let request = http::Request::get("/roots/0")
            .header("host", format!("127.0.0.1:{}", self.management_port))
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("roots answer");
        assert_eq!(response.status(), 200, "pebble /roots/0");
        let body = response
            .into_body()
            .collect()
            .await
            .expect("roots body")
            .to_bytes();
        drop(sender);
        let _ = driver.await;
        String::from_utf8(body.to_vec()).expect("PEM text")
    }
}

/// A TLS connector trusting exactly `roots`.
pub(crate) fn connector(roots: rustls::RootCertStore) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Roots from PEM text.
pub(crate) fn roots_from_pem(pem: &str) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_bytes()) {
        roots.add(cert.expect("PEM certificate")).expect("root");
    }
    assert!(!roots.is_empty(), "no certificate in {pem:?}");
    roots
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
