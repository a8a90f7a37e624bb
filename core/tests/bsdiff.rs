//! bsdiff patches through the apply family: fixtures made by Debian's `bsdiff` and by
//! `bsdiff4` (`tests/bsdiff/README.md`), BSDIFF43 made from them, and hand-built patches with
//! the edge cases of bsdiff4's own tests of its patch core.

use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;

use chunkdelta::{ApplyOptions, ErrorKind, PatchFormat, PatchHead, apply, apply_file, inspect, verify};

/// (pair in `tests/vectors/`, fixture in `tests/bsdiff/`).
const FIXTURES: [(&str, &str); 7] = [
    ("small-edit", "small-edit.bsdiff40"),
    ("multi-chunk", "multi-chunk.bsdiff40"),
    ("tar-like", "tar-like.bsdiff40"),
    ("pieces", "pieces.bsdiff40"),
    ("empty", "empty.bsdiff4"),
    ("from-empty", "from-empty.bsdiff4"),
    ("to-empty", "to-empty.bsdiff4"),
];

fn read(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(path)).unwrap()
}

/// bsdiff's `offtin` encoding.
fn offtout(value: i64) -> [u8; 8] {
    let mut bytes = value.unsigned_abs().to_le_bytes();
    if value < 0 {
        bytes[7] |= 0x80;
    }
    bytes
}

fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    bzip2::read::BzEncoder::new(data, bzip2::Compression::best()).read_to_end(&mut out).unwrap();
    out
}

fn bunzip2(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    bzip2::read::BzDecoder::new(data).read_to_end(&mut out).unwrap();
    out
}

fn control_block(tuples: &[[i64; 3]]) -> Vec<u8> {
    tuples.iter().flatten().flat_map(|&n| offtout(n)).collect()
}

/// A BSDIFF40 patch of raw (uncompressed) control, diff and extra streams.
fn patch40(new_size: i64, control: &[u8], diff: &[u8], extra: &[u8]) -> Vec<u8> {
    let blocks = [bzip2(control), bzip2(diff), bzip2(extra)];
    let mut patch = b"BSDIFF40".to_vec();
    for n in [blocks[0].len() as i64, blocks[1].len() as i64, new_size] {
        patch.extend(offtout(n));
    }
    patch.extend(blocks.concat());
    patch
}

/// The BSDIFF43 patch with the tuples and streams of BSDIFF40 `patch`.
fn to_bsdiff43(patch: &[u8]) -> Vec<u8> {
    let number = |at: usize| i64::from_le_bytes(patch[at..at + 8].try_into().unwrap()) as usize;
    let (control_len, diff_len) = (number(8), number(16));
    let control = bunzip2(&patch[32..32 + control_len]);
    let diff = bunzip2(&patch[32 + control_len..32 + control_len + diff_len]);
    let extra = bunzip2(&patch[32 + control_len + diff_len..]);
    let (mut at_diff, mut at_extra, mut stream) = (0, 0, Vec::new());
    for tuple in control.chunks(24) {
        let len = |i: usize| i64::from_le_bytes(tuple[8 * i..8 * i + 8].try_into().unwrap()) as usize;
        stream.extend_from_slice(tuple);
        stream.extend_from_slice(&diff[at_diff..at_diff + len(0)]);
        stream.extend_from_slice(&extra[at_extra..at_extra + len(1)]);
        (at_diff, at_extra) = (at_diff + len(0), at_extra + len(1));
    }
    let mut out = b"ENDSLEY/BSDIFF43".to_vec();
    out.extend_from_slice(&patch[24..32]);
    out.extend(bzip2(&stream));
    out
}

/// Applies `patch` through `apply`, `verify` and `apply_file`, which must agree; returns the
/// new bytes, or the error kind with no file left at the destination.
fn apply_everywhere(old: &[u8], patch: &[u8]) -> Result<Vec<u8>, ErrorKind> {
    let dir = tempfile::tempdir().unwrap();
    let (old_path, out) = (dir.path().join("old"), dir.path().join("out"));
    std::fs::write(&old_path, old).unwrap();
    let options = ApplyOptions::new();
    let in_memory = apply(old, patch, &options);
    let verified = verify(old, patch, &options);
    let on_disk = apply_file(&old_path, patch, &out, &options);
    let left = std::fs::read_dir(dir.path()).unwrap().count();
    match (in_memory, verified, on_disk) {
        (Ok(new), Ok(report), Ok(file_report)) => {
            assert_eq!(std::fs::read(&out).unwrap(), new, "apply_file wrote other bytes");
            assert_eq!(report.new_hash, *blake3::hash(&new).as_bytes());
            assert_eq!(report, file_report, "verify and apply_file report differently");
            assert_eq!(report.head.new_size(), new.len() as u64);
            assert_eq!(report.head.patch_size(), patch.len() as u64);
            assert_eq!(inspect(patch).unwrap(), report.head, "inspect and verify disagree");
            Ok(new)
        }
        (Err(a), Err(v), Err(f)) => {
            assert_eq!((a.kind(), v.kind()), (f.kind(), f.kind()), "{a} / {v} / {f}");
            assert_eq!(left, 1, "apply_file left a file behind after {f}");
            Err(a.kind())
        }
        (a, v, f) => panic!("entry points disagree: {:?} / {:?} / {:?}", a.err(), v.err(), f.err()),
    }
}

#[test]
fn patches_of_debian_bsdiff_and_bsdiff4_apply_exactly() {
    for (pair, fixture) in FIXTURES {
        let (old, new) = (read(&format!("vectors/{pair}.old")), read(&format!("vectors/{pair}.new")));
        let patch = read(&format!("bsdiff/{fixture}"));
        assert_eq!(apply_everywhere(&old, &patch), Ok(new.clone()), "{fixture}");
        let PatchHead::Bsdiff(info) = inspect(&patch[..]).unwrap() else { panic!("{fixture}: not bsdiff") };
        assert_eq!((info.format, info.new_size), (PatchFormat::Bsdiff40, new.len() as u64));
        let blocks = info.blocks.expect("BSDIFF40 has blocks");
        assert_eq!(32 + blocks.iter().sum::<u64>(), patch.len() as u64, "{fixture}");
    }
}

#[test]
fn bsdiff43_patches_apply_exactly() {
    for (pair, fixture) in FIXTURES {
        let (old, new) = (read(&format!("vectors/{pair}.old")), read(&format!("vectors/{pair}.new")));
        let patch = to_bsdiff43(&read(&format!("bsdiff/{fixture}")));
        assert_eq!(apply_everywhere(&old, &patch), Ok(new), "{fixture} as BSDIFF43");
        assert_eq!(inspect(&patch[..]).unwrap().format(), PatchFormat::Bsdiff43);
    }
}

/// bsdiff4's `test_compatibility`: its BSDIFF40 patch from `abc` to `abd!`, checked by bspatch.
#[test]
fn bsdiff4s_reference_patch_applies() {
    let patch = hex("42534449 46463430 2a000000 00000000 25000000 00000000 04000000 00000000
        425a6839 31415926 5359d014 9a290000 04c00068 08200030 cd34193f 5209593c
        5dc914e1 42434052 68a4425a 68393141 59265359 4c5a9f48 00000040 00600020
        00210082 8c5dc914 e1424131 6a7d2042 5a683931 41592653 592d15eb 1c000000
        10002000 20002118 4682ee48 a70a1205 a2bd6380");
    assert_eq!(apply_everywhere(b"abc", &patch), Ok(b"abd!".to_vec()));
}

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap()).collect()
}

/// (old, new size, raw control, raw diff, raw extra).
type BrokenCase = (&'static [u8], i64, Vec<u8>, &'static [u8], &'static [u8]);

/// bsdiff4's `test_corrupt` and `test_underflow`: lengths that are negative, run past the new
/// size, or leave stream bytes unused or missing.
#[test]
fn tuples_that_break_a_bound_are_corrupt() {
    let cases: [BrokenCase; 9] = [
        (b"abcd", 4, control_block(&[[-1, 0, 0]]), &[0; 4], b""),
        (b"abcd", 4, control_block(&[[0, -1, 0]]), &[0; 4], b""),
        (b"abcd", 4, control_block(&[[5, 0, 0]]), &[0; 4], b""),
        (b"abcd", 4, control_block(&[[0, 5, 0]]), &[0; 4], b""),
        (b"", -1, vec![], b"", b""),
        (b"", 0, b"A".to_vec(), b"", b""),
        (b"", 1, vec![], b"", b""),
        (b"", 0, vec![], b"x", b""),
        (b"", 0, vec![], b"", b"x"),
    ];
    for (i, (old, new_size, control, diff, extra)) in cases.into_iter().enumerate() {
        let patch = patch40(new_size, &control, diff, extra);
        assert_eq!(apply_everywhere(old, &patch), Err(ErrorKind::CorruptPatch), "case {i}");
    }
}

/// bsdiff4's `test_oldpos_out_of_range` and `test_oldpos_overflow`: old bytes outside old add
/// nothing, and an old position beyond 64 bits is corrupt.
#[test]
fn old_positions_outside_old_add_nothing_and_never_overflow() {
    let outside = patch40(2, &control_block(&[[0, 0, -1], [2, 0, 0]]), &[1, 1], b"");
    assert_eq!(apply_everywhere(b"ab", &outside), Ok(b"\x01b".to_vec()));
    let beyond = patch40(2, &control_block(&[[0, 0, 2], [2, 0, 0]]), &[1, 2], b"");
    assert_eq!(apply_everywhere(b"ab", &beyond), Ok(vec![1, 2]));
    for seek in [i64::MIN + 1, i64::MAX] {
        assert_eq!(apply_everywhere(b"", &patch40(0, &control_block(&[[0, 0, seek]]), b"", b"")), Ok(vec![]));
    }
    let overflows: [(i64, Vec<[i64; 3]>); 3] = [
        (0, vec![[0, 0, i64::MAX], [0, 0, 1]]),
        (0, vec![[0, 0, i64::MIN + 1], [0, 0, -1], [0, 0, -1]]),
        (2, vec![[0, 0, i64::MAX], [2, 0, 0]]),
    ];
    for (new_size, tuples) in overflows {
        let patch = patch40(new_size, &control_block(&tuples), &vec![0; new_size as usize], b"");
        assert_eq!(apply_everywhere(b"", &patch), Err(ErrorKind::CorruptPatch), "{tuples:?}");
    }
}

/// bsdiff4's `test_malformed_patch`, and blocks whose bzip2 stream ends before their end.
#[test]
fn malformed_headers_and_blocks_are_corrupt() {
    let empty = bzip2(b"");
    let header = |lens: [i64; 3]| -> Vec<u8> {
        let mut out = b"BSDIFF40".to_vec();
        lens.into_iter().for_each(|n| out.extend(offtout(n)));
        out
    };
    let e = empty.len() as i64;
    let cases: Vec<Vec<u8>> = vec![
        b"BSDIFF40".to_vec(),
        [header([-1, 0, 0]), empty.repeat(3)].concat(),
        [header([0, -1, 0]), empty.repeat(3)].concat(),
        [header([0, 0, -1]), empty.repeat(3)].concat(),
        [header([1, e, 0]), b"x".to_vec(), empty.repeat(2)].concat(),
        [header([e, 1, 0]), empty.clone(), b"x".to_vec(), empty.clone()].concat(),
        [header([e, e, 0]), empty.repeat(2), b"x".to_vec()].concat(),
        [header([e + 1, 0, 0]), empty.clone()].concat(),
        [header([e, e + 1, 0]), empty.repeat(2)].concat(),
        [header([e + 1, e, 0]), empty.clone(), vec![0], empty.repeat(2)].concat(),
        [header([e, e, 0]), empty.repeat(3), vec![0]].concat(),
        [header([bzip2(b"\0").len() as i64, e, 0]), bzip2(b"\0"), empty.repeat(2)].concat(),
    ];
    for (i, patch) in cases.iter().enumerate() {
        assert_eq!(apply_everywhere(b"", patch), Err(ErrorKind::CorruptPatch), "case {i}");
    }
}

#[test]
fn a_huge_claimed_new_size_allocates_nothing_and_is_corrupt() {
    let patch = patch40(i64::MAX, &control_block(&[[0, 3, 0]]), b"", b"abc");
    assert_eq!(apply_everywhere(b"", &patch), Err(ErrorKind::CorruptPatch));
}

#[test]
fn a_block_over_the_chunk_limit_is_limit_exceeded_once_present() {
    let patch = read("bsdiff/pieces.bsdiff40");
    let options = ApplyOptions::new().max_chunk_len(1024);
    let err = apply(&read("vectors/pieces.old"), &patch[..], &options).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
    // A claim the patch does not back is a truncation, not a limit.
    let mut claim = patch[..40].to_vec();
    claim[8..16].copy_from_slice(&offtout(1 << 40));
    assert_eq!(apply(b"", &claim[..], &options).unwrap_err().kind(), ErrorKind::CorruptPatch);
}

#[test]
fn progress_reaches_the_new_size_and_can_cancel() {
    let (old, new, patch) =
        (read("vectors/pieces.old"), read("vectors/pieces.new"), read("bsdiff/pieces.bsdiff40"));
    let last = std::sync::Arc::new(std::sync::Mutex::new((0, 0)));
    let seen = last.clone();
    let options = ApplyOptions::new().progress(move |done, total| {
        *seen.lock().unwrap() = (done, total);
        ControlFlow::Continue(())
    });
    assert_eq!(apply(&old, &patch[..], &options).unwrap(), new);
    assert_eq!(*last.lock().unwrap(), (new.len() as u64, new.len() as u64));

    let dir = tempfile::tempdir().unwrap();
    let cancel = ApplyOptions::new().progress(|_, _| ControlFlow::Break(()));
    std::fs::write(dir.path().join("old"), &old).unwrap();
    let err = apply_file(dir.path().join("old"), &patch[..], dir.path().join("out"), &cancel).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the cancelled apply left a file");
}

#[test]
fn apply_file_can_patch_old_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app");
    std::fs::write(&path, read("vectors/multi-chunk.old")).unwrap();
    apply_file(&path, &read("bsdiff/multi-chunk.bsdiff40")[..], &path, &ApplyOptions::new()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), read("vectors/multi-chunk.new"));
}
