//! Keeps a running relay's tokens in step with its tokens file: reloads on
//! SIGHUP and when the file's size, modification time or inode changes
//! (`token add` renames a new file over the old one). A file that does not
//! parse is logged with its line and the relay keeps the tokens it has.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::{Relay, TokenSet};

/// How often the file's metadata is checked. Short enough that a revoked
/// token's session ends within a second or two, cheap (one `stat`).
pub const TOKENS_POLL_EVERY: Duration = Duration::from_millis(500);

/// Tokens from `path` plus `extra` (the environment's), as the relay serves them.
pub fn load_tokens_file(path: &Path, extra: &TokenSet) -> Result<TokenSet, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read tokens file {}: {e}", path.display()))?;
    let mut tokens =
        TokenSet::parse_file(&text).map_err(|e| format!("in {}: {e}", path.display()))?;
    tokens.merge(extra.clone());
    Ok(tokens)
}

#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        #[cfg(unix)]
        inode: std::os::unix::fs::MetadataExt::ino(&meta),
    })
}

/// Runs until `shutdown`: reloads `path` (merged with `extra`) into `relay`.
pub async fn watch_tokens(
    relay: Relay,
    path: PathBuf,
    extra: TokenSet,
    shutdown: CancellationToken,
) {
    let mut last = stamp(&path);
    let mut hup = hangups();
    let mut poll = tokio::time::interval(TOKENS_POLL_EVERY);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let why = tokio::select! {
            () = shutdown.cancelled() => break,
            () = next_hangup(&mut hup) => "SIGHUP",
            _ = poll.tick() => {
                let now = stamp(&path);
                if now == last {
                    continue;
                }
                last = now;
                "the file changed"
            }
        };
        reload(&relay, &path, &extra, why).await;
    }
    tracing::debug!("tokens file watcher stopped");
}

async fn reload(relay: &Relay, path: &Path, extra: &TokenSet, why: &str) {
    match load_tokens_file(path, extra) {
        Ok(tokens) => apply(relay, tokens, &path.display().to_string(), why).await,
        Err(e) => tracing::error!(
            "{e}; keeping the tokens loaded before ({why}); fix the file to apply it"
        ),
    }
}

/// Serves `tokens` (read from `source`) from now on, and says what changed.
pub(crate) async fn apply(relay: &Relay, tokens: TokenSet, source: &str, why: &str) {
    let relay = relay.clone();
    match tokio::task::spawn_blocking(move || relay.reload_tokens(tokens)).await {
        Ok(Ok(r)) => tracing::info!(
            tokens = r.tokens,
            channels_added = r.channels_added,
            channels_removed = r.channels_removed,
            deliveries_dropped = r.deliveries_dropped,
            "tokens reloaded from {source} ({why})"
        ),
        Ok(Err(e)) => tracing::error!("tokens reload failed: {e}"),
        Err(e) => tracing::error!("tokens reload task failed: {e}"),
    }
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = ();

#[cfg(unix)]
fn hangups() -> Hangups {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(e) => {
            tracing::warn!("cannot watch SIGHUP ({e}); the tokens file is still polled");
            None
        }
    }
}

#[cfg(not(unix))]
fn hangups() -> Hangups {}

#[cfg(unix)]
async fn next_hangup(hup: &mut Hangups) {
    let received = match hup {
        Some(signal) => signal.recv().await.is_some(),
        None => false,
    };
    if !received {
        // The signal stream ended (or never started): only polling remains.
        *hup = None;
        std::future::pending::<()>().await;
    }
}

#[cfg(not(unix))]
async fn next_hangup(_: &mut Hangups) {
    std::future::pending().await
}
