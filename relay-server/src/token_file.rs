//! The tokens file as `hookline-relay token add/list/revoke` edits it: one
//! hashed line per named token, so a leaked file leaks no token.
//!
//! A hashed line reads
//! `sha256:HEX name=NAME created=2026-12-03T09:40:00Z channel.default=ID channel.stripe=ID`,
//! optionally followed by the token's own per-channel limits `rate=N queue_bytes=N`.
//! The channel ids are written at `token add` because the relay must accept
//! webhooks for a channel while its client is offline, and cannot derive an
//! id from a hash. Plain `TOKEN [CHANNEL...]` lines keep working beside them.
//! Edits are written to a temporary file and renamed over the old one, owner-only,
//! so a relay watching the file never reads half a line.

use std::path::Path;

use hookline_protocol::{ChannelId, DEFAULT_CHANNEL_NAME, Secret};

use crate::channel_limits::ChannelLimits;
use crate::tokens::{
    TokenHash, check_channel_name, check_token, new_token, parse_plain_words, token_hash,
};

pub(crate) const HASH_PREFIX: &str = "sha256:";
const CHANNEL_KEY: &str = "channel.";

/// A failed `token` subcommand, worded for the operator.
#[derive(Debug, thiserror::Error)]
pub enum TokenAdminError {
    #[error("cannot read or write tokens file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The file's error is part of the message, not a `source`: anyhow
    /// would print it twice.
    #[error("tokens file {path}: {error}")]
    Parse {
        path: String,
        error: crate::TokenFileError,
    },
    #[error("{0}")]
    Usage(String),
    #[error("cluster token bucket: {0}")]
    Cluster(String),
}

/// One hashed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HashedLine {
    pub hash: TokenHash,
    pub name: String,
    pub created: String,
    pub channels: Vec<(String, ChannelId)>,
    pub limits: ChannelLimits,
}

impl HashedLine {
    pub(crate) fn parse(line: &str) -> Result<Self, String> {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        let hex_hash = first.strip_prefix(HASH_PREFIX).unwrap_or_default();
        let mut hash = [0u8; 32];
        hex::decode_to_slice(hex_hash, &mut hash)
            .map_err(|_| format!("{first:?} is not {HASH_PREFIX} and 64 hex digits"))?;
        let (mut name, mut created, mut channels) = (None, String::new(), Vec::new());
        let mut limits = ChannelLimits::default();
        for word in words {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| format!("{word:?} is not KEY=VALUE"))?;
            if let Some(channel) = key.strip_prefix(CHANNEL_KEY) {
                check_channel_name(channel)?;
                let id = ChannelId::parse(value)
                    .ok_or_else(|| format!("channel {channel}: {value:?} is not a channel id"))?;
                channels.push((channel.to_owned(), id));
            } else if key == "name" {
                check_channel_name(value).map_err(|e| format!("token name: {e}"))?;
                name = Some(value.to_owned());
            } else if key == "created" {
                created = value.to_owned();
            } else if !limits.set(key, value)? {
                return Err(format!(
                    "unknown key {key:?} (expected name, created, channel.NAME, rate, queue_bytes)"
                ));
            }
        }
        if channels.is_empty() {
            return Err("a hashed token needs at least one channel.NAME=ID".into());
        }
        let name = name.ok_or("a hashed token needs name=NAME")?;
        Ok(Self {
            hash,
            name,
            created,
            channels,
            limits,
        })
    }

    pub(crate) fn render(&self) -> String {
        let mut line = format!(
            "{HASH_PREFIX}{} name={} created={}",
            hex::encode(self.hash),
            self.name,
            self.created
        );
        for (name, id) in &self.channels {
            line.push_str(&format!(" {CHANNEL_KEY}{name}={id}"));
        }
        line.push_str(&self.limits.render());
        line
    }
}

/// What `token list` shows of one line: never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenListing {
    /// The token's name; plain lines have none and show their line number.
    pub name: String,
    pub created: String,
    pub channels: Vec<String>,
    /// The token's own limits; unset ones follow the relay's defaults.
    pub limits: ChannelLimits,
}

/// Every token of the file, hashed or plain, in file order.
pub fn list_tokens(path: &Path) -> Result<Vec<TokenListing>, TokenAdminError> {
    TokenLines::parse(&read(path)?, &path.display().to_string())?.list()
}

/// What `token add` did.
#[derive(Debug)]
pub enum Added {
    /// A new token: print it once, it is stored nowhere else.
    New(Secret),
    /// Channels added to an existing token; the names actually new.
    Channels(Vec<String>),
    /// An existing token's limits changed; these are now in force.
    Limits(ChannelLimits),
}

/// Adds token `name` with its default channel, `channels` and `limits`.
/// When `name` exists, `limits` given alone replace its limits (no token
/// needed), and new `channels` need `existing` (the token, e.g. read from
/// stdin) to be its token: their ids derive from it.
pub fn add_token(
    path: &Path,
    name: &str,
    channels: &[String],
    limits: ChannelLimits,
    existing: impl FnOnce() -> Result<Secret, TokenAdminError>,
    now_unix: u64,
) -> Result<Added, TokenAdminError> {
    let mut lines = TokenLines::parse(&read_or_empty(path)?, &path.display().to_string())?;
    let added = lines.add(name, channels, limits, existing, now_unix)?;
    write(path, &lines.lines)?;
    Ok(added)
}

/// Removes token `name`; a running relay ends its sessions on reload.
pub fn revoke_token(path: &Path, name: &str) -> Result<(), TokenAdminError> {
    let mut lines = TokenLines::parse(&read(path)?, &path.display().to_string())?;
    lines.revoke(name)?;
    write(path, &lines.lines)
}

/// The lines of a tokens file (or of a cluster's token bucket, one line a
/// token), checked as the relay would load them, and the edits of the
/// `token` commands on them.
#[derive(Debug, Clone)]
pub(crate) struct TokenLines {
    pub lines: Vec<String>,
    /// Where they live, for messages.
    place: String,
}

impl TokenLines {
    /// Refuses text the relay could not load: an edit would hide the error.
    pub(crate) fn parse(text: &str, place: &str) -> Result<TokenLines, TokenAdminError> {
        crate::TokenSet::parse_file(text).map_err(|error| TokenAdminError::Parse {
            path: place.to_owned(),
            error,
        })?;
        Ok(TokenLines {
            lines: text.lines().map(str::to_owned).collect(),
            place: place.to_owned(),
        })
    }

    pub(crate) fn list(&self) -> Result<Vec<TokenListing>, TokenAdminError> {
        let mut out = Vec::new();
        for (index, raw) in self.lines.iter().enumerate() {
            let line = raw.split('#').next().unwrap_or_default();
            let Some(first) = line.split_whitespace().next() else {
                continue;
            };
            if first.starts_with(HASH_PREFIX) {
                let parsed = HashedLine::parse(line).map_err(TokenAdminError::Usage)?;
                out.push(TokenListing {
                    name: parsed.name,
                    created: parsed.created,
                    channels: parsed.channels.into_iter().map(|(n, _)| n).collect(),
                    limits: parsed.limits,
                });
            } else {
                let (names, limits) = parse_plain_words(line.split_whitespace().skip(1))
                    .map_err(TokenAdminError::Usage)?;
                let mut channels = vec![DEFAULT_CHANNEL_NAME.to_owned()];
                channels.extend(names);
                out.push(TokenListing {
                    name: format!("(plain token, line {})", index + 1),
                    created: "-".into(),
                    channels,
                    limits,
                });
            }
        }
        Ok(out)
    }

    /// See [`add_token`].
    pub(crate) fn add(
        &mut self,
        name: &str,
        channels: &[String],
        limits: ChannelLimits,
        existing: impl FnOnce() -> Result<Secret, TokenAdminError>,
        now_unix: u64,
    ) -> Result<Added, TokenAdminError> {
        check_channel_name(name).map_err(|e| TokenAdminError::Usage(format!("token name: {e}")))?;
        for channel in channels {
            check_channel_name(channel).map_err(TokenAdminError::Usage)?;
        }
        if let Some((index, mut line)) = find(&self.lines, name) {
            let new_limits = limits != ChannelLimits::default();
            if channels.is_empty() && !new_limits {
                return Err(TokenAdminError::Usage(format!(
                    "token {name} exists; revoke it first, or add channels with --channel and its token on stdin"
                )));
            }
            line.limits = limits.or(line.limits);
            if channels.is_empty() {
                self.lines[index] = line.render();
                return Ok(Added::Limits(line.limits));
            }
            let token = existing()?;
            if token_hash(token.expose()) != line.hash {
                return Err(TokenAdminError::Usage(format!(
                    "the token on stdin is not token {name}'s; nothing changed"
                )));
            }
            let mut added = Vec::new();
            for channel in channels {
                if line.channels.iter().all(|(n, _)| n != channel) {
                    line.channels
                        .push((channel.clone(), ChannelId::derive(&token, channel)));
                    added.push(channel.clone());
                }
            }
            self.lines[index] = line.render();
            return Ok(Added::Channels(added));
        }
        let token =
            new_token().map_err(|e| TokenAdminError::Usage(format!("no OS randomness: {e}")))?;
        check_token(token.expose()).map_err(TokenAdminError::Usage)?;
        let mut all = vec![DEFAULT_CHANNEL_NAME.to_owned()];
        all.extend(
            channels
                .iter()
                .filter(|c| *c != DEFAULT_CHANNEL_NAME)
                .cloned(),
        );
        let line = HashedLine {
            hash: token_hash(token.expose()),
            name: name.to_owned(),
            created: rfc3339(now_unix),
            channels: all
                .into_iter()
                .map(|n| {
                    let id = ChannelId::derive(&token, &n);
                    (n, id)
                })
                .collect(),
            limits,
        };
        self.lines.push(line.render());
        Ok(Added::New(token))
    }

    /// See [`revoke_token`].
    pub(crate) fn revoke(&mut self, name: &str) -> Result<(), TokenAdminError> {
        let Some((index, _)) = find(&self.lines, name) else {
            return Err(TokenAdminError::Usage(format!(
                "no token named {name} in {}; `hookline-relay token list` shows the names",
                self.place
            )));
        };
        self.lines.remove(index);
        Ok(())
    }
}

fn find(lines: &[String], name: &str) -> Option<(usize, HashedLine)> {
    lines.iter().enumerate().find_map(|(i, raw)| {
        let line = raw.split('#').next().unwrap_or_default();
        if !line.trim_start().starts_with(HASH_PREFIX) {
            return None;
        }
        HashedLine::parse(line)
            .ok()
            .filter(|l| l.name == name)
            .map(|l| (i, l))
    })
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> TokenAdminError + '_ {
    move |source| TokenAdminError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn read(path: &Path) -> Result<String, TokenAdminError> {
    std::fs::read_to_string(path).map_err(io_error(path))
}

fn read_or_empty(path: &Path) -> Result<String, TokenAdminError> {
    match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        other => other.map_err(io_error(path)),
    }
}

fn write(path: &Path, lines: &[String]) -> Result<(), TokenAdminError> {
    let mut text = lines.join("\n");
    text.push('\n');
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("tokens");
    let temp = path.with_file_name(format!(".{name}.new"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp).map_err(io_error(&temp))?;
    keep_owner(path, &file).map_err(io_error(path))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(io_error(&temp))?;
    file.sync_all().map_err(io_error(&temp))?;
    std::fs::rename(&temp, path).map_err(io_error(path))
}

/// Gives the new file the old one's owner: an administrator editing the
/// file of a relay that runs as its own user must not lock that user out.
#[cfg(unix)]
fn keep_owner(path: &Path, new: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(old) = std::fs::metadata(path) else {
        return Ok(());
    };
    let mine = new.metadata()?;
    if (old.uid(), old.gid()) == (mine.uid(), mine.gid()) {
        return Ok(());
    }
    std::os::unix::fs::fchown(new, Some(old.uid()), Some(old.gid()))
}

#[cfg(not(unix))]
fn keep_owner(_: &Path, _: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time.
pub(crate) fn rfc3339(unix: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix);
    humantime::format_rfc3339_seconds(at).to_string()
}

#[cfg(test)]
#[path = "token_file_tests.rs"]
mod tests;
