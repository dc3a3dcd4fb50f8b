//! Named fixtures saved from real deliveries (`hookline fixture save ID
//! NAME`), kept as one JSON file each under `fixtures/` in the data dir, and
//! sent again by `hookline trigger NAME` with fresh ids and a fresh signature.

use std::path::{Path, PathBuf};

use hookline_protocol::encoding::base64_bytes;
use hookline_protocol::{DeliveryId, Header, Secret};
use serde::{Deserialize, Serialize};

use crate::model::StoredDelivery;
use crate::samples::sample;
use crate::verify::{Scheme, SignError, detect, refresh_linear_timestamp, sign};

/// The directory's name in the data dir.
const DIR: &str = "fixtures";

/// Longest fixture name; names are file names, so they stay short and plain.
const MAX_NAME: usize = 64;

/// A request kept to be sent again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    pub name: String,
    /// The delivery it was saved from.
    pub from: DeliveryId,
    pub saved_at_ms: u64,
    pub method: String,
    /// The path after the channel (empty or `/…`).
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    pub headers: Vec<Header>,
    #[serde(with = "base64_bytes")]
    pub body: Vec<u8>,
}

/// Why a fixture could not be saved, read or removed.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error(
        "fixture name {0:?} is not usable: use 1 to {MAX_NAME} letters, digits, '.', '_' or '-', not starting with '.'"
    )]
    BadName(String),
    #[error(
        "{0:?} is the name of a built-in sample (`hookline trigger --list`); choose another name"
    )]
    Builtin(String),
    #[error("a fixture named {0:?} exists; remove it first (`hookline fixture rm {0}`)")]
    Exists(String),
    #[error("no fixture named {0:?} (`hookline fixture list` shows them)")]
    Unknown(String),
    #[error("fixture file {path}: {message}")]
    Damaged { path: String, message: String },
    #[error("fixtures in {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FixtureError + '_ {
    move |source| FixtureError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Checks `name` as a fixture name (built-in sample names are taken).
pub fn check_name(name: &str) -> Result<(), FixtureError> {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if name.is_empty() || name.len() > MAX_NAME || name.starts_with('.') || !plain {
        return Err(FixtureError::BadName(name.to_owned()));
    }
    if sample(name).is_some() {
        return Err(FixtureError::Builtin(name.to_owned()));
    }
    Ok(())
}

impl Fixture {
    /// The fixture of a stored delivery, as received.
    pub fn from_stored(name: &str, stored: &StoredDelivery, now_ms: u64) -> Self {
        let d = &stored.delivery;
        Self {
            name: name.to_owned(),
            from: d.id,
            saved_at_ms: now_ms,
            method: d.method.clone(),
            path: d.path.clone(),
            query: d.query.clone(),
            headers: d.headers.clone(),
            body: d.body.to_vec(),
        }
    }

    /// The headers and body to send at `now_ms`: message ids and timestamps
    /// the providers send are fresh, and the request is signed again under
    /// `scheme` (else the scheme its headers show, else AutoSend's) so a
    /// receiver with a replay window or an id cache takes it as new.
    pub fn resigned(
        &self,
        scheme: Option<&Scheme>,
        secret: &Secret,
        url: &str,
        now_ms: u64,
    ) -> Result<(Vec<Header>, Vec<u8>), SignError> {
        let scheme = scheme
            .cloned()
            .or_else(|| detect(&self.headers))
            .unwrap_or(Scheme::Autosend);
        let mut headers = self.headers.clone();
        crate::samples::refresh_ids(&mut headers, now_ms);
        let now = (now_ms / 1000) as i64;
        let mut body = self.body.clone();
        if scheme == Scheme::Linear
            && let Some(fresh) = refresh_linear_timestamp(&body, now)
        {
            body = fresh;
        }
        sign(&scheme, secret, &mut headers, &body, url, now)?;
        Ok((headers, body))
    }
}

/// The fixtures of one data dir.
#[derive(Debug, Clone)]
pub struct Fixtures {
    dir: PathBuf,
}

impl Fixtures {
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join(DIR),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// Saves `fixture`; an existing one of that name is kept unless `replace`.
    pub fn save(&self, fixture: &Fixture, replace: bool) -> Result<(), FixtureError> {
        check_name(&fixture.name)?;
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let path = self.path(&fixture.name);
        if !replace && path.exists() {
            return Err(FixtureError::Exists(fixture.name.clone()));
        }
        let temp = self.dir.join(format!(".{}.tmp", fixture.name));
        let text = serde_json::to_vec_pretty(fixture).map_err(|e| FixtureError::Damaged {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        std::fs::write(&temp, text).map_err(io(&temp))?;
        std::fs::rename(&temp, &path).map_err(io(&path))
    }

    /// The fixture named `name`, or `None`.
    pub fn get(&self, name: &str) -> Result<Option<Fixture>, FixtureError> {
        if check_name(name).is_err() {
            return Ok(None);
        }
        let path = self.path(name);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(io(&path)(err)),
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| FixtureError::Damaged {
                path: path.display().to_string(),
                message: e.to_string(),
            })
    }

    /// Every fixture, by name.
    pub fn list(&self) -> Result<Vec<Fixture>, FixtureError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(io(&self.dir)(err)),
        };
        let mut fixtures = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io(&self.dir))?;
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(name) = file.strip_suffix(".json")
                && let Some(fixture) = self.get(name)?
            {
                fixtures.push(fixture);
            }
        }
        fixtures.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(fixtures)
    }

    /// Removes `name`; `Unknown` when there is none.
    pub fn remove(&self, name: &str) -> Result<(), FixtureError> {
        if self.get(name)?.is_none() {
            return Err(FixtureError::Unknown(name.to_owned()));
        }
        let path = self.path(name);
        std::fs::remove_file(&path).map_err(io(&path))
    }
}

#[cfg(test)]
mod tests;
