//! `hookline show`: one delivery in full — request, signature verdict, body
//! hashes, and every attempt with the app's answer.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use hookline_protocol::Header;

use super::StoreArgs;
use super::list::{finish, open_store, retry_in};
use crate::escape::{Lines, for_terminal};
use crate::model::{Attempt, AttemptKind, Outcome, StoredDelivery};
use crate::store::render::render_body;
use crate::store::time::{format_utc, now_ms};
use crate::store::{RetrySchedule, Summary};

/// Bytes of a binary body shown as hex on a terminal.
const MAX_DUMP: usize = 4096;

/// Lines of the request body in the full view (`--body` shows them all).
const MAX_BODY_LINES: usize = 200;

/// Bytes of rendered request body in the full view.
const MAX_BODY_CHARS: usize = 32 * 1024;

/// Bytes of an app's response body shown per attempt.
const MAX_RESPONSE_SHOWN: usize = 2048;

/// Show one delivery: request, verdict, body and every attempt.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The delivery: `latest`, `latest~N` (N before the newest), its id, or
    /// the start or the end of its id as `hookline list` shows them (ID and
    /// SHORT columns); any unique part works.
    pub id: String,
    /// Only the body. Piped or redirected, the exact bytes are written, so
    /// `hookline show ID --body > body.bin` keeps a binary body intact.
    #[arg(long, conflicts_with_all = ["headers", "attempts", "json"])]
    pub body: bool,
    /// Only the request headers, in the order received.
    #[arg(long, conflicts_with_all = ["attempts", "json"])]
    pub headers: bool,
    /// Only the attempts (forwards, retries, replays) with the app's answers.
    #[arg(long, conflicts_with = "json")]
    pub attempts: bool,
    /// The whole stored record as JSON (body in base64).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl ShowArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let access = open_store(&self.store).await?;
        let id = access.resolve(&self.id).await?;
        let stored = access
            .get(id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("delivery {id} was deleted meanwhile"))?;
        let retry = access.retry_schedule(id).await?;
        let stdout = io::stdout();
        let raw = !stdout.is_terminal();
        let mut out = io::BufWriter::new(stdout.lock());
        finish(
            self.print(&stored, retry, raw, &mut out)
                .and_then(|()| Ok(out.flush()?)),
        )
    }

    fn print(
        &self,
        stored: &StoredDelivery,
        retry: Option<RetrySchedule>,
        raw: bool,
        out: &mut impl Write,
    ) -> anyhow::Result<()> {
        let d = &stored.delivery;
        if self.json {
            // Each target's share next to the record, as `list` sums it up.
            let mut value = serde_json::to_value(stored)?;
            value["targets"] = serde_json::to_value(Summary::of(stored).targets)?;
            serde_json::to_writer_pretty(&mut *out, &value)?;
            writeln!(out)?;
        } else if self.body && raw {
            out.write_all(&d.body)?;
        } else if self.body {
            writeln!(out, "{}", render_body(&d.body, MAX_DUMP))?;
        } else if self.headers {
            print_headers(out, &d.headers, "")?;
        } else if self.attempts {
            print_attempts(out, stored, retry)?;
        } else {
            print_all(out, stored, retry)?;
        }
        Ok(())
    }
}

fn print_all(
    out: &mut impl Write,
    stored: &StoredDelivery,
    retry: Option<RetrySchedule>,
) -> anyhow::Result<()> {
    let d = &stored.delivery;
    let line = |text: &str| for_terminal(text, Lines::One);
    writeln!(
        out,
        "{}",
        line(&format!("{} {}", d.method, d.path_and_query()))
    )?;
    writeln!(out, "id         {}", d.id)?;
    writeln!(
        out,
        "received   {} UTC from {}",
        format_utc(d.received_at_ms),
        line(d.remote_addr.as_deref().unwrap_or("unknown"))
    )?;
    writeln!(out, "url        {}", line(&d.public_url))?;
    writeln!(out, "signature  {}", line(&stored.verdict.describe()))?;
    writeln!(
        out,
        "body       {} bytes, sha256 {} (as received)",
        d.body.len(),
        d.body_sha256
    )?;
    if let Some(last) = stored.attempts.last() {
        let same = if last.sent_body_sha256 == d.body_sha256 {
            "same"
        } else {
            "DIFFERENT"
        };
        writeln!(
            out,
            "           last sent sha256 {} ({same})",
            last.sent_body_sha256
        )?;
    }
    writeln!(out, "\nheaders ({})", d.headers.len())?;
    print_headers(out, &d.headers, "  ")?;
    writeln!(out, "\nbody")?;
    print_cut_body(out, d)?;
    writeln!(out)?;
    print_attempts(out, stored, retry)
}

/// The body in the full view, cut after [`MAX_BODY_LINES`] lines or
/// [`MAX_BODY_CHARS`] bytes of text with a note saying how to see the rest:
/// a 9 MB body would otherwise scroll past for minutes and bury the
/// attempts printed after it.
fn print_cut_body(out: &mut impl Write, d: &hookline_protocol::Delivery) -> anyhow::Result<()> {
    let text = render_body(&d.body, MAX_DUMP);
    let mut end = 0;
    for (lines, line) in text.split_inclusive('\n').enumerate() {
        if lines == MAX_BODY_LINES || end + line.len() > MAX_BODY_CHARS {
            break;
        }
        end += line.len();
    }
    if end == 0 {
        // One line longer than the whole allowance: cut inside it.
        end = MAX_BODY_CHARS.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
    }
    writeln!(out, "{}", text[..end].trim_end_matches('\n'))?;
    if end < text.len() {
        writeln!(
            out,
            "… cut here: the body is {} bytes; `hookline show {} --body` prints all of it",
            d.body.len(),
            d.id
        )?;
    }
    Ok(())
}

fn print_headers(out: &mut impl Write, headers: &[Header], indent: &str) -> anyhow::Result<()> {
    for h in headers {
        writeln!(
            out,
            "{indent}{}: {}",
            for_terminal(&h.name, Lines::One),
            for_terminal(&h.value, Lines::One)
        )?;
    }
    Ok(())
}

/// The attempts, oldest first, with the retry schedule where it belongs: a
/// retry a replay superseded among the attempts at the time it was
/// cancelled, a pending one after them all.
fn print_attempts(
    out: &mut impl Write,
    stored: &StoredDelivery,
    retry: Option<RetrySchedule>,
) -> anyhow::Result<()> {
    if stored.attempts.is_empty() {
        writeln!(out, "attempts: none yet")?;
    } else {
        writeln!(out, "attempts ({})", stored.attempts.len())?;
    }
    print_targets(out, stored)?;
    let superseded = retry.and_then(|r| r.superseded_at_ms.map(|at| (r, at)));
    let mut noted = false;
    for (n, attempt) in stored.attempts.iter().enumerate() {
        if let Some((retry, at)) = superseded
            && !noted
            && attempt.at_ms >= at
        {
            print_superseded(out, retry, at)?;
            noted = true;
        }
        print_attempt(out, n + 1, attempt, &stored.delivery.body_sha256)?;
    }
    match (superseded, retry) {
        (Some((retry, at)), _) if !noted => print_superseded(out, retry, at)?,
        (None, Some(pending)) => writeln!(
            out,
            "  next: automatic retry #{} at {} UTC ({})",
            pending.retry,
            format_utc(pending.due_at_ms),
            retry_in(pending.due_at_ms, now_ms())
        )?,
        _ => {}
    }
    Ok(())
}

/// Each target's last result, for a delivery a route fanned out.
fn print_targets(out: &mut impl Write, stored: &StoredDelivery) -> anyhow::Result<()> {
    let summary = Summary::of(stored);
    let Some(line) = summary.targets_line() else {
        return Ok(());
    };
    writeln!(out, "  targets: {line}")?;
    for target in &summary.targets {
        let status = target
            .last_status
            .map_or_else(|| "error".to_owned(), |s| s.to_string());
        let state = if target.ok() { "ok" } else { "FAILED" };
        writeln!(
            out,
            "    {state:<6} {status:>5}  {} attempt(s)  {}",
            target.attempts,
            for_terminal(&target.target, Lines::One)
        )?;
    }
    Ok(())
}

fn print_superseded(out: &mut impl Write, retry: RetrySchedule, at: u64) -> anyhow::Result<()> {
    writeln!(
        out,
        "  -- automatic retry #{} (due {} UTC) cancelled at {} UTC: superseded by a replay",
        retry.retry,
        format_utc(retry.due_at_ms),
        format_utc(at)
    )?;
    Ok(())
}

fn print_attempt(
    out: &mut impl Write,
    n: usize,
    a: &Attempt,
    received_sha: &str,
) -> anyhow::Result<()> {
    let kind = match a.kind {
        AttemptKind::Forward => "forward".to_owned(),
        AttemptKind::Replay { resigned, edited } => {
            let mut kind = "replay".to_owned();
            if resigned {
                kind.push_str(", re-signed");
            }
            if edited {
                kind.push_str(", edited");
            }
            kind
        }
    };
    let took = a.duration_us as f64 / 1000.0;
    writeln!(
        out,
        "  #{n} {kind}  {} UTC → {}  ({took:.1} ms)",
        format_utc(a.at_ms),
        for_terminal(&a.target, Lines::One)
    )?;
    if a.sent_body_sha256 != received_sha {
        writeln!(
            out,
            "     sent a different body: sha256 {}",
            a.sent_body_sha256
        )?;
    }
    match &a.outcome {
        Outcome::Error { message } => {
            writeln!(out, "     error: {}", for_terminal(message, Lines::One))?;
        }
        Outcome::Response {
            status,
            headers,
            body,
            body_truncated,
        } => {
            let reason = http::StatusCode::from_u16(*status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            writeln!(out, "     HTTP {status} {reason}")?;
            print_headers(out, headers, "     ")?;
            if !body.is_empty() {
                let cut = if *body_truncated {
                    " (truncated when stored)"
                } else {
                    ""
                };
                writeln!(out, "     body, {} bytes{cut}:", body.len())?;
                for line in render_body(body, MAX_RESPONSE_SHOWN).lines().take(40) {
                    writeln!(out, "       {line}")?;
                }
            }
        }
    }
    Ok(())
}
