//! Trees for the tree-patch tests: one with every feature a tree patch carries, and a
//! snapshot of what must match after an apply.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use super::{Rng, edited, old_file};

/// Writes `content` at `root/path`, creating parents, with `mode`.
pub(crate) fn put(root: &Path, path: &str, content: &[u8], mode: u32) {
    let path = root.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, content).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
}

/// An old and a new tree with every feature a tree patch carries.
pub(crate) fn feature_trees(dir: &Path) -> (PathBuf, PathBuf) {
    let (old, new) = (dir.join("old"), dir.join("new"));
    let lib = old_file(81, 90_000);
    let app = old_file(82, 60_000);
    let doc = old_file(83, 20_000);
    put(&old, "bin/app", &app, 0o755);
    put(&old, "lib/libcore.so", &lib, 0o644);
    put(&old, "share/doc/manual.txt", &doc, 0o644);
    put(&old, "plugins/a/plugin.dat", &old_file(84, 8_000), 0o600);
    put(&old, "removed.txt", b"gone in the new release", 0o644);
    put(&old, "becomes-link", b"a file that becomes a symlink", 0o644);
    symlink("lib/libcore.so", old.join("current")).unwrap();

    put(&new, "bin/app", &edited(&app, 85, 8), 0o755);
    put(&new, "lib/libcore.so.2", &edited(&lib, 86, 6), 0o644); // renamed and edited
    put(&new, "share/doc/guide/manual.txt", &doc, 0o444); // moved, mode changed
    put(&new, "plugins/b/a/plugin.dat", &old_file(84, 8_000), 0o600); // moved folder
    put(&new, "added.bin", &Rng::new(87).bytes(5_000), 0o640);
    put(&new, "copy-of-app", &app, 0o700); // old content, new place
    fs::create_dir_all(new.join("empty/dir")).unwrap();
    fs::set_permissions(new.join("empty"), fs::Permissions::from_mode(0o750)).unwrap();
    symlink("lib/libcore.so.2", new.join("current")).unwrap(); // retargeted
    symlink("bin/app", new.join("becomes-link")).unwrap();
    (old, new)
}

/// The feature trees, with `bin/app` also named `bin/app-again` and `lib/libcore.so.2` also
/// `share/libcore`, and every entry's mtime set to a distinct time in the past.
pub(crate) fn linked_and_dated_trees(dir: &Path) -> (PathBuf, PathBuf) {
    let (old, new) = feature_trees(dir);
    fs::hard_link(new.join("bin/app"), new.join("bin/app-again")).unwrap();
    fs::hard_link(new.join("lib/libcore.so.2"), new.join("share/libcore")).unwrap();
    for (i, (path, _)) in snapshot(&new).iter().enumerate() {
        let time = timespec(1_600_000_000 + 3_600 * i as i64, 123_456_789);
        set_mtime(&new.join(path), time);
    }
    (old, new)
}

fn timespec(secs: i64, nanos: i64) -> libc::timespec {
    libc::timespec { tv_sec: secs, tv_nsec: nanos }
}

fn set_mtime(path: &Path, time: libc::timespec) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let times = [libc::timespec { tv_sec: 0, tv_nsec: libc::UTIME_OMIT }, time];
    // SAFETY: a valid C string and two timespecs, alive for the call.
    let status =
        unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) };
    assert_eq!(status, 0, "utimensat {}", path.display());
}

/// Every path below `root` with its kind, mode, content or target: what must match.
pub(crate) fn snapshot(root: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for item in fs::read_dir(&dir).unwrap() {
            let path = item.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o777;
            let what = if meta.file_type().is_symlink() {
                format!("link {}", fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                pending.push(path.clone());
                format!("dir {mode:o}")
            } else {
                format!("file {mode:o} {}", blake3::hash(&fs::read(&path).unwrap()).to_hex())
            };
            out.push((path.strip_prefix(root).unwrap().to_path_buf(), what));
        }
    }
    out.sort();
    out
}
