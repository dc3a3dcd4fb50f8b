//! `hookline status`: the state of the pipe — connected or not and since
//! when, the URLs, the last delivery, what waits, retries, recent failures,
//! gaps and the store's size — from the running listener over its control
//! socket, or from the store when none runs. Exits 0 when connected and 3
//! when not, so scripts can wait on it; `--url` prints just the public URL,
//! for `curl "$(hookline status --url)"`.

use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::json;

use super::StoreArgs;
use crate::control::{ControlClient, PipeStatus, Request, socket_path};
use crate::last_listen::LastListen;
use crate::store::Store;
use crate::store::time::{format_span, format_utc};

/// The exit code when no listener is connected to its relay.
const NOT_CONNECTED: u8 = 3;

/// Show the state of the pipe; exit 0 when connected to the relay, 3 when not.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Print only the running listener's public URL (fails when none runs).
    #[arg(long)]
    pub url: bool,
    /// Print one JSON object: `connected` (bool), `gaps` (a list of
    /// {count, first, last, reason}) and the rest of what the text shows.
    #[arg(long, conflicts_with = "url")]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl StatusArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let data_dir = crate::data_dir::resolve(self.store.data_dir.as_deref())?;
        let socket = socket_path(&data_dir);
        // A listener answers on its control socket; the file alone may be
        // left over from a crash.
        let client = match socket.exists() {
            true => ControlClient::connect(&socket).await.ok(),
            false => None,
        };
        let pid = client.as_ref().map(|c| c.hello().pid);
        let last = LastListen::load(&data_dir);
        if self.url {
            return match (pid, last) {
                (Some(_), Some(last)) => {
                    println!("{}", last.public_url);
                    Ok(ExitCode::SUCCESS)
                }
                _ => bail!(
                    "no `hookline listen` is running with the data dir {}: start one \
                     (hookline listen --forward URL) and its public URL is printed here",
                    data_dir.display()
                ),
            };
        }
        let status = match &client {
            Some(client) => client
                .call::<PipeStatus>(&Request::Status)
                .await
                .context("asking the running listener for its status")?,
            None => PipeStatus {
                link: None,
                store: Store::open(&data_dir)
                    .context("reading the store for its status")?
                    .health(crate::clock::now_ms())?,
            },
        };
        let connected = status.link.as_ref().is_some_and(|l| l.connected);
        let now = crate::clock::now_ms();
        if self.json {
            println!("{}", to_json(&status, pid, last.as_ref(), &data_dir, now));
        } else {
            print_text(&status, pid, last.as_ref(), &data_dir, now);
        }
        Ok(match connected {
            true => ExitCode::SUCCESS,
            false => ExitCode::from(NOT_CONNECTED),
        })
    }
}

fn to_json(
    status: &PipeStatus,
    pid: Option<u32>,
    last: Option<&LastListen>,
    data_dir: &std::path::Path,
    now: u64,
) -> serde_json::Value {
    let link = status.link.as_ref();
    let store = &status.store;
    let gaps: Vec<_> = store
        .gaps
        .iter()
        .map(|g| {
            json!({"count": g.count, "first": g.first_seq, "last": g.last_seq,
                   "reason": g.reason, "noticed_at_ms": g.noticed_at_ms})
        })
        .collect();
    json!({
        "connected": link.is_some_and(|l| l.connected),
        "dropped": dropped_by_reason(&store.gaps),
        "refused": link.map(|l| l.refused.clone()).unwrap_or_default(),
        "state": link.map_or("not running", |l| l.state.as_str()),
        "listener_pid": pid,
        "since_ms": link.map(|l| l.since_ms),
        "reconnect_in_ms": link.and_then(|l| l.reconnect_in_ms),
        "error": link.and_then(|l| l.error.clone()),
        "relay_url": link.map(|l| l.relay_url.clone()),
        "public_url": link.and_then(|l| l.public_url.clone()).or(last.map(|l| l.public_url.clone())),
        "forward": last.map(|l| l.forward.clone()),
        "last_delivery_ms": store.last_delivery_ms,
        "last_delivery_age_secs": store.last_delivery_ms.map(|ms| now.saturating_sub(ms) / 1000),
        "waiting_to_forward": store.waiting_to_forward,
        "retries_pending": store.retries_pending,
        "failed_last_hour": store.failed_last_hour,
        "gaps": gaps,
        "store_bytes": store.store_bytes,
        "data_dir": data_dir.display().to_string(),
    })
}

fn print_text(
    status: &PipeStatus,
    pid: Option<u32>,
    last: Option<&LastListen>,
    data_dir: &std::path::Path,
    now: u64,
) {
    let store = &status.store;
    let ago = |ms: u64| format_span(now.saturating_sub(ms));
    match (&status.link, pid) {
        (Some(link), _) => {
            let state = match (link.state.as_str(), link.reconnect_in_ms) {
                ("reconnecting", Some(ms)) => {
                    format!("reconnecting in {}s", ms.div_ceil(1000))
                }
                (state, _) => state.to_owned(),
            };
            println!(
                "connection  {state} since {} ({} ago)",
                format_utc(link.since_ms),
                ago(link.since_ms)
            );
            if let Some(error) = &link.error {
                println!(
                    "            last error: {}",
                    crate::escape::for_terminal(error, crate::escape::Lines::One)
                );
            }
            println!("relay       {}", link.relay_url);
        }
        (None, Some(pid)) => println!("connection  unknown (listener pid {pid} is older)"),
        (None, None) => println!("connection  no listener running"),
    }
    let public = status.link.as_ref().and_then(|l| l.public_url.clone());
    match (public, last) {
        (Some(url), _) => println!("public URL  {url}"),
        (None, Some(last)) => println!("last URL    {}", last.public_url),
        (None, None) => {}
    }
    if let Some(last) = last {
        println!("forward to  {}", last.forward);
    }
    match store.last_delivery_ms {
        Some(ms) => println!("last        delivery {} ago ({})", ago(ms), format_utc(ms)),
        None => println!("last        no delivery yet"),
    }
    println!(
        "pending     {} waiting to forward, {} retr{} in progress, {} failed in the last hour",
        store.waiting_to_forward,
        store.retries_pending,
        if store.retries_pending == 1 {
            "y"
        } else {
            "ies"
        },
        store.failed_last_hour
    );
    if store.gaps.is_empty() {
        println!("gaps        none");
    }
    for gap in &store.gaps {
        println!("gap         {}", gap.describe());
    }
    let dropped = dropped_by_reason(&store.gaps);
    if !dropped.is_empty() {
        println!(
            "dropped     {} by the relay after accepting",
            by_reason(&dropped)
        );
    }
    if let Some(link) = status.link.as_ref().filter(|l| !l.refused.is_empty()) {
        println!(
            "refused     {} senders since the listener started",
            by_reason(&link.refused)
        );
    }
    println!(
        "store       {} ({:.1} MiB)",
        data_dir.display(),
        store.store_bytes as f64 / (1024.0 * 1024.0)
    );
}

/// Deliveries the relay dropped after accepting them, by reason, from the gaps it reported.
fn dropped_by_reason(gaps: &[crate::store::GapRecord]) -> std::collections::BTreeMap<String, u64> {
    let mut dropped = std::collections::BTreeMap::new();
    for gap in gaps {
        *dropped.entry(gap.reason.clone()).or_default() += gap.count;
    }
    dropped
}

/// `12 (age), 3 (queue_full)`.
fn by_reason(counts: &std::collections::BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .map(|(reason, n)| {
            format!(
                "{n} ({})",
                crate::escape::for_terminal(reason, crate::escape::Lines::One)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
