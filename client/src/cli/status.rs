//! `hookline status`: whether a listener runs on this data dir, and the URL
//! senders post to (`--url` prints just that, for `curl "$(hookline status --url)"`).

use std::process::ExitCode;

use anyhow::bail;

use super::StoreArgs;
use crate::control::{ControlClient, socket_path};
use crate::last_listen::LastListen;

/// Say whether `hookline listen` runs on this data dir and where it receives.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Print only the running listener's public URL (fails when none runs).
    #[arg(long)]
    pub url: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl StatusArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let data_dir = crate::data_dir::resolve(self.store.data_dir.as_deref())?;
        let socket = socket_path(&data_dir);
        // A listener answers on its control socket; the file alone may be
        // left over from a crash.
        let pid = match socket.exists() {
            true => ControlClient::connect(&socket)
                .await
                .ok()
                .map(|c| c.hello().pid),
            false => None,
        };
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
        match pid {
            Some(pid) => println!("listener    running (pid {pid})"),
            None => println!("listener    not running"),
        }
        if let Some(last) = last {
            let label = if pid.is_some() {
                "public URL"
            } else {
                "last URL  "
            };
            println!("{label}  {}", last.public_url);
            println!("forward to  {}", last.forward);
        }
        println!("store       {}", data_dir.display());
        Ok(ExitCode::SUCCESS)
    }
}
