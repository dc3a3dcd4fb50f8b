//! `hookline listen` as a library: the relay connection, the per-delivery
//! pipeline, the group-commit flusher and the control endpoint, owned by one
//! [`Listening`] handle that shuts them down in order.

mod alerts;
mod embedded;
mod flusher;
mod forwarding;
mod gaps;
mod pipeline;
mod report;
mod routes;
mod supervise;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hookline_protocol::{ChannelId, Secret};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::connection::{self, ConnectionState, RelayEndpoint};
use crate::forward::{DEFAULT_RETRY, ForwardConfig, ForwardTarget, Forwarder};
use crate::last_listen::{LastListen, SavedRoute};
use crate::retry::RetryPolicy;
use crate::store::{RetentionPolicy, Store, retention_task};
use crate::verify::Verifier;

pub use alerts::AlertConfig;
pub use embedded::EmbeddedRelay;
pub use forwarding::Backlog;
pub use pipeline::Pipeline;
pub use report::{OutputFormat, Report, Reporter, Startup, report_state_changes};
pub use routes::{DEFAULT_ROUTE, RespondMode, Route, RouteRespond, route_for};

/// Where the relay is.
#[derive(Debug, Clone)]
pub enum RelayChoice {
    /// Start one in this process on this address, taking bodies up to `max_body` bytes.
    Embedded { listen: SocketAddr, max_body: usize },
    /// Connect to a remote relay, one of `urls` (each as
    /// [`crate::connection::relay_ws_url`] takes it), moving to the next
    /// when one fails; `tls` replaces the web roots.
    Remote {
        urls: Vec<String>,
        token: Secret,
        tls: Option<Arc<rustls::ClientConfig>>,
    },
}

/// Everything `listen` needs.
#[derive(Debug)]
pub struct ListenOptions {
    /// Where deliveries go, first match wins; at least one.
    pub routes: Vec<Route>,
    /// What the sender hears.
    pub respond: RespondMode,
    pub relay: RelayChoice,
    pub channel: Option<ChannelId>,
    pub verifier: Verifier,
    pub reject_invalid: bool,
    pub data_dir: PathBuf,
    pub output: OutputFormat,
    pub forward_config: ForwardConfig,
    pub retry: RetryPolicy,
    pub retention: RetentionPolicy,
    /// `--alert-after` / `--on-alert`; `None`: no alerts.
    pub alerts: Option<AlertConfig>,
}

impl ListenOptions {
    /// Defaults for everything but the target and the store: an embedded relay
    /// on a free loopback port, no secret, quiet output.
    pub fn new(forward: ForwardTarget, data_dir: PathBuf) -> Self {
        Self {
            routes: vec![Route::implicit(forward, None)],
            respond: RespondMode::App,
            relay: RelayChoice::Embedded {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                max_body: hookline_protocol::limits::DEFAULT_MAX_BODY_BYTES,
            },
            channel: None,
            verifier: Verifier::new(crate::verify::SchemeChoice::Auto, Vec::new()),
            reject_invalid: false,
            data_dir,
            output: OutputFormat::Quiet,
            forward_config: ForwardConfig::default(),
            retry: DEFAULT_RETRY,
            retention: RetentionPolicy::default(),
            alerts: None,
        }
    }
}

/// The startup line's forward target: the URL alone for `--forward`, the
/// routes by name otherwise.
fn describe_routes(routes: &[Route]) -> String {
    match routes {
        [only] if only.name == DEFAULT_ROUTE && only.events.is_none() => only
            .targets
            .first()
            .map(ToString::to_string)
            .unwrap_or_default(),
        _ => routes
            .iter()
            .map(|r| {
                let targets: Vec<String> = r.targets.iter().map(ToString::to_string).collect();
                format!("{} → {}", r.name, targets.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Longest a graceful stop waits for forwards in flight and the last flush.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// A running listener. Dropping it without [`stop`](Self::stop) cancels everything.
#[derive(Debug)]
pub struct Listening {
    pub public_url: String,
    pub store: Store,
    pub state: watch::Receiver<ConnectionState>,
    shutdown: CancellationToken,
    main: JoinHandle<anyhow::Result<()>>,
}

impl Listening {
    /// Starts everything and returns once the relay has welcomed the client,
    /// so `public_url` is known.
    pub async fn start(options: ListenOptions) -> anyhow::Result<Self> {
        let store = Store::open(&options.data_dir)?;
        // Taken before any new delivery is handled, so none of those can be
        // mistaken for one an earlier run left to forward.
        let backlog = Backlog::load(&store)?;
        let shutdown = CancellationToken::new();
        let embedded = match &options.relay {
            RelayChoice::Embedded { listen, max_body } => {
                Some(EmbeddedRelay::start(&options.data_dir, *listen, *max_body).await?)
            }
            RelayChoice::Remote { .. } => None,
        };
        let endpoint = match (&options.relay, &embedded) {
            (RelayChoice::Remote { urls, token, tls }, _) => RelayEndpoint {
                urls: relay_urls(urls)?,
                token: token.clone(),
                tls: tls.clone(),
                channel: options.channel.clone(),
                respond: options.respond.session(),
            },
            (_, Some(relay)) => RelayEndpoint {
                urls: vec![relay.url.clone()],
                token: relay.token.clone(),
                tls: None,
                channel: None,
                respond: options.respond.session(),
            },
            (RelayChoice::Embedded { .. }, None) => unreachable!("started above"),
        };
        let relay_url = endpoint.urls.join(",");
        let (state_tx, mut state) = watch::channel(ConnectionState::Connecting);
        let (incoming_tx, incoming_rx) = mpsc::unbounded_channel();
        let (refusals_tx, refusals_rx) = mpsc::unbounded_channel();
        let (gaps_tx, gaps_rx) = mpsc::unbounded_channel();
        let (outbound_tx, outbound_rx) = mpsc::unbounded_channel();
        let from_relay = connection::FromRelay {
            deliveries: incoming_tx,
            refusals: refusals_tx,
            gaps: gaps_tx,
        };
        let connection = tokio::spawn(connection::run(
            endpoint,
            from_relay,
            outbound_rx,
            state_tx,
            shutdown.clone(),
        ));
        let reporter = Reporter::new(options.output);
        let mut told = false;
        let public_url = loop {
            match &*state.borrow_and_update() {
                ConnectionState::Connected { public_url, .. } => break public_url.clone(),
                // Said once, so a wrong or unreachable relay is not a silent hang.
                ConnectionState::Reconnecting { error, .. } if !told => {
                    told = true;
                    reporter.warn(format!(
                        "cannot reach the relay yet ({error}); still trying, Ctrl-C stops"
                    ));
                }
                _ => {}
            }
            if state.changed().await.is_err() || connection.is_finished() {
                let result = connection.await.context("connection task")?;
                result.map_err(|err| anyhow::anyhow!(supervise::advice(&err)))?;
                anyhow::bail!("the relay connection stopped before it was established");
            }
        };
        let control_path = crate::control::socket_path(&options.data_dir);
        let control_socket = crate::control::ControlSocket::bind(&control_path)
            .await
            .context("the control socket for other hookline commands")?;
        let first_target = options
            .routes
            .first()
            .and_then(|r| r.targets.first())
            .map(ToString::to_string)
            .unwrap_or_default();
        let link = connection::LiveLink::new(relay_url, state.borrow().clone());
        let control_socket = control_socket.with_link(link.clone());
        let alerts = options.alerts.clone().map(|config| {
            tokio::spawn(alerts::run(
                config,
                store.clone(),
                state.clone(),
                reporter,
                shutdown.clone(),
            ))
        });
        let live = tokio::spawn(link.clone().follow(state.clone(), shutdown.clone()));
        let last = LastListen {
            forward: first_target.clone(),
            public_url: public_url.clone(),
            scheme: options.verifier.scheme().to_string(),
            routes: options.routes.iter().map(SavedRoute::of).collect(),
        };
        if let Err(err) = last.save(&options.data_dir) {
            tracing::warn!(%err, "cannot record the listener's settings for replay and trigger");
        }
        reporter.started(&Startup {
            public_url: &public_url,
            forward: describe_routes(&options.routes),
            relay: match &options.relay {
                RelayChoice::Remote { urls, .. } => urls.join(", "),
                RelayChoice::Embedded { .. } => "embedded (this process)".to_owned(),
            },
            data_dir: &options.data_dir,
            secrets: options.verifier.secret_count(),
            development_secret: options.verifier.uses_development_secret(),
            scheme: options.verifier.scheme().to_string(),
        });
        let (durable_tx, durable_rx) = mpsc::unbounded_channel();
        let pipeline = Arc::new(Pipeline {
            verifier: options.verifier,
            store: store.clone(),
            forwarder: Forwarder::new(options.forward_config),
            routes: options.routes,
            respond: options.respond,
            retry: options.retry,
            reject_invalid: options.reject_invalid,
            outbound: outbound_tx.clone(),
            durable: durable_tx,
            reporter,
            shutdown: shutdown.clone(),
        });
        let gaps = tokio::spawn(gaps::run(
            store.clone(),
            gaps_rx,
            outbound_tx.clone(),
            state.clone(),
            reporter,
            shutdown.clone(),
        ));
        let flusher = tokio::spawn(flusher::run(
            store.clone(),
            durable_rx,
            outbound_tx,
            reporter,
        ));
        let control = tokio::spawn(control_socket.serve(store.clone(), shutdown.clone()));
        let retention = tokio::spawn(retention_task(
            store.clone(),
            options.retention,
            shutdown.clone(),
        ));
        let watcher = tokio::spawn(report_state_changes(
            state.clone(),
            refusals_rx,
            reporter,
            link.clone(),
            shutdown.clone(),
        ));
        let tasks = supervise::Tasks {
            connection,
            flusher,
            control,
            retention,
            watcher,
            gaps,
            live,
            alerts,
            embedded,
        };
        let main = tokio::spawn(supervise::run(
            pipeline,
            backlog,
            incoming_rx,
            tasks,
            shutdown.clone(),
        ));
        Ok(Self {
            public_url,
            store,
            state,
            shutdown,
            main,
        })
    }

    /// Asks everything to stop; [`wait`](Self::wait) returns once it has.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// The token that stops this listener, for whoever decides when (a signal, the TUI).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Runs until shutdown or a fatal connection error.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.main.await.context("listener task")?
    }

    /// Stops gracefully: forwards in flight finish, the store is flushed, the
    /// relay is told what was stored.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown();
        self.wait().await
    }
}

/// The relays' WebSocket URLs, checked; at least one.
fn relay_urls(urls: &[String]) -> anyhow::Result<Vec<String>> {
    let urls = urls
        .iter()
        .map(|u| connection::relay_ws_url(u))
        .collect::<Result<Vec<_>, _>>()?;
    anyhow::ensure!(!urls.is_empty(), "no relay URL given");
    Ok(urls)
}
