"""Round-trips in memory and on files: golden vectors, generated data, buffer types, paths."""

from __future__ import annotations

import array
import mmap
import os
import pathlib

import pytest

import chunkdelta
from conftest import Pair, edited, old_file, vector_bytes, vectors


@pytest.mark.parametrize("vector", vectors(), ids=lambda v: v["name"])
def test_golden_vector_applies_and_describes_itself(vector: dict) -> None:
    old, new, patch = (vector_bytes(vector, k) for k in ("old", "new", "patch"))
    assert chunkdelta.apply(old, patch) == new
    info = chunkdelta.info(patch)
    assert (info.format_version, info.codec) == (vector["format_version"], vector["header_codec"])
    assert (info.old_size, info.new_size) == (vector["old_size"], vector["new_size"])
    assert (info.old_hash, info.new_hash) == (vector["old_blake3"], vector["new_blake3"])
    assert (info.chunk_count, info.patch_size) == (vector["chunk_count"], len(patch))
    # exec_arch: "x86-64" or "aarch64" for a version-4 vector, null or absent (v1, v2) otherwise
    assert (info.exec.arch if info.exec is not None else None) == vector.get("exec_arch")
    if not vector["decode_only"]:
        assert (info.container, info.members_rebuilt) == (vector["container"], vector["members_rebuilt"])
        assert info.members_rebuilt_by_tokens == vector["members_rebuilt_by_tokens"]


@pytest.mark.parametrize("vector", [v for v in vectors() if not v["decode_only"]], ids=lambda v: v["name"])
def test_encoder_reproduces_golden_vector(vector: dict) -> None:
    old, new, patch = (vector_bytes(vector, k) for k in ("old", "new", "patch"))
    options = dict(level=vector["level"], chunk_size=vector["chunk_size"], codec=vector["codec"])
    made = chunkdelta.diff(old, new, threads=1, **options)
    assert made == patch


@pytest.mark.parametrize(
    ("size", "chunk_size", "threads"),
    [(0, None, None), (1, 1024, 1), (5000, 1024, 2), (300_000, 16384, 1), (300_000, 16384, 3)],
)
def test_generated_round_trip(size: int, chunk_size: int | None, threads: int | None) -> None:
    old = old_file(size + 1, size)
    new = edited(old, size + 2, 20) if size else b"fresh"
    patch = chunkdelta.diff(old, new, level=3, chunk_size=chunk_size, threads=threads)
    assert chunkdelta.apply(old, patch, threads=threads) == new
    info = chunkdelta.info(patch)
    assert (info.old_size, info.new_size, info.patch_size) == (len(old), len(new), len(patch))


def test_patches_do_not_depend_on_thread_count(small_pair_data: tuple[bytes, bytes, bytes]) -> None:
    old, new, patch = small_pair_data
    for threads in (1, 2, 4):
        assert chunkdelta.diff(old, new, level=3, chunk_size=4096, threads=threads) == patch


def test_default_options_round_trip() -> None:
    old = old_file(5, 100_000)
    new = edited(old, 6, 10)
    assert chunkdelta.apply(old, chunkdelta.diff(old, new)) == new


BUFFERS = {
    "bytes": bytes,
    "bytearray": bytearray,
    "memoryview": memoryview,
    "memoryview-slice": lambda b: memoryview(b"xx" + b + b"yy")[2:-2],
    "array": lambda b: array.array("B", b),
}


@pytest.mark.parametrize("kind", BUFFERS)
def test_buffer_types(kind: str, small_pair_data: tuple[bytes, bytes, bytes]) -> None:
    old, new, patch = small_pair_data
    make = BUFFERS[kind]
    assert chunkdelta.diff(make(old), make(new), level=3, chunk_size=4096) == patch
    result = chunkdelta.apply(make(old), make(patch))
    assert type(result) is bytes and result == new
    assert chunkdelta.info(make(patch)).new_size == len(new)


def test_mmap_buffers(pair: Pair) -> None:
    with open(pair.old_path, "rb") as old_file, open(pair.patch_path, "rb") as patch_file:
        with mmap.mmap(old_file.fileno(), 0, access=mmap.ACCESS_READ) as old, mmap.mmap(
            patch_file.fileno(), 0, access=mmap.ACCESS_READ
        ) as patch:
            assert chunkdelta.apply(old, patch) == pair.new
            assert chunkdelta.diff(old, pair.new, level=3, chunk_size=4096) == pair.patch
            assert chunkdelta.info(patch).patch_size == len(pair.patch)


def test_non_contiguous_memoryview_is_read_in_order() -> None:
    data = bytes(range(256)) * 40
    strided = memoryview(data)[::2]
    patch = chunkdelta.diff(b"", strided)
    assert chunkdelta.apply(b"", patch) == data[::2]


def test_bytes_subclass_is_accepted() -> None:
    class Blob(bytes):
        pass

    assert chunkdelta.apply(Blob(b""), chunkdelta.diff(Blob(b""), Blob(b"abc"))) == b"abc"


@pytest.mark.parametrize("kind", ["str", "pathlib", "pathlike"])
def test_file_functions_take_str_and_pathlike(kind: str, pair: Pair) -> None:
    class Custom:
        def __init__(self, path: pathlib.Path) -> None:
            self.path = path

        def __fspath__(self) -> str:
            return str(self.path)

    convert = {"str": str, "pathlib": pathlib.Path, "pathlike": Custom}[kind]
    patch_path, out_path = pair.folder / "made.patch", pair.folder / "out.bin"
    info = chunkdelta.diff_file(
        convert(pair.old_path), convert(pair.new_path), convert(patch_path), level=3, chunk_size=4096
    )
    assert patch_path.read_bytes() == pair.patch
    assert info == chunkdelta.info(convert(patch_path)) == chunkdelta.info(pair.patch)
    assert chunkdelta.apply_file(convert(pair.old_path), convert(patch_path), convert(out_path)) is None
    assert out_path.read_bytes() == pair.new
    assert chunkdelta.verify_file(convert(pair.old_path), convert(patch_path)) is None


def test_patch_info_attributes(pair: Pair) -> None:
    info = chunkdelta.diff_file(pair.old_path, pair.new_path, pair.folder / "p", level=3, chunk_size=4096)
    assert (info.format_version, info.codec) == (3, None)
    assert (info.old_size, info.new_size) == (len(pair.old), len(pair.new))
    assert info.chunk_count == -(-len(pair.new) // 4096)
    assert info.patch_size == len(pair.patch)
    assert len(info.old_hash) == len(info.new_hash) == 64
    assert int(info.old_hash, 16) >= 0 and info.old_hash == info.old_hash.lower()
    assert f"new_size={len(pair.new)}" in repr(info)
    with pytest.raises(AttributeError):
        info.new_size = 0  # type: ignore[misc]


def test_xz_codec_and_non_durable_apply_round_trip_through_files(pair: Pair) -> None:
    xz_patch = pair.folder / "app.xz.patch"
    info = chunkdelta.diff_file(pair.old_path, pair.new_path, xz_patch, level=6, codec="xz")
    assert (info.format_version, info.codec) == (3, None)
    assert chunkdelta.info(xz_patch) == info
    out = pair.folder / "out.bin"
    chunkdelta.apply_file(pair.old_path, xz_patch, out, durable=False)
    assert out.read_bytes() == pair.new
    assert sorted(os.listdir(pair.folder)) == ["app.patch", "app.xz.patch", "new.bin", "old.bin", "out.bin"]


def test_auto_codec_round_trips_no_larger_than_zstd_or_xz(pair: Pair) -> None:
    patches = {codec: chunkdelta.diff(pair.old, pair.new, level=6, codec=codec) for codec in ("zstd", "xz", "auto")}
    assert chunkdelta.apply(pair.old, patches["auto"]) == pair.new
    assert len(patches["auto"]) <= min(len(patches["zstd"]), len(patches["xz"]))
    assert chunkdelta.info(patches["auto"]).codec is None


def test_apply_file_replaces_old_in_place(pair: Pair) -> None:
    chunkdelta.apply_file(pair.old_path, pair.patch_path, pair.old_path)
    assert pair.old_path.read_bytes() == pair.new
    assert sorted(os.listdir(pair.folder)) == ["app.patch", "new.bin", "old.bin"]


def test_version() -> None:
    assert isinstance(chunkdelta.__version__, str)
    assert chunkdelta.__version__.count(".") == 2
