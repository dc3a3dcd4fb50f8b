//! The local app the client forwards to: the tests' [`LocalApp`] on a fixed
//! port, answering 200 (or 500 during a failing phase), and a log of which
//! soak id it got and how it answered. An outage closes its port outright.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::LocalApp;

/// How often the app saw one soak id.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hits {
    /// Answered 2xx: forwarded.
    pub ok: u32,
    /// Answered 500 during a failing phase.
    pub failed: u32,
}

/// Everything the app received, by soak id.
#[derive(Debug)]
pub struct AppLog {
    pub hits: HashMap<String, Hits>,
    /// Requests whose body held no soak id (none are expected).
    pub foreign: u64,
    pub last_hit: Instant,
}

/// The app, up or down.
#[derive(Debug)]
pub struct SoakApp {
    addr: SocketAddr,
    running: Option<LocalApp>,
    status: Arc<AtomicU16>,
    log: Arc<Mutex<AppLog>>,
}

/// How long a rebind of the app's port may keep failing (the old server
/// lets go of it as soon as it stops accepting).
const REBIND: Duration = Duration::from_secs(5);

impl SoakApp {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind the local app")?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(AppLog {
            hits: HashMap::new(),
            foreign: 0,
            last_hit: Instant::now(),
        }));
        let mut app = Self {
            addr,
            running: None,
            status: Arc::new(AtomicU16::new(200)),
            log,
        };
        app.serve(listener);
        Ok(app)
    }

    /// The URL the client forwards to.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn log(&self) -> Arc<Mutex<AppLog>> {
        Arc::clone(&self.log)
    }

    /// Answer 500 (true) or 200 (false) from now on.
    pub fn set_failing(&self, failing: bool) {
        self.status
            .store(if failing { 500 } else { 200 }, Ordering::SeqCst);
    }

    /// Closes the port: forwards are refused until [`up`](Self::up).
    pub fn down(&mut self) {
        if let Some(app) = self.running.take() {
            app.stop();
        }
    }

    /// Listens on the same port again.
    pub async fn up(&mut self) -> anyhow::Result<()> {
        if self.running.is_some() {
            return Ok(());
        }
        let deadline = Instant::now() + REBIND;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(e) if Instant::now() >= deadline => {
                    return Err(e).with_context(|| format!("cannot listen on {} again", self.addr));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        self.serve(listener);
        Ok(())
    }

    /// Frees the copies of requests the underlying app queues for `next`;
    /// the log above is what the soak reads.
    pub fn discard_copies(&mut self) {
        if let Some(app) = &mut self.running {
            app.discard_received();
        }
    }

    fn serve(&mut self, listener: TcpListener) {
        let status = Arc::clone(&self.status);
        let log = Arc::clone(&self.log);
        self.running = Some(LocalApp::on(listener, move |request| {
            let answer = status.load(Ordering::SeqCst);
            let mut log = log.lock().expect("app log lock");
            log.last_hit = Instant::now();
            match super::traffic::soak_id(&request.body) {
                Some(id) => {
                    let hits = log.hits.entry(id).or_default();
                    if (200..300).contains(&answer) {
                        hits.ok += 1;
                    } else {
                        hits.failed += 1;
                    }
                }
                None => log.foreign += 1,
            }
            (answer, vec![], b"ok".to_vec())
        }));
    }
}
