"""Signed patches: keygen, sign, key rotation, signing while diffing, signatures in PatchInfo,
each refusal raising UntrustedPatchError with nothing written, and the shared signed vectors."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import struct
from pathlib import Path

import pytest

import chunkdelta
from conftest import VECTORS

SIGNED = VECTORS / "signed"
FAR_FUTURE = 4_102_444_800  # 2100-01-01
OLD = (VECTORS / "small-edit.old").read_bytes()
NEW = (VECTORS / "small-edit.new").read_bytes()
UNSIGNED = (VECTORS / "v3-small-edit.patch").read_bytes()


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, tuple[Path, Path, str]]:
    """Three fresh key pairs: name -> (secret key, public key, key id)."""
    made = {}
    for name in ("alpha", "beta", "stranger"):
        key_id = chunkdelta.keygen(tmp_path / name)
        made[name] = (tmp_path / f"{name}.key", tmp_path / f"{name}.pub", key_id)
    return made


def demo(patch: bytes, key: Path, release: int = 5) -> bytes:
    return chunkdelta.sign(patch, key, product="demo", release=release, expires=FAR_FUTURE)


def test_keygen_writes_a_private_secret_key_and_refuses_to_overwrite(tmp_path: Path) -> None:
    key_id = chunkdelta.keygen(tmp_path / "release")
    assert len(key_id) == 16 and key_id == key_id.upper() and int(key_id, 16) >= 0
    assert stat.S_IMODE((tmp_path / "release.key").stat().st_mode) == 0o600
    assert key_id in (tmp_path / "release.pub").read_text()
    with pytest.raises(ValueError, match="exists"):
        chunkdelta.keygen(str(tmp_path / "release"))
    assert chunkdelta.keygen(tmp_path / "release", overwrite=True) != key_id


def test_sign_describes_the_signature(keys: dict[str, tuple[Path, Path, str]]) -> None:
    secret, public, key_id = keys["alpha"]
    signed = chunkdelta.sign(
        bytearray(UNSIGNED), secret, created=1_800_000_000, expires=FAR_FUTURE, product="demo", release=5
    )
    before, after = chunkdelta.info(UNSIGNED), chunkdelta.info(signed)
    assert before.signatures == [] and len(after.signatures) == 1
    assert after.signing_digest == before.signing_digest and len(after.signing_digest) == 64
    (signature,) = after.signatures
    assert (signature.key_id, signature.created, signature.expires) == (key_id, 1_800_000_000, FAR_FUTURE)
    assert (signature.product, signature.release) == ("demo", 5)
    assert "Signature(key_id=" in repr(after)
    bare = chunkdelta.info(chunkdelta.sign(UNSIGNED, secret)).signatures[0]
    assert (bare.expires, bare.product, bare.release) == (None, None, None)

    assert chunkdelta.apply(OLD, signed) == NEW  # no trust configured: not checked
    assert chunkdelta.apply(OLD, signed, trusted_keys=[public], product="demo", min_release=5) == NEW


def test_rotation_two_signatures_either_key_accepts(keys: dict[str, tuple[Path, Path, str]]) -> None:
    one = demo(UNSIGNED, keys["alpha"][0])
    two = demo(one, keys["beta"][0])
    assert [s.key_id for s in chunkdelta.info(two).signatures] == [keys["alpha"][2], keys["beta"][2]]
    again = demo(two, keys["alpha"][0], release=6)  # replaces alpha's signature
    assert [s.release for s in chunkdelta.info(again).signatures] == [5, 6]
    for name in ("alpha", "beta"):
        assert chunkdelta.apply(OLD, two, trusted_keys=[keys[name][1]]) == NEW
    key_set = [keys["stranger"][1], keys["beta"][1]]
    assert chunkdelta.apply(OLD, two, trusted_keys=key_set) == NEW
    with pytest.raises(chunkdelta.UntrustedPatchError, match="not trusted"):
        chunkdelta.apply(OLD, one, trusted_keys=key_set)


def refusals(keys: dict[str, tuple[Path, Path, str]]) -> list[tuple[str, bytes, dict, str]]:
    """(name, patch, trust keywords, rule in the message) for every rule broken once."""
    secret, public, _ = keys["alpha"]
    signed = demo(UNSIGNED, secret)
    expired = chunkdelta.sign(UNSIGNED, secret, created=1_000_000_000, expires=1_500_000_000)
    trusted = {"trusted_keys": [public]}
    return [
        ("unsigned", UNSIGNED, trusted, "the patch is not signed"),
        ("wrong key", signed, {"trusted_keys": [keys["stranger"][1]]}, "the key is not trusted"),
        ("expired", expired, trusted, "expired at 1500000000"),
        ("wrong product", signed, {**trusted, "product": "other"}, 'not "other"'),
        ("downgrade", signed, {**trusted, "min_release": 6}, "release 5 is below the minimum 6"),
        ("no key at all", signed, {"trusted_keys": []}, "the key is not trusted"),
    ]


def test_every_refusal_raises_untrusted_and_writes_nothing(
    tmp_path: Path, keys: dict[str, tuple[Path, Path, str]]
) -> None:
    old_path, out_path, patch_path = tmp_path / "old", tmp_path / "out", tmp_path / "app.patch"
    old_path.write_bytes(OLD)
    for name, patch, trust, rule in refusals(keys):
        patch_path.write_bytes(patch)
        entries = sorted(tmp_path.iterdir())
        with pytest.raises(chunkdelta.UntrustedPatchError, match=rule):
            chunkdelta.apply(OLD, patch, **trust)
        with pytest.raises(chunkdelta.UntrustedPatchError, match=rule):
            chunkdelta.apply_file(old_path, patch_path, out_path, **trust)
        assert not out_path.exists(), name
        assert sorted(tmp_path.iterdir()) == entries, f"{name}: no temporary file either"
        with pytest.raises(chunkdelta.UntrustedPatchError, match=rule):
            chunkdelta.verify_file(old_path, patch_path, **trust)
    assert issubclass(chunkdelta.UntrustedPatchError, chunkdelta.Error)
    assert not issubclass(chunkdelta.UntrustedPatchError, ValueError)


def test_sign_file_in_place_and_sign_while_diffing(
    tmp_path: Path, keys: dict[str, tuple[Path, Path, str]]
) -> None:
    (old_path := tmp_path / "old").write_bytes(OLD)
    (new_path := tmp_path / "new").write_bytes(NEW)
    (patch_path := tmp_path / "app.patch").write_bytes(UNSIGNED)
    signatures = chunkdelta.sign_file(str(patch_path), keys["beta"][0], product="demo", release=9)
    assert [s.key_id for s in signatures] == [keys["beta"][2]]
    assert chunkdelta.info(patch_path).signatures == signatures
    chunkdelta.verify_file(old_path, patch_path, trusted_keys=[keys["beta"][1]], min_release=9)

    made = chunkdelta.diff(OLD, NEW, level=3, sign_key=keys["alpha"][0], product="demo", release=9)
    assert [s.key_id for s in chunkdelta.info(made).signatures] == [keys["alpha"][2]]
    assert chunkdelta.apply(OLD, made, trusted_keys=[keys["alpha"][1]], product="demo") == NEW
    diffed = tmp_path / "diffed.patch"
    info = chunkdelta.diff_file(
        old_path, new_path, diffed, level=3, sign_key=keys["alpha"][0], expires=FAR_FUTURE
    )
    assert info.signatures[0].expires == FAR_FUTURE
    out = tmp_path / "out"
    chunkdelta.apply_file(old_path, diffed, out, trusted_keys=[keys["alpha"][1]])
    assert out.read_bytes() == NEW


def test_bad_keys_and_arguments(tmp_path: Path, keys: dict[str, tuple[Path, Path, str]]) -> None:
    secret, public, _ = keys["alpha"]
    with pytest.raises(FileNotFoundError) as caught:
        chunkdelta.sign(UNSIGNED, tmp_path / "missing.key")
    assert caught.value.filename == str(tmp_path / "missing.key")
    with pytest.raises(ValueError, match="not a minisign secret key"):
        chunkdelta.sign(UNSIGNED, public)
    with pytest.raises(ValueError, match="not a minisign public key"):
        chunkdelta.apply(OLD, UNSIGNED, trusted_keys=[secret])
    with pytest.raises(ValueError, match="need trusted_keys"):
        chunkdelta.apply(OLD, UNSIGNED, product="demo")
    with pytest.raises(ValueError, match="need sign_key"):
        chunkdelta.diff(OLD, NEW, release=3)
    with pytest.raises(ValueError, match="release must be 0 or more"):
        chunkdelta.sign(UNSIGNED, secret, release=-1)
    with pytest.raises(ValueError, match="not after the creation time"):
        chunkdelta.sign(UNSIGNED, secret, created=2_000_000_000, expires=1_000_000_000)
    with pytest.raises(TypeError):
        chunkdelta.sign("not bytes", secret)  # type: ignore[arg-type]


def encrypt_minisign_key(text: str, password: bytes) -> str:
    """An unencrypted minisign secret key file encrypted as minisign does: kdf "Sc", and the key
    id, seed, public key and checksum (the last 104 bytes) XORed with scrypt(password, salt).
    The limits (opslimit 32768, memlimit 16 MiB) map to scrypt N = 2^10, r = 8, p = 1."""
    comment, line = text.splitlines()[:2]
    blob = base64.b64decode(line)
    salt = bytes(range(32))
    stream = hashlib.scrypt(password, salt=salt, n=1 << 10, r=8, p=1, dklen=104)
    tail = bytes(a ^ b for a, b in zip(blob[-104:], stream))
    encrypted = blob[:2] + b"Sc" + blob[4:6] + salt + struct.pack("<QQ", 32768, 16 << 20) + tail
    return f"{comment}\n{base64.b64encode(encrypted).decode()}\n"


def test_encrypted_minisign_key_needs_its_password(
    tmp_path: Path, keys: dict[str, tuple[Path, Path, str]]
) -> None:
    secret, public, key_id = keys["alpha"]
    locked = tmp_path / "locked.key"
    locked.write_text(encrypt_minisign_key(secret.read_text(), "pässword".encode()))
    with pytest.raises(ValueError, match="password is needed"):
        chunkdelta.sign(UNSIGNED, locked)
    with pytest.raises(ValueError, match="wrong password"):
        chunkdelta.sign(UNSIGNED, locked, password="other")
    for password in ("pässword", "pässword".encode()):
        signed = chunkdelta.sign(UNSIGNED, locked, password=password)
        assert chunkdelta.info(signed).signatures[0].key_id == key_id
    made = chunkdelta.diff(OLD, NEW, level=3, sign_key=locked, key_password="pässword")
    assert chunkdelta.apply(OLD, made, trusted_keys=[public]) == NEW


def signed_cases() -> list[dict]:
    return json.loads((SIGNED / "signed.json").read_text())["cases"]


@pytest.mark.parametrize(
    "case", signed_cases(), ids=lambda c: f"{c['patch']}-{c['trusted']}-{c['product']}-{c['min_release']}"
)
def test_shared_signed_vectors(case: dict, tmp_path: Path) -> None:
    description = json.loads((SIGNED / "signed.json").read_text())
    old_path, new = SIGNED / description["old"], (SIGNED / description["new"]).read_bytes()
    patch_path = SIGNED / case["patch"]
    trust: dict = {"trusted_keys": [SIGNED / case["trusted"]]}
    if case["product"]:
        trust["product"] = case["product"]
    if case["min_release"] >= 0:
        trust["min_release"] = case["min_release"]
    out = tmp_path / "out"
    if case["expect"] == "OK":
        assert chunkdelta.apply(old_path.read_bytes(), patch_path.read_bytes(), **trust) == new
        chunkdelta.apply_file(old_path, patch_path, out, **trust)
        assert out.read_bytes() == new
    else:
        assert case["expect"] == "UNTRUSTED"
        with pytest.raises(chunkdelta.UntrustedPatchError):
            chunkdelta.apply(old_path.read_bytes(), patch_path.read_bytes(), **trust)
        with pytest.raises(chunkdelta.UntrustedPatchError):
            chunkdelta.apply_file(old_path, patch_path, out, **trust)
        assert not out.exists()


def test_signed_vectors_describe_their_signatures() -> None:
    rotation = chunkdelta.info(SIGNED / "rotation.patch")
    ids = [key_id_in(SIGNED / f"{name}.pub") for name in ("publisher", "rotated")]
    assert [s.key_id for s in rotation.signatures] == ids
    assert all((s.product, s.release, s.expires) == ("demo", 7, FAR_FUTURE) for s in rotation.signatures)
    assert chunkdelta.info(SIGNED / "signed.patch").signing_digest == rotation.signing_digest


def key_id_in(path: Path) -> str:
    """The key id a minisign .pub file names in its comment line."""
    return path.read_text().splitlines()[0].split()[-1]
