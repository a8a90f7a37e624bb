//! Container patches end to end: zips and gzip files made here with real zlib (and with
//! miniz_oxide, whose output zlib does not reproduce), diffed, applied, tampered with.

mod common;

use chunkdelta::{ApplyOptions, ContainerKind, DiffOptions, ErrorKind, SecretKey, SignOptions, TrustPolicy};
use common::zips::{Method, entry, gzip, zip};

/// Text-like content: `seed` picks the words, `edit` changes a few lines.
fn text(seed: u32, lines: u32, edit: u32) -> Vec<u8> {
    (0..lines)
        .flat_map(|i| {
            let word = (i.wrapping_mul(2_654_435_761) ^ seed) % 5003;
            let changed = if edit > 0 && i % 97 == 0 { edit } else { 0 };
            format!("{i:06} value_{word} = compute({}, {changed});\n", word % 17).into_bytes()
        })
        .collect()
}

fn apply(old: &[u8], patch: &[u8]) -> chunkdelta::Result<Vec<u8>> {
    chunkdelta::apply(old, patch, &ApplyOptions::new())
}

fn container(patch: &[u8]) -> Option<chunkdelta::ContainerInfo> {
    chunkdelta::read_info(patch).unwrap().container.map(|c| *c)
}

/// An old and a new wheel-like zip made by zlib at `level`: changed, unchanged, added,
/// stored and data-descriptor members.
fn zip_pair(level: u32) -> (Vec<u8>, Vec<u8>) {
    let make = |edit: u32| {
        let mut descriptor = entry("pkg/core.py", text(3, 20_000, edit), Method::Zlib(level));
        descriptor.descriptor = true;
        let mut entries = vec![
            entry("pkg/__init__.py", text(1, 50, 0), Method::Zlib(level)),
            entry("pkg/lib.so", text(2, 40_000, edit), Method::Zlib(level)),
            descriptor,
            entry("pkg/data.bin", text(4, 3_000, edit), Method::Stored),
        ];
        if edit > 0 {
            entries.push(entry("pkg/new.py", text(5, 2_000, 0), Method::Zlib(level)));
        }
        zip(&entries)
    };
    (make(0), make(7))
}

#[test]
fn zips_made_by_zlib_at_each_level_round_trip_through_a_container_patch() {
    for level in [1, 6, 9] {
        let (old, new) = zip_pair(level);
        let patch = chunkdelta::diff(&old, &new, &DiffOptions::new()).unwrap();
        let info = container(&patch).expect("a container patch");
        assert_eq!(info.kind, ContainerKind::Zip);
        assert_eq!(info.members_expanded, 2, "level {level}: the deflated old members not kept unchanged");
        assert_eq!(info.members_rebuilt, 3, "level {level}: two changed members and the new one");
        assert_eq!(apply(&old, &patch).unwrap(), new, "level {level}");
        chunkdelta::verify(&old, &patch[..], &ApplyOptions::new()).unwrap();
        let plain = chunkdelta::diff(&old, &new, &DiffOptions::new().containers(false)).unwrap();
        assert_eq!(chunkdelta::read_info(&plain[..]).unwrap().container, None);
    }
}

#[test]
fn apply_file_writes_the_rebuilt_zip_and_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = zip_pair(6);
    let [old_path, new_path, patch_path, out_path] =
        ["old.whl", "new.whl", "p.cdlt", "out.whl"].map(|n| dir.path().join(n));
    std::fs::write(&old_path, &old).unwrap();
    std::fs::write(&new_path, &new).unwrap();
    let info = chunkdelta::diff_file(&old_path, &new_path, &patch_path, &DiffOptions::new()).unwrap();
    assert_eq!(info.container.expect("container").members_rebuilt, 3);
    assert_eq!((info.old_size, info.new_size), (old.len() as u64, new.len() as u64));
    let patch = std::fs::File::open(&patch_path).unwrap();
    let report = chunkdelta::apply_file(&old_path, patch, &out_path, &ApplyOptions::new()).unwrap();
    assert_eq!(std::fs::read(&out_path).unwrap(), new);
    assert_eq!(report.new_hash, *blake3::hash(&new).as_bytes());
    let mut names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["new.whl", "old.whl", "out.whl", "p.cdlt"]);
}

#[test]
fn a_tar_gz_round_trips_through_a_container_patch() {
    let gz = |edit| gzip(&text(9, 60_000, edit), "pkg-1.0.tar");
    let (old, new) = (gz(0), gz(3));
    let patch = chunkdelta::diff(&old, &new, &DiffOptions::new()).unwrap();
    let info = container(&patch).expect("a container patch");
    assert_eq!((info.kind, info.members_expanded, info.members_rebuilt), (ContainerKind::Gzip, 1, 1));
    assert_eq!(info.members_rebuilt_by_tokens, 1, "a gzip member of 1 MiB or more: tokens first");
    assert_eq!(apply(&old, &patch).unwrap(), new);

    let small = |edit| gzip(&text(9, 20_000, edit), "pkg-1.0.tar");
    let (old, new) = (small(0), small(3));
    let patch = chunkdelta::diff(&old, &new, &DiffOptions::new()).unwrap();
    let info = container(&patch).expect("a container patch");
    assert_eq!((info.members_rebuilt, info.members_rebuilt_by_tokens), (1, 0), "under 1 MiB: zlib");
    assert_eq!(apply(&old, &patch).unwrap(), new);
}

#[test]
fn members_zlib_does_not_reproduce_are_rebuilt_by_tokens() {
    let make = |edit| {
        zip(&[
            entry("a.txt", text(1, 20_000, edit), Method::Zlib(6)),
            entry("b.txt", text(2, 20_000, edit), Method::Miniz(3)),
        ])
    };
    let (old, new) = (make(0), make(5));
    let patch = chunkdelta::diff(&old, &new, &DiffOptions::new()).unwrap();
    let info = container(&patch).expect("a container patch");
    assert_eq!(info.format_version, 2);
    assert_eq!((info.members_expanded, info.members_rebuilt, info.members_rebuilt_by_tokens), (2, 2, 1));
    assert!(info.structure_len > 0);
    assert_eq!(apply(&old, &patch).unwrap(), new);

    for level in [0, 1, 6, 10] {
        let only_miniz = |edit| zip(&[entry("b.txt", text(2, 20_000, edit), Method::Miniz(level))]);
        let (old, new) = (only_miniz(0), only_miniz(5));
        let patch = chunkdelta::diff(&old, &new, &DiffOptions::new()).unwrap();
        let info = container(&patch).expect("a container patch");
        assert_eq!((info.members_rebuilt, info.members_rebuilt_by_tokens), (1, 1), "miniz level {level}");
        assert_eq!(apply(&old, &patch).unwrap(), new, "miniz level {level}");
        let plain = chunkdelta::diff(&old, &new, &DiffOptions::new().containers(false)).unwrap();
        // Level 0 is stored blocks, which a file patch already matches.
        let smaller = level == 0 || patch.len() * 2 < plain.len();
        assert!(smaller, "level {level}: {} against {}", patch.len(), plain.len());
    }
}

#[test]
fn zlib_reproducible_members_keep_the_zlib_method_and_version_1() {
    let (old, new) = zip_pair(6);
    let patch = chunkdelta::diff(&old, &new, &DiffOptions::new()).unwrap();
    let info = container(&patch).unwrap();
    assert_eq!((info.format_version, info.members_rebuilt_by_tokens, info.structure_len), (1, 0, 0));
    assert_eq!(info.rebuild_method, "zlib-1.4");
}

#[test]
fn a_member_neither_method_reproduces_stays_raw() {
    let make = |edit: u32| {
        zip(&[
            entry("a.txt", text(1, 20_000, edit), Method::Zlib(6)),
            entry("z.bin", vec![b'z'; 50_000 + edit as usize * 258], Method::Code284),
        ])
    };
    let (old, new) = (make(0), make(5));
    let patch = chunkdelta::diff(&old, &new, &DiffOptions::new()).unwrap();
    let info = container(&patch).expect("a container patch");
    assert_eq!((info.members_expanded, info.members_rebuilt, info.members_rebuilt_by_tokens), (2, 1, 0));
    assert_eq!(apply(&old, &patch).unwrap(), new);

    let only_284 = |edit: usize| zip(&[entry("z.bin", vec![b'z'; 50_000 + edit * 258], Method::Code284)]);
    let (old, new) = (only_284(0), only_284(5));
    let patch = chunkdelta::diff(&old, &new, &DiffOptions::new()).unwrap();
    assert_eq!(container(&patch), None, "nothing to rebuild: a plain file patch");
    assert_eq!(apply(&old, &patch).unwrap(), new);
}

/// A pair of zips whose one member is made by miniz: rebuilt by tokens, version 2.
fn miniz_pair() -> (Vec<u8>, Vec<u8>) {
    let make = |edit| zip(&[entry("b.txt", text(2, 20_000, edit), Method::Miniz(6))]);
    (make(0), make(5))
}

#[test]
fn a_tampered_token_recipe_is_a_typed_error_with_no_output() {
    let (old, new) = miniz_pair();
    let patch = chunkdelta::diff(&old, &new, &DiffOptions::new()).unwrap();
    assert_eq!(container(&patch).unwrap().members_rebuilt_by_tokens, 1);
    // The recipe ends with the token member's entry: method 2, then its CRC-32.
    let wrong_crc = with_recipe(&patch, |recipe| {
        let at = recipe.len() - 5;
        assert_eq!(recipe[at], 2);
        recipe[at + 1] ^= 1;
    });
    assert_eq!(apply(&old, &wrong_crc).unwrap_err().kind(), ErrorKind::RebuildMismatch);
    let dir = tempfile::tempdir().unwrap();
    let old_path = dir.path().join("old.zip");
    std::fs::write(&old_path, &old).unwrap();
    let out = dir.path().join("out.zip");
    let err = chunkdelta::apply_file(&old_path, &wrong_crc[..], &out, &ApplyOptions::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RebuildMismatch);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing beside old.zip: {err}");

    let unknown_method = with_recipe(&patch, |recipe| {
        let at = recipe.len() - 5;
        recipe[at] = 3;
    });
    assert_eq!(apply(&old, &unknown_method).unwrap_err().kind(), ErrorKind::CorruptPatch);
    for at in (0..patch.len()).step_by(53) {
        let mut flipped = patch.clone();
        flipped[at] ^= 0x10;
        if let Ok(out) = apply(&old, &flipped) {
            assert_eq!(out, new, "a flip at {at} that still applies must give the new file");
        }
    }
}

/// The container patch `patch` with its recipe replaced by `edit(recipe)`, the recipe's hash
/// and lengths fixed up so that only the edited content is wrong.
fn with_recipe(patch: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let u32_at = |at: usize| u32::from_le_bytes(patch[at..at + 4].try_into().unwrap()) as usize;
    let (raw_len, packed_len, block_len) = (u32_at(120), u32_at(124), u32_at(128));
    let recipe_at = 136 + block_len;
    let mut recipe = zstd::bulk::decompress(&patch[recipe_at..recipe_at + packed_len], raw_len).unwrap();
    edit(&mut recipe);
    let packed = zstd::bulk::compress(&recipe, 3).unwrap();
    let mut header = patch[..recipe_at].to_vec();
    header[88..120].copy_from_slice(blake3::hash(&recipe).as_bytes());
    header[120..124].copy_from_slice(&(recipe.len() as u32).to_le_bytes());
    header[124..128].copy_from_slice(&(packed.len() as u32).to_le_bytes());
    [header, packed, patch[recipe_at + packed_len..].to_vec()].concat()
}

#[test]
fn a_tampered_rebuild_parameter_is_a_rebuild_mismatch_with_no_output() {
    let (old, new) = zip_pair(6);
    let patch = chunkdelta::diff(&old, &new, &DiffOptions::new()).unwrap();
    let rebuilt = container(&patch).unwrap().members_rebuilt as usize;
    // The parameters of the first rebuilt member: level, window bits, memLevel, strategy.
    let tampered = with_recipe(&patch, |recipe| {
        let at = recipe.len() - 8 * rebuilt;
        assert_eq!(recipe[at..at + 4], [6, 15, 8, 0]);
        recipe[at] = 1;
    });
    assert_eq!(apply(&old, &tampered).unwrap_err().kind(), ErrorKind::RebuildMismatch);

    let dir = tempfile::tempdir().unwrap();
    let old_path = dir.path().join("old.zip");
    std::fs::write(&old_path, &old).unwrap();
    let out = dir.path().join("out.zip");
    let err = chunkdelta::apply_file(&old_path, &tampered[..], &out, &ApplyOptions::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RebuildMismatch);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing beside old.zip: {err}");

    let invalid = with_recipe(&patch, |recipe| {
        let at = recipe.len() - 8 * rebuilt;
        recipe[at] = 10;
    });
    assert_eq!(apply(&old, &invalid).unwrap_err().kind(), ErrorKind::CorruptPatch);
}

#[test]
fn every_truncation_and_sampled_flipped_byte_is_a_typed_error() {
    let (old, new) = zip_pair(6);
    let patch = chunkdelta::diff(&old, &new, &DiffOptions::new()).unwrap();
    for cut in (0..patch.len()).step_by(97).chain([patch.len() - 1]) {
        let err = apply(&old, &patch[..cut]).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::CorruptPatch | ErrorKind::UnsupportedVersion),
            "cut at {cut}: {err}"
        );
    }
    for at in (0..patch.len()).step_by(61) {
        let mut flipped = patch.clone();
        flipped[at] ^= 0x20;
        if let Ok(out) = apply(&old, &flipped) {
            assert_eq!(out, new, "a flip at {at} that still applies must give the new file");
        }
    }
    assert_eq!(apply(&new, &patch).unwrap_err().kind(), ErrorKind::SourceMismatch);
}

#[test]
fn signed_container_patches_apply_under_a_trust_policy() {
    let (old, new) = zip_pair(9);
    let key = SecretKey::generate().unwrap();
    let patch =
        chunkdelta::diff(&old, &new, &DiffOptions::new().sign(key.clone(), SignOptions::new())).unwrap();
    let info = chunkdelta::read_info(&patch[..]).unwrap();
    assert!(info.container.is_some());
    assert_eq!(info.signatures.len(), 1);
    let trusting = ApplyOptions::new().trust(TrustPolicy::new().trust(key.public_key()));
    assert_eq!(chunkdelta::apply(&old, &patch[..], &trusting).unwrap(), new);
    let unsigned = chunkdelta::diff(&old, &new, &DiffOptions::new()).unwrap();
    let err = chunkdelta::apply(&old, &unsigned[..], &trusting).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Untrusted);
    let other = SecretKey::generate().unwrap();
    let resigned = chunkdelta::sign(&patch, &other, &SignOptions::new()).unwrap();
    assert_eq!(chunkdelta::read_info(&resigned[..]).unwrap().signatures.len(), 2);
    assert_eq!(chunkdelta::apply(&old, &resigned[..], &trusting).unwrap(), new);
}

/// Hostile or malformed containers are diffed as plain files, without a panic.
#[test]
fn malformed_zips_fall_back_to_plain_patches() {
    let (old, new) = zip_pair(6);
    let eocd = new.len() - 22;
    let central = u32::from_le_bytes(new[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut edit = |what, at: usize, bytes: &[u8]| {
        let mut bad = new.clone();
        bad[at..at + bytes.len()].copy_from_slice(bytes);
        cases.push((what, bad));
    };
    edit("directory offset past the end", eocd + 16, &u32::MAX.to_le_bytes());
    edit("huge entry count", eocd + 8, &[0xff, 0xfe, 0xff, 0xfe]);
    edit("local header offset past the end", central + 42, &0x7fff_fff0u32.to_le_bytes());
    edit("huge compressed size", central + 20, &0x7fff_fff0u32.to_le_bytes());
    edit("a bomb: huge inflated size", central + 24, &0xffff_fff0u32.to_le_bytes());
    // The second entry points at the first member: overlapping entries.
    let second = central + 46 + "pkg/__init__.py".len();
    edit("overlapping entries", second + 42, &0u32.to_le_bytes());
    edit("zip64 sizes without an extra field", central + 20, &u32::MAX.to_le_bytes());
    cases.push(("truncated", new[..new.len() - 30].to_vec()));
    for (what, bad) in cases {
        let patch = chunkdelta::diff(&old, &bad, &DiffOptions::new()).unwrap();
        assert_eq!(apply(&old, &patch).unwrap(), bad, "{what}");
        let back = chunkdelta::diff(&bad, &new, &DiffOptions::new()).unwrap();
        assert_eq!(apply(&bad, &back).unwrap(), new, "{what}, as the old file");
    }
}

/// Where the rebuilt members are a minor part of the change, diff compares the container
/// patch with the file patch and keeps the smaller: never worse than containers off.
#[test]
fn a_minor_rebuild_is_never_worse_than_a_file_patch() {
    let make = |edit| {
        zip(&[
            entry("small.txt", text(1, 300, edit), Method::Zlib(6)),
            entry("big.bin", text(2, 40_000, edit), Method::Miniz(3)),
        ])
    };
    let (old, new) = (make(0), make(5));
    let patch = chunkdelta::diff(&old, &new, &DiffOptions::new()).unwrap();
    let plain = chunkdelta::diff(&old, &new, &DiffOptions::new().containers(false)).unwrap();
    assert!(patch.len() <= plain.len(), "{} > {}", patch.len(), plain.len());
    assert_eq!(apply(&old, &patch).unwrap(), new);
}

/// A zip inside a tree gets a container patch (a solid patch of its own, smaller than without
/// containers): the tree applies to a new directory and in place, byte for byte.
#[test]
fn a_zip_in_a_tree_is_patched_as_a_container() {
    let dir = tempfile::tempdir().unwrap();
    let (old_dir, new_dir, out_dir) =
        (dir.path().join("old"), dir.path().join("new"), dir.path().join("out"));
    let (old_zip, new_zip) = zip_pair(6);
    for (root, zip, note) in [(&old_dir, &old_zip, "1.0"), (&new_dir, &new_zip, "1.1")] {
        std::fs::create_dir_all(root.join("dist")).unwrap();
        std::fs::write(root.join("dist/pkg.whl"), zip).unwrap();
        std::fs::write(root.join("NOTES"), note).unwrap();
    }
    let patch = dir.path().join("tree.patch");
    let info = chunkdelta::diff_tree(&old_dir, &new_dir, &patch, &DiffOptions::new()).unwrap();
    assert_eq!(info.solid.len(), 2, "the zip has a solid patch of its own");
    let plain = dir.path().join("plain.patch");
    let plain =
        chunkdelta::diff_tree(&old_dir, &new_dir, &plain, &DiffOptions::new().containers(false)).unwrap();
    assert!(info.patch_size < plain.patch_size, "{} >= {}", info.patch_size, plain.patch_size);
    chunkdelta::apply_tree(&old_dir, &patch, &out_dir, &ApplyOptions::new()).unwrap();
    assert_eq!(std::fs::read(out_dir.join("dist/pkg.whl")).unwrap(), new_zip);
    chunkdelta::verify_tree(&old_dir, &patch, &ApplyOptions::new()).unwrap();
    chunkdelta::apply_tree_in_place(&old_dir, &patch, &ApplyOptions::new()).unwrap();
    assert_eq!(std::fs::read(old_dir.join("dist/pkg.whl")).unwrap(), new_zip);
    assert_eq!(std::fs::read(old_dir.join("NOTES")).unwrap(), b"1.1");
}

/// A tree whose only changed file is a zip: its solid patch is a container patch, applied and
/// verified as one.
#[test]
fn a_tree_whose_only_change_is_a_zip_applies() {
    let dir = tempfile::tempdir().unwrap();
    let (old_dir, new_dir, out_dir) =
        (dir.path().join("old"), dir.path().join("new"), dir.path().join("out"));
    let (old_zip, new_zip) = zip_pair(6);
    for (root, zip) in [(&old_dir, &old_zip), (&new_dir, &new_zip)] {
        std::fs::create_dir_all(root).unwrap();
        std::fs::write(root.join("pkg.whl"), zip).unwrap();
        std::fs::write(root.join("README"), b"same").unwrap();
    }
    let patch = dir.path().join("tree.patch");
    let info = chunkdelta::diff_tree(&old_dir, &new_dir, &patch, &DiffOptions::new()).unwrap();
    assert_eq!(info.solid.len(), 1);
    chunkdelta::verify_tree(&old_dir, &patch, &ApplyOptions::new()).unwrap();
    chunkdelta::apply_tree(&old_dir, &patch, &out_dir, &ApplyOptions::new()).unwrap();
    assert_eq!(std::fs::read(out_dir.join("pkg.whl")).unwrap(), new_zip);
}
