//! The relay's data directory holds queued webhook bodies, which may carry
//! customer data: it is created owner-only, its queue files are made
//! owner-only, and a directory others can write is refused, since anyone who
//! can write it can replace the queue the relay delivers from.

use std::io;
use std::path::{Path, PathBuf};

use crate::RelayError;

/// Where the sled queue lives inside the data directory.
pub(crate) fn queue_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("queue")
}

/// Creates `data_dir` and its queue directory (mode 0700) when missing, and
/// refuses a data directory writable by group or others. Run before the
/// queue opens, so sled creates its files inside an owner-only directory.
pub(crate) fn prepare(data_dir: &Path) -> Result<(), RelayError> {
    let failed = |source| RelayError::DataDir {
        path: data_dir.to_owned(),
        source,
    };
    create_owner_only(data_dir).map_err(failed)?;
    check_not_shared(data_dir)?;
    let queue = queue_dir(data_dir);
    create_owner_only(&queue).map_err(failed)?;
    restrict(&queue, true).map_err(failed)
}

/// Makes everything sled wrote owner-only (0700 directories, 0600 files):
/// sled creates files with the process umask, usually 0644, and queues from
/// before this check are tightened on their next start. Files sled adds later
/// (snapshots, blobs) sit inside the 0700 queue directory.
pub(crate) fn restrict_queue_files(data_dir: &Path) -> Result<(), RelayError> {
    let queue = queue_dir(data_dir);
    restrict_tree(&queue).map_err(|source| RelayError::DataDir {
        path: queue,
        source,
    })
}

fn create_owner_only(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(unix)]
fn check_not_shared(dir: &Path) -> Result<(), RelayError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir)
        .map_err(|source| RelayError::DataDir {
            path: dir.to_owned(),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o022 != 0 {
        return Err(RelayError::SharedDataDir {
            path: dir.to_owned(),
            mode: mode & 0o7777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_not_shared(_dir: &Path) -> Result<(), RelayError> {
    Ok(())
}

/// Sets `path` to 0700 (directory) or 0600 (file) when it allows more.
/// Symbolic links are left alone: sled makes none, and following one could
/// change a file outside the queue.
#[cfg(unix)]
fn restrict(path: &Path, is_dir: bool) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::symlink_metadata(path)?.permissions().mode();
    let wanted = if is_dir { 0o700 } else { 0o600 };
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(wanted))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _is_dir: bool) -> io::Result<()> {
    Ok(())
}

fn restrict_tree(dir: &Path) -> io::Result<()> {
    restrict(dir, true)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            restrict_tree(&entry.path())?;
        } else if kind.is_file() {
            restrict(&entry.path(), false)?;
        }
    }
    Ok(())
}
