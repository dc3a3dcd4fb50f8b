//! `hookline replay`: send stored deliveries to the app again — exactly, to
//! another URL, edited in $EDITOR, or re-signed with a fresh timestamp.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use futures_util::StreamExt;
use hookline_protocol::{DeliveryId, Secret};

use super::StoreArgs;
use super::forward_tls::ForwardTlsArgs;
use super::list::{FilterArgs, for_each_summary, open_store};
use super::replay_edit::{EditedBody, StaleChoice};
use crate::control::StoreAccess;
use crate::escape::{Lines, for_terminal};
use crate::forward::{ForwardConfig, ForwardTarget, Forwarder};
use crate::last_listen::{LastListen, SavedRoute};
use crate::model::Outcome;
use crate::replay::{ReplayOptions, Replayed, Replayer};
use crate::store::DeliveryStatus;
use crate::verify::SchemeChoice;

/// Send stored deliveries to the app again; each replay is recorded as an attempt.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Deliveries to replay: `latest`, `latest~N`, ids, or unique starts or
    /// ends of ids (the ID and SHORT columns of `hookline list`). Without
    /// them, every delivery the filters match is replayed, oldest first.
    pub ids: Vec<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Replay deliveries whose last attempt failed (same as --status failed);
    /// a delivery fanned out to several targets is sent again only to the
    /// targets whose last attempt failed.
    #[arg(long, conflicts_with = "status")]
    pub failed: bool,
    /// Send to every target of this route, its path prefix stripped as
    /// `listen` does. Routes are read from the listener's configuration
    /// (the running or last `hookline listen` on this data dir), or from
    /// --config.
    #[arg(long, value_name = "NAME", conflicts_with = "to")]
    pub route: Option<String>,
    /// The config file to read --route from, instead of the listener's.
    #[arg(long, value_name = "FILE", requires = "route")]
    pub config: Option<std::path::PathBuf>,
    /// Send to this URL instead of the target of the last `hookline listen`.
    /// A replay to the listener's target cancels a pending automatic retry
    /// of the delivery (so the app gets it once); one to another URL does not.
    #[arg(long, value_name = "URL")]
    pub to: Option<ForwardTarget>,
    /// Sign again with the secret and the current time, so receivers that
    /// reject stale timestamps (Standard Webhooks, Svix, Stripe, Slack, Paddle)
    /// or an edited body accept it.
    #[arg(long, conflicts_with = "keep_signature")]
    pub resign: bool,
    /// Edit the body in $EDITOR before sending (one delivery only). A signed
    /// delivery's old signature no longer matches an edited body: hookline
    /// warns, and on a terminal asks whether to re-sign.
    #[arg(long)]
    pub edit: bool,
    /// With --edit: send the old signature with the edited body without
    /// asking (to test how the app rejects a bad signature).
    #[arg(long, requires = "edit")]
    pub keep_signature: bool,
    /// Signing secret for --resign [default: the data dir's development
    /// secret, which `listen` checks when it has no --secret].
    #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Scheme for --resign [default: the listener's, else detected from the
    /// headers, else autosend].
    #[arg(long)]
    pub scheme: Option<SchemeChoice>,
    /// Replays in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Print one JSON object per replay instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub forward_tls: ForwardTlsArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl ReplayArgs {
    pub async fn run(mut self) -> anyhow::Result<ExitCode> {
        if self.failed {
            self.filter.status = Some(DeliveryStatus::Failed);
        }
        let access = open_store(&self.store).await?;
        let data_dir = crate::data_dir::resolve(self.store.data_dir.as_deref())?;
        let ids = self.select(&access).await?;
        if ids.is_empty() {
            bail!("nothing to replay: no delivery matches");
        }
        if self.edit && ids.len() != 1 {
            bail!("--edit works on one delivery; {} were selected", ids.len());
        }
        let last = LastListen::load(&data_dir);
        let target = match (&self.to, &last) {
            (Some(_), _) => None,
            (None, Some(last)) => Some(last.forward.parse().context("the last listener's target")?),
            (None, None) if self.route.is_some() => None,
            (None, None) => {
                bail!("no target: pass --to URL (no `hookline listen` has run with this data dir)")
            }
        };
        let scheme = self
            .scheme
            .clone()
            .or_else(|| last.as_ref().and_then(|l| l.scheme.parse().ok()))
            .unwrap_or(SchemeChoice::Auto);
        let forwarder = Forwarder::new(ForwardConfig {
            max_in_flight: self.concurrency.max(1),
            tls: self.forward_tls.options()?,
            ..ForwardConfig::default()
        });
        self.forward_tls.warn_if_insecure();
        // Only a replay that may sign needs the development secret made.
        let secret = match self.resign || self.edit {
            true => Some(super::secret::signing_secret(
                self.secret.as_deref(),
                &data_dir,
            )?),
            false => self.secret.as_deref().map(Secret::new),
        };
        let replayer = Replayer::new(Arc::new(access), forwarder, target, scheme, secret);
        let mut options = ReplayOptions {
            to: self.to.clone(),
            resign: self.resign,
            ..ReplayOptions::default()
        };
        if self.edit {
            let edited = EditedBody::edit(&replayer, ids[0]).await?;
            print!(
                "{}",
                crate::escape::for_terminal(edited.diff(), crate::escape::Lines::Kept)
            );
            match edited.stale_choice(self.resign, self.keep_signature, self.secret_label())? {
                StaleChoice::Send => {}
                StaleChoice::Resign => options.resign = true,
                StaleChoice::Abort => bail!("nothing was sent"),
            }
            options.body = Some(edited.body);
        }
        if options.resign && self.secret.is_none() {
            eprintln!(
                "note: signing with hookline's development secret (`hookline secret`); \
                 pass --secret to sign with a provider's"
            );
        }
        let jobs = self.jobs(&replayer, &ids, &options, last.as_ref()).await?;
        self.send_all(&replayer, &jobs).await
    }

    /// Each replay to send: one per delivery, one per route target with
    /// --route, one per failed target with --failed.
    async fn jobs(
        &self,
        replayer: &Replayer,
        ids: &[DeliveryId],
        options: &ReplayOptions,
        last: Option<&LastListen>,
    ) -> anyhow::Result<Vec<(DeliveryId, ReplayOptions)>> {
        if let Some(name) = &self.route {
            let route = self.find_route(name, last)?;
            let mut jobs = Vec::new();
            for &id in ids {
                for target in &route.targets {
                    let to = target
                        .parse()
                        .with_context(|| format!("route {name:?}'s target {target:?}"))?;
                    jobs.push((
                        id,
                        ReplayOptions {
                            to: Some(to),
                            route_prefix: Some(route.path.clone().unwrap_or_default()),
                            ..options.clone()
                        },
                    ));
                }
            }
            return Ok(jobs);
        }
        let mut jobs = Vec::new();
        for &id in ids {
            let summary = match (self.failed, &self.to) {
                (true, None) => replayer
                    .access()
                    .get(id)
                    .await?
                    .map(|s| crate::store::Summary::of(&s)),
                _ => None,
            };
            // Fanned out: only the targets whose last attempt failed.
            match summary.filter(|s| s.targets.len() > 1) {
                Some(summary) => jobs.extend(summary.failed_targets().map(|t| {
                    let exact_url = Some(t.target.clone());
                    let options = ReplayOptions {
                        exact_url,
                        ..options.clone()
                    };
                    (id, options)
                })),
                None => jobs.push((id, options.clone())),
            }
        }
        Ok(jobs)
    }

    /// Route `name` from --config, else from the listener's saved configuration.
    fn find_route(&self, name: &str, last: Option<&LastListen>) -> anyhow::Result<SavedRoute> {
        let routes: Vec<SavedRoute> = match &self.config {
            Some(path) => {
                let mut args = crate::cli::listen::ListenArgs::for_routes(path.clone())?;
                args.apply_config(std::path::Path::new("."))?;
                args.all_routes().iter().map(SavedRoute::of).collect()
            }
            None => last.map(|l| l.routes.clone()).unwrap_or_default(),
        };
        let known: Vec<&str> = routes.iter().map(|r| r.name.as_str()).collect();
        routes
            .iter()
            .find(|r| r.name == name)
            .cloned()
            .ok_or_else(|| match known.is_empty() {
                true => anyhow::anyhow!(
                    "no route {name:?}: the listener has no routes recorded; pass --config FILE"
                ),
                false => anyhow::anyhow!("no route {name:?}; the routes are: {}", known.join(", ")),
            })
    }

    /// Which secret re-signing uses, in words for the question and warnings.
    fn secret_label(&self) -> &'static str {
        if self.secret.is_some() {
            "your --secret"
        } else {
            "hookline's development secret"
        }
    }

    async fn select(&self, access: &StoreAccess) -> anyhow::Result<Vec<DeliveryId>> {
        let mut ids = Vec::new();
        if !self.ids.is_empty() {
            for prefix in &self.ids {
                ids.push(access.resolve(prefix).await?);
            }
            return Ok(ids);
        }
        let filter = self.filter.to_filter()?;
        if filter == Default::default() {
            bail!(
                "say what to replay: ids, or a filter such as --failed, --event GLOB or --since 1h"
            );
        }
        for_each_summary(access, filter, 0, async |summary| {
            ids.push(summary.id);
            Ok(())
        })
        .await?;
        ids.reverse();
        Ok(ids)
    }

    async fn send_all(
        &self,
        replayer: &Replayer,
        jobs: &[(DeliveryId, ReplayOptions)],
    ) -> anyhow::Result<ExitCode> {
        let ids = jobs;
        let mut progress = Progress::new(ids.len(), !self.json && ids.len() > 1);
        let mut results = futures_util::stream::iter(jobs.iter())
            .map(|(id, options)| async move { (*id, replayer.replay(*id, options).await) })
            .buffer_unordered(self.concurrency.max(1));
        let (mut ok, mut failed) = (0usize, 0usize);
        while let Some((id, result)) = results.next().await {
            let line = match &result {
                Ok(replayed) => {
                    if replayed.attempt.outcome.is_success() {
                        ok += 1;
                    } else {
                        failed += 1;
                    }
                    describe(id, replayed, self.json)
                }
                Err(err) => {
                    failed += 1;
                    if self.json {
                        serde_json::json!({"id": id.to_string(), "error": err.to_string()})
                            .to_string()
                    } else {
                        for_terminal(format!("{id}  not sent: {err}"), Lines::One)
                    }
                }
            };
            progress.line(
                &line,
                ids.len() == 1 || self.json || result.is_err() || failed > 0,
            );
        }
        progress.finish();
        if ids.len() > 1 && !self.json {
            println!("sent {}, 2xx {ok}, failed {failed}", ok + failed);
        }
        Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

fn describe(id: DeliveryId, replayed: &Replayed, json: bool) -> String {
    let attempt = &replayed.attempt;
    let ms = attempt.duration_us as f64 / 1000.0;
    if json {
        return serde_json::json!({
            "id": id.to_string(),
            "target": attempt.target,
            "status": attempt.outcome.status(),
            "error": match &attempt.outcome { Outcome::Error { message } => Some(message), _ => None },
            "duration_ms": ms,
            "superseded_retry": replayed.superseded.map(|s| s.retry),
        })
        .to_string();
    }
    let result = match &attempt.outcome {
        Outcome::Response { status, .. } => {
            format!("{id}  → {status} from {} in {ms:.1} ms", attempt.target)
        }
        Outcome::Error { message } => format!("{id}  → error: {message}"),
    };
    let line = match replayed.superseded {
        Some(retry) => format!(
            "{result}  (instead of automatic retry #{}, now cancelled)",
            retry.retry
        ),
        None => result,
    };
    for_terminal(line, Lines::One)
}

/// A one-line progress bar on stderr for bulk replays, only on a terminal.
struct Progress {
    total: usize,
    done: usize,
    bar: bool,
}

impl Progress {
    fn new(total: usize, wanted: bool) -> Self {
        Self {
            total,
            done: 0,
            bar: wanted && std::io::stderr().is_terminal(),
        }
    }

    /// Counts one replay; prints its line when `print` (or always without a bar).
    fn line(&mut self, line: &str, print: bool) {
        self.done += 1;
        if print || !self.bar {
            if self.bar {
                eprint!("\r\x1b[2K");
            }
            println!("{line}");
        }
        if self.bar {
            let width = 30;
            let filled = width * self.done / self.total.max(1);
            eprint!(
                "\r[{}{}] {}/{}",
                "#".repeat(filled),
                " ".repeat(width - filled),
                self.done,
                self.total
            );
            let _ = std::io::stderr().flush();
        }
    }

    fn finish(&self) {
        if self.bar {
            eprintln!();
        }
    }
}
