//! `hookline listen`: receive webhooks through a relay and forward them to
//! the local app, storing each one.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use hookline_protocol::{ChannelId, Secret};

use super::StoreArgs;
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
    /// Webhook signing secret; repeat the flag while keys rotate.
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
    /// Retries when the app is down or answers 5xx (with backoff from 0.5 s to 30 s).
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
    /// Most forwards in flight at once; more wait, none is dropped.
    #[arg(long, default_value_t = 64)]
    pub max_in_flight: usize,
    /// Keep at most this many deliveries (oldest pruned in the background).
    #[arg(long, default_value_t = 10_000)]
    pub keep: usize,
    /// Prune deliveries older than this (e.g. 30d).
    #[arg(long, default_value = "30d", value_parser = parse_duration)]
    pub max_age: Duration,
    /// Show deliveries in a terminal UI (browse, inspect, replay) instead of printing them.
    #[arg(long)]
    pub tui: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl ListenArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        if self.tui {
            return super::tui::listen_with_tui(self).await;
        }
        let listening = self.start().await?;
        let stop = listening.shutdown_token();
        let waiting = listening.wait();
        tokio::pin!(waiting);
        tokio::select! {
            () = shutdown_signal() => {
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
        let secrets: Vec<Secret> = self
            .secrets
            .iter()
            .map(|s| Secret::new(s.as_str()))
            .collect();
        let relay = match (self.relay, self.token) {
            (Some(url), Some(token)) => RelayChoice::Remote {
                url,
                token: Secret::new(token),
            },
            _ => RelayChoice::Embedded {
                listen: self.listen,
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
            verifier: Verifier::new(scheme.clone(), secrets.clone()),
            reject_invalid: self.reject_invalid,
            events: self.events.as_deref().map(Glob::new),
            data_dir: data_dir.clone(),
            output: self.output,
            forward_config: ForwardConfig {
                timeout: self.timeout,
                max_in_flight: self.max_in_flight,
                ..ForwardConfig::default()
            },
            retry: RetryPolicy {
                max_retries: self.retries,
                ..RetryPolicy::default()
            },
            retention: RetentionPolicy {
                keep: Some(self.keep),
                max_age: Some(self.max_age),
                ..RetentionPolicy::default()
            },
        };
        let listening = Listening::start(options)
            .await
            .context("hookline listen could not start")?;
        Ok(listening)
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
