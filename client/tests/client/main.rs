//! Tests of the hookline client through its library and its binary: one
//! test binary with a module per file (one link, not one per file).

mod cli_support;
mod store_support;
mod tui_support;

mod cli_export;
mod cli_ids;
mod cli_list;
mod cli_messages;
mod control_limits;
mod forward_https;
mod hostile_text;
mod listen_relay_errors;
mod store_api;
mod store_bench;
mod store_control;
mod store_retries;
mod tui_keys;
mod tui_live;
mod tui_scale;
mod tui_screens;
mod vectors;
mod verify_cli;
