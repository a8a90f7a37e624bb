//! Tree patches through the command line: `diff` of two directories, then `info`, `verify`
//! and `apply` of the tree patch, signed and unsigned.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn run(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chunkdelta")).args(args).stdin(Stdio::null()).output().unwrap()
}

fn ok(args: &[&Path]) -> String {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn trees(dir: &Path) {
    let (old, new) = (dir.join("old"), dir.join("new"));
    fs::create_dir_all(old.join("lib")).unwrap();
    fs::create_dir_all(new.join("lib/v2")).unwrap();
    let library: Vec<u8> = (0..50_000u32).flat_map(|i| (i % 977).to_le_bytes()).collect();
    fs::write(old.join("lib/core.so"), &library).unwrap();
    let mut edited = library.clone();
    edited[5000..5010].fill(7);
    fs::write(new.join("lib/v2/core.so"), &edited).unwrap();
    fs::write(new.join("README"), b"new in this release\n").unwrap();
    for tree in [&old, &new] {
        fs::write(tree.join("LICENSE"), b"unchanged\n").unwrap();
    }
    symlink("lib/v2/core.so", new.join("core")).unwrap();
}

#[test]
fn a_tree_diffs_applies_verifies_and_describes_itself() {
    let dir = tempfile::tempdir().unwrap();
    trees(dir.path());
    let [old, new, patch, out] = ["old", "new", "tree.patch", "out"].map(|name| dir.path().join(name));
    let said = ok(&[Path::new("diff"), &old, &new, Path::new("-o"), &patch]);
    assert!(said.contains("3 files (1 copied, 2 from the solid patch), 2 directories, 1 symlinks"), "{said}");
    ok(&[Path::new("verify"), &old, &patch]);
    ok(&[Path::new("apply"), &old, &patch, Path::new("-o"), &out]);
    assert_eq!(fs::read(out.join("lib/v2/core.so")).unwrap(), fs::read(new.join("lib/v2/core.so")).unwrap());
    assert_eq!(fs::read_link(out.join("core")).unwrap(), Path::new("lib/v2/core.so"));

    let text = ok(&[Path::new("info"), &patch]);
    assert!(text.contains("solid    644 lib/v2/core.so (200000 bytes)\n"), "{text}");
    assert!(
        text.contains("solid patch 0   ") && text.contains(" bytes, 2 files, against 1 old files\n"),
        "{text}"
    );
    assert!(text.contains("keep     644 LICENSE (10 bytes)\n"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&[Path::new("info"), Path::new("--json"), &patch])).unwrap();
    assert_eq!(json["kind"], "tree");
    let ops: Vec<&str> =
        json["entries"].as_array().unwrap().iter().filter_map(|e| e["op"].as_str()).collect();
    assert_eq!(ops, ["keep", "solid", "solid"]);
    assert_eq!(json["old_files"][1]["path"], "lib/core.so");
    assert_eq!(json["solid"][0]["bases"], serde_json::json!(["lib/core.so"]));
    assert_eq!(json["solid"][0]["files"], 2);

    let again = run(&[Path::new("apply"), &old, &patch, Path::new("-o"), &out]);
    assert_eq!(again.status.code(), Some(1), "an existing OUT is refused");
}

#[test]
fn hard_links_and_mtimes_are_kept_with_their_flags_and_listed_by_info() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    trees(dir.path());
    let [old, new, patch, out] = ["old", "new", "tree.patch", "out"].map(|name| dir.path().join(name));
    fs::hard_link(new.join("lib/v2/core.so"), new.join("core-again.so")).unwrap();
    let flags = [Path::new("--hard-links"), Path::new("--mtimes")];
    let said = ok(&[&[Path::new("diff"), &old, &new, Path::new("-o"), &patch], &flags[..]].concat());
    assert!(said.contains("1 hard links"), "{said}");
    ok(&[Path::new("apply"), &old, &patch, Path::new("-o"), &out]);
    let inode = |path: &Path| fs::metadata(path).unwrap().ino();
    assert_eq!(inode(&out.join("core-again.so")), inode(&out.join("lib/v2/core.so")));
    let mtime = |path: &Path| fs::symlink_metadata(path).map(|m| (m.mtime(), m.mtime_nsec())).unwrap();
    for path in ["lib", "lib/v2/core.so", "core", "LICENSE"] {
        assert_eq!(mtime(&out.join(path)), mtime(&new.join(path)), "{path}");
    }

    let text = ok(&[Path::new("info"), &patch]);
    assert!(
        text.contains("tree format     3\n")
            && text.contains("hardlink     lib/v2/core.so = core-again.so\n"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&[Path::new("info"), Path::new("--json"), &patch])).unwrap();
    let link = json["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "hardlink").unwrap();
    assert_eq!(link["target"], "core-again.so");
    let license = json["entries"].as_array().unwrap().iter().find(|e| e["path"] == "LICENSE").unwrap();
    assert_eq!(license["mtime"]["secs"], mtime(&new.join("LICENSE")).0);
}

#[test]
fn a_signed_tree_patch_is_checked_and_a_changed_old_tree_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    trees(dir.path());
    let [old, new, patch, out, key] = ["old", "new", "p", "out", "k"].map(|name| dir.path().join(name));
    ok(&[Path::new("keygen"), Path::new("-o"), &key]);
    let (secret, public) = (dir.path().join("k.key"), dir.path().join("k.pub"));
    ok(&[
        Path::new("diff"),
        &old,
        &new,
        Path::new("-o"),
        &patch,
        Path::new("--sign"),
        &secret,
        Path::new("--release"),
        Path::new("9"),
    ]);
    let trusted = [Path::new("--trusted-key"), &public];
    let high = [Path::new("--min-release"), Path::new("10")];
    let refused = run(&[&[Path::new("verify"), &old, &patch][..], &trusted, &high].concat());
    assert_eq!(refused.status.code(), Some(4), "{}", String::from_utf8_lossy(&refused.stderr));
    ok(&[&[Path::new("verify"), &old, &patch][..], &trusted].concat());

    fs::write(old.join("lib/core.so"), b"changed").unwrap();
    let mismatch = run(&[Path::new("apply"), &old, &patch, Path::new("-o"), &out]);
    let stderr = String::from_utf8_lossy(&mismatch.stderr);
    assert_eq!(mismatch.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("lib/core.so"), "{stderr}");
    assert!(!out.exists());
}

/// Every path below `root` with its kind, mode and content or target.
fn snapshot(root: &Path) -> Vec<(std::path::PathBuf, String)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for item in fs::read_dir(&dir).unwrap() {
            let path = item.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let what = if meta.file_type().is_symlink() {
                format!("link {}", fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                pending.push(path.clone());
                format!("dir {:o}", meta.permissions().mode() & 0o777)
            } else {
                format!(
                    "file {:o} {}",
                    meta.permissions().mode() & 0o777,
                    blake3::hash(&fs::read(&path).unwrap()).to_hex()
                )
            };
            out.push((path.strip_prefix(root).unwrap().to_path_buf(), what));
        }
    }
    out.sort();
    out
}

/// Copies a tree of files and directories (no symlinks in it).
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir(to).unwrap();
    for item in fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        if item.file_type().unwrap().is_dir() {
            copy_tree(&item.path(), &to.join(item.file_name()));
        } else {
            fs::copy(item.path(), to.join(item.file_name())).unwrap();
        }
    }
}

/// SIGKILL at 50 moments of `apply --in-place`: the directory is always exactly the old or
/// the new tree, rerunning finishes the upgrade, and rollback restores the old tree.
#[test]
fn in_place_apply_killed_at_any_moment_leaves_old_or_new_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    for (tree, seed) in [(&old, 1u32), (&new, 2)] {
        for i in 0..60u32 {
            let sub = tree.join(format!("d{}", i % 6));
            fs::create_dir_all(&sub).unwrap();
            let content: Vec<u8> = (0..20_000u32)
                .flat_map(|j| (j.wrapping_mul(i + 7) ^ if j % 997 == 0 { seed } else { 0 }).to_le_bytes())
                .collect();
            fs::write(sub.join(format!("f{i}")), content).unwrap();
        }
    }
    let patch = dir.path().join("p");
    ok(&[Path::new("diff"), &old, &new, Path::new("-o"), &patch]);
    let (old_snapshot, new_snapshot) = (snapshot(&old), snapshot(&new));
    let target = dir.path().join("app");
    let apply = || {
        Command::new(env!("CARGO_BIN_EXE_chunkdelta"))
            .args([Path::new("apply"), &target, &patch, Path::new("--in-place"), Path::new("-q")])
            .spawn()
            .unwrap()
    };
    copy_tree(&old, &target);
    let started = std::time::Instant::now();
    assert!(apply().wait().unwrap().success());
    let window = started.elapsed().as_micros() as u64 + 1;
    ok(&[Path::new("rollback"), &target]);
    assert_eq!(snapshot(&target), old_snapshot);

    let mut seen = [0usize; 2];
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    for trial in 0..50 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut child = apply();
        std::thread::sleep(std::time::Duration::from_micros(rng % window));
        let _ = child.kill();
        child.wait().unwrap();
        let now = snapshot(&target);
        assert!(now == old_snapshot || now == new_snapshot, "trial {trial}: a mixed tree");
        seen[usize::from(now == new_snapshot)] += 1;
        ok(&[Path::new("apply"), &target, &patch, Path::new("--in-place"), Path::new("-q")]);
        assert_eq!(snapshot(&target), new_snapshot, "trial {trial}: rerunning finishes the upgrade");
        ok(&[Path::new("rollback"), &target]);
        assert_eq!(snapshot(&target), old_snapshot, "trial {trial}: rollback restores the old tree");
    }
    eprintln!("killed with the old tree {} times, with the new tree {} times", seen[0], seen[1]);
    ok(&[Path::new("apply"), &target, &patch, Path::new("--in-place")]);
    ok(&[Path::new("commit"), &target]);
    assert_eq!(snapshot(&target), new_snapshot);
    assert!(!dir.path().join(".app.cdtr").exists());
}
