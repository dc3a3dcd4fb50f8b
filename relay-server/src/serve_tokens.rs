//! Where a serving relay's tokens come from and what keeps them current:
//! the tokens file (watched), or in a cluster the token bucket (watched),
//! seeded from the file when one is given. The environment's tokens are
//! merged in either way and kept across reloads.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use hookline_relay::cluster::{ClusterOptions, ClusterTokens, JetStreamQueue};
use hookline_relay::{Relay, TokenSet, load_tokens_file, watch_tokens};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::args::ServeArgs;

/// What keeps the tokens current.
enum Source {
    File(PathBuf),
    Bucket(Box<ClusterTokens>),
    /// Only the environment's: nothing to watch.
    Fixed,
}

pub struct Tokens {
    /// The tokens to start with.
    pub initial: TokenSet,
    env: TokenSet,
    source: Source,
}

impl Tokens {
    /// Whether starting with no token is fine: one can be added while running.
    pub fn reloadable(&self) -> bool {
        !matches!(self.source, Source::Fixed)
    }

    /// Starts the watcher that applies changes to `relay` until `shutdown`.
    pub fn watch(self, relay: Relay, shutdown: CancellationToken) -> Option<JoinHandle<()>> {
        match self.source {
            Source::File(path) => Some(tokio::spawn(watch_tokens(relay, path, self.env, shutdown))),
            Source::Bucket(bucket) => Some(tokio::spawn(bucket.watch(relay, self.env, shutdown))),
            Source::Fixed => None,
        }
    }
}

/// The tokens to serve with; `cluster` when this relay is a cluster member.
pub async fn load(
    args: &ServeArgs,
    cluster: Option<&(Arc<JetStreamQueue>, ClusterOptions)>,
) -> anyhow::Result<Tokens> {
    let mut env = TokenSet::new();
    if let Some(list) = &args.tokens {
        env.merge(TokenSet::parse_list(list).context("in HOOKLINE_RELAY_TOKENS")?);
    }
    let (initial, source, add_hint) = match (cluster, &args.tokens_file) {
        (Some((queue, options)), file) => {
            let bucket = queue
                .tokens(options.replicas)
                .await
                .context("cannot open the cluster's token bucket")?;
            if let Some(path) = file {
                seed(&bucket, path).await?;
            }
            let tokens = bucket
                .load(&env)
                .await
                .context("cannot read the cluster's tokens")?;
            (
                tokens,
                Source::Bucket(Box::new(bucket)),
                "--cluster NATS_URL",
            )
        }
        (None, Some(path)) => {
            create_if_missing(path)?;
            let tokens = load_tokens_file(path, &env).map_err(anyhow::Error::msg)?;
            (tokens, Source::File(path.clone()), "--tokens-file FILE")
        }
        (None, None) => (env.clone(), Source::Fixed, ""),
    };
    let tokens = Tokens {
        initial,
        env,
        source,
    };
    if tokens.initial.is_empty() && tokens.reloadable() {
        tracing::warn!(
            "no token yet, so no client can connect: add one with `hookline-relay token add NAME \
             {add_hint}`; this relay picks it up without a restart"
        );
    } else if tokens.initial.is_empty() {
        bail!(
            "no token configured, so no client could connect. Make one with `hookline-relay new-token`, \
             put it in a file and pass --tokens-file FILE (or set HOOKLINE_RELAY_TOKENS)"
        );
    }
    Ok(tokens)
}

/// Adds the tokens of `path` that the cluster's bucket lacks.
async fn seed(bucket: &ClusterTokens, path: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read tokens file {}", path.display()))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let added = bucket
        .seed(&text, now)
        .await
        .with_context(|| format!("cannot seed the cluster's tokens from {}", path.display()))?;
    if added > 0 {
        tracing::info!(
            "added {added} tokens of {} to the cluster's bucket",
            path.display()
        );
    }
    Ok(())
}

/// An empty, owner-only tokens file, created by the relay's own user so that
/// `token add` run by an administrator keeps it readable by the relay (the
/// edit keeps the file's owner). A service manager's dynamic user needs this.
fn create_if_missing(path: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => {
            tracing::info!("created an empty tokens file {}", path.display());
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create tokens file {}", path.display())),
    }
}
