//! Replacing the token set of a running relay: channels of unchanged tokens
//! keep their hubs (so their sessions stay up), new ones get hubs, and the
//! channels of revoked tokens end their session with `bad_token`, answer 404
//! from then on and lose their queued deliveries (counted in `/metrics`).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use hookline_protocol::ChannelId;

use crate::hub::ChannelHub;
use crate::metrics::DropReason;
use crate::relay::Inner;
use crate::{Relay, RelayConfig, RelayError, TokenSet};

/// How many queued entries one purge read takes.
const PURGE_BATCH: usize = 512;

/// What a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenReload {
    pub tokens: usize,
    pub channels_added: usize,
    pub channels_removed: usize,
    /// Queued deliveries of removed channels, deleted.
    pub deliveries_dropped: u64,
}

/// The hub map for `tokens`, reusing a hub of `old` whose channel and owner
/// are unchanged; every hub gets its token's limits, else the relay's.
pub(crate) fn hubs_for(
    tokens: &TokenSet,
    old: &HashMap<ChannelId, Arc<ChannelHub>>,
    config: &RelayConfig,
) -> HashMap<ChannelId, Arc<ChannelHub>> {
    let mut hubs = HashMap::new();
    for (owner, entry) in tokens.entries() {
        for (_, id) in &entry.channels {
            let hub = match old.get(id) {
                Some(hub) if hub.owner == *owner => hub.clone(),
                _ => Arc::new(ChannelHub::new(id.clone(), *owner)),
            };
            hub.set_limits(
                entry.limits.rate.unwrap_or(config.channel_rate),
                entry
                    .limits
                    .queue_bytes
                    .unwrap_or(config.queue_limits.max_bytes),
            );
            hubs.insert(id.clone(), hub);
        }
    }
    hubs
}

impl Inner {
    /// The hub of a channel a current token owns.
    pub(crate) fn hub(&self, id: &ChannelId) -> Option<Arc<ChannelHub>> {
        let hubs = self.hubs.read().unwrap_or_else(PoisonError::into_inner);
        hubs.get(id).cloned()
    }

    /// The channel ids of `token`, the default first; `None` for an unknown token.
    pub(crate) fn token_channels(&self, token: &str) -> Option<Vec<ChannelId>> {
        let tokens = self.tokens.read().unwrap_or_else(PoisonError::into_inner);
        let entry = tokens.lookup(token)?;
        Some(entry.channels.iter().map(|(_, id)| id.clone()).collect())
    }
}

impl Relay {
    /// Makes `tokens` the accepted set, without a restart. Blocking for as
    /// long as the revoked channels' queues take to empty.
    pub fn reload_tokens(&self, tokens: TokenSet) -> Result<TokenReload, RelayError> {
        let inner = &self.inner;
        let count = tokens.len();
        let (removed, added) = {
            let mut hubs = inner.hubs.write().unwrap_or_else(PoisonError::into_inner);
            let new = hubs_for(&tokens, &hubs, &inner.config);
            let removed: Vec<Arc<ChannelHub>> = hubs
                .iter()
                .filter(|(id, hub)| !new.get(*id).is_some_and(|n| Arc::ptr_eq(n, hub)))
                .map(|(_, hub)| hub.clone())
                .collect();
            let added = new.keys().filter(|id| !hubs.contains_key(*id)).count();
            // Tokens before hubs are visible: a hello that finds its token finds its hubs.
            *inner.tokens.write().unwrap_or_else(PoisonError::into_inner) = tokens;
            *hubs = new;
            (removed, added)
        };
        let mut report = TokenReload {
            tokens: count,
            channels_added: added,
            channels_removed: removed.len(),
            deliveries_dropped: 0,
        };
        for hub in removed {
            hub.revoked.cancel();
            report.deliveries_dropped += purge(inner, &hub.id)?;
        }
        Ok(report)
    }
}

/// Deletes every queued delivery of `channel`.
fn purge(inner: &Inner, channel: &ChannelId) -> Result<u64, RelayError> {
    let mut dropped = 0;
    loop {
        let batch = inner.queue.read_after(channel, None, PURGE_BATCH)?;
        if batch.is_empty() {
            return Ok(dropped);
        }
        for entry in batch {
            if inner.queue.remove(channel, entry.seq, entry.id)? {
                inner.metrics.dropped(DropReason::Revoked);
                dropped += 1;
            }
        }
    }
}
