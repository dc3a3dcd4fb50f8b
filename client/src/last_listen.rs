//! What the last `hookline listen` on a data dir was pointed at, so `replay`
//! and `trigger` can default to the same target and public URL. Secrets are
//! never written here.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file's name in the data dir.
const FILE: &str = "listen.json";

/// The settings `replay` and `trigger` reuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastListen {
    /// The local app's URL deliveries were forwarded to.
    pub forward: String,
    /// The URL senders post to.
    pub public_url: String,
    /// The signature scheme `listen` was given (`auto` when none).
    pub scheme: String,
    /// The listener's routes, for `replay --route NAME` (none in a file
    /// written before routes existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<SavedRoute>,
}

/// A route as `replay --route` needs it: its name, path prefix and targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedRoute {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub targets: Vec<String>,
}

impl SavedRoute {
    pub fn of(route: &crate::listen::Route) -> Self {
        Self {
            name: route.name.clone(),
            path: route.path.clone(),
            targets: route.targets.iter().map(ToString::to_string).collect(),
        }
    }
}

impl LastListen {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(FILE)
    }

    /// Writes atomically (temp file, then rename), so a reader never sees half a file.
    pub fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        let path = Self::path(data_dir);
        let temp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&temp, text)?;
        std::fs::rename(&temp, &path)
    }

    /// `None` when no listener ever ran here (or the file is unreadable).
    pub fn load(data_dir: &Path) -> Option<Self> {
        let text = std::fs::read(Self::path(data_dir)).ok()?;
        serde_json::from_slice(&text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_missing_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(LastListen::load(dir.path()), None);
        let last = LastListen {
            forward: "http://127.0.0.1:3000/hooks".into(),
            public_url: "http://127.0.0.1:8700/h/abc".into(),
            scheme: "auto".into(),
            routes: vec![SavedRoute {
                name: "email".into(),
                path: Some("/billing".into()),
                targets: vec!["http://127.0.0.1:3000/email".into()],
            }],
        };
        last.save(dir.path()).unwrap();
        assert_eq!(LastListen::load(dir.path()), Some(last));
    }
}
