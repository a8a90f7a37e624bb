//! Tree patches: round trips of a tree with every feature, what each file costs, the checks
//! of the old tree, signing, and hand-crafted hostile patches.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use chunkdelta::{
    ApplyOptions, DiffOptions, EntryKind, ErrorKind, FileSource, SecretKey, SignOptions, TrustPolicy,
    apply_tree, diff_tree, read_tree_info_file, sign_file, verify_tree,
};
use common::trees::{feature_trees, linked_and_dated_trees, put, snapshot};
use common::{edited, old_file};

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
    for changed in ["bin/app", "lib/libcore.so.2", "added.bin"] {
        assert!(matches!(source(changed), FileSource::Solid { .. }), "{changed}: {:?}", source(changed));
    }
    let [solid] = &info.solid[..] else { panic!("one solid patch: {:?}", info.solid) };
    let bases: Vec<_> = solid.bases.iter().map(|&i| info.old_files[i].path.clone()).collect();
    assert_eq!(bases, [Path::new("bin/app"), Path::new("lib/libcore.so")], "the renamed file's basis");
    // 150 KB of edited files and 5 KB of new random bytes.
    assert!(solid.len < 5_000 + 20_000, "the solid patch costs {}", solid.len);
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

/// Hand-made tree patches, written from `TREE-FORMAT.md` alone.
mod crafted {
    use super::*;

    pub(super) fn path(out: &mut Vec<u8>, path: &[u8]) {
        out.extend_from_slice(&(path.len() as u16).to_le_bytes());
        out.extend_from_slice(path);
    }

    /// A manifest of no old files, `entries` (already encoded) with `count` claimed, and no
    /// removed paths.
    pub(super) fn manifest(count: u32, entries: &[u8]) -> Vec<u8> {
        [&0u32.to_le_bytes()[..], &count.to_le_bytes(), entries, &0u32.to_le_bytes()].concat()
    }

    pub(super) fn dir(out: &mut Vec<u8>, name: &[u8]) {
        path(out, name);
        out.push(1);
        out.extend_from_slice(&0o755u32.to_le_bytes());
    }

    pub(super) fn link(out: &mut Vec<u8>, name: &[u8], target: &[u8]) {
        path(out, name);
        out.push(2);
        out.extend_from_slice(&0u32.to_le_bytes());
        path(out, target);
    }

    /// A literal file entry whose content is `content`; returns its file patch.
    pub(super) fn literal(out: &mut Vec<u8>, name: &[u8], content: &[u8]) -> Vec<u8> {
        let blob = chunkdelta::diff(&[], content, &DiffOptions::new().level(1)).unwrap();
        path(out, name);
        out.push(0);
        out.extend_from_slice(&0o644u32.to_le_bytes());
        out.extend_from_slice(&(content.len() as u64).to_le_bytes());
        out.extend_from_slice(blake3::hash(content).as_bytes());
        out.push(2);
        out.extend_from_slice(&(blob.len() as u64).to_le_bytes());
        blob
    }

    /// The tree patch of `manifest` (raw) and `blobs`.
    pub(super) fn patch(manifest: &[u8], blobs: &[u8]) -> Vec<u8> {
        let packed = zstd::bulk::compress(manifest, 3).unwrap();
        let mut out = b"CDTR".to_vec();
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(manifest.len() as u64).to_le_bytes());
        out.extend_from_slice(&(packed.len() as u64).to_le_bytes());
        out.extend_from_slice(blake3::hash(manifest).as_bytes());
        out.extend_from_slice(&[0; 8]);
        [out, packed, blobs.to_vec()].concat()
    }
}

/// Applies `patch` from `sandbox/p` to an empty old tree, into `sandbox/box/out`; returns the
/// error, after checking that nothing but the patch, `old` and the empty `box` is left.
fn hostile(patch: &[u8]) -> chunkdelta::Error {
    let sandbox = tempfile::tempdir().unwrap();
    let (old, inside) = (sandbox.path().join("old"), sandbox.path().join("box"));
    fs::create_dir(&old).unwrap();
    fs::create_dir(&inside).unwrap();
    fs::write(sandbox.path().join("p"), patch).unwrap();
    let err =
        apply_tree(&old, sandbox.path().join("p"), inside.join("out"), &ApplyOptions::new()).unwrap_err();
    assert_eq!(
        fs::read_dir(sandbox.path()).unwrap().count(),
        3,
        "{err}: something was written beside the box"
    );
    assert_eq!(fs::read_dir(&inside).unwrap().count(), 0, "{err}: something was left in the box");
    err
}

#[test]
fn a_crafted_valid_patch_applies() {
    let mut entries = Vec::new();
    crafted::dir(&mut entries, b"d");
    let blob = crafted::literal(&mut entries, b"d/f", b"content");
    let patch = crafted::patch(&crafted::manifest(2, &entries), &blob);
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("old")).unwrap();
    fs::write(dir.path().join("p"), &patch).unwrap();
    apply_tree(dir.path().join("old"), dir.path().join("p"), dir.path().join("out"), &ApplyOptions::new())
        .unwrap();
    assert_eq!(fs::read(dir.path().join("out/d/f")).unwrap(), b"content");
}

#[test]
fn traversal_absolute_and_odd_paths_are_refused() {
    for name in
        [&b"../escaped"[..], b"/tmp/chunkdelta-absolute", b"a/../../escaped", b"./x", b"x/", b"a\0b", b""]
    {
        let mut entries = Vec::new();
        let blob = crafted::literal(&mut entries, name, b"evil");
        let err = hostile(&crafted::patch(&crafted::manifest(1, &entries), &blob));
        assert_eq!(err.kind(), ErrorKind::CorruptPatch, "{name:?}: {err}");
    }
    assert!(!Path::new("/tmp/chunkdelta-absolute").exists());
}

#[test]
fn writing_through_a_symlink_is_refused() {
    let target = tempfile::tempdir().unwrap();
    let mut entries = Vec::new();
    crafted::link(&mut entries, b"a", target.path().as_os_str().as_encoded_bytes());
    let blob = crafted::literal(&mut entries, b"a/passwd", b"evil");
    let err = hostile(&crafted::patch(&crafted::manifest(2, &entries), &blob));
    assert_eq!(err.kind(), ErrorKind::CorruptPatch, "{err}");
    assert_eq!(fs::read_dir(target.path()).unwrap().count(), 0);
}

#[test]
fn duplicate_unsorted_and_orphan_entries_are_refused() {
    let mut twice = Vec::new();
    let mut blobs = crafted::literal(&mut twice, b"f", b"one");
    blobs.extend(crafted::literal(&mut twice, b"f", b"two"));
    let mut unsorted = Vec::new();
    let mut unsorted_blobs = crafted::literal(&mut unsorted, b"z", b"one");
    unsorted_blobs.extend(crafted::literal(&mut unsorted, b"a", b"two"));
    let mut orphan = Vec::new();
    let orphan_blob = crafted::literal(&mut orphan, b"missing-dir/f", b"x");
    let cases = [
        (2, twice, blobs, "repeated"),
        (2, unsorted, unsorted_blobs, "out of order"),
        (1, orphan, orphan_blob, "not under"),
    ];
    for (count, entries, blobs, reason) in cases {
        let err = hostile(&crafted::patch(&crafted::manifest(count, &entries), &blobs));
        assert_eq!(err.kind(), ErrorKind::CorruptPatch, "{err}");
        assert!(err.to_string().contains(reason), "{reason}: {err}");
    }
}

#[test]
fn huge_claims_are_refused_without_allocating_them() {
    let err = hostile(&crafted::patch(&crafted::manifest(u32::MAX, &[]), &[]));
    assert_eq!(err.kind(), ErrorKind::CorruptPatch, "{err}");
    let mut huge_manifest = crafted::patch(&crafted::manifest(0, &[]), &[]);
    huge_manifest[8..16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert_eq!(hostile(&huge_manifest).kind(), ErrorKind::LimitExceeded);
    let mut entries = Vec::new();
    let blob = crafted::literal(&mut entries, b"f", b"content");
    let mut lying = crafted::patch(&crafted::manifest(1, &entries), &blob);
    lying.truncate(lying.len() - 1);
    assert_eq!(hostile(&lying).kind(), ErrorKind::CorruptPatch);
}

#[test]
fn every_flipped_byte_of_a_small_tree_patch_is_refused_or_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    put(&old, "a/x", &old_file(90, 3000), 0o644);
    put(&new, "a/x", &edited(&old_file(90, 3000), 91, 3), 0o644);
    put(&new, "b", b"new file", 0o600);
    let patch_path = dir.path().join("p");
    diff_tree(&old, &new, &patch_path, &options()).unwrap();
    let patch = fs::read(&patch_path).unwrap();
    let out = dir.path().join("out");
    for at in (0..patch.len()).step_by(3) {
        let mut bad = patch.clone();
        bad[at] ^= 0x04;
        fs::write(&patch_path, &bad).unwrap();
        match apply_tree(&old, &patch_path, &out, &ApplyOptions::new()) {
            Err(_) => assert!(!out.exists(), "byte {at} left output"),
            Ok(_) => {
                // Only bytes no hash covers may change without an error, and then the tree is exact.
                assert_eq!(snapshot(&out), snapshot(&new), "byte {at} changed the result");
                fs::remove_dir_all(&out).unwrap();
            }
        }
    }
}

#[test]
fn in_place_upgrade_swaps_carries_user_files_and_rolls_back_or_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = feature_trees(dir.path());
    let patch = dir.path().join("p");
    diff_tree(&old, &new, &patch, &options()).unwrap();
    put(&old, "user.cfg", b"the user's settings", 0o600);
    put(&old, "plugins/a/mine.dat", b"a user plugin in a folder the release moved", 0o644);
    let before = snapshot(&old);

    let report = chunkdelta::apply_tree_in_place(&old, &patch, &ApplyOptions::new()).unwrap();
    let carried: Vec<&str> = report.carried.iter().map(|p| p.to_str().unwrap()).collect();
    assert_eq!(carried, ["plugins/a/mine.dat", "user.cfg"]);
    let mut expected = snapshot(&new);
    expected.extend(
        snapshot(&old).into_iter().filter(|(p, _)| p.starts_with("user.cfg") || p.starts_with("plugins/a")),
    );
    expected.sort();
    assert_eq!(snapshot(&old), expected, "the new tree plus the user's files");
    let again = chunkdelta::apply_tree_in_place(&old, &patch, &ApplyOptions::new()).unwrap();
    assert!(again.resumed, "a second run finds the update done");

    chunkdelta::rollback_tree(&old).unwrap();
    assert_eq!(snapshot(&old), before, "rollback restores the old tree exactly");
    assert!(!dir.path().join(".old.cdtr").exists());

    chunkdelta::apply_tree_in_place(&old, &patch, &ApplyOptions::new()).unwrap();
    chunkdelta::commit_tree(&old).unwrap();
    assert_eq!(snapshot(&old), expected);
    assert!(!dir.path().join(".old.cdtr").exists(), "commit leaves nothing beside the tree");
    assert_eq!(chunkdelta::recover_tree(&old).unwrap(), chunkdelta::Recovered::Nothing);
    assert_eq!(chunkdelta::commit_tree(&old).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

#[test]
fn a_refused_in_place_apply_leaves_the_old_tree_and_no_state() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = feature_trees(dir.path());
    let patch = dir.path().join("p");
    diff_tree(&old, &new, &patch, &options()).unwrap();
    fs::write(old.join("bin/app"), b"changed by someone").unwrap();
    let before = snapshot(&old);
    let err = chunkdelta::apply_tree_in_place(&old, &patch, &ApplyOptions::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SourceMismatch);
    assert_eq!(snapshot(&old), before);
    assert!(!dir.path().join(".old.cdtr").exists(), "a refused patch blocks no later update");
    let key = SecretKey::generate().unwrap();
    let trust = ApplyOptions::new().trust(TrustPolicy::new().trust(key.public_key()));
    let err = chunkdelta::apply_tree_in_place(&old, &patch, &trust).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Untrusted);
    assert!(!dir.path().join(".old.cdtr").exists());
    assert_eq!(chunkdelta::recover_tree(&old).unwrap(), chunkdelta::Recovered::Nothing);
}

/// An executable in a tree gets a solid patch of its own kind: a version-4 file patch when
/// its old and new files analyse as executables, much smaller than with `exec(false)`.
#[test]
fn an_executable_in_a_tree_is_patched_with_its_pointers_predicted() {
    let mut rng = common::Rng::new(40);
    let program = common::elf::Program::random(common::elf::Machine::X86_64, &mut rng, 3000);
    let grown = program.grown(&mut rng, 40);
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    put(&old, "bin/app", &program.elf(), 0o755);
    put(&new, "bin/app", &grown.elf(), 0o755);
    let mut sizes = Vec::new();
    for exec in [true, false] {
        let patch = dir.path().join(format!("exec-{exec}.patch"));
        diff_tree(&old, &new, &patch, &options().exec(exec)).unwrap();
        let out = dir.path().join(format!("out-{exec}"));
        apply_tree(&old, &patch, &out, &ApplyOptions::new()).unwrap();
        assert_eq!(snapshot(&out), snapshot(&new), "exec {exec}");
        sizes.push(fs::metadata(&patch).unwrap().len());
    }
    assert!(sizes[0] * 2 < sizes[1], "exec on and off: {sizes:?}");
}

/// `(path, inode group, mtime)` of every entry below `root`: files that are one file have the
/// same group (the index of their first path), others their own.
fn links_and_times(root: &Path) -> Vec<(String, usize, (i64, i64))> {
    use std::os::unix::fs::MetadataExt;
    let mut paths: Vec<_> = snapshot(root).into_iter().map(|(path, _)| path).collect();
    paths.sort();
    let mut first = std::collections::HashMap::new();
    paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let meta = fs::symlink_metadata(root.join(path)).unwrap();
            let group = if meta.is_file() { *first.entry(meta.ino()).or_insert(i) } else { i };
            (path.display().to_string(), group, (meta.mtime(), meta.mtime_nsec()))
        })
        .collect()
}

#[test]
fn hard_links_and_mtimes_are_kept_when_asked_for_in_a_new_directory_and_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = linked_and_dated_trees(dir.path());
    let patch = dir.path().join("tree.patch");
    let info = diff_tree(&old, &new, &patch, &options().hard_links(true).mtimes(true)).unwrap();
    assert_eq!(info.format_version, 3);
    let links: Vec<_> =
        info.entries.iter().filter(|e| matches!(e.kind, EntryKind::HardLink { .. })).collect();
    assert_eq!(links.len(), 2, "{links:?}");

    let out = dir.path().join("out");
    apply_tree(&old, &patch, &out, &ApplyOptions::new()).unwrap();
    assert_eq!(snapshot(&out), snapshot(&new));
    assert_eq!(links_and_times(&out), links_and_times(&new));

    let target = dir.path().join("installed");
    copy_dir(&old, &target);
    chunkdelta::apply_tree_in_place(&target, &patch, &ApplyOptions::new()).unwrap();
    assert_eq!(links_and_times(&target), links_and_times(&new));
    chunkdelta::rollback_tree(&target).unwrap();
    assert_eq!(snapshot(&target), snapshot(&old));
}

#[test]
fn without_the_options_hard_links_are_copies_and_the_patch_is_format_2() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = linked_and_dated_trees(dir.path());
    let patch = dir.path().join("tree.patch");
    let info = diff_tree(&old, &new, &patch, &options()).unwrap();
    assert_eq!(info.format_version, 2);
    assert!(info.entries.iter().all(|e| e.mtime.is_none() && !matches!(e.kind, EntryKind::HardLink { .. })));
    let out = dir.path().join("out");
    apply_tree(&old, &patch, &out, &ApplyOptions::new()).unwrap();
    assert_eq!(snapshot(&out), snapshot(&new));
    let groups: std::collections::HashSet<_> = links_and_times(&out).iter().map(|(_, g, _)| *g).collect();
    assert_eq!(groups.len(), snapshot(&out).len(), "no two paths share a file");
}

fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(status.success());
}

#[test]
fn an_executable_gets_a_solid_patch_of_its_own_that_uses_the_transform() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = common::Rng::new(7);
    let program = common::elf::Program::random(common::elf::Machine::X86_64, &mut rng, 400);
    let (old_elf, new_elf) = (program.elf(), program.grown(&mut rng, 20).elf());
    let text = old_file(3, 40_000);
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    for (root, elf, text) in [(&old, &old_elf, text.clone()), (&new, &new_elf, edited(&text, 4, 20))] {
        put(root, "bin/tool", elf, 0o755);
        put(root, "share/notes.txt", &text, 0o644);
    }
    let diff_with =
        |exec: bool| diff_tree(&old, &new, dir.path().join(format!("{exec}")), &options().exec(exec));
    let (on, off) = (diff_with(true).unwrap(), diff_with(false).unwrap());
    assert_eq!(on.solid.len(), 2, "the executable alone, then the text: {:?}", on.solid);
    assert_eq!(off.solid.len(), 1, "without the transform, one patch for both: {:?}", off.solid);
    let total = |info: &chunkdelta::TreeInfo| info.solid.iter().map(|s| s.len).sum::<u64>();
    assert!(total(&on) < total(&off), "{} against {}", total(&on), total(&off));
    let out = dir.path().join("out");
    apply_tree(&old, dir.path().join("true"), &out, &ApplyOptions::new()).unwrap();
    assert_eq!(snapshot(&out), snapshot(&new));
}
