//! Every error kind, reached on purpose, and nothing left behind when apply fails.

mod common;

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chunkdelta::{ApplyOptions, DiffOptions, ErrorKind, apply, apply_file, diff, read_info, verify};
use common::{edited, old_file};

const HEADER_LEN: usize = 96;
const ENTRY_LEN: usize = 64;

struct Fixture {
    old: Vec<u8>,
    new: Vec<u8>,
    patch: Vec<u8>,
}

/// A multi-chunk patch: 40 KiB in 4 KiB chunks.
fn fixture() -> Fixture {
    let old = old_file(11, 40_000);
    let new = edited(&old, 12, 10);
    let patch = diff(&old, &new, &DiffOptions::new().chunk_size(4096).level(3)).unwrap();
    Fixture { old, new, patch }
}

fn apply_kind(old: &[u8], patch: &[u8]) -> ErrorKind {
    let err = apply(old, patch, &ApplyOptions::new()).expect_err("apply must fail");
    let verify_err = verify(old, patch, &ApplyOptions::new()).expect_err("verify must fail");
    assert_eq!(err.kind(), verify_err.kind(), "apply and verify disagree: {err} / {verify_err}");
    err.kind()
}

/// The head (header + table) length of a patch with `chunks` chunks, table hash included.
fn head_len(chunks: usize) -> usize {
    HEADER_LEN + ENTRY_LEN * chunks + 32
}

/// Re-signs header and table after a deliberate edit, so checks past the table hash are reached.
fn rehash(patch: &mut [u8]) {
    let chunks = u32::from_le_bytes(patch[88..92].try_into().unwrap()) as usize;
    let table_end = HEADER_LEN + ENTRY_LEN * chunks;
    let hash = blake3::hash(&patch[..table_end]);
    patch[table_end..table_end + 32].copy_from_slice(hash.as_bytes());
}

#[test]
fn truncation_at_every_offset_is_corrupt() {
    let f = fixture();
    for cut in 0..f.patch.len() {
        assert_eq!(apply_kind(&f.old, &f.patch[..cut]), ErrorKind::CorruptPatch, "cut at {cut}");
    }
}

#[test]
fn trailing_bytes_are_corrupt() {
    let mut patch = fixture().patch;
    patch.push(0);
    assert_eq!(apply_kind(&fixture().old, &patch), ErrorKind::CorruptPatch);
}

#[test]
fn every_flipped_head_byte_is_detected() {
    let f = fixture();
    let chunks = read_info(&f.patch[..]).unwrap().chunks.len();
    for at in 0..head_len(chunks) {
        let mut patch = f.patch.clone();
        patch[at] ^= 0x01;
        let kind = apply_kind(&f.old, &patch);
        let expected = match at {
            4..6 => ErrorKind::UnsupportedVersion,
            // The top byte of the chunk count: over the format's maximum, refused unread.
            91 => ErrorKind::LimitExceeded,
            _ => ErrorKind::CorruptPatch,
        };
        assert_eq!(kind, expected, "flip at {at}");
    }
}

#[test]
fn flipped_payload_bytes_are_corrupt() {
    let f = fixture();
    let chunks = read_info(&f.patch[..]).unwrap().chunks.len();
    for at in (head_len(chunks)..f.patch.len()).step_by(7) {
        let mut patch = f.patch.clone();
        patch[at] ^= 0x40;
        assert_eq!(apply_kind(&f.old, &patch), ErrorKind::CorruptPatch, "flip at {at}");
    }
}

#[test]
fn swapped_chunk_entries_are_corrupt() {
    let f = fixture();
    let mut patch = f.patch.clone();
    let (a, b) = (HEADER_LEN, HEADER_LEN + ENTRY_LEN);
    let first: Vec<u8> = patch[a..b].to_vec();
    patch.copy_within(b..b + ENTRY_LEN, a);
    patch[b..b + ENTRY_LEN].copy_from_slice(&first);
    rehash(&mut patch);
    assert_eq!(apply_kind(&f.old, &patch), ErrorKind::CorruptPatch);
}

#[test]
fn wrong_old_file_is_a_source_mismatch() {
    let f = fixture();
    let mut same_size = f.old.clone();
    same_size[100] ^= 1;
    for wrong in [&same_size[..], &f.old[..f.old.len() - 1], &f.new[..], &[][..]] {
        let err = apply(wrong, &f.patch[..], &ApplyOptions::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SourceMismatch);
        assert!(err.to_string().contains("this patch was made for a different old file"), "{err}");
    }
    let err = apply(&same_size, &f.patch[..], &ApplyOptions::new()).unwrap_err();
    let expected_hex: String = blake3::hash(&f.old).to_hex().to_string();
    assert!(err.to_string().contains(&expected_hex), "message names both hashes: {err}");
}

#[test]
fn future_versions_are_unsupported() {
    let f = fixture();
    let mut patch = f.patch.clone();
    patch[4..6].copy_from_slice(&2u16.to_le_bytes());
    rehash(&mut patch);
    let err = apply(&f.old, &patch[..], &ApplyOptions::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsupportedVersion);
    assert_eq!(read_info(&patch[..]).unwrap_err().kind(), ErrorKind::UnsupportedVersion);
}

#[test]
fn reserved_flags_are_corrupt() {
    let f = fixture();
    let mut patch = f.patch.clone();
    patch[6] = 0x80;
    rehash(&mut patch);
    assert_eq!(apply_kind(&f.old, &patch), ErrorKind::CorruptPatch);
}

#[test]
fn oversized_claims_are_refused_before_allocating() {
    let f = fixture();
    // Chunk longer than the caller's limit.
    let err = apply(&f.old, &f.patch[..], &ApplyOptions::new().max_chunk_len(1024)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);

    // A chunk count beyond the format's maximum: refused before reading the table.
    let mut patch = f.patch.clone();
    patch[88..92].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(apply_kind(&f.old, &patch), ErrorKind::LimitExceeded);

    // A first chunk claiming 4 GiB - 1 bytes, table re-hashed so only the limits stop it.
    let mut patch = f.patch.clone();
    patch[HEADER_LEN + 8..HEADER_LEN + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    rehash(&mut patch);
    assert_eq!(apply_kind(&f.old, &patch), ErrorKind::LimitExceeded);

    // A new size that overflows what the chunks can cover.
    let mut patch = f.patch.clone();
    patch[48..56].copy_from_slice(&u64::MAX.to_le_bytes());
    rehash(&mut patch);
    assert_eq!(apply_kind(&f.old, &patch), ErrorKind::LimitExceeded);

    // Compressed sizes that cannot come from the raw sizes, and sizes set to zero.
    for (field, value) in [(20, u32::MAX), (24, u32::MAX), (12, 0), (16, u32::MAX)] {
        let mut patch = f.patch.clone();
        let at = HEADER_LEN + field;
        patch[at..at + 4].copy_from_slice(&value.to_le_bytes());
        rehash(&mut patch);
        assert_eq!(apply_kind(&f.old, &patch), ErrorKind::CorruptPatch, "field at {field} = {value}");
    }
}

#[test]
fn dropped_and_duplicated_chunks_are_corrupt() {
    let f = fixture();
    let info = read_info(&f.patch[..]).unwrap();
    let count = info.chunks.len();
    let mut dropped = f.patch.clone();
    dropped[88..92].copy_from_slice(&(count as u32 - 1).to_le_bytes());
    let last_entry = HEADER_LEN + ENTRY_LEN * (count - 1);
    dropped.drain(last_entry..last_entry + ENTRY_LEN);
    rehash(&mut dropped);
    assert_eq!(apply_kind(&f.old, &dropped), ErrorKind::CorruptPatch);

    let mut duplicated = f.patch.clone();
    let entry: Vec<u8> = duplicated[HEADER_LEN..HEADER_LEN + ENTRY_LEN].to_vec();
    duplicated.splice(HEADER_LEN + ENTRY_LEN..HEADER_LEN + ENTRY_LEN, entry);
    duplicated[88..92].copy_from_slice(&(count as u32 + 1).to_le_bytes());
    rehash(&mut duplicated);
    assert_eq!(apply_kind(&f.old, &duplicated), ErrorKind::CorruptPatch);
}

#[test]
fn invalid_options_are_invalid_arguments() {
    let data = old_file(13, 1000);
    for options in [
        DiffOptions::new().level(1000),
        DiffOptions::new().chunk_size(0),
        DiffOptions::new().chunk_size(u64::MAX),
    ] {
        assert_eq!(diff(&data, &data, &options).unwrap_err().kind(), ErrorKind::InvalidArgument);
    }
}

#[test]
fn progress_reaches_total_and_cancels() {
    let f = fixture();
    let last = Arc::new(AtomicU64::new(0));
    let seen = last.clone();
    let options = ApplyOptions::new().progress(move |done, total| {
        assert!(done <= total);
        seen.store(done, Ordering::SeqCst);
        ControlFlow::Continue(())
    });
    apply(&f.old, &f.patch[..], &options).unwrap();
    assert_eq!(last.load(Ordering::SeqCst), f.new.len() as u64);

    let stop = ApplyOptions::new().progress(|_, _| ControlFlow::Break(()));
    assert_eq!(apply(&f.old, &f.patch[..], &stop).unwrap_err().kind(), ErrorKind::Cancelled);
    let stop = DiffOptions::new().chunk_size(4096).progress(|_, _| ControlFlow::Break(()));
    assert_eq!(diff(&f.old, &f.new, &stop).unwrap_err().kind(), ErrorKind::Cancelled);
}

fn folder_entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn failed_apply_leaves_nothing_at_the_destination() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let old_path = dir.path().join("old");
    std::fs::write(&old_path, &f.old).unwrap();
    let out = dir.path().join("out");
    let mut corrupt = f.patch.clone();
    let at = corrupt.len() - 10;
    corrupt[at] ^= 0xff;
    let cancel = ApplyOptions::new()
        .progress(|done, _| if done > 0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) });
    let cases = [
        (&corrupt[..], ApplyOptions::new(), ErrorKind::CorruptPatch),
        (&f.patch[..f.patch.len() / 2], ApplyOptions::new(), ErrorKind::CorruptPatch),
        (&f.patch[..], cancel, ErrorKind::Cancelled),
    ];
    for (patch, options, kind) in cases {
        let err = apply_file(&old_path, patch, &out, &options).unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert_eq!(folder_entries(dir.path()), ["old"], "after {kind:?}");
    }
    assert_eq!(std::fs::read(&old_path).unwrap(), f.old, "old is never modified");

    let missing =
        apply_file(dir.path().join("missing"), &f.patch[..], &out, &ApplyOptions::new()).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Io);
    let no_folder = dir.path().join("no/such/folder/out");
    let err = apply_file(&old_path, &f.patch[..], &no_folder, &ApplyOptions::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);

    apply_file(&old_path, &f.patch[..], &out, &ApplyOptions::new()).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), f.new);
    assert_eq!(folder_entries(dir.path()), ["old", "out"]);
}

#[test]
fn apply_file_can_replace_old_in_place() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.bin");
    std::fs::write(&path, &f.old).unwrap();
    apply_file(&path, &f.patch[..], &path, &ApplyOptions::new()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), f.new);
    assert_eq!(folder_entries(dir.path()), ["app.bin"]);
}
