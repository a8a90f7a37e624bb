//! Replays the saved fuzz inputs in `tests/regressions/` through the fuzz cases themselves
//! (`fuzz/src/lib.rs`, included by path), and checks the outcome recorded for each.
//!
//! An input is named `TARGET-NAME`. Crashes that `scripts/fuzz.sh` finds are kept here once
//! fixed, as `TARGET-SHA1` from `fuzz/artifacts/TARGET/crash-SHA1`. The hand-made ones probe
//! the limits and overflows a hostile patch aims at.

#[path = "../../fuzz/src/lib.rs"]
pub mod cases;

use std::path::Path;

use cases::{Outcome, TARGETS};
use chunkdelta::ErrorKind::{
    CorruptPatch, InvalidArgument, LimitExceeded, SourceMismatch, UnsupportedVersion,
};

/// Every saved input, with the outcome its case must return.
const EXPECTED: &[(&str, Outcome)] = &[
    // u16 old_len | old | u8 selector | (u8 op count | ops | u8 tamper)... | fill
    ("apply_ops-add-u64-max", Err(CorruptPatch)),
    ("apply_ops-diff-stream-one-byte-long", Err(CorruptPatch)),
    ("apply_ops-empty-op", Err(CorruptPatch)),
    ("apply_ops-extra-u64-max", Err(CorruptPatch)),
    ("apply_ops-malformed-varint", Err(CorruptPatch)),
    ("apply_ops-seek-i64-max", Err(CorruptPatch)),
    ("apply_ops-seek-i64-min", Err(CorruptPatch)),
    ("apply_ops-seek-to-end-and-back", Ok(())),
    ("apply_ops-two-frames-three-chunks", Ok(())),
    // Version 3: runs and literals, the extra stream against a dictionary, two frames; then an
    // extra run item (one byte too many) and a literal item past the end of the code stream.
    ("apply_ops-v3-dictionary-and-runs", Ok(())),
    ("apply_ops-v3-extra-run-item", Err(CorruptPatch)),
    ("apply_ops-v3-literal-past-code", Err(CorruptPatch)),
    ("apply_ops-v3-two-frames", Ok(())),
    // u16 old_len | old | patch, whose head the case makes valid for old.
    ("apply_prefixed-big-claims-tiny-payload", Err(CorruptPatch)),
    ("apply_prefixed-chunk-offset-u64-max", Err(CorruptPatch)),
    ("apply_prefixed-chunk-over-limit", Err(LimitExceeded)),
    ("apply_prefixed-control-over-slack", Err(CorruptPatch)),
    ("apply_prefixed-first-chunk-offset-u64-max", Err(CorruptPatch)),
    ("apply_prefixed-new-size-u64-max", Err(LimitExceeded)),
    ("apply_prefixed-signature-too-long", Err(CorruptPatch)),
    ("apply_prefixed-zero-length-chunk", Err(CorruptPatch)),
    // u16 old_len | old | patch: the small-edit golden vector, with its old and a wrong one.
    ("apply_raw-same-size-wrong-old", Err(SourceMismatch)),
    ("apply_raw-small-edit-vector", Ok(())),
    // u16 old_len | old | u8 selector | rest: the small-edit BSDIFF40 fixture after its magic;
    // tuples that push the old position past i64::MAX; a BSDIFF43 stream adding and copying.
    ("bsdiff-old-position-overflow", Err(CorruptPatch)),
    ("bsdiff-small-edit-fixture", Ok(())),
    ("bsdiff-v43-add-and-copy", Ok(())),
    // u8 selector | u16 old_len | old | rest: the container vectors' zip and gzip pairs (their
    // magic left off: the case puts it back), diffed; the zip vector's patch (its magic and
    // version left off), applied; the same with a flipped byte of its old file's hash; the
    // token vector's patch (container format 2: selector 5), applied.
    ("container-gzip-pair", Ok(())),
    ("container-tokens-vector-patch", Ok(())),
    ("container-zip-pair", Ok(())),
    ("container-zip-vector-patch", Ok(())),
    ("container-zip-wrong-old-hash", Err(SourceMismatch)),
    // A container patch whose new file claims nearly 2^64 bytes, so its new view would pass
    // 2^64 (found by the fuzzer: an overflow in the view's length).
    ("info-7688328541acd2e59b50a7fc5427e8a2c3a7dba1", Err(CorruptPatch)),
    // A bare header: 2^22 + 1 and 2^32 - 1 chunks, version 5, 1000 entries missing.
    ("info-chunk-count-over-limit", Err(LimitExceeded)),
    ("info-chunk-count-u32-max", Err(LimitExceeded)),
    ("info-future-version", Err(UnsupportedVersion)),
    ("info-truncated-table", Err(CorruptPatch)),
    // u8 chunk size selector | u16 old_len | old | new
    ("roundtrip-empty-pair", Ok(())),
    ("roundtrip-from-empty", Ok(())),
    // A tree patch (a patched file, a literal one, a symlink; made by `chunkdelta diff` of two
    // small directories).
    ("tree-small-patch", Ok(())),
    // u8 selector | patch (even) or key file (odd): the rotation vector, judged; the vectors'
    // secret key file, which is no public key; a public key cut inside its base64 line.
    ("trust-rotation-vector", Ok(())),
    ("trust-secret-key-file", Err(InvalidArgument)),
    ("trust-truncated-public-key", Err(InvalidArgument)),
];

#[test]
fn saved_fuzz_inputs_give_their_recorded_outcome() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut saved: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    saved.sort();
    let recorded: Vec<&str> = EXPECTED.iter().map(|(name, _)| *name).collect();
    assert_eq!(saved, recorded, "every saved input needs exactly one recorded outcome, in name order");

    for (name, expected) in EXPECTED {
        let target = name.split_once('-').map_or(*name, |(target, _)| target);
        let (_, case) = TARGETS.iter().find(|(t, _)| *t == target).expect("a known target");
        eprintln!("replaying {name}");
        let data = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(case(&data), *expected, "{name}");
    }
}
