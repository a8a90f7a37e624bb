//! Golden vectors in `tests/vectors/`: old, new and patch files plus `vectors.json`, shared with
//! the C and Python tests. Decoding them is the format contract; regenerate them only with a
//! deliberate encoder change: `CHUNKDELTA_REGENERATE_VECTORS=1 cargo test -p chunkdelta --test vectors`.

mod common;

use std::path::{Path, PathBuf};

use chunkdelta::{ApplyOptions, Codec, DiffOptions, apply, diff, read_info};
use common::{Rng, edited, old_file, text};
use serde_json::{Value, json};

struct Case {
    name: &'static str,
    old: Vec<u8>,
    new: Vec<u8>,
    level: i32,
    chunk_size: u64,
    codec: Codec,
}

fn cases() -> Vec<Case> {
    let small = text(&mut Rng::new(21), 4000);
    let mixed = old_file(22, 20_000);
    vec![
        Case { name: "empty", old: vec![], new: vec![], level: 3, chunk_size: 1024, codec: Codec::Zstd },
        Case {
            name: "from-empty",
            old: vec![],
            new: text(&mut Rng::new(23), 3000),
            level: 3,
            chunk_size: 1024,
            codec: Codec::Zstd,
        },
        Case {
            name: "to-empty",
            old: small.clone(),
            new: vec![],
            level: 3,
            chunk_size: 1024,
            codec: Codec::Zstd,
        },
        Case {
            name: "small-edit",
            new: edited(&small, 24, 5),
            old: small,
            level: 19,
            chunk_size: 1 << 20,
            codec: Codec::Zstd,
        },
        Case {
            name: "multi-chunk",
            new: edited(&mixed, 25, 12),
            old: mixed.clone(),
            level: 19,
            chunk_size: 4096,
            codec: Codec::Zstd,
        },
        Case {
            name: "multi-chunk-xz",
            new: edited(&mixed, 25, 12),
            old: mixed,
            level: 19,
            chunk_size: 4096,
            codec: Codec::Xz,
        },
    ]
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
        "old": format!("{}.old", case.name),
        "new": format!("{}.new", case.name),
        "patch": format!("{}.patch", case.name),
        "level": case.level,
        "chunk_size": case.chunk_size,
        "codec": info.codec.to_string(),
        "format_version": info.format_version,
        "old_size": info.old_size,
        "new_size": info.new_size,
        "old_blake3": hex(&info.old_hash),
        "new_blake3": hex(&info.new_hash),
        "chunk_count": info.chunks.len(),
        "patch_size": info.patch_size,
    })
}

fn regenerate() {
    let mut described = Vec::new();
    for case in cases() {
        let options =
            DiffOptions::new().codec(case.codec).level(case.level).chunk_size(case.chunk_size).threads(1);
        let patch = diff(&case.old, &case.new, &options).unwrap();
        std::fs::write(dir().join(format!("{}.old", case.name)), &case.old).unwrap();
        std::fs::write(dir().join(format!("{}.new", case.name)), &case.new).unwrap();
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

fn vectors() -> Vec<Value> {
    if std::env::var_os("CHUNKDELTA_REGENERATE_VECTORS").is_some() {
        regenerate();
    }
    let text = std::fs::read_to_string(dir().join("vectors.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

#[test]
fn golden_patches_apply_and_describe_themselves() {
    let vectors = vectors();
    assert_eq!(vectors.len(), cases().len());
    for vector in vectors {
        let (old, new, patch) = (load(&vector["old"]), load(&vector["new"]), load(&vector["patch"]));
        let applied = apply(&old, &patch[..], &ApplyOptions::new()).unwrap();
        assert!(applied == new, "vector {}", vector["name"]);
        let info = read_info(&patch[..]).unwrap();
        assert_eq!(info.patch_size, patch.len() as u64);
        assert_eq!(info.chunks.len() as u64, vector["chunk_count"].as_u64().unwrap());
        assert_eq!(hex(&info.new_hash), vector["new_blake3"].as_str().unwrap());
        assert_eq!(hex(&info.old_hash), vector["old_blake3"].as_str().unwrap());
    }
}

#[test]
fn the_encoder_still_produces_the_golden_patches() {
    for (case, vector) in cases().iter().zip(vectors()) {
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
