"""Container patches through Python: a tar.gz made by Python's gzip (zlib level 9) is diffed
inflated and rebuilt bit for bit; containers=False makes a plain file patch."""

from __future__ import annotations

import gzip
from pathlib import Path

import chunkdelta


def tar_like(edit: int) -> bytes:
    lines = (f"{i:06} value_{(i * 7919) % 5003} = {edit if i % 97 == 0 else 0}\n" for i in range(60_000))
    return "".join(lines).encode()


def test_a_gzip_pair_round_trips_through_a_container_patch(tmp_path: Path) -> None:
    old, new = gzip.compress(tar_like(0), mtime=0), gzip.compress(tar_like(3), mtime=0)
    patch = chunkdelta.diff(old, new)
    info = chunkdelta.info(patch)
    assert (info.container, info.members_expanded, info.members_rebuilt) == ("gzip", 1, 1)
    assert info.members_rebuilt_by_tokens == 1  # a gzip member of 1 MiB or more: tokens first
    assert len(patch) < len(new) // 10
    assert chunkdelta.apply(old, patch) == new

    (tmp_path / "old.tar.gz").write_bytes(old)
    (tmp_path / "new.tar.gz").write_bytes(new)
    written = chunkdelta.diff_file(tmp_path / "old.tar.gz", tmp_path / "new.tar.gz", tmp_path / "p")
    assert written.container == "gzip"
    chunkdelta.apply_file(tmp_path / "old.tar.gz", tmp_path / "p", tmp_path / "out.tar.gz")
    assert (tmp_path / "out.tar.gz").read_bytes() == new


def test_containers_false_makes_a_plain_patch() -> None:
    old, new = gzip.compress(tar_like(0), mtime=0), gzip.compress(tar_like(3), mtime=0)
    patch = chunkdelta.diff(old, new, containers=False)
    info = chunkdelta.info(patch)
    assert (info.container, info.members_rebuilt) == (None, 0)
    assert chunkdelta.apply(old, patch) == new


def test_a_tampered_container_patch_raises_a_chunkdelta_error() -> None:
    old, new = gzip.compress(tar_like(0), mtime=0), gzip.compress(tar_like(3), mtime=0)
    patch = bytearray(chunkdelta.diff(old, new))
    patch[100] ^= 1
    try:
        chunkdelta.apply(old, bytes(patch))
    except chunkdelta.Error:
        pass
    else:
        raise AssertionError("a flipped header byte must be refused")
    assert issubclass(chunkdelta.RebuildMismatchError, chunkdelta.Error)
