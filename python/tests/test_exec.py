"""Executable patches (format version 4) through Python: the golden vectors apply and describe
their exec transform; exec=False makes a version-3 patch of the same pair; both round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

import chunkdelta
from conftest import vector_bytes, vectors

EXEC_VECTORS = [v for v in vectors() if v.get("exec_arch") is not None]


def test_the_golden_vectors_include_both_archs() -> None:
    assert sorted(v["exec_arch"] for v in EXEC_VECTORS) == ["aarch64", "x86-64"]


@pytest.mark.parametrize("vector", vectors(), ids=lambda v: v["name"])
def test_exec_info_matches_the_vector(vector: dict) -> None:
    info = chunkdelta.info(vector_bytes(vector, "patch"))
    if vector.get("exec_arch") is None:
        assert info.exec is None
        assert info.format_version == vector["format_version"] <= 3
    else:
        exec_info = info.exec
        assert isinstance(exec_info, chunkdelta.ExecInfo)
        assert info.format_version == vector["format_version"] == 4
        assert exec_info.arch == vector["exec_arch"]
        assert exec_info.extractor_version == 1
        assert exec_info.old_references > 0 and exec_info.map_pieces > 0
        assert 0 < exec_info.block_len < vector["patch_size"]
        assert f"arch='{exec_info.arch}'" in repr(exec_info) and "exec=ExecInfo(" in repr(info)


@pytest.mark.parametrize("vector", EXEC_VECTORS, ids=lambda v: v["name"])
def test_exec_on_by_default_and_off_with_exec_false(vector: dict, tmp_path: Path) -> None:
    old, new, golden = (vector_bytes(vector, k) for k in ("old", "new", "patch"))
    assert chunkdelta.apply(old, golden) == new

    on = chunkdelta.diff(old, new)
    off = chunkdelta.diff(old, new, exec=False)
    assert chunkdelta.info(on).format_version == 4
    assert chunkdelta.info(on).exec is not None and chunkdelta.info(on).exec.arch == vector["exec_arch"]
    assert chunkdelta.info(off).format_version == 3
    assert chunkdelta.info(off).exec is None
    assert chunkdelta.apply(old, on) == new
    assert chunkdelta.apply(old, off) == new
    assert chunkdelta.diff(old, new, exec=True) == on

    old_path, new_path = tmp_path / "old", tmp_path / "new"
    old_path.write_bytes(old)
    new_path.write_bytes(new)
    for exec_on, version in ((True, 4), (False, 3)):
        patch_path, out_path = tmp_path / f"{exec_on}.patch", tmp_path / f"{exec_on}.out"
        written = chunkdelta.diff_file(old_path, new_path, patch_path, exec=exec_on)
        assert written.format_version == version
        assert (written.exec is not None) == exec_on
        assert written == chunkdelta.info(patch_path)
        chunkdelta.verify_file(old_path, patch_path)
        chunkdelta.apply_file(old_path, patch_path, out_path)
        assert out_path.read_bytes() == new


@pytest.mark.parametrize("value", [0, 1, "yes", None])
def test_exec_must_be_a_bool(value: object) -> None:
    for containers_or_exec in ("containers", "exec"):
        with pytest.raises(TypeError):
            chunkdelta.diff(b"old", b"new", **{containers_or_exec: value})  # type: ignore[arg-type]


def test_exec_false_on_plain_data_changes_nothing() -> None:
    old, new = bytes(range(256)) * 64, bytes(range(255, -1, -1)) * 64
    assert chunkdelta.diff(old, new, exec=False, threads=1) == chunkdelta.diff(old, new, threads=1)
    assert chunkdelta.info(chunkdelta.diff(old, new)).exec is None
