//! `hookline listen`: receive webhooks through a relay and forward them to
//! the local app, storing each one.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hookline_protocol::{ChannelId, Secret};

use super::StoreArgs;
use super::forward_tls::{ForwardTlsArgs, INSECURE_WARNING};
use super::size::parse_size;
use super::verify::SchemeArgs;
use crate::forward::{
    DEFAULT_RETRY, ForwardConfig, ForwardTarget, TlsOptions, client_config, read_pem_certificates,
};
use crate::listen::{ListenOptions, Listening, OutputFormat, RelayChoice, RespondMode, Route};
use crate::signal::ShutdownSignals;
use crate::store::RetentionPolicy;
use crate::store::time::parse_duration;
use crate::verify::Verifier;

#[derive(Debug, clap::Args)]
pub struct ListenArgs {
    /// The local app's URL; each delivery's path after the channel is appended to it.
    /// With routes in a config file, it takes what no route matched.
    #[arg(long, env = "HOOKLINE_FORWARD", value_name = "URL")]
    pub forward: Option<ForwardTarget>,
    /// Read settings and `[[route]]`s from this TOML file: every flag of
    /// `listen` under its own name (`retry-delay = "1s"`), secrets as
    /// `"${ENV_VAR}"`. Without it, `hookline.toml` in the current directory
    /// is read when present (it may not set relay, token or channel).
    /// Flags and environment variables win over the file.
    #[arg(long, env = "HOOKLINE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore a `hookline.toml` in the current directory.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Check the config file and flags, print the settings that result, and
    /// exit without listening.
    #[arg(long)]
    pub check: bool,
    /// What the sender hears: app (the local app's answer, the first
    /// target's with fan-out), accept (202 from the relay as soon as the
    /// delivery is durably queued, for senders with short timeouts) or a
    /// status such as 500 or 410 (answered with a JSON body saying it was
    /// chosen, while the delivery is still stored and forwarded: watch the
    /// sender's retry schedule). A route's `respond` overrides app.
    #[arg(
        long,
        env = "HOOKLINE_RESPOND",
        default_value = "app",
        value_name = "MODE"
    )]
    pub respond: RespondMode,
    /// A remote relay: https://relay.example.com (as its start line prints
    /// it), wss://…, or just HOST[:PORT] for HTTPS on 443; http://HOST:PORT
    /// for one without TLS. Repeat it (or separate with commas) for the
    /// relays of a cluster: they are tried in turn, and a relay that dies is
    /// left for the next at once. Without it, a relay runs inside this
    /// process on --listen and the whole chain stays on this machine.
    #[arg(
        long,
        env = "HOOKLINE_RELAY",
        value_name = "URL",
        value_delimiter = ','
    )]
    pub relay: Vec<String>,
    /// Also trust this PEM certificate (a private or company CA) for the
    /// relay's HTTPS, beside the system's roots.
    #[arg(long, env = "HOOKLINE_RELAY_CA", value_name = "PEM")]
    pub relay_ca: Option<PathBuf>,
    /// The token the remote relay knows this client by.
    #[arg(long, env = "HOOKLINE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A named channel of the token (as listed in the relay's tokens file)
    /// instead of its default one.
    #[arg(long)]
    pub channel: Option<String>,
    /// Address of the embedded relay (ignored with --relay).
    #[arg(long, env = "HOOKLINE_LISTEN", default_value = "127.0.0.1:8700")]
    pub listen: SocketAddr,
    /// Largest webhook body the embedded relay accepts, e.g. 25MiB (GitHub
    /// sends up to 25 MiB; at most 32MiB). Larger requests are answered 413
    /// and reported here. A remote relay sets its own limit.
    #[arg(long, env = "HOOKLINE_MAX_BODY", default_value = "10MiB", value_parser = parse_max_body)]
    pub max_body: usize,
    /// Webhook signing secret; repeat the flag while keys rotate. Without one,
    /// deliveries are checked with the data dir's development secret, the one
    /// `trigger` and `replay --resign` sign with (`hookline secret` prints it).
    #[arg(long = "secret", env = "WEBHOOK_SECRET", hide_env_values = true)]
    pub secrets: Vec<String>,
    #[command(flatten)]
    pub scheme: SchemeArgs,
    /// Forward only these event types (comma-separated globs, e.g.
    /// 'email.*,push'). The type is the provider's event header
    /// (X-GitHub-Event, X-Shopify-Topic, Linear-Event…) or the body's
    /// `event`/`type`/`event_type` field, as `hookline list` shows it. All
    /// deliveries are stored; a filtered one is answered 202 and its
    /// `listen` line says it was not forwarded.
    #[arg(long, value_name = "GLOBS")]
    pub events: Option<String>,
    /// Answer deliveries with a bad, stale or missing signature 401 and don't forward them
    /// (they are still stored). Needs --secret.
    #[arg(long)]
    pub reject_invalid: bool,
    /// How to print deliveries: text (a line each, for people), json (one
    /// object per line; the first holds public_url) or quiet (nothing on
    /// stdout; warnings and errors still go to the log on stderr).
    #[arg(long, env = "HOOKLINE_OUTPUT", default_value = "text")]
    pub output: OutputFormat,
    /// Longest wait for the local app's answer (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Retries when the app is down or answers 5xx: the first one
    /// --retry-delay after the failed forward, each next one twice as long
    /// after the one before, at most 30 s apart (or --retry-delay when
    /// longer; by default 0.5, 1, 2, 4 and 8 s). The schedule is kept in the store: a listener stopped or killed
    /// meanwhile carries it on when it starts again, sending overdue retries
    /// at once. A delivery whose retries run out stays failed (`replay
    /// --failed`); a replay to the app cancels its pending retry.
    #[arg(long, env = "HOOKLINE_RETRIES", default_value_t = 5)]
    pub retries: u32,
    /// Wait before the first retry (e.g. 500ms, 5s); see --retries.
    #[arg(long, env = "HOOKLINE_RETRY_DELAY", default_value = "500ms", value_parser = parse_duration)]
    pub retry_delay: Duration,
    /// Most forwards in flight at once; more wait, none is dropped.
    #[arg(long, default_value_t = 64)]
    pub max_in_flight: usize,
    /// Keep at most this many deliveries (oldest pruned in the background).
    #[arg(long, default_value_t = 10_000)]
    pub keep: usize,
    /// Prune deliveries older than this (e.g. 30d).
    #[arg(long, default_value = "30d", value_parser = parse_duration)]
    pub max_age: Duration,
    /// Warn prominently (stderr, and a JSON line with --output json) when
    /// the local app has failed every attempt for this long, or the relay
    /// has been unreachable this long (e.g. 2m); again when it recovers.
    #[arg(long, env = "HOOKLINE_ALERT_AFTER", value_parser = parse_duration)]
    pub alert_after: Option<Duration>,
    /// Also run `sh -c CMD` for each alert, with HOOKLINE_ALERT (app_down,
    /// relay_unreachable, gap, recovered), HOOKLINE_ALERT_MESSAGE and
    /// HOOKLINE_ALERT_TARGET set (e.g. `notify-send "$HOOKLINE_ALERT_MESSAGE"`).
    /// Without --alert-after, alerts come after 2m.
    #[arg(long, env = "HOOKLINE_ON_ALERT", value_name = "CMD")]
    pub on_alert: Option<String>,
    /// Show deliveries in a terminal UI (browse, inspect, replay) instead of printing them.
    #[arg(long)]
    pub tui: bool,
    #[command(flatten)]
    pub forward_tls: ForwardTlsArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Argument ids given on the command line or in the environment: they
    /// win over the config file.
    #[arg(skip)]
    pub given: BTreeSet<String>,
    /// The config file's routes, in order.
    #[arg(skip)]
    pub routes: Vec<Route>,
}

impl ListenArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        if self.check {
            print!("{}", self.describe()?);
            return Ok(ExitCode::SUCCESS);
        }
        if self.tui {
            return super::tui::listen_with_tui(self).await;
        }
        // Caught from here on: a stop asked for while starting is not the
        // default action (killed on the spot) but a clean exit.
        let mut signals = ShutdownSignals::install();
        let listening = tokio::select! {
            started = self.start() => started?,
            () = signals.recv() => return Ok(ExitCode::SUCCESS),
        };
        let stop = listening.shutdown_token();
        let waiting = listening.wait();
        tokio::pin!(waiting);
        tokio::select! {
            () = signals.recv() => {
                stop.cancel();
                waiting.await?;
            }
            result = &mut waiting => result?,
        }
        Ok(ExitCode::SUCCESS)
    }

    /// Starts listening and prints the startup block.
    pub async fn start(self) -> anyhow::Result<Listening> {
        let scheme = self.scheme.choice().map_err(anyhow::Error::msg)?;
        self.check_relay()?;
        let routes = self.all_routes();
        if routes.is_empty() {
            anyhow::bail!(
                "nowhere to forward to: pass --forward URL (or set HOOKLINE_FORWARD), or add [[route]] tables to a config file (--config FILE)"
            );
        }
        if self.reject_invalid && self.secrets.is_empty() {
            anyhow::bail!(
                "--reject-invalid needs the signing secret: pass --secret or set WEBHOOK_SECRET"
            );
        }
        let data_dir = crate::data_dir::prepare(self.store.data_dir.as_deref())?;
        let tls = self.forward_tls.options()?;
        let verifier = if self.secrets.is_empty() {
            Verifier::development(scheme, crate::dev_secret::load_or_create(&data_dir)?)
        } else {
            let secrets = self.secrets.iter().map(|s| Secret::new(s.as_str()));
            Verifier::new(scheme, secrets.collect())
        };
        let relay = match (self.relay.is_empty(), self.token) {
            (false, Some(token)) => RelayChoice::Remote {
                urls: self.relay,
                token: Secret::new(token),
                tls: relay_tls(self.relay_ca.as_deref())?,
            },
            _ => RelayChoice::Embedded {
                listen: self.listen,
                max_body: self.max_body,
            },
        };
        let channel = match (&relay, &self.channel) {
            (RelayChoice::Remote { token, .. }, Some(name)) => Some(ChannelId::derive(token, name)),
            _ => None,
        };
        let options = ListenOptions {
            routes,
            respond: self.respond,
            relay,
            channel,
            verifier,
            reject_invalid: self.reject_invalid,
            data_dir: data_dir.clone(),
            output: self.output,
            forward_config: ForwardConfig {
                timeout: self.timeout,
                max_in_flight: self.max_in_flight,
                tls,
                ..ForwardConfig::default()
            },
            retry: crate::retry::RetryPolicy {
                max_retries: self.retries,
                first_delay: self.retry_delay,
                max_delay: self.retry_delay.max(DEFAULT_RETRY.max_delay),
            },
            retention: RetentionPolicy {
                keep: Some(self.keep),
                max_age: Some(self.max_age),
                ..RetentionPolicy::default()
            },
            alerts: match (self.alert_after, &self.on_alert) {
                (None, None) => None,
                (after, command) => Some(crate::listen::AlertConfig {
                    after: after.unwrap_or(Duration::from_secs(120)),
                    command: command.clone(),
                }),
            },
        };
        if self.forward_tls.forward_insecure {
            match self.output {
                OutputFormat::Quiet => tracing::warn!("{INSECURE_WARNING}"),
                _ => self.forward_tls.warn_if_insecure(),
            }
        }
        let listening = Listening::start(options)
            .await
            .context("hookline listen could not start")?;
        Ok(listening)
    }
}

impl ListenArgs {
    /// The settings `listen --config FILE` would have (environment
    /// included), for commands that only read its routes.
    pub fn for_routes(config: PathBuf) -> anyhow::Result<Self> {
        let argv = [
            std::ffi::OsString::from("hookline"),
            "listen".into(),
            "--config".into(),
            config.into_os_string(),
        ];
        match super::Cli::parse_with_sources(argv)?.command {
            super::Command::Listen(args) => Ok(*args),
            _ => anyhow::bail!("not a listen command"),
        }
    }

    /// What clap's `requires` said before a config file could supply these.
    fn check_relay(&self) -> anyhow::Result<()> {
        for relay in &self.relay {
            crate::connection::relay_ws_url(relay)?;
        }
        if self.relay_ca.is_some() && self.relay.is_empty() {
            anyhow::bail!("--relay-ca trusts a remote relay's certificate: it needs --relay");
        }
        if !self.relay.is_empty() && self.token.is_none() {
            anyhow::bail!(
                "--relay needs the token the relay knows this client by: pass --token or set HOOKLINE_TOKEN"
            );
        }
        if self.channel.is_some() && self.relay.is_empty() {
            anyhow::bail!(
                "--channel names a channel of a remote relay's token: it needs --relay and --token"
            );
        }
        Ok(())
    }

    /// `listen --check`: the settings that result from flags, environment
    /// and config file, for people (secrets only counted).
    pub fn describe(&self) -> anyhow::Result<String> {
        self.scheme.choice().map_err(anyhow::Error::msg)?;
        self.check_relay()?;
        let routes = self.all_routes();
        if routes.is_empty() {
            anyhow::bail!(
                "nowhere to forward to: pass --forward URL or add [[route]] tables to the config file"
            );
        }
        let mut out = String::new();
        let relay = if self.relay.is_empty() {
            "embedded".to_owned()
        } else {
            self.relay.join(", ")
        };
        out.push_str(&format!("relay        {relay}\n"));
        if let Some(ca) = &self.relay_ca {
            out.push_str(&format!("relay-ca     {}\n", ca.display()));
        }
        if self.relay.is_empty() {
            out.push_str(&format!("listen       {}\n", self.listen));
        }
        out.push_str(&format!("respond      {}\n", self.respond));
        out.push_str(&format!("secrets      {}\n", self.secrets.len()));
        out.push_str(&format!("scheme       {}\n", self.scheme.scheme));
        out.push_str(&format!("timeout      {:?}\n", self.timeout));
        out.push_str(&format!(
            "retries      {} (first after {:?})\n",
            self.retries, self.retry_delay
        ));
        out.push_str(&format!("output       {:?}\n", self.output).to_lowercase());
        for route in &routes {
            let events = route.events.as_ref().map_or("*", |g| g.as_str());
            let path = route.path.as_deref().unwrap_or("/");
            let targets: Vec<String> = route.targets.iter().map(ToString::to_string).collect();
            out.push_str(&format!(
                "route        {} events={events} path={path} → {}",
                route.name,
                targets.join(", ")
            ));
            if let Some(respond) = route.respond {
                out.push_str(&format!(" respond={respond:?}").to_lowercase());
            }
            out.push('\n');
        }
        Ok(out)
    }
}

/// The TLS settings for a relay whose certificate comes from `--relay-ca`
/// (`None`: the compiled-in web roots), read now so a wrong path fails at start.
fn relay_tls(ca: Option<&Path>) -> anyhow::Result<Option<Arc<rustls::ClientConfig>>> {
    let Some(path) = ca else {
        return Ok(None);
    };
    let extra_roots =
        read_pem_certificates(path).map_err(|e| anyhow::anyhow!("--relay-ca: {e}"))?;
    let options = TlsOptions {
        extra_roots,
        insecure: false,
    };
    Ok(Some(Arc::new(client_config(&options))))
}

/// A body limit within what the relay can be configured with.
pub(crate) fn parse_max_body(text: &str) -> Result<usize, String> {
    let size = parse_size(text)?;
    let ceiling = hookline_protocol::limits::MAX_BODY_BYTES_CEILING;
    if size == 0 || size > ceiling {
        return Err(format!("{text:?} is outside 1 byte..{}MiB", ceiling >> 20));
    }
    Ok(size)
}
