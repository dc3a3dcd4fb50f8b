//! HTTPS local apps: a real TLS app on loopback with a certificate from a
//! throwaway CA (as mkcert makes them), reached by the forwarder, by
//! `trigger --to`, and by `listen --forward` through the embedded relay,
//! trusted with `--forward-ca` or accepted with `--forward-insecure`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use hookline::forward::{
    ForwardConfig, Forwarder, OutgoingRequest, TlsOptions, read_pem_certificates,
};
use hookline::model::{AttemptKind, Outcome};
use hookline_protocol::Header;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);

/// One request the HTTPS app received: path, headers (lowercase names), body.
#[derive(Debug)]
struct Received {
    path: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTPS app on 127.0.0.1 whose certificate (for `localhost` and
/// 127.0.0.1) is signed by a CA written to `ca.pem` in `dir`.
struct HttpsApp {
    addr: SocketAddr,
    ca_pem: PathBuf,
    received: mpsc::UnboundedReceiver<Received>,
    _server: tokio::task::JoinHandle<()>,
}

impl HttpsApp {
    async fn start(dir: &Path) -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "hookline test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap()
            .signed_by(&leaf_key, &ca, &ca_key)
            .unwrap();
        let ca_pem = dir.join("ca.pem");
        std::fs::write(&ca_pem, ca.pem()).unwrap();
        std::fs::write(dir.join("cert.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), leaf_key.serialize_pem()).unwrap();
        let config = hookline_relay::load_tls(&dir.join("cert.pem"), &dir.join("key.pem")).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, received) = mpsc::unbounded_channel();
        let server = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    // A refused handshake (untrusted certificate) just ends here.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service =
                        service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                            let tx = tx.clone();
                            async move {
                                let path = request.uri().path().to_owned();
                                let headers = request
                                    .headers()
                                    .iter()
                                    .map(|(n, v)| {
                                        (
                                            n.to_string(),
                                            String::from_utf8_lossy(v.as_bytes()).into(),
                                        )
                                    })
                                    .collect();
                                let body = request.into_body().collect().await?.to_bytes();
                                let _ = tx.send(Received {
                                    path,
                                    headers,
                                    body,
                                });
                                Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from(
                                    "secure ok",
                                ))))
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            ca_pem,
            received,
            _server: server,
        }
    }

    fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.addr.port())
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(WAIT, self.received.recv())
            .await
            .expect("a request at the HTTPS app")
            .expect("app running")
    }
}

fn request(body: &'static [u8]) -> OutgoingRequest {
    OutgoingRequest {
        method: "POST".into(),
        path: "/stripe".into(),
        query: Some("a=1".into()),
        headers: vec![Header::new("Content-Type", "application/json")],
        body: Bytes::from_static(body),
        remote_addr: None,
        public_url: String::new(),
    }
}

async fn send(tls: TlsOptions, url: &str) -> Outcome {
    let forwarder = Forwarder::new(ForwardConfig {
        tls,
        ..ForwardConfig::default()
    });
    let target = url.parse().unwrap();
    forwarder
        .reserve()
        .await
        .send(&target, &request(br#"{"n":1}"#), AttemptKind::Forward)
        .await
        .outcome
}

#[tokio::test]
async fn the_forwarder_trusts_a_given_ca_refuses_an_unknown_one_and_can_be_told_not_to_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = HttpsApp::start(dir.path()).await;
    let trusted = TlsOptions {
        extra_roots: read_pem_certificates(&app.ca_pem).unwrap(),
        insecure: false,
    };
    for host in ["localhost", "127.0.0.1"] {
        let outcome = send(trusted.clone(), &app.url(host, "/hooks")).await;
        assert!(
            matches!(&outcome, Outcome::Response { status: 200, body, .. } if body == b"secure ok"),
            "{host}: {outcome:?}"
        );
        let received = app.next().await;
        assert_eq!(received.path, "/hooks/stripe");
        assert_eq!(&received.body[..], br#"{"n":1}"#);
        assert_eq!(
            received.header("host"),
            Some(format!("{host}:{}", app.addr.port()).as_str())
        );
    }

    let untrusted = send(TlsOptions::default(), &app.url("localhost", "/hooks")).await;
    let Outcome::Error { message } = untrusted else {
        panic!("an unknown CA was accepted: {untrusted:?}");
    };
    assert!(
        message.contains("TLS handshake with localhost failed")
            && message.contains("--forward-ca")
            && !message.contains("is the app running"),
        "{message}"
    );

    let insecure = TlsOptions {
        extra_roots: Vec::new(),
        insecure: true,
    };
    let outcome = send(insecure, &app.url("localhost", "/hooks")).await;
    assert!(
        matches!(outcome, Outcome::Response { status: 200, .. }),
        "{outcome:?}"
    );
    assert_eq!(&app.next().await.body[..], br#"{"n":1}"#);
}

#[test]
fn a_forward_ca_that_is_not_pem_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not.pem");
    std::fs::write(&path, "just text").unwrap();
    let err = read_pem_certificates(&path).unwrap_err();
    assert!(
        err.contains("not.pem") && err.contains("CERTIFICATE"),
        "{err}"
    );
    let err = read_pem_certificates(&dir.path().join("missing.pem")).unwrap_err();
    assert!(err.contains("cannot read --forward-ca"), "{err}");
}

fn hookline(data_dir: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookline"));
    command
        .env("HOOKLINE_DATA_DIR", data_dir)
        .env_remove("WEBHOOK_SECRET")
        .env_remove("HOOKLINE_FORWARD_CA")
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn trigger_reaches_an_https_app_with_forward_ca() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = HttpsApp::start(dir.path()).await;
    let data = dir.path().join("data");
    let out = hookline(&data)
        .args(["trigger", "push", "--to", &app.url("localhost", "/gh")])
        .arg("--forward-ca")
        .arg(&app.ca_pem)
        .output();
    let out = tokio::time::timeout(WAIT, out).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("→ 200") && stdout.contains("secure ok"),
        "{stdout}"
    );
    let received = app.next().await;
    assert_eq!(received.path, "/gh");
    assert_eq!(received.header("x-github-event"), Some("push"));
    assert!(received.header("x-hub-signature-256").is_some());
    assert!(
        received.header("x-webhook-event").is_none(),
        "GitHub's headers only"
    );
}

/// `listen --forward https://… --forward-insecure` says so loudly, then
/// forwards what `trigger` sends to its public URL to the HTTPS app.
#[tokio::test]
async fn listen_forwards_to_an_https_app_and_warns_about_forward_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = HttpsApp::start(dir.path()).await;
    let data = dir.path().join("data");
    let mut listen = hookline(&data)
        .args(["listen", "--listen", "127.0.0.1:0", "--forward"])
        .arg(app.url("localhost", "/hooks"))
        .arg("--forward-insecure")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(listen.stderr.take().unwrap()).lines();
    let mut stdout = BufReader::new(listen.stdout.take().unwrap()).lines();
    let warning = tokio::time::timeout(WAIT, stderr.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap_or_default();
    assert!(
        warning.starts_with("WARNING: --forward-insecure") && warning.contains("NOT checked"),
        "{warning}"
    );
    let started = tokio::time::timeout(WAIT, stdout.next_line())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(started.as_deref(), Some("hookline is listening"));
    let out = hookline(&data).args(["trigger", "invoice.paid"]).output();
    let out = tokio::time::timeout(WAIT, out).await.unwrap().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let received = app.next().await;
    assert_eq!(received.path, "/hooks");
    assert!(received.header("stripe-signature").is_some());
    assert_eq!(
        &received.body[..],
        hookline::samples::sample("invoice.paid").unwrap().body
    );
    listen.start_kill().unwrap();
    let _ = tokio::time::timeout(WAIT, listen.wait()).await.unwrap();
}
