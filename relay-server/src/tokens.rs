//! Tokens and the channels each one owns.
//!
//! Tokens are looked up by their SHA-256, so finding one takes the same path
//! whatever the presented bytes, and the set never compares secrets byte by byte.

use std::collections::HashMap;

use hookline_protocol::{ChannelId, DEFAULT_CHANNEL_NAME, Secret};
use sha2::{Digest, Sha256};

use crate::channel_limits::ChannelLimits;

/// The SHA-256 of a token: the key by which channels know their owner.
pub(crate) type TokenHash = [u8; 32];

pub(crate) fn token_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// One configured token and the channels it owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenEntry {
    /// The plain token, when the file holds it (older files, the env form);
    /// hashed entries (`token add`) carry their channel ids instead.
    pub(crate) token: Option<Secret>,
    /// (name, id), the default channel first.
    pub(crate) channels: Vec<(String, ChannelId)>,
    /// Overrides of the relay's per-channel limits for every channel here.
    pub(crate) limits: ChannelLimits,
}

/// The tokens a relay accepts. `Debug` never shows a token.
#[derive(Debug, Clone, Default)]
pub struct TokenSet {
    entries: HashMap<TokenHash, TokenEntry>,
}

/// A line of a tokens file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tokens file line {line}: {message}")]
pub struct TokenFileError {
    pub line: usize,
    pub message: String,
}

impl TokenSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `token` with its default channel and the named extra ones. Adding
    /// a token twice merges the names.
    pub fn add(&mut self, token: Secret, extra_channel_names: Vec<String>) {
        let entry = self
            .entries
            .entry(token_hash(token.expose()))
            .or_insert_with(|| {
                let default = ChannelId::derive(&token, DEFAULT_CHANNEL_NAME);
                TokenEntry {
                    token: Some(token.clone()),
                    channels: vec![(DEFAULT_CHANNEL_NAME.to_owned(), default)],
                    limits: ChannelLimits::default(),
                }
            });
        for name in extra_channel_names {
            if entry.channels.iter().all(|(n, _)| *n != name) {
                let id = ChannelId::derive(&token, &name);
                entry.channels.push((name, id));
            }
        }
    }

    /// Adds a hashed entry (a `sha256:` line of the tokens file); channels of
    /// a token already present are merged.
    pub(crate) fn add_hashed(&mut self, hash: TokenHash, channels: Vec<(String, ChannelId)>) {
        let entry = self.entries.entry(hash).or_insert_with(|| TokenEntry {
            token: None,
            channels: Vec::new(),
            limits: ChannelLimits::default(),
        });
        for (name, id) in channels {
            if entry.channels.iter().all(|(n, _)| *n != name) {
                entry.channels.push((name, id));
            }
        }
    }

    /// Sets the per-channel limits of the token with `hash`, keeping those
    /// `limits` leaves unset; an absent token is left absent.
    pub(crate) fn set_limits(&mut self, hash: &TokenHash, limits: ChannelLimits) {
        if let Some(entry) = self.entries.get_mut(hash) {
            entry.limits = limits.or(entry.limits);
        }
    }

    /// Parses lines `TOKEN [CHANNEL_NAME...] [rate=N] [queue_bytes=N]` and the hashed lines that
    /// `hookline-relay token add` writes (see `token_file`); `#` starts a comment.
    pub fn parse_file(text: &str) -> Result<Self, TokenFileError> {
        let mut set = Self::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or_default();
            let mut words = line.split_whitespace();
            let Some(token) = words.next() else { continue };
            let err = |message: String| TokenFileError {
                line: index + 1,
                message,
            };
            if token.starts_with(crate::token_file::HASH_PREFIX) {
                let line = crate::token_file::HashedLine::parse(line).map_err(err)?;
                set.add_hashed(line.hash, line.channels);
                set.set_limits(&line.hash, line.limits);
                continue;
            }
            check_token(token).map_err(err)?;
            let (names, limits) = parse_plain_words(words).map_err(err)?;
            set.add(Secret::new(token), names);
            set.set_limits(&token_hash(token), limits);
        }
        Ok(set)
    }

    /// Tokens from one string separated by commas or whitespace (the env form).
    pub fn parse_list(text: &str) -> Result<Self, TokenFileError> {
        let mut set = Self::new();
        for (index, token) in text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .enumerate()
        {
            check_token(token).map_err(|message| TokenFileError {
                line: index + 1,
                message,
            })?;
            set.add(Secret::new(token), Vec::new());
        }
        Ok(set)
    }

    /// Adds every token and channel of `other`.
    pub fn merge(&mut self, other: TokenSet) {
        for (hash, entry) in other.entries {
            match entry.token {
                Some(token) => {
                    let names = entry.channels.into_iter().skip(1).map(|(n, _)| n).collect();
                    self.add(token, names);
                }
                None => self.add_hashed(hash, entry.channels),
            }
            self.set_limits(&hash, entry.limits);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Every channel: (owner hash, name, id). For startup output and routing.
    pub fn channels(&self) -> impl Iterator<Item = (&str, &ChannelId)> {
        self.entries
            .values()
            .flat_map(|e| e.channels.iter().map(|(n, id)| (n.as_str(), id)))
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = (&TokenHash, &TokenEntry)> {
        self.entries.iter()
    }

    pub(crate) fn lookup(&self, token: &str) -> Option<&TokenEntry> {
        self.entries.get(&token_hash(token))
    }
}

/// The words after a plain line's token: channel names and `KEY=VALUE` limits.
pub(crate) fn parse_plain_words<'a>(
    words: impl Iterator<Item = &'a str>,
) -> Result<(Vec<String>, ChannelLimits), String> {
    let (mut names, mut limits) = (Vec::new(), ChannelLimits::default());
    for word in words {
        match word.split_once('=') {
            Some((key, value)) => {
                if !limits.set(key, value)? {
                    return Err(format!(
                        "unknown key {key:?} (expected rate or queue_bytes)"
                    ));
                }
            }
            None => {
                check_channel_name(word)?;
                names.push(word.to_owned());
            }
        }
    }
    Ok((names, limits))
}

pub(crate) fn check_token(token: &str) -> Result<(), String> {
    if token.len() < 8 {
        return Err(
            "token is shorter than 8 characters; make one with `hookline-relay new-token`".into(),
        );
    }
    Ok(())
}

pub(crate) fn check_channel_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "channel name {name:?} must be 1-64 characters of a-z, 0-9, '-', '_' or '.'"
        ))
    }
}

/// A fresh random token: 32 bytes of OS randomness as hex, behind a prefix
/// that makes it recognisable in a secrets scanner.
pub fn new_token() -> Result<Secret, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(Secret::new(format!("hlr_{}", hex::encode(bytes))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tokens_names_comments_and_blank_lines() {
        let text = "# relay tokens\n\nalpha-token-1 stripe github  # two extra\nbeta-token-22\n";
        let set = TokenSet::parse_file(text).unwrap();
        assert_eq!(set.len(), 2);
        let alpha = set.lookup("alpha-token-1").unwrap();
        let names: Vec<&str> = alpha.channels.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["default", "stripe", "github"]);
        assert_eq!(
            alpha.channels[1].1,
            ChannelId::derive(&Secret::new("alpha-token-1"), "stripe")
        );
        assert_eq!(set.lookup("beta-token-22").unwrap().channels.len(), 1);
        assert!(set.lookup("gamma-token").is_none());
    }

    #[test]
    fn plain_lines_take_limits_beside_channels() {
        let set = TokenSet::parse_file("alpha-token-1 stripe rate=5 queue_bytes=4096\n").unwrap();
        let alpha = set.lookup("alpha-token-1").unwrap();
        assert_eq!(alpha.channels.len(), 2);
        assert_eq!(
            alpha.limits,
            ChannelLimits {
                rate: Some(5),
                queue_bytes: Some(4096)
            }
        );
        let err = TokenSet::parse_file("alpha-token-1 speed=5\n").unwrap_err();
        assert!(err.message.contains("speed"), "{}", err.message);
        assert!(TokenSet::parse_file("alpha-token-1 rate=x\n").is_err());
    }

    #[test]
    fn reports_the_bad_line() {
        let err = TokenSet::parse_file("good-token-1\nshort\n").unwrap_err();
        assert_eq!(err.line, 2);
        let err = TokenSet::parse_file("good-token-1 bad/name\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("bad/name"));
    }

    #[test]
    fn empty_file_and_list_are_empty() {
        assert!(TokenSet::parse_file("# nothing\n\n").unwrap().is_empty());
        assert!(TokenSet::parse_list(" , ").unwrap().is_empty());
        assert_eq!(
            TokenSet::parse_list("token-one-1, token-two-2 token-3-three")
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn debug_never_shows_a_token() {
        let set = TokenSet::parse_file("very-secret-token-value").unwrap();
        assert!(!format!("{set:?}").contains("very-secret-token-value"));
    }

    #[test]
    fn new_tokens_are_random_and_usable() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert!(TokenSet::parse_list(a.expose()).is_ok());
    }
}
