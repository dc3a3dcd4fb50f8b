//! A cluster's tokens in a key-value bucket (`hookline-tokens`), one hashed
//! tokens-file line per key (the token's name): a file would need copying
//! to every machine. `hookline-relay token … --cluster` edits the bucket
//! with the same rules as the file; every relay watches it and applies a
//! change at once, as a single relay does with its file. Writes are
//! compare-and-set on each key's revision, so two administrators editing at
//! once cannot undo each other silently.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::{Context, kv, stream};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use hookline_protocol::{ChannelId, DEFAULT_CHANNEL_NAME, Secret};
use tokio_util::sync::CancellationToken;

use crate::token_file::{HASH_PREFIX, HashedLine, TokenLines, rfc3339};
use crate::tokens::{parse_plain_words, token_hash};
use crate::{Added, ChannelLimits, Relay, TokenAdminError, TokenListing, TokenSet};

/// The token bucket.
pub const TOKENS_BUCKET: &str = "hookline-tokens";

/// What the bucket is called in messages.
const PLACE: &str = "the cluster's token bucket";

/// Changes arriving together are applied once, after this quiet time.
const SETTLE: Duration = Duration::from_millis(50);

/// Pause before watching again after the watch failed (NATS away).
const REWATCH_AFTER: Duration = Duration::from_secs(1);

/// The cluster's tokens.
#[derive(Clone)]
pub struct ClusterTokens {
    store: kv::Store,
}

impl std::fmt::Debug for ClusterTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterTokens")
    }
}

/// Each key's line and revision.
type Snapshot = BTreeMap<String, (String, u64)>;

impl ClusterTokens {
    /// Connects to NATS for the `token` commands.
    pub async fn connect(
        options: &super::ClusterOptions,
    ) -> Result<ClusterTokens, super::ClusterError> {
        let client = super::jetstream_queue::connect_client(options).await?;
        let js = async_nats::jetstream::ContextBuilder::new()
            .timeout(super::PUBLISH_TIMEOUT)
            .build(client);
        Self::open(&js, options.replicas)
            .await
            .map_err(super::ClusterError::Stream)
    }

    /// Opens (creating if needed) the bucket on `js`.
    pub(crate) async fn open(js: &Context, replicas: usize) -> Result<ClusterTokens, String> {
        let store = super::buckets::Bucket {
            name: TOKENS_BUCKET,
            replicas,
            storage: stream::StorageType::File,
            ttl: None,
        }
        .open(js)
        .await?;
        Ok(ClusterTokens { store })
    }

    /// The bucket's tokens plus `extra` (the environment's), as relays serve them.
    pub async fn load(&self, extra: &TokenSet) -> Result<TokenSet, TokenAdminError> {
        let (lines, _) = self.lines().await?;
        let mut tokens = TokenSet::parse_file(&lines.lines.join("\n")).map_err(|error| {
            TokenAdminError::Parse {
                path: PLACE.into(),
                error,
            }
        })?;
        tokens.merge(extra.clone());
        Ok(tokens)
    }

    pub async fn list(&self) -> Result<Vec<TokenListing>, TokenAdminError> {
        self.lines().await?.0.list()
    }

    /// `token add` on the bucket; see [`crate::add_token`].
    pub async fn add(
        &self,
        name: &str,
        channels: &[String],
        limits: ChannelLimits,
        existing: impl FnOnce() -> Result<Secret, TokenAdminError>,
        now_unix: u64,
    ) -> Result<Added, TokenAdminError> {
        let (mut lines, before) = self.lines().await?;
        let added = lines.add(name, channels, limits, existing, now_unix)?;
        self.save(&before, &lines).await?;
        Ok(added)
    }

    /// `token revoke` on the bucket: every relay ends the token's sessions.
    pub async fn revoke(&self, name: &str) -> Result<(), TokenAdminError> {
        let (mut lines, before) = self.lines().await?;
        lines.revoke(name)?;
        self.save(&before, &lines).await
    }

    /// Adds the tokens of a tokens file the bucket does not have yet (by
    /// name; a plain `TOKEN …` line is stored hashed as `plain-HASHPREFIX`).
    /// Tokens the bucket already has are left as the bucket has them.
    /// Returns how many were added.
    pub async fn seed(&self, file_text: &str, now_unix: u64) -> Result<usize, TokenAdminError> {
        TokenLines::parse(file_text, "the tokens file")?;
        let before = self.snapshot().await?;
        let mut added = 0;
        for raw in file_text.lines() {
            let line = raw.split('#').next().unwrap_or_default();
            let mut words = line.split_whitespace();
            let Some(first) = words.next() else {
                continue;
            };
            let hashed = if first.starts_with(HASH_PREFIX) {
                HashedLine::parse(line).map_err(TokenAdminError::Usage)?
            } else {
                plain_as_hashed(first, words, now_unix)?
            };
            match before.get(&hashed.name) {
                None => {
                    match self
                        .store
                        .create(&hashed.name, Bytes::from(hashed.render()))
                        .await
                    {
                        Ok(_) => added += 1,
                        // Another relay seeded it first.
                        Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {}
                        Err(e) => return Err(cluster(e)),
                    }
                }
                Some((existing, _))
                    if HashedLine::parse(existing).map(|l| l.hash).ok() != Some(hashed.hash) =>
                {
                    tracing::warn!(
                        "token {} of the tokens file differs from the bucket's; the bucket's is kept \
                         (change it with `hookline-relay token … --cluster`)",
                        hashed.name
                    );
                }
                Some(_) => {}
            }
        }
        Ok(added)
    }

    /// Keeps `relay`'s tokens in step with the bucket until `shutdown`.
    pub async fn watch(self, relay: Relay, extra: TokenSet, shutdown: CancellationToken) {
        loop {
            let watch = tokio::select! {
                watch = self.store.watch_all() => watch,
                () = shutdown.cancelled() => return,
            };
            match watch {
                Ok(mut changes) => {
                    // Whatever changed while nobody watched.
                    self.reload(&relay, &extra, "watching the bucket").await;
                    loop {
                        tokio::select! {
                            change = changes.next() => match change {
                                Some(Ok(_)) => {}
                                Some(Err(e)) => {
                                    tracing::warn!("token bucket watch failed: {e}");
                                    break;
                                }
                                None => break,
                            },
                            () = shutdown.cancelled() => return,
                        }
                        // Let a burst of edits settle, then apply them once.
                        while let Ok(Some(Ok(_))) =
                            tokio::time::timeout(SETTLE, changes.next()).await
                        {
                        }
                        self.reload(&relay, &extra, "the bucket changed").await;
                    }
                }
                Err(e) => tracing::warn!("cannot watch the token bucket: {e}"),
            }
            tokio::select! {
                () = tokio::time::sleep(REWATCH_AFTER) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    async fn reload(&self, relay: &Relay, extra: &TokenSet, why: &str) {
        match self.load(extra).await {
            Ok(tokens) => crate::token_watch::apply(relay, tokens, PLACE, why).await,
            Err(e) => tracing::error!("{e}; keeping the tokens loaded before ({why})"),
        }
    }

    async fn snapshot(&self) -> Result<Snapshot, TokenAdminError> {
        let keys: Vec<String> = self
            .store
            .keys()
            .await
            .map_err(cluster)?
            .try_collect()
            .await
            .map_err(cluster)?;
        let mut snapshot = Snapshot::new();
        for key in keys {
            if let Some(entry) = self.store.entry(key.clone()).await.map_err(cluster)?
                && entry.operation == kv::Operation::Put
            {
                let line = String::from_utf8_lossy(&entry.value).into_owned();
                snapshot.insert(key, (line, entry.revision));
            }
        }
        Ok(snapshot)
    }

    async fn lines(&self) -> Result<(TokenLines, Snapshot), TokenAdminError> {
        let snapshot = self.snapshot().await?;
        let text: Vec<&str> = snapshot.values().map(|(line, _)| line.as_str()).collect();
        Ok((TokenLines::parse(&text.join("\n"), PLACE)?, snapshot))
    }

    /// Writes what changed between `before` and `after`, each key
    /// conditional on the revision it was read at.
    async fn save(&self, before: &Snapshot, after: &TokenLines) -> Result<(), TokenAdminError> {
        let mut wanted = BTreeMap::new();
        for line in &after.lines {
            let parsed = HashedLine::parse(line).map_err(TokenAdminError::Usage)?;
            wanted.insert(parsed.name, line.clone());
        }
        let raced = || {
            TokenAdminError::Usage(
                "another administrator changed the same token meanwhile; run the command again"
                    .into(),
            )
        };
        for (name, line) in &wanted {
            let value = Bytes::from(line.clone());
            match before.get(name) {
                None => match self.store.create(name, value).await {
                    Ok(_) => {}
                    Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => return Err(raced()),
                    Err(e) => return Err(cluster(e)),
                },
                Some((old, _)) if old == line => {}
                Some((_, revision)) => match self.store.update(name, value, *revision).await {
                    Ok(_) => {}
                    Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                        return Err(raced());
                    }
                    Err(e) => return Err(cluster(e)),
                },
            }
        }
        for (name, (_, revision)) in before {
            if !wanted.contains_key(name) {
                self.store
                    .delete_expect_revision(name, Some(*revision))
                    .await
                    .map_err(|_| raced())?;
            }
        }
        Ok(())
    }
}

/// A plain `TOKEN [CHANNEL…] [rate=N] [queue_bytes=N]` line, hashed: a
/// bucket never holds a token itself.
fn plain_as_hashed<'a>(
    token: &str,
    rest: impl Iterator<Item = &'a str>,
    now_unix: u64,
) -> Result<HashedLine, TokenAdminError> {
    let (names, limits) = parse_plain_words(rest).map_err(TokenAdminError::Usage)?;
    let secret = Secret::new(token);
    let hash = token_hash(token);
    let mut channels: Vec<(String, ChannelId)> = vec![(
        DEFAULT_CHANNEL_NAME.to_owned(),
        ChannelId::derive(&secret, DEFAULT_CHANNEL_NAME),
    )];
    for name in names.into_iter().filter(|n| n != DEFAULT_CHANNEL_NAME) {
        let id = ChannelId::derive(&secret, &name);
        channels.push((name, id));
    }
    Ok(HashedLine {
        name: format!("plain-{}", &hex::encode(hash)[..8]),
        hash,
        created: rfc3339(now_unix),
        channels,
        limits,
    })
}

fn cluster(e: impl std::fmt::Display) -> TokenAdminError {
    TokenAdminError::Cluster(e.to_string())
}
