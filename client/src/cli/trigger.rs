//! `hookline trigger`: send a realistic signed sample event, to test a
//! handler without the real provider.

use std::process::ExitCode;

use anyhow::{Context, bail};
use bytes::Bytes;

use super::StoreArgs;
use super::forward_tls::ForwardTlsArgs;
use crate::fixtures::{Fixture, Fixtures};
use crate::forward::{ForwardConfig, ForwardTarget, Forwarder, OutgoingRequest};
use crate::last_listen::LastListen;
use crate::model::{AttemptKind, Outcome};
use crate::samples::{Provider, SAMPLES, Sample, sample, signed_request};
use crate::verify::SchemeChoice;

/// Send a signed sample event to the listener's public URL or straight to an app.
#[derive(Debug, clap::Args)]
pub struct TriggerArgs {
    /// A saved fixture's name (`hookline fixture list`), else a sample
    /// event type (see --list), e.g. push, invoice.paid, email.opened.
    #[arg(required_unless_present = "list", value_name = "NAME")]
    pub event: Option<String>,
    /// List the saved fixtures and the sample event types by provider, and exit.
    #[arg(long)]
    pub list: bool,
    /// Send here (e.g. straight to the app, http:// or https://) instead of
    /// the running listener's public URL.
    #[arg(long, value_name = "URL")]
    pub to: Option<ForwardTarget>,
    /// Sign with this secret [default: the data dir's development secret,
    /// which `listen` checks when it has no --secret].
    #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Sign under this scheme, with its provider's headers [default: the
    /// sample's provider's scheme].
    #[arg(long)]
    pub scheme: Option<SchemeChoice>,
    #[command(flatten)]
    pub forward_tls: ForwardTlsArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl TriggerArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let data_dir = crate::data_dir::prepare(self.store.data_dir.as_deref())?;
        let fixtures = Fixtures::in_data_dir(&data_dir);
        if self.list {
            let saved = fixtures.list()?;
            if !saved.is_empty() {
                println!("Saved fixtures");
                for fixture in saved {
                    println!("  {}", fixture.name);
                }
            }
            print!("{}", list());
            return Ok(ExitCode::SUCCESS);
        }
        let event = self.event.as_deref().unwrap_or_default();
        let fixture = fixtures.get(event)?;
        let sample = sample(event);
        if fixture.is_none() && sample.is_none() {
            let known: Vec<&str> = SAMPLES.iter().map(|s| s.event).collect();
            bail!(
                "no fixture or sample named {event:?}; samples: {} (trigger --list shows fixtures too)",
                known.join(", ")
            );
        }
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
        let tls = self.forward_tls.options()?;
        self.forward_tls.warn_if_insecure();
        let request = match (&fixture, sample) {
            (Some(fixture), _) => self.fixture_request(fixture, &target, &data_dir)?,
            (None, Some(sample)) => self.request(sample, &target, &data_dir)?,
            (None, None) => unreachable!("checked above"),
        };
        let forwarder = Forwarder::new(ForwardConfig {
            tls,
            ..ForwardConfig::default()
        });
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

    /// A saved fixture's request, re-signed with fresh ids and timestamp.
    fn fixture_request(
        &self,
        fixture: &Fixture,
        target: &ForwardTarget,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<OutgoingRequest> {
        let scheme = match &self.scheme {
            Some(SchemeChoice::Fixed(scheme)) => Some(scheme),
            Some(SchemeChoice::Auto) | None => None,
        };
        let secret = super::secret::signing_secret(self.secret.as_deref(), data_dir)?;
        let url = target
            .join(&fixture.path, fixture.query.as_deref())
            .map(|u| u.to_string())
            .unwrap_or_default();
        let (headers, body) = fixture
            .resigned(scheme, &secret, &url, crate::clock::now_ms())
            .context("cannot sign the fixture")?;
        Ok(OutgoingRequest {
            method: fixture.method.clone(),
            path: fixture.path.clone(),
            query: fixture.query.clone(),
            headers,
            body: Bytes::from(body),
            remote_addr: None,
            public_url: String::new(),
        })
    }

    fn request(
        &self,
        sample: &Sample,
        target: &ForwardTarget,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<OutgoingRequest> {
        let scheme = match &self.scheme {
            Some(SchemeChoice::Fixed(scheme)) => scheme.clone(),
            Some(SchemeChoice::Auto) | None => sample.provider.scheme(),
        };
        let secret = super::secret::signing_secret(self.secret.as_deref(), data_dir)?;
        let url = target
            .join("", None)
            .map(|u| u.to_string())
            .unwrap_or_default();
        let headers = signed_request(sample, &scheme, &secret, &url, crate::clock::now_ms())
            .context("cannot sign the sample")?;
        Ok(OutgoingRequest {
            method: "POST".into(),
            path: String::new(),
            query: None,
            headers,
            body: Bytes::from_static(sample.body),
            remote_addr: None,
            public_url: String::new(),
        })
    }
}

/// `trigger --list`: the samples under their provider and its scheme.
fn list() -> String {
    let mut out = String::new();
    for provider in Provider::ALL {
        out.push_str(&format!(
            "{} (--scheme {})\n",
            provider.name(),
            provider.scheme().name()
        ));
        for sample in SAMPLES.iter().filter(|s| s.provider == provider) {
            out.push_str(&format!("  {}\n", sample.event));
        }
    }
    out
}

/// Whether a listener answers on the data dir's control socket: the
/// forwarder's "is the app running?" would blame the wrong program when it
/// is the listener (and its embedded relay) that is gone.
async fn listener_runs(data_dir: &std::path::Path) -> bool {
    crate::control::ControlClient::connect(&crate::control::socket_path(data_dir))
        .await
        .is_ok()
}
