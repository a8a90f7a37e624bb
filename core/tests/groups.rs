//! Groups (format version 3): consecutive chunks whose diff streams are compressed together
//! and stored by the group's first chunk. Diff forms them where they pack smaller; apply
//! decodes each group once and hands every chunk its slices, across batch boundaries and
//! around chunks resumed from an earlier run.

mod common;

use std::fs;

use chunkdelta::{ApplyOptions, DiffOptions, StreamCodec, apply, apply_file, diff, read_info};
use common::tar_like;

const CHUNK: u64 = 4096;

/// A patch of the tar-like pair in chunks of [`CHUNK`] bytes, with its pair.
fn grouped_patch() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (old, new) = tar_like(41, 40);
    let patch = diff(&old, &new, &DiffOptions::new().chunk_size(CHUNK).level(3)).unwrap();
    (old, new, patch)
}

/// The group lengths of the patch's leaders.
fn groups(patch: &[u8]) -> Vec<u32> {
    read_info(patch).unwrap().chunks.iter().map(|c| c.group_len).filter(|&n| n > 0).collect()
}

#[test]
fn similar_chunks_form_a_group_that_round_trips() {
    let (old, new, patch) = grouped_patch();
    let info = read_info(&patch[..]).unwrap();
    assert!(groups(&patch).iter().any(|&n| n >= 5), "groups {:?}", groups(&patch));
    let leader = info.chunks.iter().position(|c| c.group_len >= 5).unwrap();
    let member = &info.chunks[leader + 1];
    assert!(member.streams[1..3].iter().all(|s| s.codec == StreamCodec::InGroup && s.packed_len == 0));
    for threads in [1, 2, 4] {
        let applied = apply(&old, &patch[..], &ApplyOptions::new().threads(threads)).unwrap();
        assert!(applied == new, "{threads} threads");
    }
}

#[test]
fn a_resumed_apply_decodes_groups_around_the_intact_chunks() {
    let (old, new, patch) = grouped_patch();
    let dir = tempfile::tempdir().unwrap();
    let (old_path, dest) = (dir.path().join("old"), dir.path().join("new"));
    fs::write(&old_path, &old).unwrap();
    let info = read_info(&patch[..]).unwrap();
    let id: String = info.table_hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    // A killed run's output: the first three chunks and the sixth intact, the rest zero.
    let mut partial = new.clone();
    partial[CHUNK as usize * 3..CHUNK as usize * 5].fill(0);
    partial[CHUNK as usize * 6..].fill(0);
    fs::write(dir.path().join(format!(".new.{id}.chunkdelta-tmp")), &partial).unwrap();
    let report = apply_file(&old_path, &patch[..], &dest, &ApplyOptions::new().threads(1)).unwrap();
    assert_eq!(report.chunks_resumed, 4);
    assert!(fs::read(&dest).unwrap() == new);
}
