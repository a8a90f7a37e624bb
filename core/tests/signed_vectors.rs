//! Golden signed patches in `tests/vectors/signed/`, described by `signed.json` and shared with
//! the C and Python tests: each case names a patch, one trusted public key, an optional product
//! and minimum release, and the expected result (`OK` or the error name `UNTRUSTED`).
//!
//! The patches are `v3-small-edit.patch` signed with the test keys in that folder (throwaway
//! keys, committed so that everyone can reproduce the vectors; never trust them). Ed25519 is
//! deterministic, so signing again gives the same bytes: after a deliberate change to the
//! signature block, regenerate with `CHUNKDELTA_REGENERATE_VECTORS=1 cargo test -p chunkdelta
//! --test signed_vectors`, which also makes the keys if they are missing.

use std::path::{Path, PathBuf};

use chunkdelta::{ApplyOptions, PublicKey, SecretKey, SignOptions, TrustPolicy, apply, read_info, sign};
use serde_json::{Value, json};

/// 2026-11-30 and 2100-01-01, in Unix seconds.
const CREATED: u64 = 1_796_000_000;
const FAR_FUTURE: u64 = 4_102_444_800;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn signed_dir() -> PathBuf {
    dir().join("signed")
}

fn secret(name: &str) -> SecretKey {
    SecretKey::read(signed_dir().join(format!("{name}.key")), None).unwrap()
}

/// The patches: name, then (key, options) for each signature in order.
fn patches() -> Vec<(&'static str, Vec<(&'static str, SignOptions)>)> {
    let release = |n| SignOptions::new().created(CREATED).expires(FAR_FUTURE).product("demo").release(n);
    vec![
        ("signed.patch", vec![("publisher", release(7))]),
        ("rotation.patch", vec![("publisher", release(7)), ("rotated", release(7))]),
        ("bare.patch", vec![("publisher", SignOptions::new().created(CREATED))]),
        (
            "expired.patch",
            vec![("publisher", SignOptions::new().created(1_000_000_000).expires(1_500_000_000))],
        ),
    ]
}

fn signed_patch(signers: &[(&str, SignOptions)]) -> Vec<u8> {
    let unsigned = std::fs::read(dir().join("v3-small-edit.patch")).unwrap();
    signers.iter().fold(unsigned, |patch, (key, options)| sign(&patch, &secret(key), options).unwrap())
}

fn case(patch: &str, trusted: &str, product: &str, min_release: i64, expect: &str) -> Value {
    json!({"patch": patch, "trusted": trusted, "product": product, "min_release": min_release, "expect": expect})
}

fn cases() -> Vec<Value> {
    vec![
        case("signed.patch", "publisher.pub", "demo", 7, "OK"),
        case("signed.patch", "publisher.pub", "", -1, "OK"),
        case("signed.patch", "publisher.pub", "demo", 8, "UNTRUSTED"),
        case("signed.patch", "publisher.pub", "other", -1, "UNTRUSTED"),
        case("signed.patch", "stranger.pub", "", -1, "UNTRUSTED"),
        case("rotation.patch", "rotated.pub", "demo", 7, "OK"),
        case("rotation.patch", "publisher.pub", "demo", 7, "OK"),
        case("bare.patch", "publisher.pub", "", -1, "OK"),
        case("bare.patch", "publisher.pub", "demo", -1, "UNTRUSTED"),
        case("expired.patch", "publisher.pub", "", -1, "UNTRUSTED"),
        case("../v3-small-edit.patch", "publisher.pub", "", -1, "UNTRUSTED"),
    ]
}

fn regenerate() {
    for name in ["publisher", "rotated", "stranger"] {
        if !signed_dir().join(format!("{name}.key")).exists() {
            chunkdelta::write_key_pair(signed_dir().join(name), false).unwrap();
        }
    }
    for (name, signers) in patches() {
        std::fs::write(signed_dir().join(name), signed_patch(&signers)).unwrap();
    }
    let description = json!({
        "old": "../small-edit.old",
        "new": "../small-edit.new",
        "note": "Test keys only: the secret keys are public. Paths are relative to this folder. \
                 min_release -1 and product \"\" mean none.",
        "cases": cases(),
    });
    let text = serde_json::to_string_pretty(&description).unwrap() + "\n";
    std::fs::write(signed_dir().join("signed.json"), text).unwrap();
}

fn description() -> Value {
    static REGENERATE: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("CHUNKDELTA_REGENERATE_VECTORS").is_some() {
        REGENERATE.call_once(regenerate);
    }
    serde_json::from_slice(&std::fs::read(signed_dir().join("signed.json")).unwrap()).unwrap()
}

fn read(relative: &Value) -> Vec<u8> {
    std::fs::read(signed_dir().join(relative.as_str().unwrap())).unwrap()
}

#[test]
fn every_case_is_accepted_or_refused_as_described() {
    let description = description();
    let (old, new) = (read(&description["old"]), read(&description["new"]));
    let listed = description["cases"].as_array().unwrap();
    assert_eq!(listed, &cases(), "signed.json lists the cases of this test");
    for case in listed {
        let key = PublicKey::read(signed_dir().join(case["trusted"].as_str().unwrap())).unwrap();
        let mut policy = TrustPolicy::new().trust(key);
        if let Some(product) = case["product"].as_str().filter(|p| !p.is_empty()) {
            policy = policy.product(product);
        }
        if let Some(min) = case["min_release"].as_i64().filter(|&m| m >= 0) {
            policy = policy.min_release(min as u64);
        }
        let result = apply(&old, &read(&case["patch"])[..], &ApplyOptions::new().trust(policy));
        match case["expect"].as_str().unwrap() {
            "OK" => assert_eq!(result.unwrap(), new, "{case}"),
            name => assert_eq!(result.unwrap_err().kind().name(), name, "{case}"),
        }
    }
}

#[test]
fn signing_again_reproduces_the_signed_vectors() {
    description();
    for (name, signers) in patches() {
        let committed = std::fs::read(signed_dir().join(name)).unwrap();
        assert_eq!(signed_patch(&signers), committed, "{name}");
        let info = read_info(&committed[..]).unwrap();
        assert_eq!(info.signatures.len(), signers.len(), "{name}");
    }
}
