//! `hookline-relay token add|list|revoke`: the binary edge of `token_file`.

use std::io::{BufRead, IsTerminal};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use hookline_protocol::Secret;
use hookline_relay::{Added, ChannelLimits, TokenAdminError, add_token, list_tokens, revoke_token};

use crate::args::TokenCommand;

pub fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Add {
            name,
            channels,
            rate,
            queue_bytes,
            file,
        } => {
            let limits = ChannelLimits { rate, queue_bytes };
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default();
            match add_token(
                &file.tokens_file,
                &name,
                &channels,
                limits,
                read_stdin_token,
                now,
            )? {
                Added::New(token) => {
                    println!("{}", token.expose());
                    eprintln!(
                        "token {name} added to {}: give it to the client (HOOKLINE_TOKEN); \
                         it is shown only now, the file keeps a hash",
                        file.tokens_file.display()
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
            let listed = list_tokens(&file.tokens_file)?;
            if listed.is_empty() {
                eprintln!("no tokens in {}", file.tokens_file.display());
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
            revoke_token(&file.tokens_file, &name)
                .with_context(|| format!("cannot revoke token {name}"))?;
            eprintln!(
                "token {name} revoked; a relay serving {} drops it within a second",
                file.tokens_file.display()
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
