//! The malformed-input catalogue: real patches, damaged in every way the format allows, fed to
//! apply, verify, apply_file and read_info. Each case must end in its typed error, with no
//! panic, nothing at the destination, and no allocation beyond [`MEMORY_LIMIT`].

mod common;

use std::path::Path;

use chunkdelta::{ApplyOptions, Codec, DiffOptions, ErrorKind, apply, apply_file, diff, read_info, verify};
use common::counting::{CountingAllocator, peak_heap_during};
use common::{edited, old_file};

const HEADER_LEN: usize = 96;
const ENTRY_LEN: usize = 64;
const HASH_LEN: usize = 32;

/// Heap any one case may use on top of what was live before it.
const MEMORY_LIMIT: usize = 64 << 20;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// A patch split at its structure's boundaries, so cases can rebuild consistent variants.
#[derive(Clone)]
struct Parts {
    header: Vec<u8>,
    entries: Vec<Vec<u8>>,
    payloads: Vec<Vec<u8>>,
}

impl Parts {
    fn split(patch: &[u8]) -> Self {
        let info = read_info(patch).unwrap();
        let count = info.chunks.len();
        let entries = (0..count)
            .map(|i| patch[HEADER_LEN + ENTRY_LEN * i..HEADER_LEN + ENTRY_LEN * (i + 1)].to_vec())
            .collect();
        let mut at = HEADER_LEN + ENTRY_LEN * count + HASH_LEN;
        let payloads = info
            .chunks
            .iter()
            .map(|chunk| {
                let len = chunk.payload_len() as usize;
                at += len;
                patch[at - len..at].to_vec()
            })
            .collect();
        Parts { header: patch[..HEADER_LEN].to_vec(), entries, payloads }
    }

    /// Serialises with `chunk_count` set to the entries present and a fresh table hash, so
    /// only the checks after the table hash can catch the change.
    fn join(&self) -> Vec<u8> {
        let mut out = self.header.clone();
        out[88..92].copy_from_slice(&(self.entries.len() as u32).to_le_bytes());
        self.entries.iter().for_each(|entry| out.extend_from_slice(entry));
        let hash = blake3::hash(&out);
        out.extend_from_slice(hash.as_bytes());
        self.payloads.iter().for_each(|payload| out.extend_from_slice(payload));
        out
    }

    /// Rewrites every entry's `new_offset` and the header's `new_size` to match the entries'
    /// lengths, as an encoder would for chunks in this order.
    fn renumber(&mut self) {
        let mut offset = 0u64;
        for entry in &mut self.entries {
            entry[0..8].copy_from_slice(&offset.to_le_bytes());
            offset += u64::from(u32::from_le_bytes(entry[8..12].try_into().unwrap()));
        }
        self.header[48..56].copy_from_slice(&offset.to_le_bytes());
    }
}

/// One damaged input and the error each entry point must report (`None`: info succeeds,
/// because info reads the table but neither decodes payloads nor looks at `old`).
struct Case {
    name: String,
    old: Vec<u8>,
    patch: Vec<u8>,
    apply: ErrorKind,
    info: Option<ErrorKind>,
}

impl Case {
    fn new(
        name: impl Into<String>,
        old: &[u8],
        patch: Vec<u8>,
        apply: ErrorKind,
        info: Option<ErrorKind>,
    ) -> Self {
        Case { name: name.into(), old: old.to_vec(), patch, apply, info }
    }
}

struct Base {
    name: &'static str,
    old: Vec<u8>,
    new: Vec<u8>,
    patch: Vec<u8>,
}

/// A one-chunk patch and a ten-chunk patch of release-like data, and a one-chunk xz patch.
fn bases() -> Vec<Base> {
    let make = |name, seed, len, chunk_size, codec| {
        let old = old_file(seed, len);
        let new = edited(&old, seed + 1, 10);
        let options = DiffOptions::new().chunk_size(chunk_size).level(3).codec(codec);
        let patch = diff(&old, &new, &options).unwrap();
        Base { name, old, new, patch }
    };
    let bases = vec![
        make("one-chunk", 21, 6_000, 64 << 10, Codec::Zstd),
        make("ten-chunk", 11, 40_000, 4096, Codec::Zstd),
        make("one-chunk-xz", 31, 6_000, 64 << 10, Codec::Xz),
    ];
    assert_eq!(read_info(&bases[2].patch[..]).unwrap().codec, Codec::Xz);
    assert_eq!(read_info(&bases[0].patch[..]).unwrap().chunks.len(), 1);
    assert!(read_info(&bases[1].patch[..]).unwrap().chunks.len() >= 10);
    bases
}

fn catalogue(base: &Base) -> Vec<Case> {
    let mut cases = Vec::new();
    truncations(base, &mut cases);
    flips(base, &mut cases);
    reorders(base, &mut cases);
    size_fields(base, &mut cases);
    wrong_sources(base, &mut cases);
    versions(base, &mut cases);
    cases
}

/// The patch cut at every offset (one in three past the table for the larger patch), and
/// one byte too long.
fn truncations(base: &Base, cases: &mut Vec<Case>) {
    let head = HEADER_LEN + ENTRY_LEN * read_info(&base.patch[..]).unwrap().chunks.len() + HASH_LEN;
    let step_after_head = if base.patch.len() > 4096 { 3 } else { 1 };
    let cuts = (0..head).chain((head..base.patch.len()).step_by(step_after_head));
    for cut in cuts {
        let corrupt = Some(ErrorKind::CorruptPatch);
        cases.push(Case::new(
            format!("cut at {cut}"),
            &base.old,
            base.patch[..cut].to_vec(),
            ErrorKind::CorruptPatch,
            corrupt,
        ));
    }
    let mut longer = base.patch.clone();
    longer.push(0);
    cases.push(Case::new(
        "one trailing byte",
        &base.old,
        longer,
        ErrorKind::CorruptPatch,
        Some(ErrorKind::CorruptPatch),
    ));
}

fn chunk_count(patch: &[u8]) -> u32 {
    u32::from_le_bytes(patch[88..92].try_into().unwrap())
}

/// Every header and table byte flipped (two ways), and payload bytes flipped.
fn flips(base: &Base, cases: &mut Vec<Case>) {
    let head = HEADER_LEN + ENTRY_LEN * read_info(&base.patch[..]).unwrap().chunks.len() + HASH_LEN;
    for at in 0..head {
        for mask in [0x01, 0x80] {
            let mut patch = base.patch.clone();
            patch[at] ^= mask;
            let kind = match at {
                4..6 => ErrorKind::UnsupportedVersion,
                // A chunk count over the format's maximum is refused before the table is read;
                // a smaller one reads a table shorter or longer than was written.
                88..92 if chunk_count(&patch) > 1 << 22 => ErrorKind::LimitExceeded,
                _ => ErrorKind::CorruptPatch,
            };
            cases.push(Case::new(format!("flip {mask:#04x} at {at}"), &base.old, patch, kind, Some(kind)));
        }
    }
    let step = if base.patch.len() - head > 2048 { 5 } else { 1 };
    for at in (head..base.patch.len()).step_by(step) {
        let mut patch = base.patch.clone();
        patch[at] ^= 0x40;
        cases.push(Case::new(
            format!("payload flip at {at}"),
            &base.old,
            patch,
            ErrorKind::CorruptPatch,
            None,
        ));
    }
}

/// Chunks swapped, duplicated or dropped, with the table rebuilt around the change so that
/// only the chunk offsets, the coverage check or the final hash can catch it.
fn reorders(base: &Base, cases: &mut Vec<Case>) {
    let parts = Parts::split(&base.patch);
    let corrupt = ErrorKind::CorruptPatch;
    let mut add =
        |name: &str, parts: &Parts, info| cases.push(Case::new(name, &base.old, parts.join(), corrupt, info));

    let mut dropped = parts.clone();
    dropped.entries.pop();
    dropped.payloads.pop();
    add("last entry dropped", &dropped, Some(corrupt));
    dropped.renumber();
    add("last chunk dropped, new size adjusted", &dropped, None);

    let mut duplicated = parts.clone();
    duplicated.entries.insert(0, parts.entries[0].clone());
    duplicated.payloads.insert(0, parts.payloads[0].clone());
    add("first chunk duplicated", &duplicated, Some(corrupt));
    duplicated.renumber();
    add("first chunk duplicated, offsets and new size adjusted", &duplicated, None);

    if parts.entries.len() < 2 {
        return;
    }
    let mut swapped = parts.clone();
    swapped.entries.swap(0, 1);
    add("first two entries swapped", &swapped, Some(corrupt));
    swapped.payloads.swap(0, 1);
    add("first two chunks swapped", &swapped, Some(corrupt));
    swapped.renumber();
    add("first two chunks swapped, offsets adjusted", &swapped, None);
    let mut payloads_swapped = parts.clone();
    payloads_swapped.payloads.swap(0, 1);
    add("first two payloads swapped", &payloads_swapped, None);
}

/// Each size field of the header and of the first and last entries set to 0, to the largest
/// value, and to values whose sums overflow, with the table hash recomputed.
fn size_fields(base: &Base, cases: &mut Vec<Case>) {
    use ErrorKind::{CorruptPatch as C, LimitExceeded as L, SourceMismatch as S};
    let parts = Parts::split(&base.patch);
    // (offset in header, width, value, apply error, info error)
    let header_cases: [(usize, usize, u64, ErrorKind, Option<ErrorKind>); 7] = [
        (8, 8, 0, S, None),
        (8, 8, u64::MAX, S, None),
        (48, 8, 0, C, Some(C)),
        (48, 8, u64::MAX, L, Some(L)),
        (48, 8, u64::MAX - 100, L, Some(L)),
        (92, 4, u64::from(u32::MAX), C, Some(C)),
        (92, 4, 100, C, Some(C)),
    ];
    for (at, width, value, apply, info) in header_cases {
        let mut damaged = parts.clone();
        damaged.header[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
        let name = format!("header field at {at} = {value:#x}");
        cases.push(Case::new(name, &base.old, damaged.join(), apply, info));
    }
    let mut entries = vec![0, parts.entries.len() - 1];
    entries.dedup();
    for entry in entries {
        for at in [0usize, 8, 12, 16, 20, 24, 28] {
            let width = if at == 0 { 8 } else { 4 };
            let max = if at == 0 { u64::MAX } else { u64::from(u32::MAX) };
            for value in [0, max, max - 1, max / 2 + 1, 1 << 30, (1 << 30) + 1] {
                let mut damaged = parts.clone();
                let field = &mut damaged.entries[entry][at..at + width];
                if field == &value.to_le_bytes()[..width] {
                    continue;
                }
                field.copy_from_slice(&value.to_le_bytes()[..width]);
                // A chunk length over 2^30 breaks a format limit; everything else is corrupt.
                let kind = if at == 8 && value > 1 << 30 { L } else { C };
                let name = format!("entry {entry} field at {at} = {value:#x}");
                cases.push(Case::new(name, &base.old, damaged.join(), kind, Some(kind)));
            }
        }
    }
}

/// The right patch against the wrong old file.
fn wrong_sources(base: &Base, cases: &mut Vec<Case>) {
    let mut same_size = base.old.clone();
    same_size[base.old.len() / 2] ^= 1;
    let wrong: [(&str, &[u8]); 5] = [
        ("old with one byte changed", &same_size),
        ("old truncated by one byte", &base.old[..base.old.len() - 1]),
        ("old truncated to half", &base.old[..base.old.len() / 2]),
        ("the new file as old", &base.new),
        ("empty old", &[]),
    ];
    for (name, old) in wrong {
        cases.push(Case::new(name, old, base.patch.clone(), ErrorKind::SourceMismatch, None));
    }
}

/// Format versions this library does not read, reserved flags, and unknown codecs.
fn versions(base: &Base, cases: &mut Vec<Case>) {
    let parts = Parts::split(&base.patch);
    for version in [0u16, 3, u16::MAX] {
        let mut future = parts.clone();
        future.header[4..6].copy_from_slice(&version.to_le_bytes());
        let kind = ErrorKind::UnsupportedVersion;
        cases.push(Case::new(format!("version {version}"), &base.old, future.join(), kind, Some(kind)));
    }
    for flags in [1u16, 0x8000] {
        let mut flagged = parts.clone();
        flagged.header[4..6].copy_from_slice(&1u16.to_le_bytes());
        flagged.header[6..8].copy_from_slice(&flags.to_le_bytes());
        let kind = ErrorKind::CorruptPatch;
        cases.push(Case::new(format!("flags {flags:#x}"), &base.old, flagged.join(), kind, Some(kind)));
    }
    for codec in [2u16, u16::MAX] {
        let mut unknown = parts.clone();
        unknown.header[4..6].copy_from_slice(&2u16.to_le_bytes());
        unknown.header[6..8].copy_from_slice(&codec.to_le_bytes());
        let kind = ErrorKind::CorruptPatch;
        cases.push(Case::new(format!("codec {codec}"), &base.old, unknown.join(), kind, Some(kind)));
    }
}

/// Runs `work`, failing if it allocated more than [`MEMORY_LIMIT`] beyond what was live.
fn within_memory_limit<T>(name: &str, work: impl FnOnce() -> T) -> T {
    let (result, used) = peak_heap_during(work);
    assert!(used <= MEMORY_LIMIT, "{name}: {used} bytes allocated");
    result
}

/// Feeds `case` to every entry point and checks each outcome.
fn check(case: &Case, dir: &Path) {
    let name = &case.name;
    let options = ApplyOptions::new();
    let old_path = dir.join("old");
    std::fs::write(&old_path, &case.old).unwrap();
    let dest = dir.join("out");
    within_memory_limit(name, || {
        let err = apply(&case.old, &case.patch[..], &options).expect_err(name);
        assert_eq!(err.kind(), case.apply, "{name}: apply said {err}");
        let err = verify(&case.old, &case.patch[..], &options).expect_err(name);
        assert_eq!(err.kind(), case.apply, "{name}: verify said {err}");
        let err = apply_file(&old_path, &case.patch[..], &dest, &options).expect_err(name);
        assert_eq!(err.kind(), case.apply, "{name}: apply_file said {err}");
        let info = read_info(&case.patch[..]).err().map(|e| e.kind());
        assert_eq!(info, case.info, "{name}: read_info");
    });
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["old"], "{name}: apply_file left files behind");
}

#[test]
fn every_catalogued_damage_ends_in_its_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut total = 0;
    for base in bases() {
        let cases = catalogue(&base);
        for case in &cases {
            check(case, dir.path());
        }
        eprintln!("{}: {} cases", base.name, cases.len());
        total += cases.len();
        let rebuilt = Parts::split(&base.patch).join();
        assert_eq!(rebuilt, base.patch, "{}: split and join must round-trip", base.name);
    }
    eprintln!("malformed-input catalogue: {total} cases");
}

#[test]
fn a_chunk_limit_below_the_patch_is_limit_exceeded() {
    let base = &bases()[1];
    let err = apply(&base.old, &base.patch[..], &ApplyOptions::new().max_chunk_len(1024)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
}
