//! `hookline-relay token add|list|revoke`: the binary edge of `token_file`
//! (a single relay's file) and of the cluster's token bucket.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use hookline_protocol::Secret;
use hookline_relay::cluster::ClusterTokens;
use hookline_relay::{
    Added, ChannelLimits, TokenAdminError, TokenListing, add_token, list_tokens, revoke_token,
};

use crate::args::{TokenCommand, TokensFileArg};

/// Where the command edits.
enum Store {
    File(PathBuf),
    Bucket(Box<ClusterTokens>, String),
}

impl Store {
    /// The bucket when --cluster is given (a cluster relay's tokens file only
    /// seeds it), else the file.
    async fn open(arg: TokensFileArg) -> anyhow::Result<Store> {
        if let Some(options) = arg.cluster.options() {
            let bucket = ClusterTokens::connect(&options)
                .await
                .context("cannot open the cluster's token bucket")?;
            return Ok(Store::Bucket(Box::new(bucket), options.servers.join(",")));
        }
        let path = arg
            .tokens_file
            .context("give --tokens-file FILE, or --cluster NATS_URL for a relay cluster")?;
        Ok(Store::File(path))
    }

    fn describe(&self) -> String {
        match self {
            Store::File(path) => path.display().to_string(),
            Store::Bucket(_, servers) => format!("the cluster's token bucket on {servers}"),
        }
    }

    async fn add(
        &self,
        name: &str,
        channels: &[String],
        limits: ChannelLimits,
    ) -> Result<Added, TokenAdminError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        match self {
            Store::File(path) => add_token(path, name, channels, limits, read_stdin_token, now),
            Store::Bucket(bucket, _) => {
                bucket
                    .add(name, channels, limits, read_stdin_token, now)
                    .await
            }
        }
    }

    async fn list(&self) -> Result<Vec<TokenListing>, TokenAdminError> {
        match self {
            Store::File(path) => list_tokens(path),
            Store::Bucket(bucket, _) => bucket.list().await,
        }
    }

    async fn revoke(&self, name: &str) -> Result<(), TokenAdminError> {
        match self {
            Store::File(path) => revoke_token(path, name),
            Store::Bucket(bucket, _) => bucket.revoke(name).await,
        }
    }
}

pub async fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Add {
            name,
            channels,
            rate,
            queue_bytes,
            file,
        } => {
            let store = Store::open(file).await?;
            let limits = ChannelLimits { rate, queue_bytes };
            match store.add(&name, &channels, limits).await? {
                Added::New(token) => {
                    println!("{}", token.expose());
                    eprintln!(
                        "token {name} added to {}: give it to the client (HOOKLINE_TOKEN); \
                         it is shown only now, only its hash is kept",
                        store.describe()
                    );
                }
                Added::Channels(added) if added.is_empty() => {
                    eprintln!("token {name} already owns these channels; nothing changed");
                }
                Added::Channels(added) => {
                    eprintln!("token {name} now also owns: {}", added.join(", "));
                }
                Added::Limits(limits) => {
                    eprintln!("token {name} now has limits: {limits}");
                }
            }
            Ok(())
        }
        TokenCommand::List { file } => {
            let store = Store::open(file).await?;
            let listed = store.list().await?;
            if listed.is_empty() {
                eprintln!("no tokens in {}", store.describe());
            }
            for token in listed {
                println!(
                    "{}\t{}\t{}\t{}",
                    token.name,
                    token.created,
                    token.channels.join(","),
                    token.limits
                );
            }
            Ok(())
        }
        TokenCommand::Revoke { name, file } => {
            let store = Store::open(file).await?;
            store
                .revoke(&name)
                .await
                .with_context(|| format!("cannot revoke token {name}"))?;
            eprintln!(
                "token {name} revoked; relays serving {} drop it within a second",
                store.describe()
            );
            Ok(())
        }
    }
}

/// The existing token, for adding channels to it: never on the command line,
/// where other users could read it.
fn read_stdin_token() -> Result<Secret, TokenAdminError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("paste the token, then Enter:");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| TokenAdminError::Usage(format!("cannot read the token from stdin: {e}")))?;
    let token = line.trim();
    if token.is_empty() {
        return Err(TokenAdminError::Usage(
            "adding channels to an existing token needs that token on stdin".into(),
        ));
    }
    Ok(Secret::new(token))
}
