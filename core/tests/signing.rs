//! Signed patches: every trust rule refuses what it must, with the rule named and nothing at
//! the destination, and accepts what it must.

mod common;

use std::fs;
use std::path::Path;

use chunkdelta::{
    ApplyOptions, DiffOptions, ErrorKind, PublicKey, SecretKey, SignOptions, TrustPolicy, apply, apply_file,
    diff, read_info, sign, sign_file, verify, write_key_pair,
};
use common::{Rng, edited, old_file};

const NOW: u64 = 1_800_000_000;

struct Pair {
    old: Vec<u8>,
    new: Vec<u8>,
    unsigned: Vec<u8>,
}

/// A two-chunk pair and its unsigned patch.
fn pair() -> Pair {
    let old = old_file(71, 12_000);
    let new = edited(&old, 72, 6);
    let unsigned = diff(&old, &new, &DiffOptions::new().chunk_size(8192)).unwrap();
    Pair { old, new, unsigned }
}

fn key() -> SecretKey {
    SecretKey::generate().unwrap()
}

fn release_options() -> SignOptions {
    SignOptions::new().created(NOW - 100).expires(NOW + 100).product("demo").release(7)
}

fn trusting(keys: &[&SecretKey]) -> ApplyOptions {
    let policy = keys.iter().fold(TrustPolicy::new().at_time(NOW), |p, k| p.trust(k.public_key()));
    ApplyOptions::new().trust(policy)
}

fn refusal(old: &[u8], patch: &[u8], options: &ApplyOptions) -> String {
    let err = apply(old, patch, options).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Untrusted, "{err}");
    err.to_string()
}

#[test]
fn a_signed_patch_applies_under_its_key_and_lists_its_signature() {
    let p = pair();
    let publisher = key();
    let patch = sign(&p.unsigned, &publisher, &release_options()).unwrap();
    assert_eq!(apply(&p.old, &patch[..], &trusting(&[&publisher])).unwrap(), p.new);

    let info = read_info(&patch[..]).unwrap();
    let [signature] = &info.signatures[..] else { panic!("one signature: {:?}", info.signatures) };
    assert_eq!(signature.key_id, publisher.id());
    assert_eq!((signature.created, signature.expires), (NOW - 100, Some(NOW + 100)));
    assert_eq!((signature.product.as_deref(), signature.release), (Some("demo"), Some(7)));
    // Signing adds the block and changes the table hash, but not what signatures cover.
    let unsigned = read_info(&p.unsigned[..]).unwrap();
    assert_eq!(info.signing_digest, unsigned.signing_digest);
    assert_ne!(info.table_hash, unsigned.table_hash);
    assert_eq!(patch.len(), p.unsigned.len() + 2 + 36 + 4 + 64);
}

#[test]
fn without_trust_a_signed_patch_applies_as_any_other() {
    let p = pair();
    let patch = sign(&p.unsigned, &key(), &release_options()).unwrap();
    assert_eq!(apply(&p.old, &patch[..], &ApplyOptions::new()).unwrap(), p.new);
}

#[test]
fn diff_signs_while_diffing() {
    let p = pair();
    let publisher = key();
    let options = DiffOptions::new().chunk_size(8192).sign(publisher.clone(), release_options());
    let patch = diff(&p.old, &p.new, &options).unwrap();
    assert_eq!(patch, sign(&p.unsigned, &publisher, &release_options()).unwrap());
}

#[test]
fn each_rule_refuses_and_names_itself() {
    let p = pair();
    let publisher = key();
    let signed = sign(&p.unsigned, &publisher, &release_options()).unwrap();
    let trusted = || TrustPolicy::new().at_time(NOW).trust(publisher.public_key());
    let with = |policy: TrustPolicy| ApplyOptions::new().trust(policy);

    assert!(refusal(&p.old, &p.unsigned, &trusting(&[&publisher])).contains("not signed"));
    assert!(refusal(&p.old, &signed, &trusting(&[&key()])).contains("not trusted"));
    assert!(refusal(&p.old, &signed, &with(trusted().at_time(NOW + 100))).contains("expired"));
    assert!(refusal(&p.old, &signed, &with(trusted().product("other"))).contains("not \"other\""));
    assert!(refusal(&p.old, &signed, &with(trusted().min_release(8))).contains("below the minimum 8"));
    assert!(refusal(&p.old, &signed, &with(TrustPolicy::new())).contains("not trusted"));
    assert_eq!(apply(&p.old, &signed[..], &with(trusted().product("demo").min_release(7))).unwrap(), p.new);

    let bare = sign(&p.unsigned, &publisher, &SignOptions::new()).unwrap();
    assert!(refusal(&p.old, &bare, &with(trusted().min_release(1))).contains("names no release"));
    assert!(refusal(&p.old, &bare, &with(trusted().product("demo"))).contains("no product"));
    assert_eq!(apply(&p.old, &bare[..], &with(trusted())).unwrap(), p.new);
}

#[test]
fn one_trusted_signature_of_two_is_enough_and_resigning_replaces() {
    let p = pair();
    let (old_key, new_key) = (key(), key());
    let once = sign(&p.unsigned, &old_key, &release_options()).unwrap();
    let twice = sign(&once, &new_key, &release_options()).unwrap();
    assert_eq!(read_info(&twice[..]).unwrap().signatures.len(), 2);
    for trusted in [&old_key, &new_key] {
        assert_eq!(apply(&p.old, &twice[..], &trusting(&[trusted])).unwrap(), p.new);
    }
    let renewed = sign(&twice, &old_key, &release_options().release(8)).unwrap();
    let releases: Vec<_> = read_info(&renewed[..]).unwrap().signatures.iter().map(|s| s.release).collect();
    assert_eq!(releases, [Some(7), Some(8)]);
}

#[test]
fn an_edited_table_resigned_by_an_attacker_is_refused() {
    let p = pair();
    let publisher = key();
    let signed = sign(&p.unsigned, &publisher, &release_options()).unwrap();
    // The attacker rewrites the new file's hash, fixes the table hash, and adds a signature by
    // a key of their own: the publisher's no longer verifies and the attacker's is not trusted.
    let mut edited = signed.clone();
    edited[56] ^= 1;
    let edited = rehash(&edited);
    let forged = sign(&edited, &key(), &release_options()).unwrap();
    let reason = refusal(&p.old, &forged, &trusting(&[&publisher]));
    assert!(reason.contains("does not verify") && reason.contains("not trusted"), "{reason}");

    // Claiming the publisher's key id does not help: the signature is checked, not the id.
    let mut claimed = sign(&edited, &key(), &release_options()).unwrap();
    let record = claimed.len() - payload_len(&p.unsigned) - (36 + 4 + 64);
    claimed[record + 2..record + 10].copy_from_slice(&publisher.id().0);
    let reason = refusal(&p.old, &claimed, &trusting(&[&publisher]));
    assert!(!reason.contains("not trusted"), "{reason}");
}

#[test]
fn every_flipped_head_byte_and_sampled_payload_byte_is_refused_with_nothing_written() {
    let p = pair();
    let publisher = key();
    let signed = sign(&p.unsigned, &publisher, &release_options()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (old_path, out) = (dir.path().join("old"), dir.path().join("new"));
    fs::write(&old_path, &p.old).unwrap();
    let head_len = signed.len() - payload_len(&p.unsigned);
    let payload_sample = (head_len..signed.len()).step_by(97);
    for at in (0..head_len).chain(payload_sample) {
        let mut bad = signed.clone();
        bad[at] ^= 0x10;
        let err = apply_file(&old_path, &bad[..], &out, &trusting(&[&publisher])).unwrap_err();
        use ErrorKind::{CorruptPatch, LimitExceeded, UnsupportedVersion, Untrusted};
        let expected = [Untrusted, CorruptPatch, UnsupportedVersion, LimitExceeded];
        assert!(expected.contains(&err.kind()), "byte {at}: {err}");
        if at < head_len - 2 - 36 - 4 - 64 {
            assert_ne!(err.kind(), ErrorKind::Untrusted, "byte {at} is covered by the table hash: {err}");
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "byte {at} left output behind");
    }
}

#[test]
fn sign_file_adds_a_signature_in_place() {
    let p = pair();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.patch");
    fs::write(&path, &p.unsigned).unwrap();
    let (a, b) = (key(), key());
    sign_file(&path, &a, &release_options()).unwrap();
    let signatures = sign_file(&path, &b, &release_options()).unwrap();
    assert_eq!(signatures.len(), 2);
    let patch = fs::read(&path).unwrap();
    assert_eq!(
        patch,
        sign(&sign(&p.unsigned, &a, &release_options()).unwrap(), &b, &release_options()).unwrap()
    );
    assert_eq!(verify(&p.old, &patch[..], &trusting(&[&b])).unwrap().head.new_size(), p.new.len() as u64);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left");

    fs::write(&path, &p.unsigned[..p.unsigned.len() - 1]).unwrap();
    assert_eq!(sign_file(&path, &a, &release_options()).unwrap_err().kind(), ErrorKind::CorruptPatch);
    assert_eq!(
        fs::read(&path).unwrap(),
        &p.unsigned[..p.unsigned.len() - 1],
        "a failed sign changes nothing"
    );
}

#[test]
fn key_files_are_minisign_files_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("release");
    let public = write_key_pair(&base, false).unwrap();
    let secret = SecretKey::read(dir.path().join("release.key"), None).unwrap();
    assert_eq!(secret.public_key(), public);
    assert_eq!(PublicKey::read(dir.path().join("release.pub")).unwrap(), public);
    let text = fs::read_to_string(dir.path().join("release.pub")).unwrap();
    assert!(text.starts_with("untrusted comment: minisign public key"), "{text}");
    assert!(text.contains(&public.id().to_string()));
    assert_eq!(mode(&dir.path().join("release.key")), 0o600);

    let err = write_key_pair(&base, false).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(SecretKey::read(dir.path().join("release.key"), None).unwrap().id(), public.id());
    let replaced = write_key_pair(&base, true).unwrap();
    assert_ne!(replaced.id(), public.id());
    assert_eq!(mode(&dir.path().join("release.key")), 0o600);
}

#[test]
fn bad_sign_options_are_invalid_arguments() {
    let p = pair();
    let too_long = "x".repeat(256);
    for options in [
        SignOptions::new().product(""),
        SignOptions::new().product(too_long),
        SignOptions::new().created(10).expires(10),
    ] {
        assert_eq!(sign(&p.unsigned, &key(), &options).unwrap_err().kind(), ErrorKind::InvalidArgument);
    }
}

#[test]
fn random_signature_blocks_never_panic() {
    let p = pair();
    let signed =
        sign(&sign(&p.unsigned, &key(), &release_options()).unwrap(), &key(), &SignOptions::new()).unwrap();
    let info = read_info(&signed[..]).unwrap();
    let block_at = signed.len() - payload_len(&p.unsigned) - block_len(&info);
    let mut rng = Rng::new(73);
    for _ in 0..2000 {
        let mut bad = signed.clone();
        for _ in 0..1 + rng.below(4) {
            let at = block_at + rng.below(block_len(&info));
            bad[at] = rng.next() as u8;
        }
        if let Ok(info) = read_info(&bad[..]) {
            assert_eq!(info.signatures.len(), 2);
        }
    }
}

fn block_len(info: &chunkdelta::PatchInfo) -> usize {
    info.signatures.iter().map(|s| 36 + s.product.as_ref().map_or(0, String::len) + 64).sum::<usize>() + 2
}

fn payload_len(unsigned: &[u8]) -> usize {
    let info = read_info(unsigned).unwrap();
    info.chunks.iter().flat_map(|c| &c.streams).map(|s| s.packed_len as usize).sum()
}

/// `patch` with its table hash recomputed over its (edited) header and table.
fn rehash(patch: &[u8]) -> Vec<u8> {
    let count = u32::from_le_bytes(patch[88..92].try_into().unwrap()) as usize;
    let table_end = 96 + 96 * count;
    let mut out = patch.to_vec();
    out[table_end..table_end + 32].copy_from_slice(blake3::hash(&patch[..table_end]).as_bytes());
    out
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}
