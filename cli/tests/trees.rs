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
    symlink("lib/v2/core.so", new.join("core")).unwrap();
}

#[test]
fn a_tree_diffs_applies_verifies_and_describes_itself() {
    let dir = tempfile::tempdir().unwrap();
    trees(dir.path());
    let [old, new, patch, out] = ["old", "new", "tree.patch", "out"].map(|name| dir.path().join(name));
    let said = ok(&[Path::new("diff"), &old, &new, Path::new("-o"), &patch]);
    assert!(said.contains("2 files (0 copied, 1 patched, 1 literal), 2 directories, 1 symlinks"), "{said}");
    ok(&[Path::new("verify"), &old, &patch]);
    ok(&[Path::new("apply"), &old, &patch, Path::new("-o"), &out]);
    assert_eq!(fs::read(out.join("lib/v2/core.so")).unwrap(), fs::read(new.join("lib/v2/core.so")).unwrap());
    assert_eq!(fs::read_link(out.join("core")).unwrap(), Path::new("lib/v2/core.so"));

    let text = ok(&[Path::new("info"), &patch]);
    assert!(text.contains("patch    644 lib/v2/core.so (200000 bytes) against lib/core.so"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&[Path::new("info"), Path::new("--json"), &patch])).unwrap();
    assert_eq!(json["kind"], "tree");
    let ops: Vec<&str> =
        json["entries"].as_array().unwrap().iter().filter_map(|e| e["op"].as_str()).collect();
    assert_eq!(ops, ["literal", "patch"]);
    assert_eq!(json["old_files"][0]["path"], "lib/core.so");

    let again = run(&[Path::new("apply"), &old, &patch, Path::new("-o"), &out]);
    assert_eq!(again.status.code(), Some(1), "an existing OUT is refused");
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
