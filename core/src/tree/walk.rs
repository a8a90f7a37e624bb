//! Reading a directory tree as diff sees it: every entry below the root, never following a
//! symlink, sorted by path bytes.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::tree::manifest::{MODE_MASK, Mtime, check_path};

/// One entry found below a root.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    /// Relative to the root.
    pub(crate) path: PathBuf,
    pub(crate) mode: u32,
    pub(crate) kind: FoundKind,
    pub(crate) mtime: Mtime,
    /// A file with more than one name: its (device, inode), which its other names share.
    pub(crate) linked: Option<(u64, u64)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FoundKind {
    File { size: u64 },
    Dir,
    Symlink { target: PathBuf },
}

/// Every entry below `root` (a directory), sorted by path bytes. Devices, fifos and sockets,
/// and names that a tree patch cannot carry, are an [`crate::ErrorKind::InvalidArgument`].
pub(crate) fn walk(root: &Path) -> Result<Vec<Found>> {
    let meta = fs::metadata(root).map_err(|e| Error::io(format!("reading {}", root.display()), e))?;
    if !meta.is_dir() {
        return Err(Error::invalid(format!("{} is not a directory", root.display())));
    }
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let dir = root.join(&relative);
        let context = || format!("reading {}", dir.display());
        for item in fs::read_dir(&dir).map_err(|e| Error::io(context(), e))? {
            let item = item.map_err(|e| Error::io(context(), e))?;
            let path = relative.join(item.file_name());
            let entry = describe(root, &path)?;
            if entry.kind == FoundKind::Dir {
                pending.push(path);
            }
            found.push(entry);
        }
    }
    found.sort_by(|a, b| a.path.as_os_str().as_bytes().cmp(b.path.as_os_str().as_bytes()));
    Ok(found)
}

fn describe(root: &Path, path: &Path) -> Result<Found> {
    let full = root.join(path);
    check_path(path.as_os_str().as_bytes()).map_err(|why| {
        Error::invalid(format!("{}: a tree patch cannot hold this name ({why})", full.display()))
    })?;
    let meta =
        fs::symlink_metadata(&full).map_err(|e| Error::io(format!("reading {}", full.display()), e))?;
    let mode = meta.permissions().mode() & MODE_MASK;
    let file_type = meta.file_type();
    let kind = if file_type.is_dir() {
        FoundKind::Dir
    } else if file_type.is_file() {
        FoundKind::File { size: meta.len() }
    } else if file_type.is_symlink() {
        let target =
            fs::read_link(&full).map_err(|e| Error::io(format!("reading the link {}", full.display()), e))?;
        FoundKind::Symlink { target }
    } else {
        let what = if file_type.is_fifo() {
            "a fifo"
        } else if file_type.is_socket() {
            "a socket"
        } else {
            "a device"
        };
        return Err(Error::invalid(format!(
            "{} is {what}: tree patches hold files, directories and symlinks",
            full.display()
        )));
    };
    let mode = if matches!(kind, FoundKind::Symlink { .. }) { 0 } else { mode };
    let mtime = Mtime { secs: meta.mtime(), nanos: meta.mtime_nsec() as u32 };
    let linked = (file_type.is_file() && meta.nlink() > 1).then(|| (meta.dev(), meta.ino()));
    Ok(Found { path: path.to_path_buf(), mode, kind, mtime, linked })
}

/// Refuses a tree with two paths that differ only in case: one of them would be lost on a
/// case-insensitive filesystem (macOS and Windows by default).
pub(crate) fn check_case_collisions(found: &[Found]) -> Result<()> {
    let mut seen = std::collections::HashMap::new();
    for entry in found {
        let folded = entry.path.to_string_lossy().to_lowercase();
        if let Some(other) = seen.insert(folded, &entry.path) {
            return Err(Error::invalid(format!(
                "{} and {} differ only in case: a case-insensitive filesystem cannot hold both",
                other.display(),
                entry.path.display()
            )));
        }
    }
    Ok(())
}
