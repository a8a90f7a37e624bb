//! The malformed-input catalogue: real patches, damaged in every way the format allows, fed to
//! apply, verify, apply_file and read_info. Each case must end in its typed error, with no
//! panic, nothing at the destination, and no allocation beyond [`MEMORY_LIMIT`].
//!
//! The bases are patches of today's encoder (format version 3: one chunk, ten chunks, xz, an
//! extra stream with a dictionary, and groups; format version 4: an executable) and the
//! decode-only golden vectors of versions 1 and 2.

mod common;

use std::path::Path;

use chunkdelta::{ApplyOptions, Codec, DiffOptions, ErrorKind, apply, apply_file, diff, read_info, verify};
use common::counting::{CountingAllocator, peak_heap_during};
use common::{Rng, edited, old_file, text};

const HEADER_LEN: usize = 96;
const HASH_LEN: usize = 32;

/// The chunk table entry size of `patch`'s format version.
fn entry_len(patch: &[u8]) -> usize {
    match u16::from_le_bytes([patch[4], patch[5]]) {
        3 => 96,
        4 => 112,
        _ => 64,
    }
}

/// Header, chunk table, exec block and table hash: the bytes before the signature block and
/// payloads.
fn head_len(patch: &[u8]) -> usize {
    let info = read_info(patch).unwrap();
    let exec = info.exec.map_or(0, |exec| exec.block_len as usize);
    HEADER_LEN + entry_len(patch) * info.chunks.len() + exec + HASH_LEN
}

/// The step between the damaged offsets of a part of `len` bytes, so large bases stay quick.
fn step_for(len: usize) -> usize {
    match len {
        0..=2048 => 1,
        2049..=8192 => 3,
        _ => 13,
    }
}

/// Heap any one case may use on top of what was live before it.
const MEMORY_LIMIT: usize = 64 << 20;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// A patch split at its structure's boundaries, so cases can rebuild consistent variants.
#[derive(Clone)]
struct Parts {
    header: Vec<u8>,
    entries: Vec<Vec<u8>>,
    /// Version 4's exec block; empty before.
    exec: Vec<u8>,
    payloads: Vec<Vec<u8>>,
}

impl Parts {
    fn split(patch: &[u8]) -> Self {
        let info = read_info(patch).unwrap();
        let entry_len = entry_len(patch);
        let entries = (0..info.chunks.len())
            .map(|i| patch[HEADER_LEN + entry_len * i..HEADER_LEN + entry_len * (i + 1)].to_vec())
            .collect();
        let table_end = HEADER_LEN + entry_len * info.chunks.len();
        let exec = patch[table_end..head_len(patch) - HASH_LEN].to_vec();
        let mut at = head_len(patch);
        let payloads = info
            .chunks
            .iter()
            .map(|chunk| {
                let len = chunk.payload_len() as usize;
                at += len;
                patch[at - len..at].to_vec()
            })
            .collect();
        Parts { header: patch[..HEADER_LEN].to_vec(), entries, exec, payloads }
    }

    /// Serialises with `chunk_count` set to the entries present and a fresh table hash, so
    /// only the checks after the table hash can catch the change.
    fn join(&self) -> Vec<u8> {
        let mut out = self.header.clone();
        out[88..92].copy_from_slice(&(self.entries.len() as u32).to_le_bytes());
        self.entries.iter().for_each(|entry| out.extend_from_slice(entry));
        out.extend_from_slice(&self.exec);
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

/// Version 3: a one-chunk patch and a ten-chunk patch of release-like data, a one-chunk xz
/// patch, and the dictionary golden vector; then the version-1 and version-2 golden vectors;
/// then the group golden vector; then version 4's x86-64 golden vector.
fn bases() -> Vec<Base> {
    let make = |name, seed, len, chunk_size, codec| {
        let old = old_file(seed, len);
        let new = edited(&old, seed + 1, 10);
        let options = DiffOptions::new().chunk_size(chunk_size).level(3).codec(codec);
        let patch = diff(&old, &new, &options).unwrap();
        Base { name, old, new, patch }
    };
    // New text with old's edits pasted in: xz-compressed literals as well as matches.
    let make_xz = || {
        let old = old_file(31, 6_000);
        let mut new = text(&mut Rng::new(32), 3_000);
        new.extend(edited(&old, 32, 10));
        let patch = diff(&old, &new, &DiffOptions::new().level(3).codec(Codec::Xz)).unwrap();
        Base { name: "one-chunk-xz", old, new, patch }
    };
    let vector = |name: &'static str, pair: &str| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
        let read = |file: String| std::fs::read(dir.join(file)).unwrap();
        Base {
            name,
            old: read(format!("{pair}.old")),
            new: read(format!("{pair}.new")),
            patch: read(format!("{name}.patch")),
        }
    };
    let bases = vec![
        make("one-chunk", 21, 6_000, 64 << 10, Codec::Zstd),
        make("ten-chunk", 11, 40_000, 4096, Codec::Zstd),
        make_xz(),
        vector("v3-dictionary", "pieces"),
        vector("multi-chunk", "multi-chunk"),
        vector("multi-chunk-xz", "multi-chunk-xz"),
        vector("v3-groups", "tar-like"),
        vector("v4-exec-x86-64", "exec-x86-64"),
    ];
    let infos: Vec<_> = bases.iter().map(|base| read_info(&base.patch[..]).unwrap()).collect();
    let versions: Vec<_> = infos.iter().map(|info| (info.format_version, info.codec)).collect();
    assert_eq!(
        versions[3..],
        [(3, None), (1, Some(Codec::Zstd)), (2, Some(Codec::Xz)), (3, None), (4, None)]
    );
    assert!(infos[7].chunks.len() >= 2 && infos[7].exec.is_some(), "the exec base has chunks and a block");
    assert!(infos[6].chunks.iter().any(|c| c.group_len >= 2), "the group base has a group");
    let xz = infos[2].chunks[0].streams.iter().any(|s| s.codec == chunkdelta::StreamCodec::Lzma2);
    assert!(xz, "the xz base has an xz stream");
    assert!(infos[3].chunks[0].dictionary.is_some());
    assert_eq!(infos[0].chunks.len(), 1);
    assert!(infos[1].chunks.len() >= 10);
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
    let head = head_len(&base.patch);
    let cuts = (0..head).chain((head..base.patch.len()).step_by(step_for(base.patch.len())));
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
    let head = head_len(&base.patch);
    for at in 0..head {
        for mask in [0x01, 0x80] {
            let mut patch = base.patch.clone();
            patch[at] ^= mask;
            let kind = match at {
                // Another version this library reads finds a table of the wrong shape.
                4..6 if !(1..=4).contains(&u16::from_le_bytes([patch[4], patch[5]])) => {
                    ErrorKind::UnsupportedVersion
                }
                // A chunk count over the format's maximum is refused before the table is read;
                // a smaller one reads a table shorter or longer than was written.
                88..92 if chunk_count(&patch) > 1 << 22 => ErrorKind::LimitExceeded,
                _ => ErrorKind::CorruptPatch,
            };
            cases.push(Case::new(format!("flip {mask:#04x} at {at}"), &base.old, patch, kind, Some(kind)));
        }
    }
    for at in (head..base.patch.len()).step_by(step_for(base.patch.len() - head)) {
        let mut patch = base.patch.clone();
        patch[at] ^= 0x40;
        // Some frame header bits (a zstd window size, say) do not change what a frame decodes
        // to: such a flip is no damage, and the output equals new exactly.
        if apply(&base.old, &patch[..], &ApplyOptions::new()).is_ok_and(|out| out == base.new) {
            continue;
        }
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
/// Whether chunk `index` of `patch` leads or belongs to a group: moving it breaks the table.
fn grouped(patch: &[u8], index: usize) -> bool {
    let chunk = &read_info(patch).unwrap().chunks[index];
    chunk.group_len > 0 || chunk.streams.iter().any(|s| s.codec == chunkdelta::StreamCodec::InGroup)
}

fn reorders(base: &Base, cases: &mut Vec<Case>) {
    let parts = Parts::split(&base.patch);
    let corrupt = ErrorKind::CorruptPatch;
    let mut add =
        |name: &str, parts: &Parts, info| cases.push(Case::new(name, &base.old, parts.join(), corrupt, info));
    // A renumbered table is valid unless the moved chunks were grouped.
    let unless_grouped =
        |indices: &[usize]| indices.iter().any(|&i| grouped(&base.patch, i)).then_some(corrupt);

    let mut dropped = parts.clone();
    dropped.entries.pop();
    dropped.payloads.pop();
    add("last entry dropped", &dropped, Some(corrupt));
    dropped.renumber();
    add("last chunk dropped, new size adjusted", &dropped, unless_grouped(&[parts.entries.len() - 1]));

    let mut duplicated = parts.clone();
    duplicated.entries.insert(0, parts.entries[0].clone());
    duplicated.payloads.insert(0, parts.payloads[0].clone());
    add("first chunk duplicated", &duplicated, Some(corrupt));
    duplicated.renumber();
    add("first chunk duplicated, offsets and new size adjusted", &duplicated, unless_grouped(&[0]));

    if parts.entries.len() < 2 {
        return;
    }
    let mut swapped = parts.clone();
    swapped.entries.swap(0, 1);
    add("first two entries swapped", &swapped, Some(corrupt));
    swapped.payloads.swap(0, 1);
    add("first two chunks swapped", &swapped, Some(corrupt));
    swapped.renumber();
    add("first two chunks swapped, offsets adjusted", &swapped, unless_grouped(&[0, 1]));
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
    let info = read_info(&base.patch[..]).unwrap();
    let dictionary_end = info.chunks.iter().filter_map(|c| c.dictionary.as_ref()).map(|d| d.end).max();
    for (at, width, value, apply, info) in header_cases {
        // An old size below a dictionary's end contradicts the table.
        let (apply, info) =
            if at == 8 && dictionary_end > Some(value) { (C, Some(C)) } else { (apply, info) };
        let mut damaged = parts.clone();
        damaged.header[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
        let name = format!("header field at {at} = {value:#x}");
        cases.push(Case::new(name, &base.old, damaged.join(), apply, info));
    }
    let mut entries = vec![0, parts.entries.len() - 1];
    entries.dedup();
    // (offset, width) of every field but the hash; in version 3, offset 12 is the four codec
    // bytes, 48 and 56 the dictionary, 60 the group length.
    let v3_fields = [
        (0, 8),
        (8, 4),
        (12, 4),
        (16, 4),
        (20, 4),
        (24, 4),
        (28, 4),
        (32, 4),
        (36, 4),
        (40, 4),
        (44, 4),
        (48, 8),
        (56, 4),
        (60, 4),
    ];
    // Version 4 adds the corrections stream: codec and reserved bytes, raw and packed lengths,
    // a reserved word.
    let v4_fields: Vec<_> = v3_fields.into_iter().chain([(96, 4), (100, 4), (104, 4), (108, 4)]).collect();
    let fields: &[(usize, usize)] = if entry_len(&base.patch) == 112 {
        &v4_fields
    } else if entry_len(&base.patch) == 96 {
        &[
            (0, 8),
            (8, 4),
            (12, 4),
            (16, 4),
            (20, 4),
            (24, 4),
            (28, 4),
            (32, 4),
            (36, 4),
            (40, 4),
            (44, 4),
            (48, 8),
            (56, 4),
            (60, 4),
        ]
    } else {
        &[(0, 8), (8, 4), (12, 4), (16, 4), (20, 4), (24, 4), (28, 4)]
    };
    for entry in entries {
        for &(at, width) in fields {
            let max = if width == 8 { u64::MAX } else { u64::from(u32::MAX) };
            for value in [0, max, max - 1, max / 2 + 1, 1 << 30, (1 << 30) + 1] {
                let mut damaged = parts.clone();
                let field = &mut damaged.entries[entry][at..at + width];
                if field == &value.to_le_bytes()[..width] {
                    continue;
                }
                field.copy_from_slice(&value.to_le_bytes()[..width]);
                // A chunk length over 2^30 breaks a format limit; everything else is corrupt,
                // and only a dictionary dropped or a grouped chunk's diff code emptied leaves a
                // valid table (whose streams then fail to decode).
                let kind = if at == 8 && value > 1 << 30 { L } else { C };
                let dropped = at == 56 && value == 0 && info.chunks[entry].dictionary.is_some();
                // A grouped chunk may have an empty diff-code stream: the group's stays valid.
                let dropped = dropped || (at == 24 && value == 0 && grouped(&base.patch, entry));
                let name = format!("entry {entry} field at {at} = {value:#x}");
                cases.push(Case::new(name, &base.old, damaged.join(), kind, (!dropped).then_some(kind)));
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

/// Format versions this library does not read, another version's reading of the table,
/// reserved flags, and unknown codecs.
fn versions(base: &Base, cases: &mut Vec<Case>) {
    use ErrorKind::{CorruptPatch as C, UnsupportedVersion as U};
    let parts = Parts::split(&base.patch);
    let version = u16::from_le_bytes([base.patch[4], base.patch[5]]);
    let mut header = |name: String, version: u16, field: u16, kind| {
        let mut changed = parts.clone();
        changed.header[4..6].copy_from_slice(&version.to_le_bytes());
        changed.header[6..8].copy_from_slice(&field.to_le_bytes());
        cases.push(Case::new(name, &base.old, changed.join(), kind, Some(kind)));
    };
    for future in [0u16, 5, u16::MAX] {
        header(format!("version {future}"), future, 0, U);
    }
    // Version 1 is version 2 with codec 0, so only those two read each other's patches.
    let field = u16::from_le_bytes([base.patch[6], base.patch[7]]);
    let same_format = |other: u16| field == 0 && version + other == 3;
    for other in [1u16, 2, 3, 4].into_iter().filter(|&v| v != version && !same_format(v)) {
        header(format!("read as version {other}"), other, field, C);
    }
    for flags in [1u16, 0x8000] {
        header(format!("flags {flags:#x} in version 1"), 1, flags, C);
        header(format!("flags {flags:#x} in version 3"), 3, flags, C);
        header(format!("flags {flags:#x} in version 4"), 4, flags, C);
    }
    for codec in [2u16, u16::MAX] {
        header(format!("version 2 codec {codec}"), 2, codec, C);
    }
}

/// Held by each test that measures heap: the counter is process-wide, so tests that measure
/// must not run at the same time.
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn measuring_alone() -> std::sync::MutexGuard<'static, ()> {
    MEASURING.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
    let _alone = measuring_alone();
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

/// The BSDIFF40 base: Debian `bsdiff`'s patch of the small-edit pair (`tests/bsdiff/`).
fn bsdiff_base() -> Base {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let read = |path: &str| std::fs::read(dir.join(path)).unwrap();
    Base {
        name: "small-edit.bsdiff40",
        old: read("vectors/small-edit.old"),
        new: read("vectors/small-edit.new"),
        patch: read("bsdiff/small-edit.bsdiff40"),
    }
}

/// A damaged bsdiff patch must fail the same way at every entry point, leaving no file, or
/// (a flip that bzip2 and the checks cannot see, such as its block size digit) give exactly
/// the original output: bsdiff has no hashes, but every stream has a CRC and ends where the
/// tuples stop using it.
fn check_bsdiff(name: &str, base: &Base, patch: &[u8], dir: &Path) {
    // Unsynced: the rename is as atomic, and thousands of fsyncs would dominate the test.
    let options = ApplyOptions::new().durable(false);
    let old_path = dir.join("old");
    let dest = dir.join("out");
    within_memory_limit(name, || {
        let outcomes = [
            apply(&base.old, patch, &options).map(Some),
            verify(&base.old, patch, &options).map(|_| None),
            apply_file(&old_path, patch, &dest, &options).map(|_| None),
        ];
        let kinds: Vec<_> = outcomes.iter().map(|o| o.as_ref().err().map(|e| e.kind())).collect();
        assert!(kinds.iter().all(|k| *k == kinds[0]), "{name}: entry points disagree: {kinds:?}");
        match &outcomes[0] {
            Ok(new) => assert!(new.as_deref() == Some(&base.new[..]), "{name}: applied to other bytes"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::CorruptPatch, "{name}: {e}"),
        }
        let inspected = chunkdelta::inspect(patch);
        assert!(inspected.is_ok() || kinds[0].is_some(), "{name}: inspect refuses a patch that applies");
    });
    if dest.exists() {
        assert_eq!(std::fs::read(&dest).unwrap(), base.new, "{name}: apply_file wrote other bytes");
        std::fs::remove_file(&dest).unwrap();
    }
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["old"], "{name}: apply_file left files behind");
}

/// Each bsdiff case starts three bzip2 decoders of 3.6 MB each (what bspatch allocates too),
/// so the cuts and flips past the header are sampled: every other byte.
#[test]
fn damaged_bsdiff_patches_end_in_a_typed_error_or_the_same_output() {
    let _alone = measuring_alone();
    let dir = tempfile::tempdir().unwrap();
    let base = bsdiff_base();
    std::fs::write(dir.path().join("old"), &base.old).unwrap();
    let (patch, name) = (&base.patch, base.name);
    for cut in (0..32).chain((32..patch.len()).step_by(2)) {
        check_bsdiff(&format!("{name}: cut at {cut}"), &base, &patch[..cut], dir.path());
    }
    check_bsdiff(&format!("{name}: a byte too long"), &base, &[&patch[..], &[0]].concat(), dir.path());
    // Every bit of the header, then one bit in every other byte, a different bit each time.
    let flips = (0..32 * 8).chain((33..patch.len()).step_by(2).map(|at| 8 * at + at % 8));
    for flip in flips {
        let (at, bit) = (flip / 8, flip % 8);
        let mut flipped = patch.clone();
        flipped[at] ^= 1 << bit;
        check_bsdiff(&format!("{name}: bit {bit} of byte {at}"), &base, &flipped, dir.path());
    }
}
