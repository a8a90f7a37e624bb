//! The operating-system specific part of tree apply, kept in one place for ports.

use std::path::Path;

use crate::error::{Error, Result};
use crate::tree::manifest::Mtime;

/// What a flagged rename does when its destination exists.
#[derive(Clone, Copy)]
enum Rename {
    /// Fail, even if the destination is created meanwhile.
    NoReplace,
    /// Swap the two names in one step.
    Exchange,
}

/// `rename(from, to)` with [`Rename`]'s semantics (the outer error: a path the OS cannot
/// take; the inner one: the rename's own), atomic in the kernel: Linux's
/// `renameat2` (`RENAME_NOREPLACE`, `RENAME_EXCHANGE`: ext4, xfs, btrfs, tmpfs and most local
/// filesystems) or macOS's `renamex_np` (`RENAME_EXCL`, `RENAME_SWAP`: APFS, HFS+).
#[cfg(any(target_os = "linux", target_os = "macos"))]
fn rename_flagged(from: &Path, to: &Path, how: Rename) -> Result<std::io::Result<()>> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |path: &Path| {
        CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::invalid(format!("{} holds a NUL byte", path.display())))
    };
    let (from_c, to_c) = (c(from)?, c(to)?);
    // SAFETY: both arguments are valid NUL-terminated strings that outlive the call; with
    // AT_FDCWD (Linux) they are relative to the working directory, as `rename` would take them.
    #[cfg(target_os = "linux")]
    let status = unsafe {
        let flags = match how {
            Rename::NoReplace => libc::RENAME_NOREPLACE,
            Rename::Exchange => libc::RENAME_EXCHANGE,
        };
        libc::renameat2(libc::AT_FDCWD, from_c.as_ptr(), libc::AT_FDCWD, to_c.as_ptr(), flags)
    };
    // SAFETY: as above.
    #[cfg(target_os = "macos")]
    let status = unsafe {
        let flags = match how {
            Rename::NoReplace => libc::RENAME_EXCL,
            Rename::Exchange => libc::RENAME_SWAP,
        };
        libc::renamex_np(from_c.as_ptr(), to_c.as_ptr(), flags)
    };
    Ok(if status == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) })
}

/// Without a flagged rename: no-replace is a check then `rename` (a `to` created between them
/// is replaced only if it is an empty directory: `rename` refuses a non-empty one), and
/// exchange is [`std::io::ErrorKind::Unsupported`]. A Windows port journals two renames
/// instead (`TREE-FORMAT.md`, "In-place upgrades").
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn rename_flagged(from: &Path, to: &Path, how: Rename) -> Result<std::io::Result<()>> {
    Ok(match how {
        Rename::NoReplace if std::fs::symlink_metadata(to).is_ok() => {
            Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists))
        }
        Rename::NoReplace => std::fs::rename(from, to),
        Rename::Exchange => Err(std::io::Error::from(std::io::ErrorKind::Unsupported)),
    })
}

/// Renames the directory `from` to `to`, failing if `to` exists (even if it is created
/// meanwhile, on Linux and macOS).
pub(crate) fn rename_no_replace(from: &Path, to: &Path) -> Result<()> {
    rename_flagged(from, to, Rename::NoReplace)?
        .map_err(|e| Error::io(format!("renaming {} to {}", from.display(), to.display()), e))
}

/// Exchanges the directories `a` and `b` in one step: each name then holds what the other
/// held, and no moment exists where either is missing (Linux and macOS; elsewhere
/// [`std::io::ErrorKind::Unsupported`]).
pub(crate) fn exchange(a: &Path, b: &Path) -> Result<()> {
    rename_flagged(a, b, Rename::Exchange)?
        .map_err(|e| Error::io(format!("exchanging {} and {}", a.display(), b.display()), e))
}

/// Sets the modification time of `path` itself (a symlink's own, never its target's), leaving
/// its access time: `utimensat` with `AT_SYMLINK_NOFOLLOW`.
pub(crate) fn set_mtime(path: &Path, mtime: Mtime) -> Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let path_c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::invalid(format!("{} holds a NUL byte", path.display())))?;
    let omit = libc::timespec { tv_sec: 0, tv_nsec: libc::UTIME_OMIT };
    let modified =
        libc::timespec { tv_sec: mtime.secs as libc::time_t, tv_nsec: mtime.nanos as libc::c_long };
    let times = [omit, modified];
    // SAFETY: `path_c` is a valid NUL-terminated string and `times` two initialised timespecs,
    // both outliving the call, which only reads them.
    let status = unsafe {
        libc::utimensat(libc::AT_FDCWD, path_c.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW)
    };
    if status != 0 {
        let error = std::io::Error::last_os_error();
        return Err(Error::io(format!("setting the modification time of {}", path.display()), error));
    }
    Ok(())
}

/// The (device, inode) of `path` itself: which tree a directory name holds.
pub(crate) fn identity(path: &Path) -> Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta =
        std::fs::symlink_metadata(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    Ok((meta.dev(), meta.ino()))
}

/// Fails with [`std::io::ErrorKind::StorageFull`] unless the filesystem holding `dir` has at
/// least `needed` bytes free for this user (`statvfs`'s `f_bavail`).
pub(crate) fn check_free_space(dir: &Path, needed: u64) -> Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let path = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| Error::invalid(format!("{} holds a NUL byte", dir.display())))?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a valid NUL-terminated string and `stats` points to writable memory
    // of the right type; statvfs fills it completely when it returns 0.
    if unsafe { libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) } != 0 {
        return Err(Error::io(
            format!("reading the free space of {}", dir.display()),
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: statvfs returned 0, so it initialised `stats`.
    let stats = unsafe { stats.assume_init() };
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    let free = (stats.f_bavail as u64).saturating_mul(stats.f_frsize as u64);
    if free < needed {
        let full = std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            format!("{needed} bytes are needed to stage the new tree, {free} are free"),
        );
        return Err(Error::io(format!("staging beside {}", dir.display()), full));
    }
    Ok(())
}

/// Makes everything written under the directory `root` durable. Linux: one `syncfs` of its
/// filesystem, which is much faster than an fsync per file for trees of many small files.
#[cfg(target_os = "linux")]
pub(crate) fn sync_tree(root: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let dir = std::fs::File::open(root).map_err(|e| Error::io(format!("opening {}", root.display()), e))?;
    // SAFETY: `dir` is an open file descriptor for the whole call; syncfs only reads it.
    if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
        let error = std::io::Error::last_os_error();
        return Err(Error::io(format!("syncing the filesystem of {}", root.display()), error));
    }
    Ok(())
}

/// Makes everything written under the directory `root` durable: an fsync of every file and
/// directory below it, children first.
#[cfg(not(target_os = "linux"))]
pub(crate) fn sync_tree(root: &Path) -> Result<()> {
    let sync = |path: &Path| {
        std::fs::File::open(path)
            .and_then(|file| file.sync_all())
            .map_err(|e| Error::io(format!("syncing {}", path.display()), e))
    };
    for item in std::fs::read_dir(root).map_err(|e| Error::io(format!("reading {}", root.display()), e))? {
        let item = item.map_err(|e| Error::io(format!("reading {}", root.display()), e))?;
        let kind = item.file_type().map_err(|e| Error::io(format!("reading {}", root.display()), e))?;
        if kind.is_dir() {
            sync_tree(&item.path())?;
        } else if kind.is_file() {
            sync(&item.path())?;
        }
    }
    sync(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_read_and_an_impossible_need_is_storage_full() {
        let dir = tempfile::tempdir().unwrap();
        check_free_space(dir.path(), 1).unwrap();
        let Err(Error::Io { source, .. }) = check_free_space(dir.path(), u64::MAX) else {
            panic!("no error")
        };
        assert_eq!(source.kind(), std::io::ErrorKind::StorageFull);
    }
}
