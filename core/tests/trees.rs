//! Tree patches: round trips of a tree with every feature, what each file costs, the checks
//! of the old tree, signing, and hand-crafted hostile patches.

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use chunkdelta::{
    ApplyOptions, DiffOptions, EntryKind, ErrorKind, FileSource, SecretKey, SignOptions, TrustPolicy,
    apply_tree, diff_tree, read_tree_info_file, sign_file, verify_tree,
};
use common::{Rng, edited, old_file};

/// Writes `content` at `root/path`, creating parents, with `mode`.
fn put(root: &Path, path: &str, content: &[u8], mode: u32) {
    let path = root.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, content).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
}

/// An old and a new tree with every feature a tree patch carries.
fn feature_trees(dir: &Path) -> (PathBuf, PathBuf) {
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

/// Every path below `root` with its kind, mode, content or target: what must match.
fn snapshot(root: &Path) -> Vec<(PathBuf, String)> {
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

fn options() -> DiffOptions {
    DiffOptions::new().level(3)
}

#[test]
fn a_tree_with_every_feature_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = feature_trees(dir.path());
    let patch = dir.path().join("tree.patch");
    let info = diff_tree(&old, &new, &patch, &options()).unwrap();
    let before = snapshot(&old);
    let out = dir.path().join("out");
    apply_tree(&old, &patch, &out, &ApplyOptions::new()).unwrap();
    assert_eq!(snapshot(&out), snapshot(&new));
    assert_eq!(snapshot(&old), before, "old is never modified");
    assert_eq!(verify_tree(&old, &patch, &ApplyOptions::new()).unwrap(), info);
    let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 4, "old, new, the patch and out only: {leftovers:?}");
}

#[test]
fn moves_and_copies_cost_nothing_and_renamed_files_are_patched() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = feature_trees(dir.path());
    let info = diff_tree(&old, &new, dir.path().join("p"), &options()).unwrap();
    let source = |path: &str| {
        let entry = info.entries.iter().find(|e| e.path == Path::new(path)).unwrap();
        let EntryKind::File { source, .. } = entry.kind else { panic!("{path} is not a file") };
        source
    };
    let old_path = |source: FileSource| info.old_files[source.old().unwrap()].path.clone();
    for moved in ["share/doc/guide/manual.txt", "plugins/b/a/plugin.dat", "copy-of-app"] {
        assert!(matches!(source(moved), FileSource::Copy { .. }), "{moved}: {:?}", source(moved));
    }
    assert_eq!(old_path(source("copy-of-app")), Path::new("bin/app"));
    assert!(matches!(source("bin/app"), FileSource::Patch { .. }));
    let renamed = source("lib/libcore.so.2");
    assert!(matches!(renamed, FileSource::Patch { .. }), "{renamed:?}");
    assert!(renamed.blob_len() < 20_000, "a renamed-and-edited 90 KB file costs {}", renamed.blob_len());
    assert!(matches!(source("added.bin"), FileSource::Literal { .. }));
    assert!(
        !info.old_files.iter().any(|f| f.path == Path::new("removed.txt")),
        "unread files are not required"
    );
}

#[test]
fn a_changed_or_missing_old_file_is_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = feature_trees(dir.path());
    let patch = dir.path().join("p");
    diff_tree(&old, &new, &patch, &options()).unwrap();
    let out = dir.path().join("out");
    fs::write(old.join("lib/libcore.so"), b"tampered").unwrap();
    let err = apply_tree(&old, &patch, &out, &ApplyOptions::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SourceMismatch);
    assert!(err.to_string().contains("lib/libcore.so"), "{err}");
    fs::remove_file(old.join("lib/libcore.so")).unwrap();
    symlink("/etc/passwd", old.join("lib/libcore.so")).unwrap();
    let err = apply_tree(&old, &patch, &out, &ApplyOptions::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SourceMismatch, "{err}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3, "nothing but old, new and the patch");
}

#[test]
fn an_existing_destination_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = feature_trees(dir.path());
    let patch = dir.path().join("p");
    diff_tree(&old, &new, &patch, &options()).unwrap();
    let err = apply_tree(&old, &patch, &new, &ApplyOptions::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn tree_patches_are_signed_and_checked_like_file_patches() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = feature_trees(dir.path());
    let patch = dir.path().join("p");
    let key = SecretKey::generate().unwrap();
    let signing = SignOptions::new().product("app").release(4);
    diff_tree(&old, &new, &patch, &options().sign(key.clone(), signing)).unwrap();
    let trusted = |policy: TrustPolicy| ApplyOptions::new().trust(policy.trust(key.public_key()));
    verify_tree(&old, &patch, &trusted(TrustPolicy::new().product("app").min_release(4))).unwrap();
    let err = verify_tree(&old, &patch, &trusted(TrustPolicy::new().min_release(5))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Untrusted);

    let other = SecretKey::generate().unwrap();
    assert_eq!(sign_file(&patch, &other, &SignOptions::new()).unwrap().len(), 2);
    let by_other = ApplyOptions::new().trust(TrustPolicy::new().trust(other.public_key()));
    apply_tree(&old, &patch, dir.path().join("out"), &by_other).unwrap();

    let mut bytes = fs::read(&patch).unwrap();
    let last = bytes.len() - 1;
    bytes[30] ^= 1; // the manifest hash, which signatures cover
    fs::write(&patch, &bytes).unwrap();
    let err = verify_tree(&old, &patch, &by_other).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Untrusted, "{err}");
    bytes[30] ^= 1;
    bytes[last] ^= 1; // a payload byte
    fs::write(&patch, &bytes).unwrap();
    assert_eq!(verify_tree(&old, &patch, &by_other).unwrap_err().kind(), ErrorKind::CorruptPatch);
    assert_eq!(read_tree_info_file(&patch).unwrap().signatures.len(), 2);
}

#[test]
fn names_that_differ_only_in_case_and_fifos_are_refused_at_diff_time() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    put(&old, "a", b"x", 0o644);
    put(&new, "README", b"x", 0o644);
    put(&new, "readme", b"y", 0o644);
    let err = diff_tree(&old, &new, dir.path().join("p"), &options()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("case"), "{err}");
    fs::remove_file(new.join("readme")).unwrap();
    let fifo = std::ffi::CString::new(new.join("pipe").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
    assert_eq!(unsafe { libc_mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let err = diff_tree(&old, &new, dir.path().join("p"), &options()).unwrap_err();
    assert!(err.to_string().contains("fifo"), "{err}");
}

unsafe extern "C" {
    #[link_name = "mkfifo"]
    fn libc_mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
}
