//! Where hookline keeps its store and control socket: `--data-dir`,
//! `HOOKLINE_DATA_DIR`, or `hookline` in the user's data directory.

use std::io;
use std::path::{Path, PathBuf};

/// The data directory could not be found or made.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("no data directory: HOME is not set; pass --data-dir or set HOOKLINE_DATA_DIR")]
    NoHome,
    #[error("cannot create the data directory {}: {source}", path.display())]
    Create { path: PathBuf, source: io::Error },
    #[error(
        "{} {}: nothing was ever received with this data dir. Check --data-dir (or \
         HOOKLINE_DATA_DIR) for a typo, or run `hookline listen` first, which creates the store",
        path.display(),
        if *exists { "holds no hookline store" } else { "does not exist" }
    )]
    NoStore { path: PathBuf, exists: bool },
}

/// The data directory to use: `explicit` (from `--data-dir`, which clap also
/// fills from `HOOKLINE_DATA_DIR`), else the environment variable, else the
/// platform's per-user data directory plus `/hookline`.
pub fn resolve(explicit: Option<&Path>) -> Result<PathBuf, DataDirError> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("HOOKLINE_DATA_DIR").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    Ok(user_data_dir()?.join("hookline"))
}

/// `~/Library/Application Support` on macOS; elsewhere `$XDG_DATA_HOME`
/// when it is an absolute path (the XDG spec says to ignore relative ones),
/// else `~/.local/share`.
fn user_data_dir() -> Result<PathBuf, DataDirError> {
    let home = || {
        std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .ok_or(DataDirError::NoHome)
    };
    if cfg!(target_os = "macos") {
        return Ok(home()?.join("Library").join("Application Support"));
    }
    match std::env::var_os("XDG_DATA_HOME").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => Ok(dir),
        _ => Ok(home()?.join(".local").join("share")),
    }
}

/// Creates `dir` (and missing parents) with owner-only permissions: it holds
/// every webhook body received, which may carry customer data. An existing
/// directory is left as the user set it.
pub fn ensure(dir: &Path) -> Result<(), DataDirError> {
    let create = |source| DataDirError::Create {
        path: dir.to_path_buf(),
        source,
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(create)
}

/// Creates a new file readable only by its owner (a spooled import, a body
/// being edited): it may hold a webhook body. Fails if `path` exists.
pub fn create_owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// [`resolve`] then [`ensure`]: what every command calls first.
pub fn prepare(explicit: Option<&Path>) -> Result<PathBuf, DataDirError> {
    let dir = resolve(explicit)?;
    ensure(&dir)?;
    Ok(dir)
}

/// [`resolve`], for commands that only read or change what is stored: the
/// directory must already hold a store. Creating an empty one there would
/// turn a mistyped `--data-dir` into a silent "no deliveries".
pub fn existing_store(explicit: Option<&Path>) -> Result<PathBuf, DataDirError> {
    let dir = resolve(explicit)?;
    if crate::store::db_path(&dir).is_dir() {
        return Ok(dir);
    }
    Err(DataDirError::NoStore {
        exists: dir.is_dir(),
        path: dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_wins_and_is_created_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        assert_eq!(prepare(Some(&dir)).unwrap(), dir);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    #[test]
    fn readers_refuse_a_dir_without_a_store() {
        let tmp = tempfile::tempdir().unwrap();
        let typo = tmp.path().join("hookilne");
        let err = existing_store(Some(&typo)).unwrap_err().to_string();
        assert!(
            err.contains("does not exist") && err.contains("--data-dir"),
            "{err}"
        );
        assert!(!typo.exists(), "a reader must not create the directory");
        let err = existing_store(Some(tmp.path())).unwrap_err().to_string();
        assert!(err.contains("holds no hookline store"), "{err}");
        std::fs::create_dir(crate::store::db_path(tmp.path())).unwrap();
        assert_eq!(existing_store(Some(tmp.path())).unwrap(), tmp.path());
    }
}
