//! Golden vectors in `tests/vectors/`: old, new and patch files plus `vectors.json`, shared with
//! the C and Python tests. Decoding them is the format contract.
//!
//! Two kinds: *decode-only* vectors (`"decode_only": true`) are patches of format versions 1
//! and 2, which this library no longer writes: they must keep applying, byte for byte, forever.
//! The others are what today's encoder writes (version 3) and must be reproduced exactly. After
//! a deliberate encoder change (a new matcher, a new codec policy), regenerate them with the one
//! command `CHUNKDELTA_REGENERATE_VECTORS=1 cargo test -p chunkdelta --test vectors`, which
//! rewrites the encoder's vectors and keeps the decode-only ones as they are.
//!
//! The `v4-exec-*` vectors are executable patches (format version 4) of synthetic ELF files
//! of x86-64 and AArch64 code.
//!
//! The `container-*` vectors are container patches (`CONTAINER-FORMAT.md`): a zip and a gzip
//! pair made with the pinned zlib (container format 1), and a zip whose miniz-made member the
//! token method rebuilds (format 2); tests check they rebuild members.

mod common;

use std::path::{Path, PathBuf};

use chunkdelta::{ApplyOptions, Codec, DiffOptions, StreamKind, apply, diff, read_info};
use common::{Rng, edited, elf, old_file, tar_like, text, zips};
use serde_json::{Value, json};

/// One vector the encoder writes: `pair` names its `.old` and `.new` files (shared with the
/// decode-only vector of the same data).
struct Case {
    name: &'static str,
    pair: &'static str,
    old: Vec<u8>,
    new: Vec<u8>,
    level: i32,
    chunk_size: u64,
    codec: Codec,
}

fn cases() -> Vec<Case> {
    let small = text(&mut Rng::new(21), 4000);
    let mixed = old_file(22, 20_000);
    let (pieces_old, pieces_new) = pieces(26);
    let (tar_old, tar_new) = tar_like(27, 40);
    let (wheel_old, wheel_new) = wheel_like(28);
    let (gz_old, gz_new) = tar_gz(29);
    let (maturin_old, maturin_new) = maturin_like(32);
    let (x86_old, x86_new) = executables(elf::Machine::X86_64, 30);
    let (arm_old, arm_new) = executables(elf::Machine::Aarch64, 31);
    let case = |name, pair, old: &[u8], new: Vec<u8>, level, chunk_size, codec| Case {
        name,
        pair,
        old: old.to_vec(),
        new,
        level,
        chunk_size,
        codec,
    };
    vec![
        case("v3-empty", "empty", &[], vec![], 3, 1024, Codec::Zstd),
        case("v3-from-empty", "from-empty", &[], text(&mut Rng::new(23), 3000), 3, 1024, Codec::Zstd),
        case("v3-from-empty-xz", "from-empty", &[], text(&mut Rng::new(23), 3000), 6, 1024, Codec::Xz),
        case("v3-from-empty-auto", "from-empty", &[], text(&mut Rng::new(23), 3000), 19, 1024, Codec::Auto),
        case("v3-to-empty", "to-empty", &small, vec![], 3, 1024, Codec::Zstd),
        case("v3-small-edit", "small-edit", &small, edited(&small, 24, 5), 19, 1 << 20, Codec::Zstd),
        case("v3-multi-chunk", "multi-chunk", &mixed, edited(&mixed, 25, 12), 19, 4096, Codec::Zstd),
        case("v3-dictionary", "pieces", &pieces_old, pieces_new.clone(), 19, 1 << 20, Codec::Zstd),
        case("v3-dictionary-xz", "pieces", &pieces_old, pieces_new, 19, 1 << 20, Codec::Xz),
        case("v3-groups", "tar-like", &tar_old, tar_new, 19, 4096, Codec::Xz),
        case("container-zip", "wheel-like", &wheel_old, wheel_new, 19, 1 << 20, Codec::Xz),
        case("container-gzip", "tar-gz", &gz_old, gz_new, 19, 1 << 20, Codec::Xz),
        case("container-tokens-zip", "wheel-tokens", &maturin_old, maturin_new, 19, 1 << 20, Codec::Xz),
        case("v4-exec-x86-64", "exec-x86-64", &x86_old, x86_new, 19, 8 << 10, Codec::Xz),
        case("v4-exec-aarch64", "exec-aarch64", &arm_old, arm_new, 19, 8 << 10, Codec::Xz),
    ]
}

/// A wheel-like zip pair made by zlib level 6: a changed member, an unchanged one, a stored
/// one and a new one (container patch vectors, `CONTAINER-FORMAT.md`).
fn wheel_like(seed: u64) -> (Vec<u8>, Vec<u8>) {
    let code = text(&mut Rng::new(seed), 24_000);
    let meta = text(&mut Rng::new(seed + 1), 1_500);
    let stored = text(&mut Rng::new(seed + 2), 2_000);
    let old = zips::zip(&[
        zips::entry("pkg/core.py", code.clone(), zips::Method::Zlib(6)),
        zips::entry("pkg-1.0.dist-info/METADATA", meta.clone(), zips::Method::Zlib(6)),
        zips::entry("pkg/data.txt", stored.clone(), zips::Method::Stored),
    ]);
    let new = zips::zip(&[
        zips::entry("pkg/core.py", edited(&code, seed + 3, 4), zips::Method::Zlib(6)),
        zips::entry("pkg-1.0.dist-info/METADATA", meta, zips::Method::Zlib(6)),
        zips::entry("pkg/data.txt", stored, zips::Method::Stored),
        zips::entry("pkg/added.py", text(&mut Rng::new(seed + 4), 3_000), zips::Method::Zlib(6)),
    ]);
    (old, new)
}

/// A maturin-like zip pair (container format version 2): a changed member deflated by
/// miniz_oxide, which zlib does not reproduce and the token method rebuilds, beside a changed
/// zlib member and a stored one.
fn maturin_like(seed: u64) -> (Vec<u8>, Vec<u8>) {
    let binary = text(&mut Rng::new(seed), 20_000);
    let code = text(&mut Rng::new(seed + 1), 4_000);
    let stored = text(&mut Rng::new(seed + 2), 500);
    let make = |binary: Vec<u8>, code: Vec<u8>| {
        zips::zip(&[
            zips::entry("pkg/_native.so", binary, zips::Method::Miniz(6)),
            zips::entry("pkg/__init__.py", code, zips::Method::Zlib(6)),
            zips::entry("pkg-1.0.dist-info/RECORD", stored.clone(), zips::Method::Stored),
        ])
    };
    let old = make(binary.clone(), code.clone());
    let new = make(edited(&binary, seed + 3, 4), edited(&code, seed + 4, 2));
    (old, new)
}

/// Two releases of a synthetic ELF executable in which a few functions grew (format
/// version 4 vectors).
fn executables(machine: elf::Machine, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = Rng::new(seed);
    let old = elf::Program::random(machine, &mut rng, 100);
    let new = old.grown(&mut rng, 8);
    (old.elf(), new.elf())
}

/// A `.tar.gz`-like pair: tar-like content, gzip by zlib level 9.
fn tar_gz(seed: u64) -> (Vec<u8>, Vec<u8>) {
    let (old, new) = tar_like(seed, 24);
    (zips::gzip(&old, "pkg-1.0.tar"), zips::gzip(&new, "pkg-1.0.tar"))
}

/// A pair whose new file is short pieces of its (random) old file: too short for the matcher,
/// so they are literals, which a dictionary of old compresses.
fn pieces(seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = Rng::new(seed);
    let old = rng.bytes(96 << 10);
    let mut new = Vec::new();
    while new.len() < 80 << 10 {
        let len = 4 + rng.below(6);
        let at = rng.below(old.len() - len);
        new.extend_from_slice(&old[at..at + len]);
    }
    (old, new)
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn describe(case: &Case, patch: &[u8]) -> Value {
    let info = read_info(patch).unwrap();
    json!({
        "name": case.name,
        "old": format!("{}.old", case.pair),
        "new": format!("{}.new", case.pair),
        "patch": format!("{}.patch", case.name),
        "decode_only": false,
        "level": case.level,
        "chunk_size": case.chunk_size,
        "codec": case.codec.to_string(),
        "header_codec": null,
        "format_version": info.format_version,
        "old_size": info.old_size,
        "new_size": info.new_size,
        "old_blake3": hex(&info.old_hash),
        "new_blake3": hex(&info.new_hash),
        "chunk_count": info.chunks.len(),
        "dictionary_chunks": info.chunks.iter().filter(|c| c.dictionary.is_some()).count(),
        "group_chunks": info.chunks.iter().map(|c| c.group_len).sum::<u32>(),
        "patch_size": info.patch_size,
        "container": info.container.as_ref().map(|c| c.kind.name()),
        "members_rebuilt": info.container.as_ref().map_or(0, |c| c.members_rebuilt),
        "members_rebuilt_by_tokens": info.container.as_ref().map_or(0, |c| c.members_rebuilt_by_tokens),
        "container_version": info.container.as_ref().map(|c| c.format_version),
        "exec_arch": info.exec.as_ref().map(|e| e.arch),
    })
}

/// Rewrites the encoder's vectors and `vectors.json`, keeping the decode-only entries.
fn regenerate(existing: Vec<Value>) {
    let mut described: Vec<Value> = existing.into_iter().filter(decode_only).collect();
    for case in cases() {
        let options =
            DiffOptions::new().codec(case.codec).level(case.level).chunk_size(case.chunk_size).threads(1);
        let patch = diff(&case.old, &case.new, &options).unwrap();
        std::fs::write(dir().join(format!("{}.old", case.pair)), &case.old).unwrap();
        std::fs::write(dir().join(format!("{}.new", case.pair)), &case.new).unwrap();
        std::fs::write(dir().join(format!("{}.patch", case.name)), &patch).unwrap();
        described.push(describe(&case, &patch));
    }
    let text = serde_json::to_string_pretty(
        &json!({ "format_version": chunkdelta::FORMAT_VERSION, "vectors": described }),
    )
    .unwrap();
    std::fs::write(dir().join("vectors.json"), text + "\n").unwrap();
}

fn load(file: &Value) -> Vec<u8> {
    std::fs::read(dir().join(file.as_str().unwrap())).unwrap()
}

fn decode_only(vector: &Value) -> bool {
    vector["decode_only"].as_bool().unwrap()
}

fn read_vectors() -> Vec<Value> {
    let text = std::fs::read_to_string(dir().join("vectors.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

/// Every vector, regenerated first when `CHUNKDELTA_REGENERATE_VECTORS` is set (once per
/// test binary: both tests call this).
fn vectors() -> Vec<Value> {
    static REGENERATE: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("CHUNKDELTA_REGENERATE_VECTORS").is_some() {
        REGENERATE.call_once(|| regenerate(read_vectors()));
    }
    read_vectors()
}

#[test]
fn golden_patches_apply_and_describe_themselves() {
    let vectors = vectors();
    let legacy_versions: Vec<u64> =
        vectors.iter().filter(|v| decode_only(v)).map(|v| v["format_version"].as_u64().unwrap()).collect();
    assert!(legacy_versions.contains(&1) && legacy_versions.contains(&2), "{legacy_versions:?}");
    assert_eq!(vectors.len() - legacy_versions.len(), cases().len());
    for vector in vectors {
        let name = &vector["name"];
        let (old, new, patch) = (load(&vector["old"]), load(&vector["new"]), load(&vector["patch"]));
        let applied = apply(&old, &patch[..], &ApplyOptions::new()).unwrap();
        assert!(applied == new, "vector {name}");
        let info = read_info(&patch[..]).unwrap();
        assert_eq!(info.patch_size, patch.len() as u64);
        assert_eq!(u64::from(info.format_version), vector["format_version"].as_u64().unwrap(), "{name}");
        let header_codec = info.codec.map(|codec| codec.to_string());
        assert_eq!(header_codec.as_deref(), vector["header_codec"].as_str(), "{name}");
        assert_eq!(info.chunks.len() as u64, vector["chunk_count"].as_u64().unwrap());
        assert_eq!(hex(&info.new_hash), vector["new_blake3"].as_str().unwrap());
        assert_eq!(hex(&info.old_hash), vector["old_blake3"].as_str().unwrap());
        if !decode_only(&vector) {
            let dictionaries = info.chunks.iter().filter(|c| c.dictionary.is_some()).count();
            assert_eq!(dictionaries as u64, vector["dictionary_chunks"].as_u64().unwrap(), "{name}");
            let grouped: u32 = info.chunks.iter().map(|c| c.group_len).sum();
            assert_eq!(u64::from(grouped), vector["group_chunks"].as_u64().unwrap(), "{name}");
            let container = info.container.as_ref();
            assert_eq!(container.map(|c| c.kind.name()), vector["container"].as_str(), "{name}");
            let rebuilt = container.map_or(0, |c| c.members_rebuilt);
            assert_eq!(rebuilt, vector["members_rebuilt"].as_u64().unwrap(), "{name}");
            let by_tokens = container.map_or(0, |c| c.members_rebuilt_by_tokens);
            assert_eq!(by_tokens, vector["members_rebuilt_by_tokens"].as_u64().unwrap(), "{name}");
            let version = container.map(|c| u64::from(c.format_version));
            assert_eq!(version, vector["container_version"].as_u64(), "{name}");
            assert_eq!(info.exec.as_ref().map(|e| e.arch), vector["exec_arch"].as_str(), "{name}");
        }
    }
}

#[test]
fn the_encoder_still_produces_the_golden_patches() {
    let vectors: Vec<Value> = vectors().into_iter().filter(|v| !decode_only(v)).collect();
    for (case, vector) in cases().iter().zip(vectors) {
        assert_eq!(vector["name"], case.name);
        assert_eq!(load(&vector["old"]), case.old, "generator changed for {}", case.name);
        let options = DiffOptions::new().codec(case.codec).level(case.level).chunk_size(case.chunk_size);
        let patch = diff(&case.old, &case.new, &options).unwrap();
        assert!(
            patch == load(&vector["patch"]),
            "the encoder output changed for {}; if deliberate, regenerate the vectors (see this file's docs)",
            case.name
        );
    }
}

/// The dictionary vectors exist to exercise the dictionary path: if a matcher change lets the
/// matcher cover their new file, they need other data, not just regenerating.
#[test]
fn the_dictionary_vectors_use_a_dictionary() {
    for vector in vectors().iter().filter(|v| v["name"].as_str().unwrap().starts_with("v3-dictionary")) {
        assert!(vector["dictionary_chunks"].as_u64().unwrap() >= 1, "{}", vector["name"]);
    }
}

/// The exec vectors exist to exercise version 4: each must be one, with fields predicted.
#[test]
fn the_exec_vectors_are_version_4() {
    for vector in vectors().iter().filter(|v| v["name"].as_str().unwrap().starts_with("v4-exec")) {
        assert_eq!(vector["format_version"], 4, "{}", vector["name"]);
        let info = read_info(&load(&vector["patch"])[..]).unwrap();
        let corrections: u64 =
            info.chunks.iter().filter_map(|c| c.stream(StreamKind::Corrections)).map(|s| s.raw_len).sum();
        assert!(corrections > 100, "{}: {corrections} bytes of corrections", vector["name"]);
    }
}

/// The token vector exists to exercise container format version 2: it must rebuild a member
/// by tokens.
#[test]
fn the_token_vector_is_container_version_2() {
    let vector = vectors().into_iter().find(|v| v["name"] == "container-tokens-zip").unwrap();
    assert_eq!(vector["container_version"], 2);
    assert!(vector["members_rebuilt_by_tokens"].as_u64().unwrap() >= 1);
}

/// The container vectors exist to exercise container patches: each must rebuild a member.
#[test]
fn the_container_vectors_rebuild_members() {
    for vector in vectors().iter().filter(|v| v["name"].as_str().unwrap().starts_with("container-")) {
        assert!(vector["members_rebuilt"].as_u64().unwrap() >= 1, "{}", vector["name"]);
    }
}

/// The group vector exists to exercise groups: its patch must have one.
#[test]
fn the_group_vector_has_a_group() {
    let vector = vectors().into_iter().find(|v| v["name"] == "v3-groups").unwrap();
    assert!(vector["group_chunks"].as_u64().unwrap() >= 2);
}
