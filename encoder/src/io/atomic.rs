//! Atomic file replacement: write a temporary file beside the destination, check it, and
//! rename it over the destination, so readers see either the old or the new contents.

use std::convert::Infallible;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::IoError;

/// Error from [`write_atomic_verified`]: either an I/O failure or the verifier's error.
#[derive(Debug, thiserror::Error)]
pub enum AtomicWriteError<E> {
    /// Creating, writing, syncing or renaming the temporary file failed.
    #[error(transparent)]
    Io(#[from] IoError),

    /// The verifier rejected the temporary file, so the destination was not changed.
    #[error("{}: the new contents failed verification and the file was left unchanged: {error}",
            path.display())]
    Verification {
        /// The destination path.
        path: PathBuf,
        /// The verifier's error.
        error: E,
    },
}

/// Writes `bytes` to a temporary file in the destination's folder, calls `verify` on the
/// temporary path, fsyncs and renames it over `path` only if `verify` succeeds. On any
/// failure the temporary file is removed and an existing `path` is left untouched.
///
/// The new file takes the permissions of the file it replaces. Without one, it gets the
/// default permissions of a new file (on Unix 0o666 less the umask). If `path` is a symbolic link, the
/// rename replaces the link itself, not its target. A device, pipe or socket at `path` is
/// an error, because the rename would replace it with a regular file.
pub fn write_atomic_verified<E>(
    path: &Path,
    bytes: &[u8],
    verify: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), AtomicWriteError<E>> {
    let Some(file_name) = path.file_name() else {
        let error = std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path does not name a file");
        return Err(IoError::io(path, "choose the destination file", error).into());
    };
    if path.is_dir() {
        return Err(IoError::IsDirectory { path: path.to_path_buf() }.into());
    }
    // The rename would replace a device, pipe or socket with a regular file (for root,
    // even /dev/null), so only a regular file or a symbolic link is replaced.
    if let Ok(metadata) = std::fs::symlink_metadata(path) {
        if !metadata.file_type().is_file() && !metadata.file_type().is_symlink() {
            let error = std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the path is a device, pipe or socket, not a regular file; choose a regular file",
            );
            return Err(IoError::io(path, "replace the destination", error).into());
        }
    }
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };

    // The leading dot hides the temporary file from directory listings and globs on Unix.
    let prefix = format!(".{}.", file_name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temp = builder.tempfile_in(folder).map_err(|e| {
        IoError::io(
            path,
            format!("create a temporary file in {} (check that the folder exists and is writable)", folder.display()),
            e,
        )
    })?;

    // Dropping `temp` on any early return below deletes the temporary file.
    if let Some(permissions) = existing_file_permissions(path) {
        temp.as_file()
            .set_permissions(permissions)
            .map_err(|e| IoError::io(path, "copy the file's permissions to the temporary file", e))?;
    }
    temp.write_all(bytes)
        .and_then(|()| temp.flush())
        .map_err(|e| IoError::io(path, format!("write the temporary file {}", temp.path().display()), e))?;

    if let Err(error) = verify(temp.path()) {
        // NOTE: a failure to delete the temporary file is not reported, because the
        // verification error is the one the caller needs to see.
        let _ = temp.close();
        return Err(AtomicWriteError::Verification { path: path.to_path_buf(), error });
    }

    temp.as_file()
        .sync_all()
        .map_err(|e| IoError::io(path, format!("sync the temporary file {}", temp.path().display()), e))?;
    temp.persist(path).map_err(|e| IoError::io(path, "rename the temporary file over the destination", e.error))?;

    sync_folder(folder);
    Ok(())
}

/// Writes `bytes` to `path` atomically: see [`write_atomic_verified`], without a check.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    write_atomic_verified(path, bytes, |_| Ok::<(), Infallible>(())).map_err(|error| match error {
        AtomicWriteError::Io(error) => error,
        AtomicWriteError::Verification { error, .. } => match error {},
    })
}

/// Returns the permissions of the regular file at `path`, if there is one.
fn existing_file_permissions(path: &Path) -> Option<std::fs::Permissions> {
    std::fs::metadata(path).ok().filter(std::fs::Metadata::is_file).map(|metadata| metadata.permissions())
}

/// Syncs a folder so that a rename in it survives a crash. This is best effort: the new
/// contents are already in place, so a failure here is not reported.
#[cfg(unix)]
fn sync_folder(folder: &Path) {
    if let Ok(handle) = std::fs::File::open(folder) {
        let _ = handle.sync_all();
    }
}

/// Folder handles cannot be synced through the standard library outside Unix.
#[cfg(not(unix))]
fn sync_folder(_folder: &Path) {}
