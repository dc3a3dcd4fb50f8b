//! `hookline import`: deliveries written by `hookline export --format jsonl`
//! read back into the store, from a file or stdin, all or nothing.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use hookline_protocol::body_sha256_hex;

use super::StoreArgs;
use super::list::open_or_create_store;
use crate::control::MAX_LINE_BYTES;
use crate::model::StoredDelivery;

/// Bytes looked at to recognise a file that is not JSON lines.
const SNIFF_BYTES: usize = 4096;

/// Read deliveries exported with `hookline export --format jsonl` back into
/// the store; ones already stored (same id) are skipped.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The JSON lines file to read, or `-` for stdin
    /// (`ssh box hookline export | hookline import -`).
    pub file: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl ImportArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let data_dir = crate::data_dir::prepare(self.store.data_dir.as_deref())?;
        // Stdin can be read once; it is kept in the data dir (owner-only)
        // so that the file can be checked whole before anything is stored.
        let spool = (self.file.as_os_str() == "-")
            .then(|| Spool::from_stdin(&data_dir))
            .transpose()?;
        let (path, name) = match &spool {
            Some(spool) => (spool.path.clone(), "stdin".to_owned()),
            None => (self.file.clone(), self.file.display().to_string()),
        };
        refuse_other_formats(&path, &name)?;
        // Check every line before storing any, so a bad file imports nothing.
        let mut reader = RecordReader::open(&path, &name)?;
        let mut total = 0usize;
        while let Some(record) = reader.next_record()? {
            if let Record::Fixture(fixture) = record {
                crate::fixtures::check_name(&fixture.name)
                    .with_context(|| format!("{name} line {}", reader.line_no))?;
            } else {
                total += 1;
            }
        }
        let access = open_or_create_store(&self.store).await?;
        let fixtures = crate::fixtures::Fixtures::in_data_dir(&data_dir);
        let mut reader = RecordReader::open(&path, &name)?;
        let (mut added, mut kept, mut existing) = (0usize, 0usize, 0usize);
        while let Some(record) = reader.next_record()? {
            match record {
                Record::Delivery(stored) => added += usize::from(access.import(&stored).await?),
                // A fixture of the same name here is the user's: kept.
                Record::Fixture(fixture) => match fixtures.save(&fixture, false) {
                    Ok(()) => kept += 1,
                    Err(crate::fixtures::FixtureError::Exists(_)) => existing += 1,
                    Err(err) => return Err(err.into()),
                },
            }
        }
        access.flush().await?;
        println!(
            "imported {added} deliveries ({} already stored)",
            total - added
        );
        if kept + existing > 0 {
            println!(
                "imported {kept} fixtures ({existing} with names already taken, kept as they were)"
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Fails with a useful word when the file is another export format (HAR,
/// a curl script) or one pretty-printed record, rather than "line 1: not a
/// hookline delivery" (or, for a one-line HAR, "line too long").
fn refuse_other_formats(path: &Path, name: &str) -> anyhow::Result<()> {
    let mut head = Vec::new();
    File::open(path)
        .with_context(|| format!("cannot read {name}"))?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {name}"))?;
    let text = String::from_utf8_lossy(&head);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.starts_with("{\"log\":") {
        bail!(
            "{name} is a HAR file, which import does not read: HAR keeps neither delivery ids nor \
             signature verdicts, and may not keep body bytes exactly. Import reads the JSON lines \
             of `hookline export --format jsonl`"
        );
    }
    if text.starts_with("#!") || text.trim_start().starts_with("curl ") {
        bail!(
            "{name} is a shell script (like `hookline export --format curl` writes): run it to \
             send its requests again. Import reads the JSON lines of `hookline export --format jsonl`"
        );
    }
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first_line.trim() == "{" {
        bail!(
            "{name} holds JSON spread over several lines (like `hookline show --json`); import \
             reads one delivery per line, as `hookline export --format jsonl` writes them"
        );
    }
    Ok(())
}

/// Stdin copied to an owner-only file in the data dir, removed when dropped.
struct Spool {
    path: PathBuf,
}

impl Spool {
    fn from_stdin(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join(format!(".import-{}.jsonl", std::process::id()));
        let mut file = crate::data_dir::create_owner_only(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let spool = Self { path };
        io::copy(&mut io::stdin().lock(), &mut file)
            .and_then(|_| file.flush())
            .context("cannot read the deliveries from stdin")?;
        Ok(spool)
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One line of an export.
enum Record {
    Delivery(StoredDelivery),
    Fixture(crate::fixtures::Fixture),
}

/// A fixture's line: `{"fixture": {…}}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureLine {
    fixture: crate::fixtures::Fixture,
}

/// Reads a JSON lines export one bounded line at a time.
struct RecordReader {
    name: String,
    lines: BufReader<File>,
    line_no: usize,
}

impl RecordReader {
    fn open(path: &Path, name: &str) -> anyhow::Result<Self> {
        let file = File::open(path).with_context(|| format!("cannot read {name}"))?;
        Ok(Self {
            name: name.to_owned(),
            lines: BufReader::new(file),
            line_no: 0,
        })
    }

    /// The next record; blank lines are skipped, anything else unreadable
    /// is an error naming the line.
    fn next_record(&mut self) -> anyhow::Result<Option<Record>> {
        loop {
            let mut line = Vec::new();
            let n = (&mut self.lines)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut line)?;
            if n == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            let at = || format!("{} line {}", self.name, self.line_no);
            if line.len() > MAX_LINE_BYTES {
                bail!("{}: longer than {MAX_LINE_BYTES} bytes", at());
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if let Ok(line) = serde_json::from_slice::<FixtureLine>(&line) {
                return Ok(Some(Record::Fixture(line.fixture)));
            }
            let stored: StoredDelivery = serde_json::from_slice(&line)
                .with_context(|| format!("{}: not a hookline delivery", at()))?;
            if body_sha256_hex(&stored.delivery.body) != stored.delivery.body_sha256 {
                bail!(
                    "{}: the body does not match its body_sha256 (edited or damaged)",
                    at()
                );
            }
            return Ok(Some(Record::Delivery(stored)));
        }
    }
}
