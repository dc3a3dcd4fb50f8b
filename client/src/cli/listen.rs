//! `hookline listen`: receive webhooks through a relay and forward them to
//! the local app, storing each one.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use hookline_protocol::{ChannelId, Secret};

use super::StoreArgs;
use super::forward_tls::{ForwardTlsArgs, INSECURE_WARNING};
use super::size::parse_size;
use super::verify::SchemeArgs;
use crate::forward::{ForwardConfig, ForwardTarget, RetryPolicy};
use crate::listen::{ListenOptions, Listening, OutputFormat, RelayChoice};
use crate::store::time::parse_duration;
use crate::store::{Glob, RetentionPolicy};
use crate::verify::Verifier;

#[derive(Debug, clap::Args)]
pub struct ListenArgs {
    /// The local app's URL; each delivery's path after the channel is appended to it.
    #[arg(long, env = "HOOKLINE_FORWARD", value_name = "URL")]
    pub forward: ForwardTarget,
    /// A remote relay (`wss://relay.example.com`). Without it, a relay runs
    /// inside this process on --listen and the whole chain stays on this machine.
    #[arg(long, env = "HOOKLINE_RELAY", value_name = "URL", requires = "token")]
    pub relay: Option<String>,
    /// The token the remote relay knows this client by.
    #[arg(long, env = "HOOKLINE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A named channel of the token (as listed in the relay's tokens file)
    /// instead of its default one.
    #[arg(long, requires = "relay")]
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
}

impl ListenArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
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
        let relay = match (self.relay, self.token) {
            (Some(url), Some(token)) => RelayChoice::Remote {
                url,
                token: Secret::new(token),
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
            forward: self.forward.clone(),
            relay,
            channel,
            verifier,
            reject_invalid: self.reject_invalid,
            events: self.events.as_deref().map(Glob::new),
            data_dir: data_dir.clone(),
            output: self.output,
            forward_config: ForwardConfig {
                timeout: self.timeout,
                max_in_flight: self.max_in_flight,
                tls,
                ..ForwardConfig::default()
            },
            retry: RetryPolicy {
                max_retries: self.retries,
                first_delay: self.retry_delay,
                max_delay: self.retry_delay.max(RetryPolicy::default().max_delay),
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

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    ShutdownSignals::install().recv().await;
}

/// Ctrl-C and SIGTERM, caught from the moment this is made on (until then a
/// signal has its default action and ends the process at once).
#[derive(Debug)]
pub struct ShutdownSignals {
    #[cfg(unix)]
    streams: Vec<tokio::signal::unix::Signal>,
}

impl ShutdownSignals {
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = [SignalKind::interrupt(), SignalKind::terminate()]
                .into_iter()
                .filter_map(|kind| signal(kind).ok())
                .collect();
            Self { streams }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves at the next Ctrl-C or SIGTERM.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        {
            if self.streams.is_empty() {
                std::future::pending::<()>().await;
            }
            let waits = self.streams.iter_mut().map(|s| Box::pin(s.recv()));
            futures_util::future::select_all(waits).await;
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// A body limit within what the relay can be configured with.
fn parse_max_body(text: &str) -> Result<usize, String> {
    let size = parse_size(text)?;
    let ceiling = hookline_protocol::limits::MAX_BODY_BYTES_CEILING;
    if size == 0 || size > ceiling {
        return Err(format!("{text:?} is outside 1 byte..{}MiB", ceiling >> 20));
    }
    Ok(size)
}
