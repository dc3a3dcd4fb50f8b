//! `hookline tui` (and `hookline listen --tui`): the terminal UI over the
//! store, replaying to the forward target.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use hookline_protocol::Secret;
use tokio_util::sync::CancellationToken;

use super::StoreArgs;
use super::forward_tls::ForwardTlsArgs;
use super::listen::ListenArgs;
use crate::control::StoreAccess;
use crate::forward::{ForwardConfig, ForwardTarget, Forwarder, TlsOptions};
use crate::last_listen::LastListen;
use crate::listen::{Listening, OutputFormat};
use crate::replay::Replayer;
use crate::tui::TuiOptions;
use crate::tui::app::{Header, Link};
use crate::verify::SchemeChoice;

/// Browse, inspect and replay stored deliveries in a terminal UI. While a
/// `hookline listen` runs on the same data dir, the UI goes through it and
/// updates live; `hookline listen --tui` does both in one process.
#[derive(Debug, clap::Args)]
pub struct TuiArgs {
    /// Where `r` replays go [default: the target of the last `hookline listen`].
    #[arg(long, env = "HOOKLINE_FORWARD", value_name = "URL")]
    pub forward: Option<ForwardTarget>,
    /// Signing secret for `R` (replay re-signed) [default: the data dir's
    /// development secret].
    #[arg(long = "secret", env = "WEBHOOK_SECRET", hide_env_values = true)]
    pub secrets: Vec<String>,
    /// Scheme for re-signing [default: the listener's, or detected from the headers].
    #[arg(long)]
    pub scheme: Option<SchemeChoice>,
    #[command(flatten)]
    pub forward_tls: ForwardTlsArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl TuiArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let data_dir = crate::data_dir::existing_store(self.store.data_dir.as_deref())?;
        let access = Arc::new(StoreAccess::open(&data_dir).await?);
        let last = LastListen::load(&data_dir);
        let target = match (self.forward, &last) {
            (Some(target), _) => Some(target),
            (None, Some(last)) => Some(
                last.forward
                    .parse()
                    .context("the last listener's forward target")?,
            ),
            (None, None) => None,
        };
        let scheme = self
            .scheme
            .or_else(|| last.as_ref().and_then(|l| l.scheme.parse().ok()))
            .unwrap_or(SchemeChoice::Auto);
        let link = match access.listener_pid() {
            Some(pid) => Link::Listener { pid },
            None => Link::StoreOnly,
        };
        let header = Header {
            link,
            // Without a running listener the last public URL answers nobody.
            public_url: last
                .filter(|_| access.listener_pid().is_some())
                .map(|l| l.public_url),
            ..Header::default()
        };
        let secret =
            super::secret::signing_secret(self.secrets.first().map(String::as_str), &data_dir)?;
        let tls = self.forward_tls.options()?;
        let options = options(access, header, target, scheme, Some(secret), data_dir);
        let options = with_tls(options, tls);
        crate::tui::run(options, CancellationToken::new()).await?;
        Ok(ExitCode::SUCCESS)
    }
}

/// `listen --tui`: starts the listener quietly, runs the UI over its store
/// and connection state, and stops the listener when the UI closes.
pub async fn listen_with_tui(mut args: ListenArgs) -> anyhow::Result<ExitCode> {
    args.output = OutputFormat::Quiet;
    let target = args
        .all_routes()
        .first()
        .and_then(|route| route.targets.first().cloned())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "nowhere to forward to: pass --forward URL or add [[route]] tables to a config file"
            )
        })?;
    let scheme = args.scheme.choice().map_err(anyhow::Error::msg)?;
    let data_dir = crate::data_dir::prepare(args.store.data_dir.as_deref())?;
    let secret =
        super::secret::signing_secret(args.secrets.first().map(String::as_str), &data_dir)?;
    let embedded = args.relay.is_empty();
    let args_tls = args.forward_tls.options();
    let listening = args.start().await?;
    let tls = args_tls?;
    let options = listening_options(&listening, target, scheme, Some(secret), embedded);
    let options = with_tls(options, tls);
    let shown = crate::tui::run(options, listening.shutdown_token()).await;
    let stopped = listening.stop().await;
    shown?;
    stopped?;
    Ok(ExitCode::SUCCESS)
}

/// The UI over a listener running in this process: its store, its
/// connection state, replays to its forward target.
pub fn listening_options(
    listening: &Listening,
    target: ForwardTarget,
    scheme: SchemeChoice,
    secret: Option<Secret>,
    embedded: bool,
) -> TuiOptions {
    let header = Header {
        link: Link::Listening {
            state: listening.state.borrow().clone(),
            embedded,
        },
        public_url: Some(listening.public_url.clone()),
        ..Header::default()
    };
    let access = Arc::new(StoreAccess::Local(listening.store.clone()));
    let dir = listening.store.dir().to_path_buf();
    let mut options = options(access, header, Some(target), scheme, secret, dir);
    options.state = Some(listening.state.clone());
    options
}

/// Replays from the UI trust HTTPS targets as the command line said.
fn with_tls(mut options: TuiOptions, tls: TlsOptions) -> TuiOptions {
    if let Some(replayer) = options.replayer.take() {
        options.replayer = Some(replayer.with_forwarder(Forwarder::new(ForwardConfig {
            tls,
            ..ForwardConfig::default()
        })));
    }
    options
}

fn options(
    access: Arc<StoreAccess>,
    mut header: Header,
    target: Option<ForwardTarget>,
    scheme: SchemeChoice,
    secret: Option<Secret>,
    dir: PathBuf,
) -> TuiOptions {
    header.forward = target.as_ref().map(ToString::to_string);
    header.can_resign = secret.is_some();
    let replayer = target.as_ref().map(|t| {
        Replayer::new(
            access.clone(),
            Forwarder::new(ForwardConfig::default()),
            Some(t.clone()),
            scheme,
            secret,
        )
    });
    TuiOptions {
        access,
        header,
        state: None,
        replayer,
        target,
        dir,
    }
}
