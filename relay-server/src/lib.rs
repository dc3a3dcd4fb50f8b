//! hookline-relay: accepts webhooks on public per-channel URLs, keeps them in a
//! durable per-channel queue and streams them to the channel's client over a
//! WebSocket, passing the local app's answer back to the sender.
//!
//! Follow a delivery through the files: `server` (accept loop) → `ingress`
//! (read, record) → `queue` (durable) → `hub` (wake the session, wait for the
//! answer) → `session` (handshake) → `subscription` (WebSocket out, acks in) → `respond` (back to the sender).
//! Guards against hostile peers: `conn_limits` (connections per listener and
//! per source address), `channel_limits` (requests per second and queued
//! bytes per channel), `deadline` (the whole-request deadline), `refusals`
//! (failed handshakes per address, summarised logging), `proxies` (who may
//! speak for senders) and `data_dir` (owner-only storage).

#![forbid(unsafe_code)]

pub mod acme;
mod channel_limits;
pub mod cluster;
mod commit;
mod config;
mod conn_limits;
mod data_dir;
mod deadline;
mod duration;
mod error;
mod gaps;
mod handshake;
mod hub;
mod ids;
mod ingress;
mod io;
mod metrics;
mod ops;
mod proxies;
mod public_url;
pub mod queue;
mod refusals;
mod refused_senders;
mod relay;
mod reload;
mod respond;
mod server;
mod session;
mod subscription;
#[cfg(test)]
mod subscription_tests;
mod tls;
mod token_file;
mod token_watch;
mod tokens;

pub use channel_limits::ChannelLimits;
pub use config::{Heartbeat, OfflineMode, QueueLimits, RelayConfig};
pub use duration::parse_duration;
pub use error::RelayError;
pub use proxies::{IpNet, IpNetError};
pub use relay::Relay;
pub use reload::TokenReload;
pub use session::CLIENT_MESSAGE_LIMIT;
pub use subscription::MAX_IN_FLIGHT;
pub use tls::load_tls;
pub use token_file::{Added, TokenAdminError, TokenListing, add_token, list_tokens, revoke_token};
pub use token_watch::{TOKENS_POLL_EVERY, load_tokens_file, watch_tokens};
pub use tokens::{TokenFileError, TokenSet, new_token};
