//! The fuzz cases of chunkdelta: how each target turns the fuzzer's bytes into calls, and what
//! it checks. The targets in `fuzz_targets/` are one line each; `core/tests/regressions.rs`
//! includes this file by path and replays saved inputs through the same functions.
//!
//! A case returns `Ok` or the [`ErrorKind`] the library reported: any error is an acceptable
//! answer to hostile input. It panics when the library breaks a promise (wrong output, entry
//! points that disagree, a [`PatchInfo`] that contradicts the format), and the fuzzer also
//! reports a panic inside the library, a timeout, or memory beyond its `-rss_limit_mb`.
//!
//! Input layouts (`u16` is little endian; past the end of the input, numbers read as zero and
//! byte strings are cut short):
//! - `apply_raw`, `apply_prefixed`: `u16 old_len | old | patch`. A golden vector's old and patch
//!   make a seed for both.
//! - `info`: the patch itself.
//! - `roundtrip`: `u8 chunk size selector | u16 old_len | old | new`.
//! - `apply_ops`: `u16 old_len | old | u8 selector | chunk specs | fill`, described at [`apply_ops`].
//! - `bsdiff`: `u16 old_len | old | u8 selector | rest`, described at [`bsdiff`].
//! - `tree`: a tree patch, read by `read_tree_info`.
//! - `container`: `u8 selector | u16 old_len | old | rest`, described at [`container`].
//! - `exec`: `u8 selector | file`, described at [`exec`].
//! - `trust`: `u8 selector | rest`: an even selector makes `rest` a patch, judged by a trust
//!   policy; an odd one makes it a key file, described at [`trust`].

use std::io::Read;

use chunkdelta::{
    ApplyOptions, ChunkInfo, Codec, DiffOptions, ErrorKind, MAX_CHUNK_COUNT, MAX_SIGNATURE_LEN, PatchHead,
    PatchInfo, StreamCodec, StreamKind,
};

/// What a case returns: `Ok`, or the kind of error the library reported.
pub type Outcome = Result<(), ErrorKind>;

/// A fuzz case: the fuzzer's bytes in, the library's answer out.
pub type Case = fn(&[u8]) -> Outcome;

/// Every case by target name. Saved inputs are named `<target>-<anything>`.
pub const TARGETS: [(&str, Case); 10] = [
    ("apply_raw", apply_raw),
    ("exec", exec),
    ("container", container),
    ("apply_prefixed", apply_prefixed),
    ("apply_ops", apply_ops),
    ("bsdiff", bsdiff),
    ("info", info),
    ("roundtrip", roundtrip),
    ("trust", trust),
    ("tree", tree),
];

/// Longest chunk the cases let apply decode: apply's memory is about three times this per
/// chunk in flight, so any larger allocation is a finding, not a big chunk.
const CHUNK_LIMIT: u64 = 1 << 20;
/// Sizes of the header and of the table hash (`FORMAT.md`).
const HEADER_LEN: usize = 96;
const TABLE_HASH_LEN: usize = 32;

/// Size of a chunk table entry in format `version`.
fn entry_len(version: u16) -> usize {
    match version {
        3 => 96,
        4 => 112,
        _ => 64,
    }
}

/// Arbitrary patch bytes against an arbitrary old, through `apply`, `verify` and `read_info`.
pub fn apply_raw(data: &[u8]) -> Outcome {
    let (old, patch) = split_old(data);
    check_apply(old, patch).map(drop)
}

/// As [`apply_raw`], with the patch's head made valid for `old`: magic, a version this library
/// reads with valid flags, `old`'s size and blake3, a chunk count no larger than the entries
/// present, and the table hash recomputed. New size and hash, chunk entries, signature length
/// and payloads stay the fuzzer's, so it reaches the chunk table's checks and payload decoding
/// (in version 3: per-stream codecs, run-length diffs and dictionaries).
pub fn apply_prefixed(data: &[u8]) -> Outcome {
    let (old, patch) = split_old(data);
    let mut patch = patch.to_vec();
    patch.resize(patch.len().max(HEADER_LEN + TABLE_HASH_LEN), 0);
    patch[0..4].copy_from_slice(&chunkdelta::MAGIC);
    // The low two bits of the fuzzer's byte 6 pick the version: 0 is 1 (zstd), 1 is 2 with
    // xz, 2 and 3 are 3.
    let (version, field) = match patch[6] & 3 {
        0 => (1u16, 0u16),
        1 => (2, 1),
        _ => (3, 0),
    };
    patch[4..6].copy_from_slice(&version.to_le_bytes());
    patch[6..8].copy_from_slice(&field.to_le_bytes());
    patch[8..16].copy_from_slice(&(old.len() as u64).to_le_bytes());
    patch[16..48].copy_from_slice(blake3::hash(old).as_bytes());
    let present = (patch.len() - HEADER_LEN - TABLE_HASH_LEN) / entry_len(version);
    let claimed = u32::from_le_bytes(patch[88..92].try_into().unwrap());
    let count = claimed.min(u32::try_from(present).unwrap_or(u32::MAX));
    patch[88..92].copy_from_slice(&count.to_le_bytes());
    let table_end = HEADER_LEN + entry_len(version) * count as usize;
    let table_hash = blake3::hash(&patch[..table_end]);
    patch[table_end..table_end + TABLE_HASH_LEN].copy_from_slice(table_hash.as_bytes());
    check_apply(old, &patch).map(drop)
}

/// Valid zstd streams of fuzzer-chosen control ops, checked against a plain reference decoder
/// written from `FORMAT.md`, so the in-place op decoder is reached and its output judged.
///
/// After `old` comes a selector: its low two bits give the chunk count (1 to 4), its bit 7 the
/// format (0: version 1; 1: version 3, with run-length coded diffs), and in version 3 its bit 6
/// makes all chunks one group (two or more), the first storing their diff streams. Each chunk is
/// `u8 op_count | ops | u8 tamper`, an op being three LEB128 varints (zigzag seek, add length,
/// extra length). The diff and extra streams get as many bytes as the ops consume (at most
/// 16 KiB each), cut from the `fill` left at the end of the input, repeated as needed. `tamper`
/// then puts the chunk slightly off: its bits 0-1 and 2-3 lengthen or shorten the diff and extra
/// streams by one byte, bits 4-5 append that many raw input bytes to the control stream
/// (version 3: to the run-length items, a malformed or extra item), bit 6 compresses each stream
/// as two zstd frames (version 3: the control and diff streams are stored raw without it), and
/// in version 3 bit 7 compresses the extra stream against all of old as its dictionary. Chunk
/// and new-file hashes are those of the reference output, so apply must succeed exactly when
/// the reference decoder does, and return the same bytes.
pub fn apply_ops(data: &[u8]) -> Outcome {
    let (old, rest) = split_old(data);
    let mut input = Input(rest);
    let selector = input.u8();
    let (chunk_count, v3) = (1 + selector % 4, selector & 0x80 != 0);
    let specs: Vec<ChunkSpec> = (0..chunk_count).map(|_| ChunkSpec::read(&mut input)).collect();
    let mut fill = Fill { bytes: if input.0.is_empty() { &[0] } else { input.0 }, at: 0 };
    let mut chunks: Vec<ChunkStreams> =
        specs.into_iter().map(|spec| spec.streams(&mut fill, old, v3)).collect();
    if v3 && chunk_count >= 2 && selector & 0x40 != 0 {
        group(&mut chunks);
    }
    let outputs: Vec<Option<Vec<u8>>> = chunks.iter().map(|chunk| reference_decode(old, chunk)).collect();
    let expected: Option<Vec<u8>> = outputs.iter().try_fold(Vec::new(), |mut new, output| {
        new.extend_from_slice(output.as_deref()?);
        Some(new)
    });
    let patch = build_patch(old, &chunks, &outputs, expected.as_deref(), v3);

    let table_valid = chunks.iter().all(ChunkStreams::table_valid);
    let info = chunkdelta::read_info(&patch[..]);
    assert_eq!(info.is_ok(), table_valid, "read_info: {info:?}");
    matches_reference(check_apply(old, &patch), expected, "ops")
}

/// `read_info` on arbitrary bytes; whatever it accepts must be a consistent patch of exactly
/// these bytes.
pub fn info(data: &[u8]) -> Outcome {
    let info = chunkdelta::read_info(data).map_err(|e| e.kind())?;
    check_info(&info, data.len());
    assert!(chunkdelta::read_info(&data[..data.len() - 1]).is_err(), "read_info accepts a truncated patch");
    Ok(())
}

/// Container patches. An even selector diffs `old` into `rest`, each given a zip local header
/// magic (or with bit 1, gzip's) in front, and checks the round trip: it drives the zip and
/// gzip readers, the member search and the token parser and proof over hostile containers.
/// An odd selector applies `rest` after a valid container magic and version (1, or the
/// newest, 2, with bit 2 set) to `old`, through `check_apply`: it drives the container header, the recipe
/// decoders of both versions, the token parse of old members and the huff of the new view's
/// structures (the seeds hold a version-2 token patch to mutate).
pub fn container(data: &[u8]) -> Outcome {
    let mut input = Input(data);
    let selector = input.u8();
    let (old, rest) = split_old(input.0);
    if selector % 2 == 1 {
        let version: u16 = if selector & 4 == 0 { 1 } else { chunkdelta::CONTAINER_FORMAT_VERSION };
        let patch = [&chunkdelta::CONTAINER_MAGIC[..], &version.to_le_bytes(), rest].concat();
        return check_apply(old, &patch).map(drop);
    }
    let magic: &[u8] = if selector & 2 == 0 { b"PK\x03\x04" } else { &[0x1f, 0x8b, 8] };
    let (old, new) = ([magic, old].concat(), [magic, rest].concat());
    one_worker();
    let patch =
        chunkdelta::diff(&old, &new, &DiffOptions::new().level(1)).expect("diff fails on valid input");
    assert_eq!(
        chunkdelta::apply(&old, &patch[..], &apply_options()).expect("diff's patch does not apply"),
        new
    );
    Ok(())
}

/// `read_tree_info` on arbitrary bytes. What it accepts must account for every byte, list
/// entries in strict path order, and name only old files that exist in its list.
pub fn tree(data: &[u8]) -> Outcome {
    let info = chunkdelta::read_tree_info(data).map_err(|e| e.kind())?;
    assert_eq!(info.patch_size, data.len() as u64);
    assert!(
        info.entries.windows(2).all(|w| w[0].path.as_os_str() < w[1].path.as_os_str()),
        "entries out of order"
    );
    let (mut patch_at, mut solid_at) = (0, 0);
    for entry in &info.entries {
        assert!(entry.path.is_relative(), "absolute path {}", entry.path.display());
        if let chunkdelta::EntryKind::File { size, source, .. } = entry.kind {
            assert!(source.old().is_none_or(|old| old < info.old_files.len()), "old index out of range");
            if let chunkdelta::FileSource::Solid { patch, offset } = source {
                assert!(patch < info.solid.len() && patch >= patch_at, "solid patches in entry order");
                if patch != patch_at {
                    (patch_at, solid_at) = (patch, 0);
                }
                assert_eq!(offset, solid_at, "solid files are back to back");
                solid_at += size;
            }
        }
    }
    for solid in &info.solid {
        assert!(solid.bases.iter().all(|&base| base < info.old_files.len()), "basis out of range");
    }
    assert!(
        chunkdelta::read_tree_info(&data[..data.len() - 1]).is_err(),
        "a truncated tree patch is accepted"
    );
    Ok(())
}

/// The public key of the signed golden vectors, which [`trust`] trusts.
const PUBLISHER: &str = include_str!("../../core/tests/vectors/signed/publisher.pub");

/// Signatures and key files. With an even selector, `rest` is a patch: when `read_info`
/// accepts it, a policy trusting [`PUBLISHER`] either refuses it as untrusted or accepts one
/// of its own signatures. With an odd one, `rest` is read as a public and as a secret key
/// file (without a password, so no scrypt); a secret key that parses must survive a round
/// trip through its own text.
pub fn trust(data: &[u8]) -> Outcome {
    let Some((&selector, rest)) = data.split_first() else { return Ok(()) };
    if selector % 2 == 1 {
        let text = String::from_utf8_lossy(rest);
        if let Ok(secret) = chunkdelta::SecretKey::from_minisign(&text, None) {
            let again = chunkdelta::SecretKey::from_minisign(&secret.to_minisign(), None).expect("own text");
            assert_eq!(again.public_key(), secret.public_key(), "a secret key changes through its text");
        }
        return chunkdelta::PublicKey::from_minisign(&text).map(drop).map_err(|e| e.kind());
    }
    let info = chunkdelta::read_info(rest).map_err(|e| e.kind())?;
    let publisher = chunkdelta::PublicKey::from_minisign(PUBLISHER).expect("the vectors' key parses");
    match chunkdelta::TrustPolicy::new().trust(publisher).check(&info) {
        Ok(signature) => {
            assert!(info.signatures.contains(signature), "accepted a signature it does not hold")
        }
        Err(err) => assert_eq!(err.kind(), ErrorKind::Untrusted, "{err}"),
    }
    Ok(())
}

/// An arbitrary (old, new) pair through `diff` (level 1, 1 to 4 KiB chunks) and back through
/// `apply`, which must give `new` exactly; `read_info` must describe both files.
pub fn roundtrip(data: &[u8]) -> Outcome {
    let mut input = Input(data);
    let chunk_size = 1024 * (1 + u64::from(input.u8() % 4));
    let (old, new) = split_old(input.0);
    one_worker();
    // File patches only: container patches have their own target, and their chunks cover the
    // expanded view rather than `new`.
    let options = DiffOptions::new().level(1).chunk_size(chunk_size).containers(false);
    let patch = chunkdelta::diff(old, new, &options).expect("diff fails on valid input");
    let info = chunkdelta::read_info(&patch[..]).expect("read_info refuses diff's patch");
    check_info(&info, patch.len());
    assert_eq!((info.old_size, info.new_size), (old.len() as u64, new.len() as u64));
    assert_eq!(
        (info.old_hash, info.new_hash),
        (*blake3::hash(old).as_bytes(), *blake3::hash(new).as_bytes())
    );
    assert_eq!(info.chunks.len() as u64, (new.len() as u64).div_ceil(chunk_size));
    let applied = chunkdelta::apply(old, &patch[..], &apply_options()).expect("apply refuses diff's patch");
    assert!(applied == new, "apply does not rebuild new");
    Ok(())
}

/// A file (mutated from a synthetic executable: the exec golden vectors seed it) as old, and as
/// new the same file with 1 to 16 bytes inserted where the selector says, through diff with
/// executable matching (format version 4 wherever both still analyse as executables) and
/// apply, which must give new exactly. Both files go through the executable analysis, whatever
/// their headers have become.
pub fn exec(data: &[u8]) -> Outcome {
    let mut input = Input(data);
    let selector = input.u8();
    let old = input.0;
    let at = if old.is_empty() { 0 } else { usize::from(selector) * 97 % old.len() };
    let mut new = old.to_vec();
    new.splice(at..at, (0..1 + selector % 16).map(|i| i.wrapping_mul(0x3b)));
    one_worker();
    let options = DiffOptions::new().level(1).chunk_size(8 << 10).containers(false);
    let patch = chunkdelta::diff(old, &new, &options).expect("diff fails on valid input");
    check_info(&chunkdelta::read_info(&patch[..]).expect("read_info refuses diff's patch"), patch.len());
    let applied = chunkdelta::apply(old, &patch[..], &apply_options()).expect("apply refuses diff's patch");
    assert!(applied == new, "apply does not rebuild new");
    Ok(())
}

/// Apply with chunks up to [`CHUNK_LIMIT`], on rayon's global pool cut to one thread.
fn apply_options() -> ApplyOptions {
    one_worker();
    ApplyOptions::new().max_chunk_len(CHUNK_LIMIT)
}

/// Limits rayon's global pool, which diff and apply use at `threads(0)`, to one thread, for
/// results independent of scheduling. Not `threads(1)`: that starts a pool, and so a thread,
/// per call, which costs more than most inputs and makes every run look like a leak to
/// LeakSanitizer (76 executions per second instead of thousands). Where the pool already
/// exists (other tests in the same binary), it is used as it is.
fn one_worker() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rayon::ThreadPoolBuilder::new().num_threads(1).build_global();
    });
}

/// A bsdiff patch against `old`, checked against a plain reference decoder written from the
/// format's description (`core/src/compat/bsdiff.rs`): apply must succeed exactly when the
/// reference does, with its output.
///
/// After `old` comes a selector: bit 1 picks the format (0: BSDIFF40, 1: BSDIFF43). With bit 0
/// clear, the rest follows the format's magic as is (header, then what should be bzip2). With
/// bit 0 set, the rest is `u16 new_size | streams`, where for BSDIFF40 the streams are
/// `u16 control_len | control | u16 diff_len | diff | extra` and for BSDIFF43 one stream; each
/// is compressed with bzip2 here, so the fuzzer's tuples and lengths reach the decoder.
pub fn bsdiff(data: &[u8]) -> Outcome {
    let (old, rest) = split_old(data);
    let mut input = Input(rest);
    let selector = input.u8();
    let v43 = selector & 2 != 0;
    let magic: &[u8] = if v43 { b"ENDSLEY/BSDIFF43" } else { b"BSDIFF40" };
    if selector & 1 == 0 {
        return check_apply(old, &[magic, input.0].concat()).map(drop);
    }
    let new_size = u16::from_le_bytes([input.u8(), input.u8()]);
    let streams: Vec<&[u8]> = if v43 {
        vec![input.0]
    } else {
        let mut next = || {
            let len = u16::from_le_bytes([input.u8(), input.u8()]);
            input.take(usize::from(len))
        };
        let (control, diff) = (next(), next());
        vec![control, diff, input.0]
    };
    let packed: Vec<Vec<u8>> = streams.iter().map(|stream| bzip2(stream)).collect();
    let mut patch = magic.to_vec();
    if !v43 {
        patch.extend(offtout(packed[0].len() as u64));
        patch.extend(offtout(packed[1].len() as u64));
    }
    patch.extend(offtout(u64::from(new_size)));
    patch.extend(packed.concat());
    let expected = reference_bspatch(old, u64::from(new_size), &streams);
    matches_reference(check_apply(old, &patch), expected, "a bsdiff patch")
}

fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    bzip2::read::BzEncoder::new(data, bzip2::Compression::fast()).read_to_end(&mut out).expect("in memory");
    out
}

/// bsdiff's `offtout` of a non-negative number.
fn offtout(value: u64) -> [u8; 8] {
    value.to_le_bytes()
}

/// The reference: the new file of a bsdiff patch with raw `streams` (control, diff, extra; or
/// BSDIFF43's one), or `None` where a tuple breaks a bound or a stream is not used exactly.
fn reference_bspatch(old: &[u8], new_size: u64, streams: &[&[u8]]) -> Option<Vec<u8>> {
    let mut cursors: Vec<&[u8]> = streams.to_vec();
    let [control, diff, extra] = if cursors.len() == 1 { [0, 0, 0] } else { [0, 1, 2] };
    let mut take = |stream: usize, len: usize| -> Option<&[u8]> {
        let cursor = &mut cursors[stream];
        let (taken, rest) = (cursor.get(..len)?, cursor.get(len..)?);
        *cursor = rest;
        Some(taken)
    };
    let (mut new, mut old_pos) = (Vec::new(), 0i64);
    let signed = |bytes: &[u8]| {
        let raw = u64::from_le_bytes(bytes.try_into().unwrap());
        let magnitude = (raw & (u64::MAX >> 1)) as i64;
        if raw >> 63 == 1 { -magnitude } else { magnitude }
    };
    while let Some(tuple) = take(control, 24) {
        let [add, copy, seek] = [0, 8, 16].map(|at| signed(&tuple[at..at + 8]));
        let room = |len: i64, new: &Vec<u8>| len >= 0 && len as u64 <= new_size - new.len() as u64;
        if !room(add, &new) {
            return None;
        }
        for (i, byte) in take(diff, add as usize)?.iter().enumerate() {
            let at = old_pos.checked_add(i as i64)?;
            let base = usize::try_from(at).ok().and_then(|at| old.get(at)).copied().unwrap_or(0);
            new.push(byte.wrapping_add(base));
        }
        old_pos = old_pos.checked_add(add)?;
        if !room(copy, &new) {
            return None;
        }
        new.extend_from_slice(take(extra, copy as usize)?);
        old_pos = old_pos.checked_add(seek)?;
    }
    (cursors.iter().all(|c| c.is_empty()) && new.len() as u64 == new_size).then_some(new)
}

/// Checks apply's outcome against a reference decoder's: the same bytes, or both refuse
/// (`what` names the input in messages).
fn matches_reference(applied: Result<Vec<u8>, ErrorKind>, expected: Option<Vec<u8>>, what: &str) -> Outcome {
    match (&applied, expected) {
        (Ok(new), Some(expected)) => assert!(*new == expected, "apply's output differs from the reference"),
        (Err(kind), None) => assert_eq!(*kind, ErrorKind::CorruptPatch),
        (Ok(_), None) => panic!("apply accepted {what} that the reference decoder refuses"),
        (Err(kind), Some(_)) => {
            panic!("apply failed ({kind:?}) on {what} that the reference decoder accepts")
        }
    }
    applied.map(drop)
}

/// Splits `u16 old_len | old | rest`.
fn split_old(data: &[u8]) -> (&[u8], &[u8]) {
    let mut input = Input(data);
    let old_len = u16::from_le_bytes([input.u8(), input.u8()]);
    let old = input.take(usize::from(old_len));
    (old, input.0)
}

/// Applies and verifies `patch`, and inspects it: the three must agree, and a success must
/// be consistent with the patch's head. Returns apply's output.
fn check_apply(old: &[u8], patch: &[u8]) -> Result<Vec<u8>, ErrorKind> {
    let applied = chunkdelta::apply(old, patch, &apply_options());
    let verified = chunkdelta::verify(old, patch, &apply_options());
    match (&applied, &verified) {
        (Ok(new), Ok(verified)) => {
            let head = chunkdelta::inspect(patch).expect("inspect refuses a patch that apply accepts");
            assert_eq!(head, verified.head, "verify and inspect disagree");
            assert_eq!((head.new_size(), head.patch_size()), (new.len() as u64, patch.len() as u64));
            assert_eq!(verified.new_hash, *blake3::hash(new).as_bytes());
            if let PatchHead::Chunkdelta(info) = &head {
                assert_eq!(
                    chunkdelta::read_info(patch).ok().as_ref(),
                    Some(info),
                    "read_info and inspect disagree"
                );
                check_info(info, patch.len());
                assert_eq!(info.old_size, old.len() as u64);
            }
        }
        (Err(a), Err(v)) => assert_eq!(a.kind(), v.kind(), "apply and verify disagree: {a} / {v}"),
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => panic!("only one of apply and verify fails: {e}"),
    }
    applied.map_err(|e| e.kind())
}

/// Checks what `FORMAT.md` promises of a patch that reads successfully.
fn check_info(info: &PatchInfo, patch_len: usize) {
    match info.format_version {
        1 => assert_eq!(info.codec, Some(Codec::Zstd)),
        2 => assert!(info.codec.is_some(), "a version 2 patch without its codec"),
        3 | 4 => assert_eq!(info.codec, None),
        other => panic!("format version {other}"),
    }
    assert_eq!(info.exec.is_some(), info.format_version == 4, "an exec block outside version 4");
    assert_eq!(info.patch_size, patch_len as u64, "patch_size is not the patch's length");
    // A container patch's chunks are its inner patch's, over the views; its head adds the
    // container header, its signature block and the recipe (zstd, within twice its raw bound)
    // to the inner patch's.
    let (old_size, new_size, container_head) = match info.container.as_deref() {
        Some(c) => {
            (c.old_view_size, c.new_view_size, 136 + MAX_SIGNATURE_LEN + 2 * chunkdelta::MAX_RECIPE_LEN)
        }
        None => (info.old_size, info.new_size, 0),
    };
    assert!(info.chunks.len() as u64 <= MAX_CHUNK_COUNT.min(new_size));
    assert_eq!(info.chunks.is_empty(), new_size == 0);
    let mut end = 0u64;
    let mut payloads = 0u64;
    for (i, chunk) in info.chunks.iter().enumerate() {
        assert_eq!(chunk.new_offset, end, "chunk {i} does not follow the previous one");
        check_chunk(chunk, old_size, i);
        check_group(&info.chunks, i);
        end += chunk.new_len;
        payloads += chunk.payload_len();
    }
    assert_eq!(end, new_size, "the chunks do not cover the new file");
    let exec_block = info.exec.as_ref().map_or(0, |exec| exec.block_len);
    let head = (HEADER_LEN + entry_len(info.format_version) * info.chunks.len() + TABLE_HASH_LEN) as u64
        + exec_block;
    let signature = info.patch_size.checked_sub(payloads + head).expect("patch_size is below its parts");
    assert!(signature <= MAX_SIGNATURE_LEN + container_head, "a signature block of {signature} bytes");
}

/// The rules of `FORMAT.md` for one chunk table entry `i`.
fn check_chunk(chunk: &ChunkInfo, old_size: u64, i: usize) {
    let len = chunk.new_len;
    assert!((1..=chunkdelta::MAX_CHUNK_LEN).contains(&len), "chunk {i}: length {len}");
    let raw = |kind| chunk.stream(kind).map_or(0, |s| s.raw_len);
    assert!(raw(StreamKind::Extra) <= len, "chunk {i}: extra stream longer than the chunk");
    assert!((1..=len + 32).contains(&raw(StreamKind::Control)), "chunk {i}: control length");
    assert!(raw(StreamKind::Corrections) <= 3 * len, "chunk {i}: corrections longer than their bound");
    let diff = chunk.diff_raw_len();
    if chunk.stream(StreamKind::DiffCtrl).is_some() {
        assert!(raw(StreamKind::DiffCode) <= diff, "chunk {i}: diff code longer than the diff");
        let ctrl = raw(StreamKind::DiffCtrl);
        assert!(ctrl <= diff + 32 && (ctrl == 0) == (diff == 0), "chunk {i}: diff control length");
    }
    for stream in &chunk.streams {
        let diff = matches!(stream.kind, StreamKind::DiffCtrl | StreamKind::DiffCode);
        if stream.codec == StreamCodec::InGroup {
            assert!(diff && stream.packed_len == 0, "chunk {i}: in-group {} stream", stream.kind);
        } else if !(diff && chunk.group_len > 0) {
            check_stream(stream.raw_len, stream, i);
        }
    }
    if let Some(dictionary) = &chunk.dictionary {
        assert!(dictionary.end <= old_size && dictionary.end - dictionary.start <= 1 << 26, "chunk {i}");
        let extra = chunk.stream(StreamKind::Extra).expect("a dictionary without an extra stream");
        assert_ne!(extra.codec, StreamCodec::Stored, "chunk {i}: a dictionary for a stored extra stream");
    }
}

/// The per-stream rules for a stream of `raw` bytes (a group's: their sum) stored as `stream`.
fn check_stream(raw: u64, stream: &chunkdelta::StreamInfo, i: usize) {
    let packed = stream.packed_len;
    assert_eq!(raw == 0, packed == 0, "chunk {i}: stream sizes {raw} and {packed}");
    assert!(raw > 0 || stream.codec == StreamCodec::Stored, "chunk {i}: an empty stream is not stored");
    assert!(stream.codec != StreamCodec::Stored || raw == packed, "chunk {i}: stored {raw} as {packed}");
    assert!(packed <= compress_bound(raw), "chunk {i}: {packed} bytes from {raw}");
}

/// The group rules of `FORMAT.md` for chunk `i`, if it leads a group.
fn check_group(chunks: &[ChunkInfo], i: usize) {
    let n = chunks[i].group_len as usize;
    if n == 0 {
        return;
    }
    assert!(n >= 2 && i + n <= chunks.len(), "chunk {i}: group of {n}");
    for member in &chunks[i + 1..i + n] {
        assert_eq!(member.group_len, 0, "chunk {i}: a nested group");
        assert!(member.streams[1..3].iter().all(|s| s.codec == StreamCodec::InGroup), "chunk {i}: member");
    }
    for s in 1..3 {
        let total: u64 = chunks[i..i + n].iter().map(|c| c.streams[s].raw_len).sum();
        assert!(total <= chunkdelta::MAX_GROUP_RAW, "chunk {i}: group stream of {total}");
        check_stream(total, &chunks[i].streams[s], i);
    }
}

fn compress_bound(raw: u64) -> u64 {
    zstd::zstd_safe::compress_bound(usize::try_from(raw).unwrap()) as u64
}

/// Reads fields off the front of the fuzzer's bytes; past the end, it reads zeros.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn take(&mut self, len: usize) -> &'a [u8] {
        let (taken, rest) = self.0.split_at(len.min(self.0.len()));
        self.0 = rest;
        taken
    }

    fn u8(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }

    /// A LEB128 varint of at most 10 bytes; bits beyond 64 are dropped.
    fn varint(&mut self) -> u64 {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = self.u8();
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        value
    }
}

/// The bytes that [`apply_ops`] cuts its diff and extra streams from: the end of the input,
/// repeated. Copied slice by slice, since a loop over bytes is slow under the fuzzer's
/// instrumentation.
struct Fill<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Fill<'_> {
    fn take(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let part = &self.bytes[self.at..];
            let part = &part[..part.len().min(len - out.len())];
            out.extend_from_slice(part);
            self.at = (self.at + part.len()) % self.bytes.len();
        }
        out
    }
}

/// The largest diff or extra stream [`apply_ops`] builds.
const STREAM_LIMIT: u64 = 1 << 14;

/// One chunk of [`apply_ops`] as read from the input.
struct ChunkSpec {
    /// The raw control stream: the ops.
    ops: Vec<u8>,
    /// Raw input bytes for the control stream (version 1) or the run-length items (version 3).
    tamper: Vec<u8>,
    diff_len: usize,
    extra_len: usize,
    two_frames: bool,
    dictionary: bool,
}

impl ChunkSpec {
    fn read(input: &mut Input) -> Self {
        let op_count = input.u8() % 32;
        let (mut ops, mut add_total, mut extra_total) = (Vec::new(), 0u64, 0u64);
        for _ in 0..op_count {
            let (seek, add_len, extra_len) = (input.varint(), input.varint(), input.varint());
            for value in [seek, add_len, extra_len] {
                write_varint(value, &mut ops);
            }
            add_total = add_total.saturating_add(add_len);
            extra_total = extra_total.saturating_add(extra_len);
        }
        let tamper = input.u8();
        let nudge = |total: u64, bits: u8| match bits & 3 {
            2 => total.saturating_sub(1),
            3 => total + 1,
            _ => total,
        };
        ChunkSpec {
            ops,
            tamper: input.take(usize::from((tamper >> 4) & 3)).to_vec(),
            diff_len: nudge(add_total.min(STREAM_LIMIT), tamper) as usize,
            extra_len: nudge(extra_total.min(STREAM_LIMIT), tamper >> 2) as usize,
            two_frames: tamper & 0x40 != 0,
            dictionary: tamper & 0x80 != 0,
        }
    }

    /// The chunk's raw and stored streams, diff and extra bytes taken from `fill`.
    fn streams(self, fill: &mut Fill, old: &[u8], v3: bool) -> ChunkStreams {
        let (diff, extra) = (fill.take(self.diff_len), fill.take(self.extra_len));
        let zstd = |raw: &[u8]| Packed::zstd(raw, self.two_frames, &[]);
        if !v3 {
            let control = [self.ops, self.tamper].concat();
            let stored = vec![zstd(&control), zstd(&diff), zstd(&extra)];
            return ChunkStreams {
                control,
                diff,
                extra,
                rle: None,
                dictionary: false,
                stored,
                group_len: 0,
                grouped: false,
            };
        }
        let (mut ctrl, code) = rle_encode(&diff);
        ctrl.extend_from_slice(&self.tamper);
        let small = |raw: &[u8]| if self.two_frames { zstd(raw) } else { Packed::stored(raw) };
        let dictionary = self.dictionary && !extra.is_empty() && !old.is_empty();
        let dict = if dictionary { old } else { &[] };
        let stored =
            vec![small(&self.ops), small(&ctrl), small(&code), Packed::zstd(&extra, self.two_frames, dict)];
        ChunkStreams {
            control: self.ops,
            diff,
            extra,
            rle: Some((ctrl, code)),
            dictionary,
            stored,
            group_len: 0,
            grouped: false,
        }
    }
}

fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// One stream as stored in the patch.
struct Packed {
    /// The version-3 codec byte: 0 stored, 1 zstd, 3 in group.
    codec: u8,
    raw_len: usize,
    bytes: Vec<u8>,
}

impl Packed {
    fn stored(raw: &[u8]) -> Self {
        Packed { codec: 0, raw_len: raw.len(), bytes: raw.to_vec() }
    }

    /// zstd level 1, as one frame or two, against the prefix `dict`; an empty stream is
    /// stored (and so absent).
    fn zstd(raw: &[u8], two_frames: bool, dict: &[u8]) -> Self {
        if raw.is_empty() {
            return Packed::stored(raw);
        }
        let parts = if two_frames { raw.split_at(raw.len() / 2) } else { (raw, &[][..]) };
        let mut bytes = zstd_frame(parts.0, dict);
        if two_frames {
            bytes.extend(zstd_frame(parts.1, dict));
        }
        Packed { codec: 1, raw_len: raw.len(), bytes }
    }
}

/// One zstd frame at level 1 against the raw-content prefix `dict` (empty: none).
fn zstd_frame(raw: &[u8], dict: &[u8]) -> Vec<u8> {
    use zstd::zstd_safe::{CCtx, CParameter};
    let mut cctx = CCtx::create();
    cctx.set_parameter(CParameter::CompressionLevel(1)).unwrap();
    if !dict.is_empty() {
        cctx.ref_prefix(dict).unwrap();
    }
    let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(raw.len()));
    cctx.compress2(&mut out, raw).unwrap();
    out
}

/// A plain run-length coding of `diff` (`FORMAT.md`, version 3): runs of at least 3 equal bytes
/// become run items, the rest literal items. Returns the items and the code bytes.
fn rle_encode(diff: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut ctrl, mut code, mut literal) = (Vec::new(), Vec::new(), Vec::new());
    let flush = |literal: &mut Vec<u8>, ctrl: &mut Vec<u8>, code: &mut Vec<u8>| {
        if !literal.is_empty() {
            write_varint(((literal.len() as u64) << 2) | 3, ctrl);
            code.append(literal);
        }
    };
    let mut at = 0;
    while at < diff.len() {
        let run = diff[at..].iter().take_while(|&&b| b == diff[at]).count();
        if run < 3 {
            literal.extend_from_slice(&diff[at..at + run]);
        } else {
            flush(&mut literal, &mut ctrl, &mut code);
            let tag = match diff[at] {
                0 => 0,
                0xFF => 1,
                byte => {
                    code.push(byte);
                    2
                }
            };
            write_varint(((run as u64) << 2) | tag, &mut ctrl);
        }
        at += run;
    }
    flush(&mut literal, &mut ctrl, &mut code);
    (ctrl, code)
}

/// Decodes run-length items into exactly `len` bytes, following `FORMAT.md`; `None` where a
/// decoder must refuse them.
fn rle_decode(mut ctrl: &[u8], mut code: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    while !ctrl.is_empty() {
        let item = read_varint(&mut ctrl)?;
        let n = item >> 2;
        if n == 0 || n > (len - out.len()) as u64 {
            return None;
        }
        let n = n as usize;
        match item & 3 {
            0 => out.resize(out.len() + n, 0),
            1 => out.resize(out.len() + n, 0xFF),
            2 => {
                let (&byte, rest) = code.split_first()?;
                out.resize(out.len() + n, byte);
                code = rest;
            }
            _ => {
                let literal = code.get(..n)?;
                out.extend_from_slice(literal);
                code = &code[n..];
            }
        }
    }
    (out.len() == len && code.is_empty()).then_some(out)
}

/// A chunk of [`apply_ops`]: raw streams, and the streams as stored, in payload order.
struct ChunkStreams {
    control: Vec<u8>,
    diff: Vec<u8>,
    extra: Vec<u8>,
    /// Version 3: the run-length items and code bytes of `diff`, as stored.
    rle: Option<(Vec<u8>, Vec<u8>)>,
    /// Version 3: whether the extra stream is compressed against all of old.
    dictionary: bool,
    stored: Vec<Packed>,
    /// Version 3: the entry's group length (0, or the chunk count for the first chunk).
    group_len: u32,
    /// Whether the chunk leads or belongs to a group: its diff streams' sizes are the group's.
    grouped: bool,
}

/// Makes `chunks` (version 3) one group: the first chunk stores their concatenated diff
/// streams, as one zstd frame or stored as its own diff streams were; the others take codec 3.
fn group(chunks: &mut [ChunkStreams]) {
    for s in 1..3 {
        let whole: Vec<u8> = chunks
            .iter()
            .flat_map(|c| if s == 1 { &c.rle.as_ref().unwrap().0 } else { &c.rle.as_ref().unwrap().1 })
            .copied()
            .collect();
        let own = chunks[0].stored[s].raw_len;
        let mut packed = if chunks[0].stored[0].codec == 1 {
            Packed::zstd(&whole, false, &[])
        } else {
            Packed::stored(&whole)
        };
        packed.raw_len = own;
        chunks[0].stored[s] = packed;
        for member in &mut chunks[1..] {
            member.stored[s] = Packed { codec: 3, raw_len: member.stored[s].raw_len, bytes: Vec::new() };
        }
    }
    chunks[0].group_len = chunks.len() as u32;
    chunks.iter_mut().for_each(|c| c.grouped = true);
}

impl ChunkStreams {
    fn new_len(&self) -> usize {
        self.diff.len() + self.extra.len()
    }

    /// The chunk-table rules of `FORMAT.md` that these entries can break.
    fn table_valid(&self) -> bool {
        let (new_len, diff_len) = (self.new_len() as u64, self.diff.len() as u64);
        let diff_streams_valid = self.rle.as_ref().is_none_or(|(ctrl, code)| {
            let ctrl_len = ctrl.len() as u64;
            code.len() as u64 <= diff_len && ctrl_len <= diff_len + 32 && (ctrl_len == 0) == (diff_len == 0)
        });
        new_len >= 1
            && (1..=new_len + 32).contains(&(self.control.len() as u64))
            && diff_streams_valid
            && self.stored.iter().enumerate().all(|(i, s)| {
                (self.grouped && (i == 1 || i == 2))
                    || s.bytes.len() as u64 <= compress_bound(s.raw_len as u64)
            })
    }
}

/// Decodes a chunk the plain way, following `FORMAT.md`; `None` where a decoder must refuse it.
fn reference_decode(old: &[u8], chunk: &ChunkStreams) -> Option<Vec<u8>> {
    if !chunk.table_valid() {
        return None;
    }
    let diff = match &chunk.rle {
        Some((ctrl, code)) => rle_decode(ctrl, code, chunk.diff.len())?,
        None => chunk.diff.clone(),
    };
    let (mut control, mut diff, mut extra) = (&chunk.control[..], &diff[..], &chunk.extra[..]);
    let mut out = Vec::new();
    let mut cursor = 0u64;
    while !control.is_empty() {
        let zigzag = read_varint(&mut control)?;
        let seek = (zigzag >> 1) as i64 ^ -((zigzag & 1) as i64);
        let (add_len, extra_len) = (read_varint(&mut control)?, read_varint(&mut control)?);
        if add_len == 0 && extra_len == 0 {
            return None;
        }
        cursor =
            u64::try_from(i128::from(cursor) + i128::from(seek)).ok().filter(|&c| c <= old.len() as u64)?;
        if add_len > old.len() as u64 - cursor
            || add_len > diff.len() as u64
            || extra_len > extra.len() as u64
        {
            return None;
        }
        let (add, copy) = (add_len as usize, extra_len as usize);
        let base = &old[cursor as usize..][..add];
        out.extend(base.iter().zip(&diff[..add]).map(|(o, d)| o.wrapping_add(*d)));
        out.extend_from_slice(&extra[..copy]);
        (cursor, diff, extra) = (cursor + add_len, &diff[add..], &extra[copy..]);
    }
    (diff.is_empty() && extra.is_empty()).then_some(out)
}

/// A control-stream varint: at most 10 bytes, the 10th at most 1.
fn read_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..10 {
        let byte = *bytes.get(i)?;
        if i == 9 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Some(value);
        }
    }
    None
}

/// A patch of `chunks` for `old` (format version 3 or 1), each chunk hash that of its reference
/// output (zero where the reference refuses it), and the new hash that of `new` (zero without
/// one).
fn build_patch(
    old: &[u8],
    chunks: &[ChunkStreams],
    outputs: &[Option<Vec<u8>>],
    new: Option<&[u8]>,
    v3: bool,
) -> Vec<u8> {
    let new_size: usize = chunks.iter().map(ChunkStreams::new_len).sum();
    let mut patch = Vec::new();
    patch.extend_from_slice(&chunkdelta::MAGIC);
    patch.extend_from_slice(&(if v3 { 3u16 } else { 1 }).to_le_bytes());
    patch.extend_from_slice(&[0, 0]);
    patch.extend_from_slice(&(old.len() as u64).to_le_bytes());
    patch.extend_from_slice(blake3::hash(old).as_bytes());
    patch.extend_from_slice(&(new_size as u64).to_le_bytes());
    patch.extend_from_slice(&new.map_or([0; 32], |new| *blake3::hash(new).as_bytes()));
    patch.extend_from_slice(&(chunks.len() as u32).to_le_bytes());
    patch.extend_from_slice(&0u32.to_le_bytes());
    let mut offset = 0u64;
    for (chunk, output) in chunks.iter().zip(outputs) {
        patch.extend_from_slice(&offset.to_le_bytes());
        if v3 {
            v3_entry_sizes(chunk, old.len(), &mut patch);
        } else {
            let sizes = [chunk.new_len(), chunk.control.len(), chunk.extra.len()];
            for size in sizes.into_iter().chain(chunk.stored.iter().map(|s| s.bytes.len())) {
                patch.extend_from_slice(&(size as u32).to_le_bytes());
            }
        }
        patch.extend_from_slice(&output.as_deref().map_or([0; 32], |out| *blake3::hash(out).as_bytes()));
        offset += chunk.new_len() as u64;
    }
    let table_hash = blake3::hash(&patch);
    patch.extend_from_slice(table_hash.as_bytes());
    for stream in chunks.iter().flat_map(|chunk| &chunk.stored) {
        patch.extend_from_slice(&stream.bytes);
    }
    patch
}

/// Bytes 8..64 of a version-3 entry: length, codecs, raw and packed sizes, dictionary, group
/// length.
fn v3_entry_sizes(chunk: &ChunkStreams, old_len: usize, patch: &mut Vec<u8>) {
    let u32_le = |value: usize| (value as u32).to_le_bytes();
    patch.extend_from_slice(&u32_le(chunk.new_len()));
    patch.extend(chunk.stored.iter().map(|s| s.codec));
    chunk.stored.iter().for_each(|s| patch.extend_from_slice(&u32_le(s.raw_len)));
    chunk.stored.iter().for_each(|s| patch.extend_from_slice(&u32_le(s.bytes.len())));
    patch.extend_from_slice(&0u64.to_le_bytes());
    patch.extend_from_slice(&u32_le(if chunk.dictionary { old_len } else { 0 }));
    patch.extend_from_slice(&chunk.group_len.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two version-3 chunks of one 8-byte add and 2 extra bytes each, made one group
    /// (selector bit 6): apply must accept them and match the reference decoder.
    #[test]
    fn apply_ops_decodes_a_group() {
        let mut input = vec![16, 0];
        input.extend(b"abcdefghijklmnop");
        input.push(0xC1);
        for _ in 0..2 {
            input.extend([1, 0, 8, 2, 0]);
        }
        input.extend([0, 0, 1, 0, 0, 0, 0, 7, 5, 6]);
        assert_eq!(apply_ops(&input), Ok(()));
    }
}
