//! What `listen` prints: a startup block, one line per delivery, connection
//! changes once each — as text for people or JSON lines for scripts.

use std::io::Write;

use hookline_protocol::Delivery;
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::connection::{ConnectionState, Refusal};

use crate::clock::format_hms;
use crate::escape::{Lines, for_terminal};
use crate::model::{Attempt, Outcome, Verdict, event_type};

/// How output is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Lines for people.
    Text,
    /// One JSON object per line.
    Json,
    /// Nothing on stdout (the TUI draws instead); errors still go to the log.
    Quiet,
}

/// What happened to one delivery.
#[derive(Debug, Clone)]
pub struct Report {
    pub at_ms: u64,
    pub id: String,
    pub event: Option<String>,
    pub method: String,
    pub path: String,
    pub verdict: Verdict,
    pub action: &'static str,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_us: Option<u64>,
    pub retry: u32,
}

impl Report {
    fn base(delivery: &Delivery, verdict: &Verdict, action: &'static str) -> Self {
        Self {
            at_ms: delivery.received_at_ms,
            id: delivery.id.to_string(),
            event: event_type(&delivery.headers, &delivery.body),
            method: delivery.method.clone(),
            path: if delivery.path.is_empty() {
                "/".into()
            } else {
                delivery.path.clone()
            },
            verdict: verdict.clone(),
            action,
            status: None,
            error: None,
            duration_us: None,
            retry: 0,
        }
    }

    pub fn forwarded(
        delivery: &Delivery,
        verdict: &Verdict,
        attempt: &Attempt,
        retry: u32,
    ) -> Self {
        let mut report = Self::base(delivery, verdict, "forwarded");
        report.at_ms = attempt.at_ms;
        report.duration_us = Some(attempt.duration_us);
        report.retry = retry;
        match &attempt.outcome {
            Outcome::Response { status, .. } => report.status = Some(*status),
            Outcome::Error { message } => report.error = Some(message.clone()),
        }
        report
    }

    pub fn rejected(delivery: &Delivery, verdict: &Verdict) -> Self {
        let mut report = Self::base(delivery, verdict, "rejected");
        report.status = Some(401);
        report
    }

    pub fn filtered(delivery: &Delivery, verdict: &Verdict) -> Self {
        Self::base(delivery, verdict, "filtered")
    }

    /// Stored and not forwarded: no route of the config file took it.
    pub fn unrouted(delivery: &Delivery, verdict: &Verdict) -> Self {
        Self::base(delivery, verdict, "unrouted")
    }

    /// Automatic retry `retry` came due and was not sent: a replay took its place.
    pub fn superseded(delivery: &Delivery, verdict: &Verdict, retry: u32) -> Self {
        let mut report = Self::base(delivery, verdict, "superseded");
        report.at_ms = crate::clock::now_ms();
        report.retry = retry;
        report
    }

    /// One line for people. The event type, method and path are the
    /// sender's, so the finished line is escaped for the terminal.
    fn text(&self) -> String {
        let event = self.event.as_deref().unwrap_or("-");
        let outcome = match (&self.status, &self.error) {
            (_, Some(error)) => format!("→ error: {error}"),
            (Some(status), None) => format!("→ {status}"),
            (None, None) if self.action == "superseded" => {
                "→ not retried: a replay took its place".to_owned()
            }
            (None, None) if self.action == "filtered" => {
                let why = if self.event.is_some() {
                    "the event type does not match --events"
                } else {
                    "no event type to match --events"
                };
                format!("→ stored, not forwarded: {why}")
            }
            (None, None) if self.action == "unrouted" => {
                "→ stored, not forwarded: no route matched".to_owned()
            }
            (None, None) => format!("→ {}", self.action),
        };
        let took = self
            .duration_us
            .map(|us| format!(" {:.1} ms", us as f64 / 1000.0))
            .unwrap_or_default();
        let retry = if self.retry > 0 {
            format!(" (retry {})", self.retry)
        } else {
            String::new()
        };
        let line = format!(
            "{}  {event:<20} {} {:<16} {}  {} {outcome}{took}{retry}",
            format_hms(self.at_ms),
            self.method,
            self.path,
            self.id,
            self.verdict.describe(),
        );
        for_terminal(line, Lines::One)
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "type": "delivery",
            "at_ms": self.at_ms,
            "id": self.id,
            "event": self.event,
            "method": self.method,
            "path": self.path,
            "verdict": self.verdict.kind().as_str(),
            "verdict_detail": self.verdict.describe(),
            "action": self.action,
            "status": self.status,
            "error": self.error,
            "duration_ms": self.duration_us.map(|us| us as f64 / 1000.0),
            "retry": self.retry,
        })
    }
}

/// What the startup block says.
#[derive(Debug)]
pub struct Startup<'a> {
    pub public_url: &'a str,
    pub forward: String,
    pub relay: String,
    pub data_dir: &'a std::path::Path,
    pub secrets: usize,
    /// The secret is the data dir's development secret, not a provider's.
    pub development_secret: bool,
    pub scheme: String,
}

/// Writes reports in the chosen format. Cheap to clone.
#[derive(Debug, Clone, Copy)]
pub struct Reporter {
    format: OutputFormat,
}

impl Reporter {
    pub fn new(format: OutputFormat) -> Self {
        Self { format }
    }

    /// Whether reports are printed at all; building one is not free, so the
    /// pipeline asks first.
    pub fn wants_reports(&self) -> bool {
        self.format != OutputFormat::Quiet
    }

    pub fn report(&self, report: Report) {
        match self.format {
            OutputFormat::Text => self.line(&report.text()),
            OutputFormat::Json => self.line(&report.json().to_string()),
            OutputFormat::Quiet => {}
        }
    }

    /// A notice about the session itself (startup, connection changes).
    /// Relay messages end up in them, so they are escaped too.
    pub fn notice(&self, text: &str, json: serde_json::Value) {
        match self.format {
            OutputFormat::Text => self.line(&for_terminal(text, Lines::Kept)),
            OutputFormat::Json => self.line(&json.to_string()),
            OutputFormat::Quiet => tracing::info!("{text}"),
        }
    }

    /// The startup block: always the first thing on stdout (scripts read
    /// `public_url` from the first JSON line), so it is written before any
    /// delivery is handled.
    pub fn started(&self, startup: &Startup<'_>) {
        let secrets = match startup.secrets {
            0 => "no secret set: signatures are not checked (use --secret)".to_owned(),
            _ if startup.development_secret => format!(
                "development secret (`hookline secret` prints it; --secret for a provider's), scheme {}",
                startup.scheme
            ),
            n => format!("{n} secret(s), scheme {}", startup.scheme),
        };
        let text = format!(
            "hookline is listening\n  \
             public URL  {}\n  \
             forward to  {}\n  \
             relay       {}\n  \
             store       {}\n  \
             signatures  {secrets}\n\
             Register the public URL as the webhook endpoint; Ctrl-C stops.",
            startup.public_url,
            startup.forward,
            startup.relay,
            startup.data_dir.display(),
        );
        self.notice(
            &text,
            json!({
                "type": "started",
                "public_url": startup.public_url,
                "forward": startup.forward,
                "data_dir": startup.data_dir,
                "relay": startup.relay,
                "secret": startup.secrets > 0,
                "development_secret": startup.development_secret,
                "scheme": startup.scheme,
            }),
        );
    }

    /// Something the user should know on stderr (stdout stays for the
    /// startup line and the deliveries that scripts read).
    pub fn warn(&self, message: String) {
        match self.format {
            OutputFormat::Quiet => tracing::warn!("{message}"),
            _ => eprintln!("warning: {message}"),
        }
    }

    /// A warning on stderr that scripts reading `--output json` also get,
    /// as `json` on stdout.
    pub fn warn_with(&self, message: String, json: serde_json::Value) {
        if self.format == OutputFormat::Json {
            self.line(&json.to_string());
        }
        self.warn(message);
    }

    /// Something went wrong that the user should see; never fatal by itself.
    pub fn error(&self, message: String) {
        match self.format {
            OutputFormat::Quiet => tracing::error!("{message}"),
            _ => eprintln!("error: {message}"),
        }
    }

    fn line(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        // A closed stdout (piped into `head`) must not stop the listener.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// Prints each change of connection state once, not every retry.
pub async fn report_state_changes(
    mut state: watch::Receiver<ConnectionState>,
    mut refusals: mpsc::UnboundedReceiver<Refusal>,
    reporter: Reporter,
    link: crate::connection::LiveLink,
    shutdown: CancellationToken,
) {
    let mut was_connected = true;
    loop {
        tokio::select! {
            changed = state.changed() => if changed.is_err() { return },
            Some(refusal) = refusals.recv() => {
                link.note_refused(&refusal.reason, refusal.count);
                report_refusal(&reporter, &refusal);
                continue;
            }
            () = shutdown.cancelled() => return,
        }
        let current = state.borrow_and_update().clone();
        match current {
            ConnectionState::Connected { public_url, .. } if !was_connected => {
                was_connected = true;
                reporter.notice(
                    &format!("reconnected to the relay; posting to {public_url}"),
                    json!({"type": "connection", "state": "connected", "public_url": public_url}),
                );
            }
            ConnectionState::Reconnecting { after, error } if was_connected => {
                was_connected = false;
                reporter.notice(
                    &format!(
                        "lost the relay ({error}); reconnecting in {:.1}s and on",
                        after.as_secs_f64()
                    ),
                    json!({"type": "connection", "state": "reconnecting", "error": error}),
                );
            }
            _ => {}
        }
    }
}

/// One line for what the relay refused, so the developer learns what the
/// sender saw (the relay sends at most one per reason per second).
fn report_refusal(reporter: &Reporter, refusal: &Refusal) {
    let Refusal {
        status,
        reason,
        count,
        message,
    } = refusal;
    let requests = if *count == 1 { "request" } else { "requests" };
    reporter.notice(
        &format!("the relay refused {count} {requests} to this channel with {status} ({reason}): {message}"),
        json!({"type": "refused", "status": status, "reason": reason, "count": count, "message": message}),
    );
}
