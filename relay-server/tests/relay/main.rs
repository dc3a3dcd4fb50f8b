//! End-to-end tests of the relay over real sockets: one test binary, grouped by concern.

mod acme;
mod auth;
mod binary;
mod cluster;
mod cluster_kill;
mod cluster_limits;
mod cluster_tokens;
mod delivery;
mod deploy;
mod hostile;
mod modes;
mod rate_limits;
mod refusals;
mod sessions;
mod support;
mod token_reload;
mod transport;
