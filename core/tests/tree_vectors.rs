//! Golden tree patches in `tests/vectors/tree/`, made from the feature trees of
//! `common/trees.rs` (built by code: git keeps neither modes nor empty directories).
//!
//! `feature-v1.cdtr` was written by the tree format 1 encoder (chunkdelta 0.4) and is never
//! regenerated: it shows that old tree patches keep applying. `feature-v2.cdtr` is what this
//! encoder writes by default, `feature-v3.cdtr` what it writes with hard links and mtimes
//! (of the same trees, linked and dated); after a deliberate format change, regenerate them
//! with `CHUNKDELTA_REGENERATE_VECTORS=1 cargo test -p chunkdelta --test tree_vectors`.

mod common;

use std::path::{Path, PathBuf};

use chunkdelta::{ApplyOptions, DiffOptions, apply_tree, diff_tree, read_tree_info_file};
use common::trees::{feature_trees, linked_and_dated_trees, snapshot};

fn vector(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/tree").join(name)
}

fn applies_exactly(patch: &Path, version: u16) {
    applies_exactly_to(patch, version, feature_trees);
}

/// Applies `patch` to the old tree `trees` makes and checks the result against its new one.
fn applies_exactly_to(patch: &Path, version: u16, trees: fn(&Path) -> (PathBuf, PathBuf)) {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = trees(dir.path());
    assert_eq!(read_tree_info_file(patch).unwrap().format_version, version);
    let out = dir.path().join("out");
    apply_tree(&old, patch, &out, &ApplyOptions::new()).unwrap();
    assert_eq!(snapshot(&out), snapshot(&new));
}

/// What the encoder makes of `trees` with `options`, checked against the golden `name`
/// (rewritten first when regenerating).
fn encoder_writes(name: &str, trees: fn(&Path) -> (PathBuf, PathBuf), options: DiffOptions) -> PathBuf {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = trees(dir.path());
    let made = dir.path().join("made.cdtr");
    diff_tree(&old, &new, &made, &options).unwrap();
    let golden = vector(name);
    if std::env::var_os("CHUNKDELTA_REGENERATE_VECTORS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::copy(&made, &golden).unwrap();
    }
    assert_eq!(std::fs::read(&made).unwrap(), std::fs::read(&golden).unwrap(), "regenerate deliberately");
    golden
}

#[test]
fn a_version_1_tree_patch_still_applies() {
    applies_exactly(&vector("feature-v1.cdtr"), 1);
}

#[test]
fn the_encoder_writes_the_version_2_vector_byte_for_byte() {
    let golden = encoder_writes("feature-v2.cdtr", feature_trees, DiffOptions::new().level(3));
    applies_exactly(&golden, 2);
}

#[test]
fn the_encoder_writes_the_version_3_vector_with_hard_links_and_mtimes() {
    let options = DiffOptions::new().level(3).hard_links(true).mtimes(true);
    let golden = encoder_writes("feature-v3.cdtr", linked_and_dated_trees, options);
    applies_exactly_to(&golden, 3, linked_and_dated_trees);
}
