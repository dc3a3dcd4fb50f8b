//! The development secret: made by the first command that needs one on a
//! data dir and kept beside the store in an owner-only file, so `listen`
//! verifies and `trigger` and `replay --resign` sign with the same key
//! without the developer choosing one. `hookline secret` prints it; nothing
//! else does. A `--secret` (or `WEBHOOK_SECRET`) always takes its place.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use hookline_protocol::Secret;

/// The file's name in the data dir.
const FILE: &str = "dev-secret";

/// Random bytes in a new secret: 192 bits, past guessing.
const KEY_BYTES: usize = 24;

/// The development secret could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum DevSecretError {
    #[error("cannot read the development secret {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write the development secret {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "the development secret {} is empty or not one line; delete it and a new one is made",
        path.display()
    )]
    Corrupt { path: PathBuf },
    #[error("no random numbers for a development secret: {0}")]
    Random(String),
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// The data dir's development secret, `None` when none was made yet.
pub fn load(data_dir: &Path) -> Result<Option<Secret>, DevSecretError> {
    let path = path(data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(DevSecretError::Read { path, source }),
    };
    let secret = text.trim();
    if secret.is_empty() || secret.contains(char::is_whitespace) {
        return Err(DevSecretError::Corrupt { path });
    }
    Ok(Some(Secret::new(secret)))
}

/// The data dir's development secret, made now if there is none. Two
/// commands racing to make it agree on one: the file appears whole or not
/// at all (written aside, then linked in without replacing).
pub fn load_or_create(data_dir: &Path) -> Result<Secret, DevSecretError> {
    if let Some(secret) = load(data_dir)? {
        return Ok(secret);
    }
    let path = path(data_dir);
    let write_err = |source| DevSecretError::Write {
        path: path.clone(),
        source,
    };
    let aside = data_dir.join(format!("{FILE}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&aside)
        .and_then(|mut file| writeln!(file, "{}", generate()?).and_then(|()| file.sync_all()));
    let linked = written.and_then(|()| std::fs::hard_link(&aside, &path));
    let _ = std::fs::remove_file(&aside);
    match linked {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(write_err(err)),
    }
    load(data_dir)?.ok_or(DevSecretError::Corrupt { path })
}

/// `whsec_` and base64 of random bytes: the shape Standard Webhooks, Svix
/// and Stripe secrets have, and a plain string key for every other scheme,
/// so one secret signs and verifies under any `--scheme`.
fn generate() -> io::Result<String> {
    let mut key = [0u8; KEY_BYTES];
    getrandom::fill(&mut key)
        .map_err(|e| io::Error::other(DevSecretError::Random(e.to_string())))?;
    Ok(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_owner_only_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_none());
        let first = load_or_create(dir.path()).unwrap();
        assert!(first.expose().starts_with("whsec_"));
        assert_eq!(first.expose().len(), "whsec_".len() + 32);
        let again = load_or_create(dir.path()).unwrap();
        assert_eq!(first.expose(), again.expose());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            load_or_create(other.path()).unwrap().expose(),
            first.expose()
        );
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "only the secret file is left");
    }

    #[test]
    fn a_damaged_file_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(path(dir.path()), "two words\n").unwrap();
        let err = load_or_create(dir.path()).unwrap_err().to_string();
        assert!(err.contains("delete it"), "{err}");
    }
}
