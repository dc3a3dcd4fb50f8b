//! `hookline secret`: print the development secret, and the rule every
//! command follows to pick the secret it signs with.

use std::path::Path;
use std::process::ExitCode;

use hookline_protocol::Secret;

use super::StoreArgs;

/// Print the development secret: the one `listen` verifies with when no
/// --secret is given, and `trigger` and `replay --resign` sign with. It is
/// made on first use and kept owner-only beside the store.
#[derive(Debug, clap::Args)]
pub struct SecretArgs {
    #[command(flatten)]
    pub store: StoreArgs,
}

impl SecretArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let data_dir = crate::data_dir::prepare(self.store.data_dir.as_deref())?;
        let secret = crate::dev_secret::load_or_create(&data_dir)?;
        println!("{}", secret.expose());
        Ok(ExitCode::SUCCESS)
    }
}

/// The secret to sign with: `explicit` (`--secret` or `WEBHOOK_SECRET`) when
/// given, else the data dir's development secret (made if there is none), so
/// what `trigger` and `replay --resign` sign is what a `listen` without
/// `--secret` accepts.
pub fn signing_secret(explicit: Option<&str>, data_dir: &Path) -> anyhow::Result<Secret> {
    match explicit {
        Some(secret) => Ok(Secret::new(secret)),
        None => Ok(crate::dev_secret::load_or_create(data_dir)?),
    }
}
