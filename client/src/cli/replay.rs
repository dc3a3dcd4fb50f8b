//! `hookline replay`: send stored deliveries to the app again — exactly, to
//! another URL, edited in $EDITOR, or re-signed with a fresh timestamp.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use futures_util::StreamExt;
use hookline_protocol::{DeliveryId, Secret};

use super::StoreArgs;
use super::list::{FilterArgs, for_each_summary, open_store};
use crate::control::StoreAccess;
use crate::escape::{Lines, for_terminal};
use crate::forward::{ForwardConfig, ForwardTarget, Forwarder};
use crate::last_listen::LastListen;
use crate::replay::{ReplayOptions, Replayer};
use crate::store::{Attempt, DeliveryStatus, Outcome};
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
    /// Replay deliveries whose last attempt failed (same as --status failed).
    #[arg(long, conflicts_with = "status")]
    pub failed: bool,
    /// Send to this URL instead of the target of the last `hookline listen`.
    #[arg(long, value_name = "URL")]
    pub to: Option<ForwardTarget>,
    /// Sign again with --secret and the current time, so receivers that
    /// reject stale timestamps (Standard Webhooks, Svix, Stripe, Slack, Paddle) accept it.
    #[arg(long)]
    pub resign: bool,
    /// Edit the body in $EDITOR before sending (one delivery only).
    #[arg(long)]
    pub edit: bool,
    /// Signing secret for --resign.
    #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Scheme for --resign [default: the listener's, or detected from the headers].
    #[arg(long)]
    pub scheme: Option<SchemeChoice>,
    /// Replays in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Print one JSON object per replay instead of text.
    #[arg(long)]
    pub json: bool,
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
            ..ForwardConfig::default()
        });
        let secret = self.secret.as_deref().map(Secret::new);
        let replayer = Replayer::new(Arc::new(access), forwarder, target, scheme, secret);
        let mut options = ReplayOptions {
            to: self.to.clone(),
            resign: self.resign,
            body: None,
        };
        if self.edit {
            options.body = Some(edit_body(&replayer, ids[0]).await?);
        }
        self.send_all(&replayer, &ids, &options).await
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
        ids: &[DeliveryId],
        options: &ReplayOptions,
    ) -> anyhow::Result<ExitCode> {
        let mut progress = Progress::new(ids.len(), !self.json && ids.len() > 1);
        let mut results = futures_util::stream::iter(ids.iter().copied())
            .map(|id| async move { (id, replayer.replay(id, options).await) })
            .buffer_unordered(self.concurrency.max(1));
        let (mut ok, mut failed) = (0usize, 0usize);
        while let Some((id, result)) = results.next().await {
            let line = match &result {
                Ok(attempt) if attempt.outcome.is_success() => {
                    ok += 1;
                    describe(id, attempt, self.json)
                }
                Ok(attempt) => {
                    failed += 1;
                    describe(id, attempt, self.json)
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

fn describe(id: DeliveryId, attempt: &Attempt, json: bool) -> String {
    let ms = attempt.duration_us as f64 / 1000.0;
    if json {
        return serde_json::json!({
            "id": id.to_string(),
            "target": attempt.target,
            "status": attempt.outcome.status(),
            "error": match &attempt.outcome { Outcome::Error { message } => Some(message), _ => None },
            "duration_ms": ms,
        })
        .to_string();
    }
    let line = match &attempt.outcome {
        Outcome::Response { status, .. } => {
            format!("{id}  → {status} from {} in {ms:.1} ms", attempt.target)
        }
        Outcome::Error { message } => format!("{id}  → error: {message}"),
    };
    for_terminal(line, Lines::One)
}

/// Opens the stored body in `$EDITOR` (or `vi`) and returns what was saved.
async fn edit_body(replayer: &Replayer, id: DeliveryId) -> anyhow::Result<Vec<u8>> {
    let stored = replayer
        .access()
        .get(id)
        .await?
        .context("delivery vanished from the store")?;
    let path = std::env::temp_dir().join(format!("hookline-body-{id}-{}.json", std::process::id()));
    let file = EditFile::create(path, &stored.delivery.body)?;
    let status = crate::editor::edit(file.path())
        .await
        .map_err(anyhow::Error::msg)?;
    if !status.success() {
        bail!("the editor exited with {status}; nothing was sent");
    }
    std::fs::read(file.path()).context("cannot read the edited body back")
}

/// The body's temp file, removed again however the edit ends.
struct EditFile(std::path::PathBuf);

impl EditFile {
    fn create(path: std::path::PathBuf, body: &[u8]) -> anyhow::Result<Self> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&path)
            .with_context(|| format!("cannot create {} for the body", path.display()))?;
        file.write_all(body)
            .context("cannot write the body to edit")?;
        Ok(Self(path))
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for EditFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
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
