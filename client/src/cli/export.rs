//! `hookline export`: JSON lines (which `hookline import` reads back), HAR
//! or a curl script. Output goes to a temporary file renamed into place, so
//! a failed export never leaves half a file behind.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use hookline_protocol::DeliveryId;

use super::StoreArgs;
use super::list::{FilterArgs, finish, for_each_summary, open_store};
use crate::control::StoreAccess;

use crate::export::{curl, har};

/// What `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One stored delivery (request, verdict, attempts) per line, then the
    /// saved fixtures as `{"fixture": …}` lines (unless ids are named);
    /// `hookline import` reads both back.
    Jsonl,
    /// HAR 1.2, for browser devtools and HTTP tools: each request with the app's last response.
    Har,
    /// A POSIX shell script of curl commands that resend each request byte for byte.
    Curl,
}

/// Write stored deliveries out, oldest first.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Deliveries to export: `latest`, `latest~N`, ids, or unique starts or
    /// ends of ids (the ID and SHORT columns of `hookline list`), in the
    /// order given. Without them, every delivery the filters match.
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Export only the newest N matching deliveries (0: all).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub limit: usize,
    /// Write to FILE instead of stdout (replaced only once the export is complete).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// For `--format curl`: send to URL plus each delivery's path and query,
    /// instead of the URL each delivery was forwarded to.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl ExportArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        if let Some(to) = &self.to {
            if !(to.starts_with("http://") || to.starts_with("https://")) {
                bail!("--to {to:?} is not an http:// or https:// URL");
            }
        }
        let access = open_store(&self.store).await?;
        let ids = self.matching_ids(&access).await?;
        match &self.output {
            Some(path) => {
                let mut file = AtomicFile::create(path)?;
                let written = self.write(&access, &ids, file.writer()).await;
                written.and_then(|()| file.commit())?;
                eprintln!("exported {} deliveries to {}", ids.len(), path.display());
                Ok(ExitCode::SUCCESS)
            }
            None => {
                let stdout = io::stdout();
                let mut out = BufWriter::new(stdout.lock());
                finish(
                    self.write(&access, &ids, &mut out)
                        .await
                        .and_then(|()| Ok(out.flush()?)),
                )
            }
        }
    }

    /// Ids only (16 bytes each), oldest first, so the export is chronological
    /// and memory holds one delivery at a time.
    async fn matching_ids(&self, access: &StoreAccess) -> anyhow::Result<Vec<DeliveryId>> {
        let mut ids = Vec::new();
        if !self.ids.is_empty() {
            for given in &self.ids {
                ids.push(access.resolve(given).await?);
            }
            return Ok(ids);
        }
        for_each_summary(access, self.filter.to_filter()?, self.limit, async |s| {
            ids.push(s.id);
            Ok(())
        })
        .await?;
        ids.reverse();
        Ok(ids)
    }

    async fn write(
        &self,
        access: &StoreAccess,
        ids: &[DeliveryId],
        out: &mut dyn Write,
    ) -> anyhow::Result<()> {
        match self.format {
            Format::Har => har::begin(out)?,
            Format::Curl => curl::begin(out, ids.len())?,
            Format::Jsonl => {}
        }
        for (n, id) in ids.iter().enumerate() {
            // Deleted since the listing (retention, another command): skip it.
            let Some(stored) = access.get(*id).await? else {
                continue;
            };
            match self.format {
                Format::Jsonl => {
                    serde_json::to_writer(&mut *out, &stored)?;
                    writeln!(out)?;
                }
                Format::Har => har::entry(out, &stored, n == 0)?,
                Format::Curl => curl::command(out, &stored, self.to.as_deref())?,
            }
        }
        if self.format == Format::Har {
            har::end(out)?;
        }
        if self.format == Format::Jsonl && self.ids.is_empty() {
            let data_dir = crate::data_dir::resolve(self.store.data_dir.as_deref())?;
            for fixture in crate::fixtures::Fixtures::in_data_dir(&data_dir).list()? {
                serde_json::to_writer(&mut *out, &serde_json::json!({ "fixture": fixture }))?;
                writeln!(out)?;
            }
        }
        Ok(())
    }
}

/// A file written under a temporary name and renamed over the target only
/// when complete; dropped uncommitted, it removes itself.
struct AtomicFile {
    tmp: PathBuf,
    target: PathBuf,
    out: BufWriter<File>,
    done: bool,
}

impl AtomicFile {
    fn create(target: &Path) -> anyhow::Result<Self> {
        let name = target
            .file_name()
            .context("--output needs a file name")?
            .to_string_lossy();
        let tmp = target.with_file_name(format!(".{name}.{}.partial", std::process::id()));
        let file = File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
        Ok(Self {
            tmp,
            target: target.to_path_buf(),
            out: BufWriter::new(file),
            done: false,
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        &mut self.out
    }

    fn commit(&mut self) -> anyhow::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        std::fs::rename(&self.tmp, &self.target)
            .with_context(|| format!("cannot write {}", self.target.display()))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
