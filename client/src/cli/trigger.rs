//! `hookline trigger`: send a realistic signed sample event, to test a
//! handler without the real provider.

use std::process::ExitCode;

use anyhow::{Context, bail};
use bytes::Bytes;
use hookline_protocol::{DeliveryId, Header, Secret};

use super::StoreArgs;
use crate::forward::{ForwardConfig, ForwardTarget, Forwarder, OutgoingRequest};
use crate::last_listen::LastListen;
use crate::samples::{SAMPLES, sample};
use crate::store::{AttemptKind, Outcome};
use crate::verify::{Scheme, SchemeChoice, sign};

/// Send a signed sample event to the listener's public URL or straight to an app.
#[derive(Debug, clap::Args)]
pub struct TriggerArgs {
    /// Event type to send (see --list).
    #[arg(required_unless_present = "list")]
    pub event: Option<String>,
    /// List the sample event types and exit.
    #[arg(long)]
    pub list: bool,
    /// Send here (e.g. straight to the app) instead of the running listener's public URL.
    #[arg(long, value_name = "URL")]
    pub to: Option<ForwardTarget>,
    /// Sign with this secret (without one the request goes unsigned).
    #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Signature scheme to sign with.
    #[arg(long, default_value = "autosend")]
    pub scheme: SchemeChoice,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl TriggerArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        if self.list {
            for (event, _) in SAMPLES {
                println!("{event}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        let event = self.event.as_deref().unwrap_or_default();
        let Some(body) = sample(event) else {
            let known: Vec<&str> = SAMPLES.iter().map(|(name, _)| *name).collect();
            bail!("no sample for {event:?}; known types: {}", known.join(", "));
        };
        let data_dir = crate::data_dir::resolve(self.store.data_dir.as_deref())?;
        let target = match &self.to {
            Some(to) => to.clone(),
            None => {
                let last = LastListen::load(&data_dir).context(
                    "no `hookline listen` has run with this data dir: start one, or pass --to URL",
                )?;
                last.public_url.parse().with_context(|| {
                    format!("the listener's public URL {} (use --to)", last.public_url)
                })?
            }
        };
        let request = self.request(event, body, &target)?;
        let forwarder = Forwarder::new(ForwardConfig::default());
        let attempt = forwarder
            .reserve()
            .await
            .send(&target, &request, AttemptKind::Forward)
            .await;
        let ms = attempt.duration_us as f64 / 1000.0;
        match attempt.outcome {
            Outcome::Response { status, body, .. } => {
                println!(
                    "sent {event} to {} → {status} in {ms:.1} ms",
                    attempt.target
                );
                if !body.is_empty() {
                    println!("{}", String::from_utf8_lossy(&body));
                }
                Ok(if (200..300).contains(&status) {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
            Outcome::Error { .. } if self.to.is_none() && !listener_runs(&data_dir).await => bail!(
                "{event} not delivered to {}: no `hookline listen` runs with data dir {}; \
                 start the listener again, or pass --to URL to send straight to an app",
                attempt.target,
                data_dir.display()
            ),
            Outcome::Error { message } => bail!("{event} not delivered: {message}"),
        }
    }

    fn request(
        &self,
        event: &str,
        body: &[u8],
        target: &ForwardTarget,
    ) -> anyhow::Result<OutgoingRequest> {
        let now_ms = crate::clock::now_ms();
        let mut headers = vec![
            Header::new("Content-Type", "application/json"),
            Header::new(
                "User-Agent",
                concat!("hookline-trigger/", env!("CARGO_PKG_VERSION")),
            ),
            Header::new("X-Webhook-Event", event),
            Header::new(
                "X-Webhook-Delivery-Id",
                format!("dlv_{}", DeliveryId::generate()),
            ),
            Header::new("X-Webhook-Timestamp", now_ms.to_string()),
        ];
        if let Some(secret) = &self.secret {
            let scheme = match &self.scheme {
                SchemeChoice::Fixed(scheme) => scheme.clone(),
                SchemeChoice::Auto => Scheme::Autosend,
            };
            let url = target
                .join("", None)
                .map(|u| u.to_string())
                .unwrap_or_default();
            sign(
                &scheme,
                &Secret::new(secret.as_str()),
                &mut headers,
                body,
                &url,
                (now_ms / 1000) as i64,
            )
            .context("cannot sign the sample")?;
        }
        Ok(OutgoingRequest {
            method: "POST".into(),
            path: String::new(),
            query: None,
            headers,
            body: Bytes::copy_from_slice(body),
            remote_addr: None,
            public_url: String::new(),
        })
    }
}

/// Whether a listener answers on the data dir's control socket: the
/// forwarder's "is the app running?" would blame the wrong program when it
/// is the listener (and its embedded relay) that is gone.
async fn listener_runs(data_dir: &std::path::Path) -> bool {
    crate::control::ControlClient::connect(&crate::control::socket_path(data_dir))
        .await
        .is_ok()
}
