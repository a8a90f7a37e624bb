"""Every exception class, reached on purpose, and nothing left behind by a failed write."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

import chunkdelta
from conftest import Pair

VERSION_AT = 4  # u16, little-endian
CHUNK_COUNT_AT = 88  # u32, little-endian


def test_hierarchy() -> None:
    assert issubclass(chunkdelta.Error, Exception)
    assert issubclass(chunkdelta.CorruptPatchError, chunkdelta.Error)
    assert issubclass(chunkdelta.CorruptPatchError, ValueError)
    assert issubclass(chunkdelta.UnsupportedVersionError, chunkdelta.CorruptPatchError)
    for name in ("SourceMismatchError", "LimitExceededError", "CancelledError"):
        cls = getattr(chunkdelta, name)
        assert issubclass(cls, chunkdelta.Error) and not issubclass(cls, ValueError)
        assert cls.__module__ == "chunkdelta"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p[: len(p) // 2], id="truncated"),
        pytest.param(lambda p: p + b"\0", id="trailing-byte"),
        pytest.param(lambda p: b"XXXX" + p[4:], id="bad-magic"),
        pytest.param(lambda p: p[:-10] + bytes([p[-10] ^ 0xFF]) + p[-9:], id="flipped-payload"),
        pytest.param(lambda p: b"", id="empty"),
    ],
)
def test_corrupt_patch(damage, small_pair_data: tuple[bytes, bytes, bytes]) -> None:  # type: ignore[no-untyped-def]
    old, _, patch = small_pair_data
    with pytest.raises(chunkdelta.CorruptPatchError) as caught:
        chunkdelta.apply(old, damage(patch))
    assert "corrupt patch" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_unsupported_version(small_pair_data: tuple[bytes, bytes, bytes]) -> None:
    old, _, patch = small_pair_data
    # Version 4 (executable patches) is the newest this library reads.
    newer = patch[:VERSION_AT] + struct.pack("<H", 5) + patch[VERSION_AT + 2 :]
    with pytest.raises(chunkdelta.UnsupportedVersionError, match="version 5"):
        chunkdelta.apply(old, newer)
    with pytest.raises(chunkdelta.UnsupportedVersionError):
        chunkdelta.info(newer)


def test_limit_exceeded(small_pair_data: tuple[bytes, bytes, bytes]) -> None:
    old, _, patch = small_pair_data
    too_many = patch[:CHUNK_COUNT_AT] + struct.pack("<I", (1 << 22) + 1) + patch[CHUNK_COUNT_AT + 4 :]
    with pytest.raises(chunkdelta.LimitExceededError):
        chunkdelta.apply(old, too_many)


def test_source_mismatch(small_pair_data: tuple[bytes, bytes, bytes]) -> None:
    old, new, patch = small_pair_data
    with pytest.raises(chunkdelta.SourceMismatchError, match="different old file"):
        chunkdelta.apply(new, patch)
    same_size = bytes([old[0] ^ 1]) + old[1:]
    with pytest.raises(chunkdelta.SourceMismatchError, match="blake3"):
        chunkdelta.apply(same_size, patch)


def test_source_mismatch_on_files_writes_nothing(pair: Pair) -> None:
    out = pair.folder / "out.bin"
    with pytest.raises(chunkdelta.SourceMismatchError):
        chunkdelta.apply_file(pair.new_path, pair.patch_path, out)
    with pytest.raises(chunkdelta.SourceMismatchError):
        chunkdelta.verify_file(pair.new_path, pair.patch_path)
    assert sorted(os.listdir(pair.folder)) == ["app.patch", "new.bin", "old.bin"]


def test_cancelled(pair: Pair) -> None:
    with pytest.raises(chunkdelta.CancelledError):
        chunkdelta.apply_file(pair.old_path, pair.patch_path, pair.folder / "out", progress=lambda d, t: False)
    with pytest.raises(chunkdelta.CancelledError):
        chunkdelta.diff_file(pair.old_path, pair.new_path, pair.folder / "p", progress=lambda d, t: False)
    assert sorted(os.listdir(pair.folder)) == ["app.patch", "new.bin", "old.bin"]


def test_missing_file_is_file_not_found_with_the_path(pair: Pair) -> None:
    missing = pair.folder / "missing.bin"
    cases = [
        lambda: chunkdelta.diff_file(missing, pair.new_path, pair.folder / "p"),
        lambda: chunkdelta.diff_file(pair.old_path, missing, pair.folder / "p"),
        lambda: chunkdelta.apply_file(missing, pair.patch_path, pair.folder / "out"),
        lambda: chunkdelta.apply_file(pair.old_path, missing, pair.folder / "out"),
        lambda: chunkdelta.verify_file(pair.old_path, missing),
        lambda: chunkdelta.info(missing),
        lambda: chunkdelta.info(str(missing)),
    ]
    for call in cases:
        with pytest.raises(FileNotFoundError) as caught:
            call()
        assert caught.value.errno == 2
        assert caught.value.filename == str(missing)
        assert str(missing) in str(caught.value)


def test_output_under_a_file_is_not_a_directory(pair: Pair) -> None:
    out = pair.old_path / "out.bin"
    with pytest.raises(NotADirectoryError) as caught:
        chunkdelta.apply_file(pair.old_path, pair.patch_path, out)
    assert str(pair.old_path) in str(caught.value)
    with pytest.raises(NotADirectoryError):
        chunkdelta.file_diff(pair.old_path, pair.new_path, out)


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process may not create files in: a read-only one, or /sys for root."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    return Path("/sys")


def test_unwritable_output_is_permission_error(pair: Pair) -> None:
    folder = unwritable_folder(pair.folder)
    try:
        open(folder / "probe", "wb").close()
    except PermissionError:
        pass
    else:
        pytest.skip(f"{folder} is writable here")
    with pytest.raises(PermissionError) as caught:
        chunkdelta.apply_file(pair.old_path, pair.patch_path, folder / "out.bin")
    assert str(folder) in str(caught.value)


def test_invalid_values_are_value_errors(small_pair_data: tuple[bytes, bytes, bytes], pair: Pair) -> None:
    old, new, patch = small_pair_data
    bad = [
        lambda: chunkdelta.diff(old, new, level=99),
        lambda: chunkdelta.diff(old, new, level=1 << 40),
        lambda: chunkdelta.diff(old, new, chunk_size=10),
        lambda: chunkdelta.diff(old, new, chunk_size=-1),
        lambda: chunkdelta.diff(old, new, threads=-1),
        lambda: chunkdelta.diff(old, new, codec="lz4"),
        lambda: chunkdelta.apply(old, patch, threads=-2),
        lambda: chunkdelta.diff_file(pair.old_path, pair.new_path, pair.old_path),
    ]
    for call in bad:
        with pytest.raises(ValueError) as caught:
            call()
        assert not isinstance(caught.value, chunkdelta.Error)


def test_wrong_types_are_type_errors(small_pair_data: tuple[bytes, bytes, bytes], pair: Pair) -> None:
    old, new, patch = small_pair_data
    bad = [
        lambda: chunkdelta.diff("text", new),
        lambda: chunkdelta.diff(old, None),
        lambda: chunkdelta.diff(old, [1, 2, 3]),
        lambda: chunkdelta.apply(old, 12),
        lambda: chunkdelta.diff(old, new, level="high"),
        lambda: chunkdelta.diff(old, new, threads=1.5),
        lambda: chunkdelta.diff_file(1, pair.new_path, pair.folder / "p"),
        lambda: chunkdelta.apply_file(pair.old_path, pair.patch_path, None),
        lambda: chunkdelta.diff_file(pair.old_path, pair.new_path, pair.folder / "p", progress=3),
        lambda: chunkdelta.info(None),
    ]
    for call in bad:
        with pytest.raises(TypeError):
            call()
