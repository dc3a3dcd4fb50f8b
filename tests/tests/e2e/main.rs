//! End-to-end tests of hookline: the real relay, client and a local app on
//! loopback, one test binary with a module per concern (one link, not one
//! per file).

mod alerts;
mod app_down;
mod cluster;
mod fixtures;
mod gaps;
mod hostile_peers;
mod kill_restart;
mod readme_quickstart;
mod refusals;
mod refused_requests;
mod replay;
mod replay_edit_signature;
mod replay_supersedes;
mod restart_retries;
mod routes;
mod status;
mod trigger_samples;
mod tunnel;
mod vectors_through_tunnel;
