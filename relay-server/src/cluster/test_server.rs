//! A real `nats-server -js` on a free loopback port with its own store
//! directory, for the cluster tests; stopped when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct NatsServer {
    child: Option<Child>,
    pub port: u16,
    store: tempfile::TempDir,
    binary: PathBuf,
}

/// The `nats-server` binary, or `None` after a loud skip message. Under
/// `CI=true` a missing binary fails the test instead.
fn binary() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
            .map(|dir| dir.join("nats-server"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "nats-server is missing and CI=true: install it (apt-get install nats-server)"
        );
        eprintln!(
            "\n*** SKIPPED: nats-server not found; install it to run the cluster tests ***\n"
        );
    }
    found
}

impl NatsServer {
    /// Starts a server, or `None` (skipped) when the binary is missing.
    pub(crate) fn start() -> Option<NatsServer> {
        let binary = binary()?;
        let store = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut server = NatsServer {
            child: None,
            port,
            store,
            binary,
        };
        server.restart();
        Some(server)
    }

    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (its store stays for `restart`).
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store, waiting until it accepts.
    pub(crate) fn restart(&mut self) {
        self.stop();
        let child = Command::new(&self.binary)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}
