//! `hookline prune`: delete old deliveries now, by age or count (the
//! listener also applies its retention policy in the background).

use std::process::ExitCode;
use std::time::Duration;

use super::StoreArgs;
use super::list::open_store;
use crate::store::time::parse_duration;

/// Delete old deliveries by age and/or count. At least one rule is needed:
/// deleting is not undone, so a bare `prune` guesses nothing (the listener
/// already prunes in the background by its --keep and --max-age).
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("rule").required(true).multiple(true).args(["older_than", "keep"]))]
pub struct PruneArgs {
    /// Delete deliveries received longer ago than DURATION (30m, 12h, 7d, 2w).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub older_than: Option<Duration>,
    /// Keep only the newest N deliveries.
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl PruneArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let access = open_store(&self.store).await?;
        let removed = access.prune(self.older_than, self.keep).await?;
        access.flush().await?;
        let left = access.counts().await?.total;
        println!("pruned {removed} deliveries; {left} left");
        Ok(ExitCode::SUCCESS)
    }
}
