//! `hookline list`: stored deliveries newest first, as a table or JSON lines,
//! plus the filter flags and store opening the other store commands share.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;

use super::StoreArgs;
use crate::control::StoreAccess;
use crate::escape::{Lines, for_terminal};
use crate::model::VerdictKind;
use crate::store::time::{format_utc, now_ms, parse_since};
use crate::store::{DeliveryStatus, Filter, Glob, ListQuery, MAX_PAGE, SHORT_ID_LEN, Summary};

/// Show stored deliveries, newest first.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Show at most N deliveries (0: all of them, paged through the store).
    #[arg(long, short = 'n', default_value_t = 50, value_name = "N")]
    pub limit: usize,
    /// Print one JSON summary per line instead of a table, for scripts.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Which deliveries a store command works on; every condition must hold.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FilterArgs {
    /// Only event types matching GLOB (`*` any run, `?` one character,
    /// commas for alternatives), e.g. 'email.*'.
    #[arg(long, value_name = "GLOB")]
    pub event: Option<String>,
    /// Only deliveries whose last attempt got a 2xx (ok), got an error or
    /// another status (failed), that have not been attempted (pending), or
    /// whose signature was bad or stale (invalid).
    #[arg(long, value_enum)]
    pub status: Option<DeliveryStatus>,
    /// Only deliveries received in the last DURATION (30m, 2h, 7d) or since
    /// a UTC TIME (2026-05-01, 2026-05-01T14:30Z).
    #[arg(long, value_name = "DURATION|TIME")]
    pub since: Option<String>,
    /// Only deliveries with this signature verdict.
    #[arg(long, value_parser = parse_verdict, value_name = "valid|invalid|stale|unsigned|no-secret")]
    pub verdict: Option<VerdictKind>,
    /// Only deliveries whose last status is in this class: 2, 4, 5 (or 2xx, 4xx, 5xx).
    #[arg(long, value_parser = parse_class, value_name = "CLASS")]
    pub code: Option<u16>,
    /// Only deliveries whose id, event type, method or path contains TEXT
    /// (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
}

impl FilterArgs {
    /// The store filter these flags describe.
    pub fn to_filter(&self) -> anyhow::Result<Filter> {
        let since_ms = self
            .since
            .as_deref()
            .map(|s| parse_since(s, now_ms()))
            .transpose()
            .map_err(anyhow::Error::msg)?;
        Ok(Filter {
            event: self.event.clone().map(Glob::new),
            status: self.status,
            since_ms,
            text: self.grep.clone(),
            verdict: self.verdict,
            status_class: self.code,
        })
    }
}

fn parse_verdict(text: &str) -> Result<VerdictKind, String> {
    use VerdictKind::*;
    [Valid, Invalid, Stale, Unsigned, NoSecret]
        .into_iter()
        .find(|k| k.as_str() == text.to_ascii_lowercase())
        .ok_or_else(|| {
            format!("unknown verdict {text:?}: use valid, invalid, stale, unsigned or no-secret")
        })
}

fn parse_class(text: &str) -> Result<u16, String> {
    let digit = text
        .to_ascii_lowercase()
        .trim_end_matches("xx")
        .parse::<u16>()
        .ok();
    digit
        .filter(|d| (1..=5).contains(d))
        .ok_or_else(|| format!("{text:?} is not a status class: use 2, 4, 5 or 2xx, 4xx, 5xx"))
}

/// Opens the store for a command that reads or changes what is stored
/// (everything but `listen` and `import`): through the listener when one
/// runs, and only where a store already is.
pub(crate) async fn open_store(store: &StoreArgs) -> anyhow::Result<StoreAccess> {
    let dir = crate::data_dir::existing_store(store.data_dir.as_deref())?;
    access(&dir).await
}

/// Opens the store for `import`, creating it (and the data dir) if needed.
pub(crate) async fn open_or_create_store(store: &StoreArgs) -> anyhow::Result<StoreAccess> {
    let dir = crate::data_dir::prepare(store.data_dir.as_deref())?;
    access(&dir).await
}

async fn access(dir: &std::path::Path) -> anyhow::Result<StoreAccess> {
    StoreAccess::open(dir)
        .await
        .with_context(|| format!("cannot open the store in {}", dir.display()))
}

/// A closed pipe (`hookline list | head`) is the reader saying "enough", not
/// a failure.
pub(crate) fn finish(result: anyhow::Result<()>) -> anyhow::Result<ExitCode> {
    match result {
        Err(err)
            if err
                .downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        other => other.map(|()| ExitCode::SUCCESS),
    }
}

/// Calls `each` on every summary matching `filter`, newest first, at most
/// `limit` (0: no limit), fetching a page at a time.
pub(crate) async fn for_each_summary(
    access: &StoreAccess,
    filter: Filter,
    limit: usize,
    mut each: impl AsyncFnMut(Summary) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    let mut query = ListQuery {
        filter,
        before: None,
        limit: 0,
    };
    let mut seen = 0;
    loop {
        let left = if limit == 0 {
            MAX_PAGE
        } else {
            (limit - seen).min(MAX_PAGE)
        };
        if left == 0 {
            return Ok(seen);
        }
        query.limit = left.min(200);
        let page = access.page(&query).await?;
        for summary in page.items {
            seen += 1;
            each(summary).await?;
        }
        match page.next {
            Some(next) => query.before = Some(next),
            None => return Ok(seen),
        }
    }
}

impl ListArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let access = open_store(&self.store).await?;
        let filter = self.filter.to_filter()?;
        let out = io::stdout();
        let mut out = io::BufWriter::new(out.lock());
        finish(self.print(&access, filter, &mut out).await)
    }

    async fn print(
        &self,
        access: &StoreAccess,
        filter: Filter,
        out: &mut impl Write,
    ) -> anyhow::Result<()> {
        if !self.json {
            writeln!(
                out,
                "{:<19}  {:<12}  {:<6}  {:<24}  {:<32}  {:<3}  {:>6}  ATTEMPTS",
                "TIME (UTC)", "ID", "SHORT", "EVENT", "REQUEST", "SIG", "STATUS"
            )?;
        }
        let json = self.json;
        let shown = for_each_summary(access, filter, self.limit, async |s: Summary| {
            if json {
                serde_json::to_writer(&mut *out, &s)?;
                writeln!(out)?;
            } else {
                writeln!(out, "{}", row(&s, now_ms()))?;
            }
            Ok(())
        })
        .await?;
        if !self.json {
            let counts = access.counts().await?;
            writeln!(
                out,
                "{shown} shown; {} stored, {} failed, {} invalid",
                counts.total, counts.failed, counts.invalid
            )?;
        }
        out.flush()?;
        Ok(())
    }
}

/// One table row at time `now_ms`; long fields are cut so columns stay
/// aligned, and the sender's text (event type, method, path) is escaped for
/// the terminal. The id shows twice: its first 12 characters (a prefix, as
/// git abbreviates) and its last [`SHORT_ID_LEN`] (random, so unique in
/// practice even within one millisecond); `show`, `replay` and `export`
/// take either back.
pub fn row(s: &Summary, now_ms: u64) -> String {
    let id = s.id.to_string();
    let request = crate::escape::request_line(&s.method, &s.path);
    let event = s
        .event
        .as_deref()
        .map_or_else(|| "–".to_owned(), |e| for_terminal(e, Lines::One));
    let status = match (s.last_status, s.attempts) {
        (_, 0) => "–".to_owned(),
        (Some(code), _) => code.to_string(),
        (None, _) => "error".to_owned(),
    };
    let mut attempts = match s.replays {
        0 => s.attempts.to_string(),
        n => format!("{} ({n} replayed)", s.attempts),
    };
    if let Some(targets) = s.targets_line() {
        attempts.push_str(&format!(", {targets}"));
    }
    if let Some(due) = s.next_retry_at_ms {
        attempts.push_str(&format!(", {}", retry_in(due, now_ms)));
    }
    format!(
        "{:<19}  {:<12}  {:<6}  {:<24}  {:<32}  {:<3}  {:>6}  {attempts}",
        format_utc(s.received_at_ms),
        &id[..12],
        &id[id.len() - SHORT_ID_LEN..],
        cut(&event, 24),
        cut(&request, 32),
        s.verdict.mark(),
        status,
    )
}

/// `retry in 40s` / `retry in 2m05s`, or `retry due now` once overdue (the
/// listener sends it as soon as it runs).
pub fn retry_in(due_ms: u64, now_ms: u64) -> String {
    let secs = due_ms.saturating_sub(now_ms).div_ceil(1000);
    match secs {
        0 => "retry due now".to_owned(),
        1..60 => format!("retry in {secs}s"),
        _ => format!("retry in {}m{:02}s", secs / 60, secs % 60),
    }
}

fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}
